# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store of named sets: a private tmpfs holding one nsfs bind mount per type and a state file per set.

Here: mounting and locking the store, and reading and writing what it records. Making and removing
sets is creating.py's job, which the modules that change sets import; entering a set needs only this.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import os
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import Mount, read_mountinfo, topmost
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import (
    DEFAULT_STORE, NETNS_DIR, STATE_FILE, SetOptions, SetState, state_from_json, state_to_json)

LOCK_FILE = ".lock"
MADE_FILE = ".made-directories"  # in the store's tmpfs: the directories made for it (JSON list)
MARK_FILE = ".linux-namespaces-store"  # in the store's tmpfs: written by the run that mounted it
STORE_FSNAME = "linux-namespaces"
_STORE_FLAGS = syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC
MAX_SETS = 10000
# tmpfs takes memory only for what it holds: the size leaves room for MAX_SETS state files of a page each,
# with room to spare for larger ones (long id maps) and for the rename that replaces one.
TMPFS_SIZE_KIB = 64 * 1024
_READ_SIZE = 64 * 1024  # a state file is a page or two; long id maps make it larger


def _remove_empty(directories: Sequence[str]) -> None:
    """Remove these directories, deepest first, where still empty: a file in one means it is not only ours."""
    for directory in directories:
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


@functools.lru_cache(maxsize=None)
def _nsfs_dev() -> int:
    """The one nsfs device, looked up once: a listing checks thousands of files against it."""
    return os.stat("/proc/self/ns/uts").st_dev


def is_nsfs_of(path: str, inode: int) -> bool:
    try:
        info = os.stat(path)
    except OSError:
        return False
    return info.st_dev == _nsfs_dev() and info.st_ino == inode


def process_ns_inode(pid: int, nstype: str) -> Optional[int]:
    try:
        return os.stat("/proc/%d/ns/%s" % (pid, nstype)).st_ino
    except OSError:
        return None


def netns_linked(state: SetState, is_bound: Callable[[str, int], bool] = is_nsfs_of) -> bool:
    """Whether /run/netns/NAME is a bind mount of the set's network namespace (is_bound: as is_nsfs_of)."""
    # The path os.path.join gives (a set's name never holds '/'), at less cost: a listing asks it of every set.
    return "net" in state.inodes and is_bound(NETNS_DIR + "/" + state.name, state.inodes["net"])


def _read_all(fd: int) -> bytes:
    chunks = [os.read(fd, _READ_SIZE)]
    while len(chunks[-1]) == _READ_SIZE:  # a shorter read of a regular file is its end
        chunks.append(os.read(fd, _READ_SIZE))
    return b"".join(chunks)


def has_exited(pid: int) -> bool:
    """Gone, or a zombie: a killed holder stays a zombie until its new parent reaps it, and a zombie's
    /proc/PID/ns/pid still names the PID namespace it has left dead."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def holder_alive(state: SetState) -> bool:
    if not state.holder_pid:
        return False
    expected = state.inodes.get("pid")
    return (expected is not None and process_ns_inode(state.holder_pid, "pid") == expected
            and not has_exited(state.holder_pid))


class Store:
    rootless = False  # root's store: a tmpfs of nsfs bind mounts (rootless.RootlessStore is an ordinary user's)
    # Limits of a store (instance attributes in the tests, to fill a store quickly).
    max_sets = MAX_SETS
    tmpfs_size_kib = TMPFS_SIZE_KIB

    def __init__(self, root: str = DEFAULT_STORE, mounts: Optional[Sequence[Mount]] = None) -> None:
        """mounts: a mountinfo snapshot for read-only inspection; without one, the mount is checked with a
        few stat calls."""
        root = os.path.normpath(root)
        # mountinfo names mount points with symlinks resolved (/var/run/X is /run/X there), and
        # is_mounted() looks the store up by that name.
        self.root = os.path.join(os.path.realpath(os.path.dirname(root)), os.path.basename(root))
        self._snapshot_dev = None if mounts is None else self._dev_in(mounts)
        self._from_snapshot = mounts is not None

    def set_path(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _store_dev(self) -> Optional[int]:
        """The device of our store's tmpfs at root, or None: another tmpfs there (/dev/shm...) is not a store."""
        if self._from_snapshot:
            return self._snapshot_dev
        try:
            root = os.stat(self.root)
            parent = os.stat(os.path.dirname(self.root))
        except FileNotFoundError:
            return None
        if root.st_dev == parent.st_dev:
            return None  # not a mount point: a store is a tmpfs of its own
        # The mark, written right after the mount under the mounting lock, answers without a read of
        # mountinfo, which grows by a line per namespace file on the host.
        with contextlib.suppress(OSError):
            if os.stat(os.path.join(self.root, MARK_FILE)).st_dev == root.st_dev:
                return root.st_dev
        return self._dev_in(read_mountinfo())  # a store mounted without the mark

    def _dev_in(self, mounts: Sequence[Mount]) -> Optional[int]:
        mount = topmost(self.root, mounts)
        if mount is None or (mount.fstype, mount.source) != ("tmpfs", STORE_FSNAME):
            return None
        return mount.dev

    def is_mounted(self) -> bool:
        return self._store_dev() is not None

    def check_usable(self) -> None:
        """Refuse a store path whose mount would hide files that are not ours."""
        if os.path.isdir(self.root) and not self.is_mounted() and os.listdir(self.root):
            raise NamespaceError("store %s is a non-empty directory and not a store mount; refusing to hide "
                                 "its files" % self.root)

    def _mount(self) -> None:
        self.check_usable()
        syscalls.mount(STORE_FSNAME, self.root, "tmpfs", _STORE_FLAGS, "mode=0711,size=%dk" % self.tmpfs_size_kib)
        os.close(os.open(os.path.join(self.root, MARK_FILE), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))

    def _grow(self) -> None:
        """Give a store mounted smaller (by an earlier version: 4 MiB, full at 1,023 sets) this version's size."""
        info = os.statvfs(self.root)
        if info.f_blocks * info.f_frsize < self.tmpfs_size_kib * 1024:
            syscalls.mount(None, self.root, None, syscalls.MS_REMOUNT | _STORE_FLAGS, "size=%dk" % self.tmpfs_size_kib)

    def set_count(self) -> int:
        """The sets in the mounted store: on tmpfs a directory's link count is 2 plus its subdirectories."""
        return os.stat(self.root).st_nlink - 2

    def check_room(self) -> None:
        """Refuse another set in a store that holds max_sets already."""
        if self.set_count() >= self.max_sets:
            raise NamespaceError("store %s is full: it holds %d sets, the most one store holds; remove sets or "
                                 "give another store" % (self.root, self.max_sets), err=errno.ENOSPC)

    def full_error(self, name: str) -> NamespaceError:
        """The error for a set that its store's tmpfs had no room for."""
        return NamespaceError("store %s is full: its tmpfs of %d KiB has no room for set %s (%d sets held); remove "
                              "sets or give another store" % (self.root, self.tmpfs_size_kib, name, self.set_count()),
                              err=errno.ENOSPC)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialize every change to the store; the first user mounts it, the last may unmount it.

        Mounting the store (and making its directory) and unmounting it (and removing its directory) are
        serialized by a lock on its parent directory; everything else by the lock file in the store.
        """
        while True:
            self._mount_unless_mounted()
            lock = self._open_lock()
            if lock is None:
                continue  # another run unmounted the store in between
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                # The open lock pins its store, so a store mounted since cannot have its device and inode.
                if same_file(os.fstat(lock), os.stat(os.path.join(self.root, LOCK_FILE))):
                    break
            except FileNotFoundError:
                pass
            os.close(lock)  # the store was unmounted while we waited: start again
        try:
            # A mount namespace file can be bound only onto a private mount (docs/PITFALLS.md, P7). Every run does
            # it under the lock: another run can take the lock between the mount and this call of the
            # run that mounted the store (and, finding it empty, even unmount it).
            syscalls.mount(None, self.root, None, syscalls.MS_PRIVATE)
            self._grow()
            yield
        finally:
            os.close(lock)

    def _open_directory(self) -> Optional[int]:
        try:
            return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None  # removed by a run that unmounted the empty store

    def _lock_parent(self) -> Optional[int]:
        """The store's parent directory, open and locked; None if a run removed it meanwhile (with the
        directories it had made for its store)."""
        parent = os.path.dirname(self.root)
        try:
            directory = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        fcntl.flock(directory, fcntl.LOCK_EX)
        try:
            if same_file(os.fstat(directory), os.stat(parent)):
                return directory
        except FileNotFoundError:
            pass
        os.close(directory)
        return None

    def _make_parents(self) -> List[str]:
        """Create the store's missing parent directories, top down and without recursion; the ones made."""
        made = []
        parent = os.path.dirname(self.root)
        missing = []
        while not os.path.isdir(parent):
            missing.append(parent)
            parent = os.path.dirname(parent)
        for directory in reversed(missing):
            with contextlib.suppress(FileExistsError):
                os.mkdir(directory, 0o755)
                made.append(directory)
        return made

    def _mount_unless_mounted(self) -> None:
        """Mount the store. The directories made for it (the store directory, its parents) are recorded in
        it, so the last set's removal removes them and never one that was there before: a directory is
        made and mounted on under one lock, so the run that made it is the one that records it. On failure
        they are removed at once."""
        made: List[str] = []
        try:
            while True:
                made[:0] = self._make_parents()
                parent = self._lock_parent()
                if parent is None:
                    continue
                try:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(self.root, 0o755)
                        made.append(self.root)
                    if not self.is_mounted():
                        self._mount()
                    self._record_made(made)
                    made = []
                    return
                finally:
                    os.close(parent)
        finally:
            _remove_empty(sorted(set(made), reverse=True))

    def _record_made(self, made: List[str]) -> None:
        """Add directories made for the store to its record; under the lock on its parent."""
        if made:
            recorded = sorted(set(made) | set(self._made_directories()), reverse=True)
            with open(os.path.join(self.root, MADE_FILE), "w") as handle:
                json.dump(recorded, handle)

    def _made_directories(self) -> List[str]:
        """The directories made for the store (it and its parents), deepest first."""
        try:
            with open(os.path.join(self.root, MADE_FILE)) as handle:
                made = json.load(handle)
        except (OSError, ValueError):
            return []
        return [d for d in made if isinstance(d, str)] if isinstance(made, list) else []

    def _open_lock(self) -> Optional[int]:
        """The lock file, opened through a directory proven to be the store's tmpfs; None if it is not mounted.

        Opened by path, it could be created in the directory under the mount point just after another
        run unmounted the store: the lock would then guard nothing, and that stray file would make the
        directory refuse every later mount.
        """
        directory = self._open_directory()
        if directory is None:
            return None
        try:
            if os.fstat(directory).st_dev != self._store_dev():
                return None
            return os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600, dir_fd=directory)
        finally:
            os.close(directory)

    def names(self) -> List[str]:
        if not self.is_mounted():
            return []
        with os.scandir(self.root) as entries:  # the directory's entry types: no stat per set
            return sorted(e.name for e in entries if e.name != LOCK_FILE and e.is_dir())

    def load(self, name: str) -> Optional[SetState]:
        """The recorded set, a 'creating' state for a half-made one, or None.

        Raises NamespaceError for a state.json of a schema this collection cannot read.
        """
        if not self.is_mounted():
            return None
        return self._read_state(name)[0]

    def load_all(self) -> List[Tuple[SetState, bool]]:
        """Every set as load() gives it, with whether its state file exists; the store's mount is checked once."""
        if not self.is_mounted():
            return []
        loaded = (self._read_state(name) for name in self.names())
        return [(state, exists) for state, exists in loaded if state is not None]

    def _read_state(self, name: str) -> Tuple[Optional[SetState], bool]:
        """load() of a mounted store, and whether the state file exists."""
        path = self.set_path(name)
        state_file = path + "/" + STATE_FILE  # the file os.path.join(path, STATE_FILE) names, at less cost per set
        try:
            # os.read instead of open(): a listing reads every set's file, and a file object costs more
            # syscalls than the read itself.
            fd = os.open(state_file, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            exists = False
        except OSError:
            exists = os.path.exists(state_file)
        else:
            try:
                return state_from_json(name, path, json.loads(_read_all(fd))), True
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                exists = os.path.exists(state_file)
            finally:
                os.close(fd)
        if not os.path.isdir(path):
            return None, exists
        return SetState(name=name, path=path, status="creating", options=SetOptions(types=()),
                        inodes={}, holder_pid=None, created=None), exists

    def save(self, state: SetState) -> None:
        temporary = os.path.join(state.path, STATE_FILE + ".new")
        # 0600: the holder's pid, inodes and options are the owner's, beyond what /proc shows others.
        private = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(private, "w") as handle:
            json.dump(state_to_json(state), handle, indent=1, sort_keys=True)
        os.rename(temporary, os.path.join(state.path, STATE_FILE))

    def problems(self, state: SetState, is_bound: Callable[[str, int], bool] = is_nsfs_of) -> List[str]:
        """What is wrong with a recorded set; empty when it is healthy. is_bound(path, inode): whether path
        shows that namespace, as is_nsfs_of (a listing answers it from the mount table it has read)."""
        if state.status == "removing":
            return ["the set is half-removed (a run that removed it did not finish)"]
        if state.status != "ready":
            return ["the set is half-made (a run that created it did not finish)"]
        found = []
        if "pid" in state.types and not holder_alive(state):
            found.append("its holder (pid %s) has exited: the PID namespace is dead" % state.holder_pid)
        for nstype, path in state.files.items():
            if not is_bound(path, state.inodes.get(nstype, -1)):
                found.append("%s is no longer a bind mount of the recorded %s namespace" % (path, nstype))
        return found

    def unmount_if_empty(self) -> bool:
        """Unmount the store once its last set is gone, and remove the directories made for it, so nothing
        of ours stays behind. Under the store's lock: no set can be added meanwhile."""
        # A store with sets answers by its link count (set_count), without a listing.
        if not self.is_mounted() or self.set_count() > 0 or self.names():
            return False
        parent = self._lock_parent()
        if parent is None:
            return False  # not while the store is mounted on it: nothing to do
        try:
            made = self._made_directories()
            syscalls.umount2(self.root, syscalls.MNT_DETACH)
            if self.root in made:
                with contextlib.suppress(OSError):  # not empty: the files are not ours, leave them
                    os.rmdir(self.root)
        finally:
            os.close(parent)
        _remove_empty([d for d in made if d != self.root])
        return True
