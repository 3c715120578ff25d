# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel capability probes: can each namespace type be created here, and which kernel features work.

Tried, not guessed: each probe runs in a forked child (verdicts.run_probe) and whatever it creates dies
with that child.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils import mountapi, syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError, error_from, read_sysctl
from ansible_collections.linux.namespaces.plugins.module_utils.features import KERNEL_FEATURES
from ansible_collections.linux.namespaces.plugins.module_utils.kernel_config import config_state
from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import mount_points
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import (
    CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWUTS, NAMESPACE_TYPES, TYPES_BY_NAME, NamespaceType, names_in)
from ansible_collections.linux.namespaces.plugins.module_utils.procfs import present_types, walk_processes
from ansible_collections.linux.namespaces.plugins.module_utils.verdicts import (
    FAIL, PASS, UNKNOWN, Facts, Verdict, errno_name, run_probe, verdict)

IN_USE_NOTE = ("in_use counts the distinct namespaces of the type that at least one readable process in "
               "/proc is a member of. It is not the count the user.max_*_namespaces limit is checked "
               "against: the kernel keeps that per user and per user namespace, with no /proc interface, "
               "and it includes namespaces pinned only by bind mounts or open file descriptors.")


def _ns_path(name: str, pid: Any = "self") -> str:
    return "/proc/%s/ns/%s" % (pid, name)


def _ns_inode(name: str, pid: Any = "self") -> int:
    path = _ns_path(name, pid)
    try:
        return os.stat(path).st_ino
    except OSError as exc:
        raise error_from("stat", exc.errno or errno.EIO, target=path)


@contextlib.contextmanager
def _opened(path: str) -> Iterator[int]:
    fd = syscalls.open_namespace(path)
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def _held_child(flags: int) -> Iterator[int]:
    """A child that unshares flags (if any) and waits, so the caller can act on its namespaces; reaped on exit."""
    ready_read, ready_write = os.pipe()
    release_read, release_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_read)
            os.close(release_write)
            syscalls.set_pdeathsig()
            try:
                if flags:
                    syscalls.unshare(flags)
                os.write(ready_write, b"ok")
            except NamespaceError as exc:
                os.write(ready_write, str(exc.errno or errno.EIO).encode())
            os.read(release_read, 1)
        finally:
            os._exit(0)
    os.close(ready_write)
    os.close(release_read)
    try:
        answer = os.read(ready_read, 16)
        if answer != b"ok":
            raise error_from("unshare", int(answer or errno.ECHILD), "+".join(names_in(flags)))
        yield pid
    finally:
        os.close(release_write)  # end of file releases the child
        os.close(ready_read)
        os.waitpid(pid, 0)


# ---------------------------------------------------------------------------------------------
# Namespace types.

def _fork_and_check(check: Callable[[], bool]) -> bool:
    """Fork once (pid and time namespaces take only children) and run check in the child."""
    pid = os.fork()
    if pid == 0:
        passed = False
        try:
            passed = check()
        finally:  # never return into the caller's code from the child
            os._exit(0 if passed else 1)
    status = os.waitpid(pid, 0)[1]
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _creation_probe(nstype: NamespaceType) -> Callable[[], Verdict]:
    def probe() -> Verdict:
        before = _ns_inode(nstype.name) if os.path.exists(_ns_path(nstype.name)) else None
        syscalls.unshare(nstype.flag)
        if before is None:
            return verdict(PASS, "unshare(%s) succeeded; /proc/self/ns/%s is missing, so the new namespace "
                           "could not be told apart" % (_flag_name(nstype), nstype.name))
        if nstype.for_children:
            moved = _fork_and_check(lambda: _ns_inode(nstype.name) != before)
            where = "its first child is in a new %s namespace" % nstype.name
        else:
            moved = _ns_inode(nstype.name) != before
            where = "the caller is in a new %s namespace" % nstype.name
        if not moved:
            return verdict(FAIL, "unshare(%s) succeeded but /proc/self/ns/%s still names the old namespace"
                           % (_flag_name(nstype), nstype.name))
        return verdict(PASS, "unshare(%s) succeeded and %s" % (_flag_name(nstype), where))
    return probe


def _flag_name(nstype: NamespaceType) -> str:
    return "CLONE_NEW" + ("NS" if nstype.name == "mnt" else nstype.name.upper())


def _max_namespaces(nstype: NamespaceType) -> Optional[int]:
    value = read_sysctl(nstype.max_sysctl)
    return int(value) if value is not None and value.isdigit() else None


def count_in_use() -> Dict[str, int]:
    """Distinct namespaces per type that readable processes are members of (see IN_USE_NOTE)."""
    counts = {t.name: 0 for t in NAMESPACE_TYPES}
    records, _unreadable = walk_processes(present_types())  # the one /proc walk, shared with namespace_info
    for record in records.values():
        counts[record.nstype] += 1
    return counts


def probe_types(config: Dict[str, str]) -> Dict[str, Facts]:
    in_use = count_in_use()
    # As root, any refusal means the type cannot be had here; as another user, EPERM only says "not root".
    refusals = (errno.EINVAL, errno.ENOSYS, errno.ENOSPC, errno.EUSERS) + ((errno.EPERM,) if os.geteuid() == 0 else ())
    types = {}
    for nstype in NAMESPACE_TYPES:
        types[nstype.name] = {
            "present": os.path.exists(_ns_path(nstype.name)),
            "creatable": run_probe(_creation_probe(nstype), refusals),
            "first_kernel": nstype.first_kernel,
            "kernel_config": nstype.kernel_config,
            "config": config_state(config, nstype.kernel_config),
            "max_sysctl": nstype.max_sysctl,
            "max": _max_namespaces(nstype),
            "in_use": in_use[nstype.name],
        }
    return types


# ---------------------------------------------------------------------------------------------
# Features. Each probe returns a verdict or raises NamespaceError.

def _probe_for_children(nstype: NamespaceType) -> Callable[[], Verdict]:
    link = nstype.for_children or ""

    def probe() -> Verdict:
        own_before = _ns_inode(nstype.name)
        _ns_inode(link)  # ENOENT here: the kernel has no such file
        syscalls.unshare(nstype.flag)
        # A new PID namespace shows in pid_for_children only once its first process exists.
        with _held_child(0) as child:
            child_ns, children_link = _ns_inode(nstype.name, child), _ns_inode(link)
        if children_link != child_ns:
            return verdict(FAIL, "after unshare(%s) and a fork, /proc/self/ns/%s does not name the child's "
                           "namespace" % (_flag_name(nstype), link))
        if _ns_inode(nstype.name) != own_before:
            return verdict(FAIL, "unshare(%s) moved the caller itself" % _flag_name(nstype))
        return verdict(PASS, "after unshare(%s), /proc/self/ns/%s names the namespace the caller's children join, "
                       "and the caller stays in its own" % (_flag_name(nstype), link))
    return probe


def _related_namespace(path: str, ioctl: Callable[[int], int]) -> Optional[int]:
    """An fd from NS_GET_USERNS or NS_GET_PARENT on path; None when the answer is EPERM (the namespace
    asked for is outside the caller's scope), which still proves the kernel has the ioctl."""
    with _opened(path) as fd:
        try:
            return ioctl(fd)
        except NamespaceError as exc:
            if exc.errno != errno.EPERM:
                raise
            return None


def _probe_ns_get_userns() -> Verdict:
    owner_fd = _related_namespace(_ns_path("uts"), syscalls.ns_get_userns)
    if owner_fd is None:
        return verdict(PASS, "NS_GET_USERNS answered EPERM: the UTS namespace's owner is outside the caller's "
                       "user namespace")
    try:
        same = os.fstat(owner_fd).st_ino == _ns_inode("user")
    finally:
        os.close(owner_fd)
    if not same:
        return verdict(FAIL, "NS_GET_USERNS on the UTS namespace returned another user namespace than the caller's")
    return verdict(PASS, "NS_GET_USERNS on /proc/self/ns/uts returned the caller's user namespace")


def _probe_ns_get_parent() -> Verdict:
    parent_fd = _related_namespace(_ns_path("pid"), syscalls.ns_get_parent)
    if parent_fd is None:
        return verdict(PASS, "NS_GET_PARENT answered EPERM: the caller's PID namespace is the root it can see")
    os.close(parent_fd)
    return verdict(PASS, "NS_GET_PARENT returned the parent of the caller's PID namespace")


def _probe_ns_get_nstype() -> Verdict:
    wrong = []
    for nstype in NAMESPACE_TYPES:
        if not os.path.exists(_ns_path(nstype.name)):
            continue
        with _opened(_ns_path(nstype.name)) as fd:
            if syscalls.ns_get_nstype(fd) != nstype.flag:
                wrong.append(nstype.name)
    if wrong:
        return verdict(FAIL, "NS_GET_NSTYPE gave the wrong CLONE_NEW* value for: %s" % ", ".join(wrong))
    return verdict(PASS, "NS_GET_NSTYPE returned the CLONE_NEW* value of every /proc/self/ns file")


def _probe_ns_get_owner_uid() -> Verdict:
    with _opened(_ns_path("user")) as fd:
        uid = syscalls.ns_get_owner_uid(fd)
    return verdict(PASS, "NS_GET_OWNER_UID on /proc/self/ns/user returned uid %d" % uid)


def _probe_ns_get_id() -> Verdict:
    with _opened(_ns_path("net")) as fd:
        ns_id = syscalls.ns_get_id(fd)
    return verdict(PASS, "NS_GET_ID on /proc/self/ns/net returned id %d" % ns_id)


def _probe_pidfd_open() -> Verdict:
    os.close(syscalls.pidfd_open(os.getpid()))
    return verdict(PASS, "pidfd_open() returned a pidfd for the probe process")


def _probe_clone3() -> Verdict:
    pid = mountapi.clone3_fork()
    if pid == 0:
        os._exit(0)
    status = os.waitpid(pid, 0)[1]
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        return verdict(FAIL, "the child made by clone3() did not exit cleanly (wait status %d)" % status)
    return verdict(PASS, "clone3() made a child that ran and was reaped")


def _probe_setns_pidfd() -> Verdict:
    with _held_child(CLONE_NEWUTS) as pid:
        target = _ns_inode("uts", pid)
        pidfd = syscalls.pidfd_open(pid)
        try:
            syscalls.setns(pidfd, CLONE_NEWUTS, target="pidfd of pid %d" % pid)
        finally:
            os.close(pidfd)
    if _ns_inode("uts") != target:
        return verdict(FAIL, "setns() with a pidfd succeeded but the caller is not in the target's UTS namespace")
    return verdict(PASS, "setns(pidfd, CLONE_NEWUTS) joined another process's UTS namespace")


def _probe_mount_setattr() -> Verdict:
    syscalls.unshare(CLONE_NEWNS)  # the clone below is of this private copy, and is never attached
    mount_fd = mountapi.open_tree_clone("/")
    try:
        mountapi.mount_setattr(mount_fd, mountapi.MOUNT_ATTR_RDONLY)
    finally:
        os.close(mount_fd)
    return verdict(PASS, "mount_setattr() made a detached copy of / read-only")


def _write_id_map(pid: int, which: str, line: str) -> None:
    path = "/proc/%d/%s" % (pid, which)
    try:
        with open(path, "w") as handle:
            handle.write(line + "\n")
    except OSError as exc:
        raise error_from("write", exc.errno or errno.EIO, "user", path)


def _mapped_user_namespace() -> int:
    """An fd on a new user namespace with uid and gid maps (its creator has exited)."""
    with _held_child(CLONE_NEWUSER) as pid:
        _write_id_map(pid, "uid_map", "0 100000 65536")
        _write_id_map(pid, "gid_map", "0 100000 65536")
        return syscalls.open_namespace(_ns_path("user", pid))


def _probe_idmapped_mounts() -> Verdict:
    syscalls.unshare(CLONE_NEWNS)
    userns_fd = _mapped_user_namespace()
    refusals = []
    # A fresh tmpfs (idmappable since 6.3), then a copy of / (ext4, xfs, btrfs... since 5.12).
    for what, make in (("a new tmpfs", lambda: mountapi.fsmount_new("tmpfs")),
                       ("a copy of /", lambda: mountapi.open_tree_clone("/"))):
        mount_fd = make()
        try:
            mountapi.mount_setattr(mount_fd, mountapi.MOUNT_ATTR_IDMAP, userns_fd)
            return verdict(PASS, "mount_setattr(MOUNT_ATTR_IDMAP) idmapped %s" % what)
        except NamespaceError as exc:
            if exc.errno != errno.EINVAL:
                raise
            refusals.append(what)
        finally:
            os.close(mount_fd)
    return verdict(FAIL, "the kernel has mount_setattr() but refused MOUNT_ATTR_IDMAP on %s: neither filesystem "
                   "supports idmapped mounts here" % " and ".join(refusals))


def _probe_listmount() -> Verdict:
    ids = mountapi.listmount()
    if not ids:
        return verdict(FAIL, "listmount() returned no mount below the root")
    return verdict(PASS, "listmount() listed %d mounts below the root" % len(ids))


def _probe_statmount() -> Verdict:
    try:
        ids = mountapi.listmount()
    except NamespaceError:
        # Without listmount there is no unique mount id to ask about: an unknown id still tells
        # whether the call exists (ENOSYS) or not (ENOENT).
        try:
            mountapi.statmount_basic(1)
        except NamespaceError as exc:
            if exc.errno == errno.ENOSYS:
                raise
            return verdict(UNKNOWN, "statmount() exists (it answered %s) but listmount() gave no mount id to ask "
                           "about" % errno_name(exc.errno))
        return verdict(PASS, "statmount() answered for mount id 1")
    answer = mountapi.statmount_basic(ids[0])
    if not answer["mask"] & mountapi.STATMOUNT_SB_BASIC:
        return verdict(FAIL, "statmount() did not fill the superblock basics it was asked for")
    return verdict(PASS, "statmount() described the root mount (filesystem magic %#x)" % answer["sb_magic"])


def _cgroup_layout() -> Verdict:
    points = mount_points()
    v2 = sorted(p for p, kind in points.items() if kind == "cgroup2")
    v1 = sorted(p for p, kind in points.items() if kind == "cgroup")
    if not v2:
        with open("/proc/filesystems") as handle:
            known = any(line.split()[-1] == "cgroup2" for line in handle if line.strip())
        if known:
            return verdict(FAIL, "the kernel has cgroup2 but no cgroup2 hierarchy is mounted (%s)"
                           % ("v1 only" if v1 else "no cgroup mounted"), layout="legacy" if v1 else "none")
        return verdict(FAIL, "the kernel does not know the cgroup2 filesystem", layout="legacy" if v1 else "none")
    layout = "hybrid" if v1 else "unified"
    with open(os.path.join(v2[0], "cgroup.controllers")) as handle:
        controllers = handle.read().split()
    return verdict(PASS, "%s: cgroup2 at %s with controllers [%s]%s" % (
        layout, v2[0], " ".join(controllers) or "none", ", v1 hierarchies beside it" if v1 else ""),
        layout=layout, mount_point=v2[0], controllers=controllers)


def _feature_probes() -> Dict[str, Tuple[Callable[[], Verdict], Tuple[int, ...]]]:
    """Feature name -> (probe, the errnos that mean the kernel lacks it)."""
    ioctl_absent = (errno.ENOTTY, errno.EINVAL)
    return {
        "pid_for_children": (_probe_for_children(TYPES_BY_NAME["pid"]), (errno.ENOENT,)),
        "time_for_children": (_probe_for_children(TYPES_BY_NAME["time"]), (errno.ENOENT, errno.EINVAL)),
        "ns_get_userns": (_probe_ns_get_userns, ioctl_absent),
        "ns_get_parent": (_probe_ns_get_parent, ioctl_absent),
        "ns_get_nstype": (_probe_ns_get_nstype, ioctl_absent),
        "ns_get_owner_uid": (_probe_ns_get_owner_uid, ioctl_absent),
        "ns_get_id": (_probe_ns_get_id, ioctl_absent),
        "pidfd_open": (_probe_pidfd_open, (errno.ENOSYS,)),
        "clone3": (_probe_clone3, (errno.ENOSYS,)),
        # Before 5.8 a pidfd is not a namespace file: setns answers EINVAL.
        "setns_pidfd": (_probe_setns_pidfd, (errno.ENOSYS, errno.EINVAL)),
        "mount_setattr": (_probe_mount_setattr, (errno.ENOSYS,)),
        "idmapped_mounts": (_probe_idmapped_mounts, (errno.ENOSYS,)),
        "listmount": (_probe_listmount, (errno.ENOSYS,)),
        "statmount": (_probe_statmount, (errno.ENOSYS,)),
        "cgroup_v2": (_cgroup_layout, ()),
    }


def probe_features() -> Dict[str, Verdict]:
    probes = _feature_probes()
    features = {}
    for feature in KERNEL_FEATURES:
        func, fail_errnos = probes[feature.name]
        result = run_probe(func, fail_errnos)
        result["first_kernel"] = feature.first_kernel
        features[feature.name] = result
    return features
