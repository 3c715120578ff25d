# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to enter: the namespaces of a set, of a process, or behind nsfs files, resolved and pinned.

Nothing is entered here (enter.py does that); a target holds the fds that keep it from being replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import (
    TYPE_NAMES, TYPES_BY_FLAG, TYPES_BY_NAME, sorted_types)
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store


class EnterTarget:
    """What to enter. Holds the fds that pin it (a pidfd, a /proc/PID directory) until closed."""

    def __init__(self, what: str, types: Tuple[str, ...], inodes: Mapping[str, int], files: Mapping[str, str],
                 pidfd: Optional[int] = None, held: Sequence[int] = ()) -> None:
        self.what = what  # for messages: "set 'web'", "pid 1234", "the given paths"
        self.types = types  # the types to enter, in table order
        self.inodes = dict(inodes)  # the target's namespace inodes, for every type in types
        self.files = dict(files)  # type -> nsfs file, joined type by type where a pidfd cannot be used
        self.pidfd = pidfd  # a process in every namespace of the target: one setns for all (5.8+)
        self._held = tuple(held) + ((pidfd,) if pidfd is not None else ())

    @property
    def held_fds(self) -> Tuple[int, ...]:
        return self._held

    def close(self) -> None:
        for fd in self._held:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._held = ()

    def __enter__(self) -> "EnterTarget":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def _caller_inode(nstype: str) -> Optional[int]:
    try:
        return os.stat("/proc/self/ns/" + nstype).st_ino
    except OSError:
        return None


def _check_known(names: Iterable[str]) -> None:
    unknown = [t for t in names if t not in TYPES_BY_NAME]
    if unknown:
        raise NamespaceError("unknown namespace type(s): %s; known types: %s"
                             % (", ".join(unknown), ", ".join(TYPES_BY_NAME)))


def _choose_types(wanted: Optional[Iterable[str]], available: Iterable[str], what: str) -> Tuple[str, ...]:
    """The requested types (default: all available), checked against what the target has."""
    available = sorted_types(available)
    if wanted is None:
        return available
    wanted = list(wanted)
    if not wanted:
        raise NamespaceError("types is empty: name at least one namespace type to enter")
    _check_known(wanted)
    missing = [t for t in wanted if t not in available]
    if missing:
        raise NamespaceError("%s has no %s namespace (it has: %s)"
                             % (what, " or ".join(missing), ", ".join(available) or "none"))
    return sorted_types(wanted)


def _without_own_user(types: Tuple[str, ...], inodes: Mapping[str, int]) -> Tuple[str, ...]:
    # The kernel refuses to join the user namespace the caller is already in (EINVAL), as nsenter(1) knows.
    if "user" in types and inodes.get("user") == _caller_inode("user"):
        return tuple(t for t in types if t != "user")
    return types


def _try_pidfd(pid: int) -> Optional[int]:
    """A pidfd for pid, or None where the kernel has none (before 5.3). ESRCH raises: no such process."""
    try:
        return syscalls.pidfd_open(pid)
    except NamespaceError as exc:
        if exc.errno == errno.ENOSYS:
            return None
        raise


def _has_exited(pidfd: int) -> bool:
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(0))


def _resolve_set(name: str, types: Optional[Iterable[str]], store: Store) -> EnterTarget:
    state = store.load(name)
    if state is None:
        known = store.names()
        raise NamespaceError("no set named %r in store %s (%s)"
                             % (name, store.root, "sets: " + ", ".join(known) if known else "it has no sets"))
    what = "set %r" % name
    # Pin the holder before checking it: once the check passes, the pidfd names the holder itself.
    pidfd = None
    if state.holder_pid:
        try:
            pidfd = _try_pidfd(state.holder_pid)
        except NamespaceError as exc:
            if exc.errno != errno.ESRCH:  # a dead holder: problems() says so below
                raise
    target = EnterTarget(what, (), {}, state.files, pidfd)
    try:
        problems = store.problems(state)
        if problems:
            raise NamespaceError("%s cannot be entered: %s" % (what, "; ".join(problems)))
        target.types = _without_own_user(_choose_types(types, state.types, what), state.inodes)
        target.inodes = {t: state.inodes[t] for t in target.types}
    except BaseException:
        target.close()
        raise
    return target


def _resolve_pid(pid: int, types: Optional[Iterable[str]]) -> EnterTarget:
    what = "pid %d" % pid
    gone = NamespaceError("no process with pid %d" % pid, call="pidfd_open", err=errno.ESRCH)
    try:
        pidfd = _try_pidfd(pid)
    except NamespaceError as exc:
        raise gone if exc.errno == errno.ESRCH else exc
    try:
        # A /proc/PID directory fd stays bound to this process: lookups through it fail once it exits,
        # even if its number is reused (the pinning available before pidfds).
        proc_dir = os.open("/proc/%d" % pid, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        if pidfd is not None:
            os.close(pidfd)
        raise gone
    target = EnterTarget(what, (), {}, {}, pidfd, (proc_dir,))
    try:
        inodes = {}
        for nstype in TYPE_NAMES:
            try:
                inodes[nstype] = os.stat("ns/" + nstype, dir_fd=proc_dir).st_ino
            except FileNotFoundError:
                continue  # the kernel lacks the type, or the process is a zombie
            except ProcessLookupError:
                break
        if not inodes or (pidfd is not None and _has_exited(pidfd)):
            raise NamespaceError("process %d has exited" % pid, call="setns", err=errno.ESRCH)
        if types is None:  # may be none at all: the command then runs where the caller is
            chosen = sorted_types(t for t, inode in inodes.items() if inode != _caller_inode(t))
        else:
            chosen = _choose_types(types, inodes, what)
        target.types = _without_own_user(chosen, inodes)
        target.inodes = {t: inodes[t] for t in target.types}
        # /proc/self/fd/N/ns/TYPE resolves through the pinned directory, never through a reused pid.
        target.files = {t: "/proc/self/fd/%d/ns/%s" % (proc_dir, t) for t in target.types}
    except BaseException:
        target.close()
        raise
    return target


def _resolve_paths(paths: Mapping[str, str], types: Optional[Iterable[str]]) -> EnterTarget:
    _check_known(paths)
    inodes = {}
    for nstype, path in paths.items():
        fd = syscalls.open_namespace(path)
        try:
            found = TYPES_BY_FLAG.get(syscalls.ns_get_nstype(fd))
            if found is None or found.name != nstype:
                raise NamespaceError("%s is a %s namespace file, not %s"
                                     % (path, found.name if found else "unknown", nstype), call="setns",
                                     nstype=nstype, err=errno.EINVAL)
            inodes[nstype] = os.fstat(fd).st_ino
        finally:
            os.close(fd)
    chosen = _without_own_user(_choose_types(types, paths, "the given paths"), inodes)
    return EnterTarget("the given paths", chosen, {t: inodes[t] for t in chosen}, paths)


def resolve_target(name: Optional[str] = None, pid: Optional[int] = None, paths: Optional[Mapping[str, str]] = None,
                   types: Optional[Iterable[str]] = None, store: Optional[Store] = None) -> EnterTarget:
    """Check a target and pin it; raise NamespaceError naming what is wrong (nothing is entered yet).

    Exactly one of name (a set of store), pid or paths ({type: nsfs file}). types defaults to all the
    set's, all given paths, or for a pid every type in which the process differs from the caller.
    """
    given = [label for label, value in (("name", name), ("pid", pid), ("paths", paths)) if value is not None]
    if len(given) != 1:
        raise NamespaceError("give exactly one of name, pid or paths (got: %s)" % (", ".join(given) or "none"))
    if name is not None:
        if store is None:
            raise NamespaceError("entering set %r needs its store" % name)
        return _resolve_set(name, types, store)
    if pid is not None:
        return _resolve_pid(pid, types)
    return _resolve_paths(paths or {}, types)
