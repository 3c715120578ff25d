# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stores of ordinary users, and which store a run uses.

An ordinary user cannot mount a tmpfs or bind nsfs files in the host's mount namespace, so its store is a
plain directory of its own (mode 0700) holding state files only; each of its sets is held by its holder
process, whose /proc/PID/ns/* files are the set's (the inodes recorded in state.json tell a reused pid apart).
Root's store is store.Store, unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import Mount
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import DEFAULT_STORE, SetState
from ansible_collections.linux.namespaces.plugins.module_utils.store import (
    LOCK_FILE, Store, has_exited, is_nsfs_of, process_ns_inode, same_file)

STORE_DIRECTORY = "linux-namespaces"  # the store's name under an ordinary user's runtime directory
ROOTS_SETS = "; the sets of root's store (%s) are made and entered as root" % DEFAULT_STORE


def _runtime_directory() -> str:
    """The calling user's runtime directory: $XDG_RUNTIME_DIR, else /run/user/UID if it exists and is theirs.

    Its errors also say where root's sets are: a user who meant them (a become without sudo) learns why."""
    uid = os.geteuid()
    given = os.environ.get("XDG_RUNTIME_DIR")
    path = given or "/run/user/%d" % uid
    origin = "XDG_RUNTIME_DIR" if given else "/run/user/%d (XDG_RUNTIME_DIR is not set)" % uid
    if not os.path.isabs(path):
        raise NamespaceError("no store for uid %d: XDG_RUNTIME_DIR %r is not an absolute path; set it to one or "
                             "give the option store%s" % (uid, path, ROOTS_SETS))
    try:
        info = os.stat(path)
    except OSError as exc:
        raise NamespaceError("no store for uid %d: its runtime directory %s cannot be used (%s); set "
                             "XDG_RUNTIME_DIR or give the option store%s" % (uid, origin, exc.strerror, ROOTS_SETS),
                             err=exc.errno)
    if not os.path.isdir(path) or info.st_uid != uid:
        raise NamespaceError("no store for uid %d: its runtime directory %s is not a directory of its own; set "
                             "XDG_RUNTIME_DIR or give the option store%s" % (uid, origin, ROOTS_SETS))
    return path


def default_store() -> str:
    """Root's store stays DEFAULT_STORE; an ordinary user's is its own, under its runtime directory."""
    if os.geteuid() == 0:
        return DEFAULT_STORE
    return os.path.join(_runtime_directory(), STORE_DIRECTORY)


def open_store(root: Optional[str] = None, mounts: Optional[Sequence[Mount]] = None) -> Store:
    """The store at root (default: default_store()) as the calling user may use it; mounts (a mountinfo
    snapshot for read-only inspection) serve root's store only, an ordinary user's has no mount."""
    if os.geteuid() == 0:
        return Store(root or DEFAULT_STORE, mounts)
    return RootlessStore(root or default_store())


def holder_holds(state: SetState) -> bool:
    """Whether the set's holder is running (not a zombie, which still shows its credentials' user namespace)
    and still in every namespace recorded for the set."""
    return (bool(state.holder_pid) and bool(state.inodes) and not has_exited(state.holder_pid)
            and all(process_ns_inode(state.holder_pid, t) == inode for t, inode in state.inodes.items()))


class RootlessStore(Store):
    """An ordinary user's store: a directory it owns, with a lock file and one directory per set."""

    rootless = True

    def check_usable(self) -> None:
        """Refuse a store of another user (root's included) before anything in it is read."""
        uid = os.geteuid()
        try:
            owner = os.stat(self.root).st_uid
        except FileNotFoundError:
            return
        except PermissionError:
            raise NamespaceError("store %s belongs to another user: uid %d cannot reach it (permission denied); "
                                 "an ordinary user manages only the sets of its own store" % (self.root, uid),
                                 err=errno.EACCES)
        if owner != uid:
            raise NamespaceError("store %s and its sets belong to another user (uid %d), not to uid %d: "
                                 "permission denied; an ordinary user manages only the sets of its own store"
                                 % (self.root, owner, uid), err=errno.EACCES)

    def is_mounted(self) -> bool:
        """Whether the store exists; there is no mount to look for."""
        self.check_usable()
        return os.path.isdir(self.root)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialize every change to the store through its lock file; the first user makes the directory."""
        while True:
            self.check_usable()
            try:
                os.mkdir(self.root, 0o700)
            except FileExistsError:
                pass
            except FileNotFoundError:
                raise NamespaceError("cannot make store %s: its parent directory does not exist" % self.root,
                                     call="mkdir", err=errno.ENOENT)
            self.check_usable()  # made by someone else in between
            lock_path = os.path.join(self.root, LOCK_FILE)
            try:
                lock = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            except FileNotFoundError:
                continue  # the last set's removal took the directory away in between
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if same_file(os.fstat(lock), os.stat(lock_path)):
                    break
            except FileNotFoundError:
                pass
            os.close(lock)  # the store was removed while we waited: start again
        try:
            yield
        finally:
            os.close(lock)

    def _read_state(self, name: str) -> Tuple[Optional[SetState], bool]:
        state, exists = super()._read_state(name)
        # A half-made set without a readable state file is still one of this store's sets.
        return (state._replace(rootless=True) if state is not None else None), exists

    def problems(self, state: SetState, is_bound: Callable[[str, int], bool] = is_nsfs_of) -> List[str]:
        """A ready set is checked through its holder, whose /proc/PID/ns/* are its files: is_bound is not asked."""
        if state.status != "ready":
            return super().problems(state, is_bound)
        if not holder_holds(state):
            return ["its holder (pid %s) has exited: the set's namespaces are gone" % state.holder_pid]
        return []

    def unmount_if_empty(self) -> bool:
        """Remove the store directory once its last set is gone (called under the lock)."""
        if not self.is_mounted() or self.names():
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.root, LOCK_FILE))
        with contextlib.suppress(OSError):  # a run that has just opened the lock again keeps the store
            os.rmdir(self.root)
        return True
