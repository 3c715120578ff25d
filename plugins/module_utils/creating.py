# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Making a named set and removing it again.

A set without a user namespace, for a root store, is made by the calling process itself: it unshares, sets
the new namespaces up and goes back to its own (own_namespaces.py); with a PID namespace it starts the holder
(holder.py) while inside, which becomes PID 1 there. A set with a user namespace, which the caller could not
leave, and a rootless set are made by a forked child, whose own child is then the holder. Each step of a
child reports through child.Channel, so a failure inside raises here. Either way the module binds the
namespace files into the store and records the set (store.py).
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import os
from typing import Dict, List, Optional

from ansible_collections.linux.namespaces.plugins.module_utils import mountapi, own_namespaces, syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.binds import bind, link_netns, unbind, unlink_netns
from ansible_collections.linux.namespaces.plugins.module_utils.child import Channel, run_in_child
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError, error_from
from ansible_collections.linux.namespaces.plugins.module_utils.holder import holder_link, spawn_holder, stopping_holder
from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import is_mount_point
from ansible_collections.linux.namespaces.plugins.module_utils.netdev import set_link_up
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPES_BY_NAME, flags_for
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import (
    STATE_FILE, SetOptions, SetState, effective_options)
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store, process_ns_inode

CGROUP_MOUNT = "/sys/fs/cgroup"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _setup_inside(options: SetOptions) -> None:
    """Make the new namespaces what the options say, from a process inside all of them. The /proc of
    mount_proc comes once the holder has started (_mount_proc_for_children): procfs shows the PID namespace
    its mounter is a member of, which unshare does not make the caller, unless given another."""
    types = set(options.types)
    if "mnt" in types and options.propagation != "unchanged":
        syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.PROPAGATION_FLAGS[options.propagation])
    if options.mount_sysfs:
        _mount_sysfs()
    if options.hostname is not None:
        syscalls.sethostname(options.hostname)
    if options.domainname is not None:
        syscalls.setdomainname(options.domainname)
    if "net" in types:
        set_link_up("lo", options.loopback)


def _mount_proc_for_children() -> None:
    """Mount a /proc of the PID namespace this process's children join (mount_proc): by this process where
    procfs takes that namespace as its pidns option, else by a short-lived child, a member of it (procfs
    shows its mounter's PID namespace). The old /proc is made private first so the new one cannot
    propagate to the host (docs/PITFALLS.md, P1)."""
    syscalls.mount(None, "/proc", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
    proc = _procfs_of_children()
    if proc is None:
        run_in_child(_mount_proc_as_member, "mounting /proc")
        return
    try:
        mountapi.move_mount_to(proc, "/proc")
    finally:
        os.close(proc)


def _procfs_of_children() -> Optional[int]:
    namespace = os.open("/proc/self/ns/pid_for_children", os.O_RDONLY | os.O_CLOEXEC)
    try:
        return mountapi.procfs_of(namespace)
    except NamespaceError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EPERM):
            raise
        return None  # no such option here, or refused to the root of a new user namespace: a member mounts it
    finally:
        os.close(namespace)


def _mount_proc_as_member() -> None:
    syscalls.mount("proc", "/proc", "proc", syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)


def _copy_of_cgroup_mounts() -> Optional[int]:
    """A detached copy of the cgroup mounts at /sys/fs/cgroup; None when there are none, or on a kernel before
    5.2 (no open_tree), where they end up hidden as with ip netns exec."""
    if not is_mount_point(CGROUP_MOUNT):
        return None
    try:
        return mountapi.open_tree_clone(CGROUP_MOUNT, recursive=True)
    except NamespaceError as exc:
        if exc.errno == errno.ENOSYS:
            return None
        raise


def _mount_sysfs() -> None:
    """A /sys showing the set's own network devices: sysfs takes the network namespace of the process that
    mounts it, as `ip netns exec` does for each command. The old /sys is made private first so the new one
    cannot propagate to the host (docs/PITFALLS.md, P1). The new /sys would hide the cgroup file systems under the
    old one, which ip netns exec loses; a copy of them is taken first and attached again.
    Other file systems under the old /sys (debugfs, bpf...) stay hidden."""
    syscalls.mount(None, "/sys", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
    cgroups = _copy_of_cgroup_mounts()
    try:
        syscalls.mount("sysfs", "/sys", "sysfs", syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)
        if cgroups is not None:
            mountapi.move_mount_to(cgroups, CGROUP_MOUNT)
    finally:
        if cgroups is not None:
            os.close(cgroups)


def _become_root_inside(options: SetOptions) -> None:
    """Inside a new user namespace, take the ids that map to root if the maps have them."""
    if any(line.split()[0] == "0" for line in options.gid_map):
        if options.setgroups == "allow":
            os.setgroups([])
        os.setresgid(0, 0, 0)
    if any(line.split()[0] == "0" for line in options.uid_map):
        os.setresuid(0, 0, 0)


def _unshare_on(cpu: Optional[int], flags: int) -> None:
    """unshare, on one CPU when cpu is given (see _MountNamespaceIdOrder)."""
    if cpu is None:
        syscalls.unshare(flags)
        return
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:  # offline, or outside our cpuset: an unpinned unshare is the best we can do
        pass
    try:
        syscalls.unshare(flags)
    finally:
        os.sched_setaffinity(0, allowed)


def _creator_child(options: SetOptions, cpu: Optional[int], up: Channel, down: Channel, link: Optional[str]) -> None:
    """Runs in the forked child that unshares; never returns. With `link` (holder.holder_link), it starts the
    holder (a rootless set always gets one: nothing else keeps its namespaces).

    Each step answers on `up`; a failed step ends the child, so the module sees its error.
    """
    up.keep_writing()
    down.keep_reading()
    try:
        if not up.report(lambda: _unshare_on(cpu, flags_for(options.types))):
            return
        # Before taking other ids: a credential change makes /proc/self/timens_offsets root's.
        if not up.report(lambda: _write_time_offsets(options)):
            return
        if "user" in options.types:
            if os.read(down.read_fd, 1) != b"g":  # the module writes the id maps, then says go
                return
            if not up.report(lambda: _become_root_inside(options)):
                return
        if link is None:
            if up.report(lambda: (_setup_inside(options), os.getpid())[1]):
                os.read(down.read_fd, 1)  # stay alive while the module binds our namespace files
            return
        if up.report(lambda: _setup_inside(options)) and up.report(lambda: spawn_holder(link, options.types)):
            up.report(lambda: _mount_proc_for_children() if options.mount_proc else None)
    finally:
        os._exit(0)


def _write_time_offsets(options: SetOptions) -> None:
    # Offsets can be written only before the first process enters the time namespace (TIME3).
    if options.monotonic_offset or options.boottime_offset:
        try:
            with open("/proc/self/timens_offsets", "w") as handle:
                handle.write("monotonic %d 0\nboottime %d 0\n" % (options.monotonic_offset, options.boottime_offset))
        except OSError as exc:
            raise error_from("write timens_offsets", exc.errno or errno.EIO, nstype="time")


def _write_id_maps(pid: int, options: SetOptions) -> None:
    uid_map = options.uid_map or ("0 %d 1" % os.geteuid(),)
    gid_map = options.gid_map or ("0 %d 1" % os.getegid(),)
    try:
        # setgroups first: an ordinary user may write gid_map only once it is "deny".
        with open("/proc/%d/setgroups" % pid, "w") as handle:
            handle.write(options.setgroups + "\n")
        with open("/proc/%d/uid_map" % pid, "w") as handle:
            handle.write("\n".join(uid_map) + "\n")
        with open("/proc/%d/gid_map" % pid, "w") as handle:
            handle.write("\n".join(gid_map) + "\n")
    except OSError as exc:
        raise NamespaceError("cannot write the id maps of the new user namespace: %s" % exc.strerror,
                             call="write", nstype="user", err=exc.errno)


class _MountNamespaceIdOrder(Exception):
    """The kernel refused to bind a mount namespace whose id is below the binder's (EINVAL).

    It does so to rule out reference loops. Since Linux 6.18 namespace ids come from per-CPU batches, so
    a namespace made later on another CPU can get a lower id than the binder's. The CPU whose batch gave
    the binder's id hands out higher ones afterwards, so unsharing pinned to each CPU in turn succeeds.
    """


def check_can_create(options: SetOptions) -> None:
    """Unshare the set's types in a child that then exits, so check mode meets a refusal where a run would."""
    run_in_child(lambda: syscalls.unshare(flags_for(options.types)), "unshare")


class _Made:
    """What a create has made so far. A failed create is undone from this, not from the recorded state,
    which can lag behind: a full store refuses the write that records a step."""

    def __init__(self, state: SetState) -> None:
        self.state = state


def create_set(store: Store, name: str, options: SetOptions) -> SetState:
    """Make a set; on any failure, remove what was made and raise."""
    options = effective_options(options)
    store.check_room()
    cpus: List[Optional[int]] = [None]
    if "mnt" in options.types:
        cpus += list(range(os.cpu_count() or 1))
    for attempt, cpu in enumerate(cpus, 1):
        made = _Made(SetState(name=name, path=store.set_path(name), status="creating", options=options,
                              inodes={}, holder_pid=None, created=_now(), rootless=store.rootless))
        try:
            os.mkdir(made.state.path, 0o711)  # others may reach a namespace file by its path, never list the set
        except OSError as exc:
            raise _store_full(store, name, exc) or exc
        try:
            return _populate(store, made, cpu)
        except _MountNamespaceIdOrder as exc:
            remove_set(store, name, made.state)
            if attempt == len(cpus):
                raise NamespaceError("cannot persist the new mount namespace: the kernel refused every "
                                     "attempt to bind it (%s)" % exc, call="mount", nstype="mnt",
                                     err=errno.EINVAL)
        except BaseException as exc:
            remove_set(store, name, made.state)
            raise _store_full(store, name, exc) or exc
    raise AssertionError("unreachable: the last attempt returns or raises")


def _store_full(store: Store, name: str, exc: BaseException) -> Optional[NamespaceError]:
    """The store's error for an ENOSPC of its tmpfs (blocks or inodes); mount's ENOSPC (fs.mount-max) is a
    NamespaceError of its own and stays one."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return store.full_error(name)
    return None


def _populate(store: Store, made: _Made, cpu: Optional[int]) -> SetState:
    if not made.state.rootless and own_namespaces.can_leave(made.state.options.types):
        return _populate_here(store, made, cpu)
    store.save(made.state)
    return _populate_forked(store, made, cpu)


def _populate_here(store: Store, made: _Made, cpu: Optional[int]) -> SetState:
    """A set made by this process itself: it unshares, sets the new namespaces up, starts the holder for a PID
    namespace, keeps an fd on each namespace and goes back to its own namespaces before it binds them. No fork
    of the module's Python process (bench/RESULTS.md: each fork cost more than the rest of a create).

    The state is saved before anything is bound, so a run killed halfway leaves a set that removal can undo;
    with a holder, as soon as it is started, so the holder is in it.
    """
    options = made.state.options
    new: Dict[str, int] = {}
    try:
        with contextlib.ExitStack() as holding:
            link = holding.enter_context(holder_link(made.state.path, made.state.name)) if "pid" in options.types \
                else None
            if link is None:
                store.save(made.state)
            with own_namespaces.kept(options.types):
                _unshare_on(cpu, flags_for(options.types))
                _write_time_offsets(options)
                _setup_inside(options)
                if link is not None:
                    # Our unreaped child: its pid cannot be reused, so removal may stop it by pid alone until
                    # its PID namespace's inode is recorded.
                    made.state = made.state._replace(holder_pid=spawn_holder(link, options.types))
                for nstype in options.types:
                    new[nstype] = os.open(own_namespaces.file_of_own(nstype), os.O_RDONLY | os.O_CLOEXEC)
                if options.mount_proc:  # last: /proc/self no longer names this process in the new /proc
                    _mount_proc_for_children()
        if "pid" in options.types:
            # With the holder's PID namespace, so recovery after a crash stops this holder and no process
            # that reuses its number.
            made.state = made.state._replace(inodes={"pid": os.fstat(new["pid"]).st_ino})
            store.save(made.state)
        _bind_all(made, dict((t, "/proc/self/fd/%d" % fd) for t, fd in new.items()))
        ready = _record_ready(store, made)
        if link is not None:
            # The holder's start-up in user space (the dynamic loader's and sleep's, about half a millisecond
            # of CPU here) may still wait behind this process on its CPU: let it run now, so it is paid by
            # the creation that started it, not by whatever runs next (bench/RESULTS.md). Where it has a CPU
            # of its own, it has run meanwhile and this returns at once.
            os.sched_yield()
        return ready
    finally:
        for fd in new.values():
            os.close(fd)


def _populate_forked(store: Store, made: _Made, cpu: Optional[int]) -> SetState:
    """A set with a holder (a PID namespace, or a rootless set) or with a user namespace, which this process
    cannot leave again: a forked child unshares and, for a holder, starts it."""
    state = made.state
    options = state.options
    held = "pid" in options.types or state.rootless
    with contextlib.ExitStack() as holding:
        link = holding.enter_context(holder_link(state.path, state.name)) if held else None
        up, down = Channel(), Channel()
        creator = os.fork()
        if creator == 0:
            _creator_child(options, cpu, up, down, link)
        up.keep_reading()
        down.keep_writing()
        try:
            up.receive("unshare")
            up.receive("writing the time offsets")
            if "user" in options.types:
                _write_id_maps(creator, options)
                os.write(down.write_fd, b"g")
                up.receive("taking root's ids inside the user namespace")
            if held:
                up.receive("setting the new namespaces up")
                member = up.receive("starting the holder")
                # Saved at once, with the holder's PID namespace (a rootless set's: all of them), so recovery
                # after a crash can stop this holder and no process that reuses its number.
                kinds = options.types if state.rootless else ("pid",)
                state = made.state = state._replace(holder_pid=member,
                                                    inodes={t: process_ns_inode(member, t) for t in kinds})
                store.save(state)
                up.receive("mounting /proc")
                if state.rootless:  # an ordinary user cannot bind nsfs files: the holder's are the set's
                    state = state._replace(status="ready")
                    store.save(state)
                    return state
                sources = {t: "/proc/%d/ns/%s" % (member, t) for t in options.types}
            else:
                member = up.receive("setup inside the set")
                sources = {t: "/proc/%d/ns/%s" % (member, TYPES_BY_NAME[t].for_children or t)
                           for t in options.types}
            _bind_all(made, sources)
            return _record_ready(store, made)
        finally:
            up.close()
            down.close()
            os.waitpid(creator, 0)


def _bind_all(made: _Made, sources: Dict[str, str]) -> None:
    """Bind each new namespace (sources: its file by type) into the set's directory, and link /run/netns/NAME
    if asked."""
    state = made.state
    inodes = dict(state.inodes)
    for nstype, source in sources.items():
        target = os.path.join(state.path, nstype)
        try:
            bind(source, target)
        except NamespaceError as exc:
            if nstype == "mnt" and exc.errno == errno.EINVAL:
                raise _MountNamespaceIdOrder(str(exc))
            raise
        inodes[nstype] = os.stat(target).st_ino
        made.state = state._replace(inodes=inodes)
    if "net" in made.state.options.types and made.state.options.netns_link:
        link_netns(made.state)


def _record_ready(store: Store, made: _Made) -> SetState:
    state = made.state._replace(status="ready")
    store.save(state)
    return state


def remove_set(store: Store, name: str, made: Optional[SetState] = None) -> bool:
    """Remove a set and everything it had: holder, processes, mounts, files. False if none.

    made: what a failed create of this run made, which its recorded state may not hold yet.
    """
    state = store.load(name) if made is None else made
    if state is None:
        return False
    if state.status == "ready" and os.path.exists(os.path.join(state.path, STATE_FILE)):
        # Recorded before anything is undone, so a run killed from here on leaves a set that the next run
        # and namespace_info see as broken, never a "ready" one with a dead holder. (Any other status is
        # seen as broken already.) A full store cannot record it: the removal goes on, as it must.
        try:
            store.save(state._replace(status="removing"))
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    # A rootless set, which may have no PID namespace, is told apart by its own user namespace.
    held_by = "user" if state.rootless else "pid"
    with stopping_holder(state.holder_pid, state.inodes.get(held_by), held_by):
        unlink_netns(state)
        for entry in os.listdir(state.path):
            if entry == STATE_FILE:
                continue
            if state.rootless:  # a leftover state.json.new: an ordinary user has no mounts to undo
                os.unlink(os.path.join(state.path, entry))
            else:
                unbind(os.path.join(state.path, entry))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(state.path, STATE_FILE))
    os.rmdir(state.path)
    return True
