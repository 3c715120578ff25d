# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel capability probes for namespace_facts: what this host's kernel can do, tried, not guessed.

Every probe runs in a forked child (enter.run_in_child), so the caller's namespaces and credentials
never change, and whatever a probe creates dies with its child. A probe's answer is a verdict:
{"status": "pass" | "fail" | "unknown", "reason": "..."}; "unknown" means the probe could not tell
(denied, or no privilege), never a silent pass.

The pure functions at the end (find_disagreements, isolate_summary) take the facts as data, so they
are tested with fake inputs.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.enter import run_in_child
from ansible_collections.linux.namespaces.plugins.module_utils.errors import (
    USERNS_GATES, NamespaceError, error_from, read_sysctl)
from ansible_collections.linux.namespaces.plugins.module_utils.features import (
    FEATURES_BY_NAME, KERNEL_FEATURES, MAX_NAMESPACES_SYSCTLS_KERNEL, release_has)
from ansible_collections.linux.namespaces.plugins.module_utils.inspect import present_types, walk_processes
from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import mount_points
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import (
    CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWUTS, DEFAULT_SET_TYPES, NAMESPACE_TYPES, TYPES_BY_NAME,
    NamespaceType, names_in)

PASS = "pass"
FAIL = "fail"
UNKNOWN = "unknown"

Verdict = Dict[str, Any]
Facts = Dict[str, Any]

NOBODY = 65534
CONFIG_NAMESPACES = "CONFIG_NAMESPACES"
# What isolate.yml needs: its set's five types, and pidfd_open, by which the store stops a set's holder.
ISOLATE_TYPES: Tuple[str, ...] = DEFAULT_SET_TYPES
ISOLATE_FEATURES: Tuple[str, ...] = ("pidfd_open",)
# A name for the probe's own UTS namespace: set there only, never on the host.
PROBE_HOSTNAME = "lns-probe"
IN_USE_NOTE = ("in_use counts the distinct namespaces of the type that at least one readable process in "
               "/proc is a member of. It is not the count the user.max_*_namespaces limit is checked "
               "against: the kernel keeps that per user and per user namespace, with no /proc interface, "
               "and it includes namespaces pinned only by bind mounts or open file descriptors.")


def verdict(status: str, reason: str, **details: Any) -> Verdict:
    result: Verdict = {"status": status, "reason": reason}
    result.update(details)
    return result


def _errno_name(err: Optional[int]) -> Optional[str]:
    return errno.errorcode.get(err) if err else None


def run_probe(func: Callable[[], Verdict], fail_errnos: Tuple[int, ...] = (errno.ENOSYS,)) -> Verdict:
    """Run a probe in a forked child. Its error becomes 'fail' when the errno says the thing cannot be had
    here (fail_errnos: the kernel lacks or refuses it), 'unknown' otherwise (denied, or the probe broke)."""
    try:
        return run_in_child(func, "probe")
    except NamespaceError as exc:
        status = FAIL if exc.errno in fail_errnos else UNKNOWN
        return verdict(status, str(exc), errno=_errno_name(exc.errno))


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
    pid = syscalls.clone3_fork()
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
    mount_fd = syscalls.open_tree_clone("/")
    try:
        syscalls.mount_setattr(mount_fd, syscalls.MOUNT_ATTR_RDONLY)
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
    for what, make in (("a new tmpfs", lambda: syscalls.fsmount_new("tmpfs")),
                       ("a copy of /", lambda: syscalls.open_tree_clone("/"))):
        mount_fd = make()
        try:
            syscalls.mount_setattr(mount_fd, syscalls.MOUNT_ATTR_IDMAP, userns_fd)
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
    ids = syscalls.listmount()
    if not ids:
        return verdict(FAIL, "listmount() returned no mount below the root")
    return verdict(PASS, "listmount() listed %d mounts below the root" % len(ids))


def _probe_statmount() -> Verdict:
    try:
        ids = syscalls.listmount()
    except NamespaceError:
        # Without listmount there is no unique mount id to ask about: an unknown id still tells
        # whether the call exists (ENOSYS) or not (ENOENT).
        try:
            syscalls.statmount_basic(1)
        except NamespaceError as exc:
            if exc.errno == errno.ENOSYS:
                raise
            return verdict(UNKNOWN, "statmount() exists (it answered %s) but listmount() gave no mount id to ask "
                           "about" % _errno_name(exc.errno))
        return verdict(PASS, "statmount() answered for mount id 1")
    answer = syscalls.statmount_basic(ids[0])
    if not answer["mask"] & syscalls.STATMOUNT_SB_BASIC:
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


# ---------------------------------------------------------------------------------------------
# Unprivileged user namespaces: the policy gates and a probe as an unprivileged user.

def _drop_to(uid: int, gid: int) -> None:
    for call, step in (("setgroups", lambda: os.setgroups([])), ("setresgid", lambda: os.setresgid(gid, gid, gid)),
                       ("setresuid", lambda: os.setresuid(uid, uid, uid))):
        try:
            step()
        except OSError as exc:
            raise error_from(call, exc.errno or errno.EIO, target="uid %d gid %d" % (uid, gid))


def _unprivileged_probe(uid: int, gid: int) -> Callable[[], Dict[str, Verdict]]:
    def probe() -> Dict[str, Verdict]:
        if os.geteuid() == 0:
            _drop_to(uid, gid)
        as_who = "uid %d" % os.geteuid()
        try:
            syscalls.unshare(CLONE_NEWUSER)
        except NamespaceError as exc:
            return {"create": verdict(FAIL, "as %s: %s" % (as_who, exc), errno=_errno_name(exc.errno)),
                    "privileged_operation": verdict(UNKNOWN, "not tried: no user namespace")}
        created = verdict(PASS, "as %s: unshare(CLONE_NEWUSER) succeeded" % as_who)
        try:
            # sethostname only after our own UTS namespace exists: it can never reach the host's name.
            syscalls.unshare(CLONE_NEWUTS)
            syscalls.sethostname(PROBE_HOSTNAME)
        except NamespaceError as exc:
            return {"create": created,
                    "privileged_operation": verdict(FAIL, "inside the new user namespace: %s" % exc,
                                                    errno=_errno_name(exc.errno))}
        return {"create": created,
                "privileged_operation": verdict(PASS, "inside the new user namespace, unshare(CLONE_NEWUTS) and "
                                                "sethostname() succeeded")}
    return probe


def probe_userns_policy(uid: int = NOBODY, gid: int = NOBODY) -> Facts:
    sysctls = {gate.sysctl: read_sysctl(gate.sysctl) for gate in USERNS_GATES}
    closed = [gate.sysctl for gate in USERNS_GATES if sysctls[gate.sysctl] == gate.closed_value]
    try:
        probed = run_in_child(_unprivileged_probe(uid, gid), "unprivileged user namespace probe")
    except NamespaceError as exc:
        probed = {"create": verdict(UNKNOWN, "the probe could not run as an unprivileged user: %s" % exc),
                  "privileged_operation": verdict(UNKNOWN, "not tried")}
    create, operation = probed["create"], probed["privileged_operation"]
    if create["status"] == PASS and operation["status"] == PASS:
        overall = verdict(PASS, "an unprivileged user can create a user namespace and use its capabilities")
    elif create["status"] == UNKNOWN:
        overall = verdict(UNKNOWN, create["reason"])
    elif create["status"] == FAIL:
        overall = verdict(FAIL, create["reason"])
    else:
        overall = verdict(FAIL, "user namespace created but without usable capabilities: %s" % operation["reason"])
    return {"sysctls": sysctls, "closed_gates": closed, "probe_uid": uid if os.geteuid() == 0 else os.geteuid(),
            "create": create, "privileged_operation": operation, "unprivileged": overall}


# ---------------------------------------------------------------------------------------------
# Kernel config.

def read_kernel_config(release: str) -> Tuple[Optional[str], Dict[str, str]]:
    """(source path, {CONFIG_X: value}) from /proc/config.gz or /boot/config-RELEASE; (None, {}) if neither."""
    for path, opener in (("/proc/config.gz", gzip.open), ("/boot/config-" + release, open)):
        try:
            with opener(path, "rt") as handle:  # type: ignore[operator]
                return path, parse_kernel_config(handle.read())
        except (OSError, EOFError):
            continue
    return None, {}


def parse_kernel_config(text: str) -> Dict[str, str]:
    options = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            name, value = line.split("=", 1)
            options[name] = value.strip('"')
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            options[line[2:-len(" is not set")]] = "n"
    return options


def config_state(config: Dict[str, str], option: Optional[str]) -> str:
    """'y'/'m'/'n' as the config says; 'absent' if the config has no such option; 'unknown' without a config;
    'builtin' for a type no option controls (mnt)."""
    if option is None:
        return "builtin"
    if not config:
        return "unknown"
    return config.get(option, "absent")


# ---------------------------------------------------------------------------------------------
# Everything, and the conclusions drawn from it (pure functions of the facts).

def gather(unprivileged_uid: int = NOBODY, unprivileged_gid: int = NOBODY) -> Facts:
    uname = os.uname()
    source, config = read_kernel_config(uname.release)
    facts: Facts = {
        "kernel": {"release": uname.release, "version": uname.version, "machine": uname.machine},
        "probed_as": {"uid": os.geteuid(), "root": os.geteuid() == 0},
        "kernel_config": {
            "source": source,
            "options": {name: config_state(config, name) for name in
                        [CONFIG_NAMESPACES] + [t.kernel_config for t in NAMESPACE_TYPES if t.kernel_config]},
        },
        "types": probe_types(config),
        "in_use_note": IN_USE_NOTE,
        "features": probe_features(),
        "userns_policy": probe_userns_policy(unprivileged_uid, unprivileged_gid),
    }
    facts["disagreements"] = find_disagreements(facts)
    facts["isolate"] = isolate_summary(facts)
    return facts


def _disagreement(subject: str, between: Tuple[str, str], observed: str, meaning: str) -> Facts:
    return {"subject": subject, "between": list(between), "observed": observed, "meaning": meaning}


def _type_enabled_by_config(facts: Facts, nstype: NamespaceType) -> Optional[bool]:
    """What the kernel config says about the type: True, False, or None when it cannot say."""
    options = facts["kernel_config"]["options"]
    state = facts["types"][nstype.name]["config"]
    if state == "builtin":
        return True
    if state == "unknown":
        return None
    return state in ("y", "m") and options.get(CONFIG_NAMESPACES) in ("y", "absent")


def _type_disagreements(facts: Facts, nstype: NamespaceType) -> List[Facts]:
    found = []
    name = nstype.name
    entry = facts["types"][name]
    option = nstype.kernel_config or CONFIG_NAMESPACES
    enabled = _type_enabled_by_config(facts, nstype)
    created = entry["creatable"]["status"]
    as_root = facts["probed_as"]["root"]
    stale = "the config file does not describe the running kernel (a stale /boot/config or another build)"
    if enabled is False and entry["present"]:
        found.append(_disagreement(name, ("config", "runtime"), "%s is %s but /proc/self/ns/%s exists" % (
            option, entry["config"], name), stale))
    if enabled is False and created == PASS:
        found.append(_disagreement(name, ("config", "probe"), "%s is %s but the probe created a %s namespace" % (
            option, entry["config"], name), stale))
    if enabled and not entry["present"]:
        found.append(_disagreement(name, ("config", "runtime"), "%s is %s but /proc/self/ns/%s is missing" % (
            option, entry["config"], name),
            "/proc is not this kernel's own procfs (a masked or restricted /proc in a container), or the kernel is "
            "older than the /proc/PID/ns file for this type"))
    if not entry["present"] and created == PASS:
        found.append(_disagreement(name, ("runtime", "probe"), "/proc/self/ns/%s is missing but the probe created "
                                   "a %s namespace" % (name, name),
                                   "the kernel predates the /proc/PID/ns file for this type (3.0 for ipc, net, uts; "
                                   "3.8 for mnt, pid, user), or /proc is restricted"))
    if entry["present"] and created == FAIL and as_root:
        found.append(_disagreement(name, ("runtime", "probe"), "/proc/self/ns/%s exists but root cannot create a %s "
                                   "namespace: %s" % (name, name, entry["creatable"]["reason"]),
                                   _creation_failure_meaning(entry["creatable"].get("errno"), nstype)))
    if entry["max"] == 0:
        if created == PASS:
            found.append(_disagreement(name, ("policy", "probe"), "%s is 0 but the probe created a %s namespace" % (
                nstype.max_sysctl, name),
                "the limit shown is not the one applied to the probe (limits are per user and per user namespace), "
                "or it changed during the audit"))
        if enabled:
            found.append(_disagreement(name, ("config", "policy"), "%s is %s but %s is 0" % (
                option, entry["config"], nstype.max_sysctl),
                "the kernel has %s namespaces but the sysctl forbids creating any" % name))
    return found


def _creation_failure_meaning(err: Optional[str], nstype: NamespaceType) -> str:
    if err == "ENOSPC":
        return "the %s limit is reached (0 disables the type)" % nstype.max_sysctl
    if err == "EPERM":
        return ("the kernel has the type but something denies creating it even to root: a seccomp filter, an LSM, "
                "or the audit ran without CAP_SYS_ADMIN in its user namespace")
    if err == "EINVAL":
        return "the kernel rejects the flag although /proc shows the type"
    return "creation failed for a reason the runtime view does not explain"


def _version_disagreements(facts: Facts) -> List[Facts]:
    found = []
    release = facts["kernel"]["release"]
    checked = [(name, FEATURES_BY_NAME[name].first_kernel, result["status"])
               for name, result in facts["features"].items()]
    # A type that fails to be created is already explained against its runtime presence: only a
    # type newer than the release is worth a version note.
    checked += [(name, entry["first_kernel"], entry["creatable"]["status"]) for name, entry in facts["types"].items()
                if entry["creatable"]["status"] == PASS]
    for name, first_kernel, status in checked:
        expected = release_has(release, first_kernel)
        if expected and status == FAIL:
            found.append(_disagreement(name, ("version", "probe"), "kernel %s is at least %s but the probe failed" % (
                release, first_kernel),
                "a seccomp filter or LSM hides it, a config option left it out, or the vendor kernel differs "
                "from mainline"))
        elif expected is False and status == PASS:
            found.append(_disagreement(name, ("version", "probe"), "kernel %s is older than %s but the probe passed" % (
                release, first_kernel), "the distribution backported it"))
    if release_has(release, MAX_NAMESPACES_SYSCTLS_KERNEL) and all(
            entry["max"] is None for entry in facts["types"].values()):
        found.append(_disagreement("user.max_*_namespaces", ("version", "runtime"),
                                   "kernel %s is at least %s but /proc/sys/user has no limits" % (
                                       release, MAX_NAMESPACES_SYSCTLS_KERNEL),
                                   "/proc/sys is masked or not this kernel's"))
    return found


def _userns_disagreements(facts: Facts) -> List[Facts]:
    found = []
    policy = facts["userns_policy"]
    create, operation = policy["create"]["status"], policy["privileged_operation"]["status"]
    closed = policy["closed_gates"]
    apparmor = policy["sysctls"].get("kernel.apparmor_restrict_unprivileged_userns") == "1"
    hard_closed = [name for name in closed if name != "kernel.apparmor_restrict_unprivileged_userns"]
    if not hard_closed and create == FAIL:
        found.append(_disagreement("unprivileged user namespaces", ("policy", "probe"),
                                   "no sysctl gate is closed but an unprivileged user cannot create a user namespace: "
                                   + policy["create"]["reason"],
                                   "a seccomp filter, an LSM (SELinux, an AppArmor profile) or a container runtime "
                                   "denies it"))
    if hard_closed and create == PASS:
        found.append(_disagreement("unprivileged user namespaces", ("policy", "probe"),
                                   "%s closed but an unprivileged user created a user namespace" % ", ".join(hard_closed),
                                   "the gate does not apply to the probing user, or it changed during the audit"))
    if create == PASS and operation == FAIL:
        found.append(_disagreement("unprivileged user namespaces", ("probe", "probe"),
                                   "an unprivileged user created a user namespace but could not use its capabilities: "
                                   + policy["privileged_operation"]["reason"],
                                   "AppArmor's restriction (kernel.apparmor_restrict_unprivileged_userns = 1, "
                                   "Ubuntu 23.10+) or another LSM strips the namespace's capabilities"
                                   if apparmor else
                                   "an LSM or seccomp filter denies privileged operations inside user namespaces"))
    if apparmor and operation == PASS:
        found.append(_disagreement("unprivileged user namespaces", ("policy", "probe"),
                                   "kernel.apparmor_restrict_unprivileged_userns is 1 but the capabilities worked",
                                   "AppArmor is not the active LSM, or the probe's profile allows user namespaces"))
    user_config = facts["types"]["user"]["config"]
    if user_config in ("y", "m") and policy["unprivileged"]["status"] == FAIL:
        found.append(_disagreement("unprivileged user namespaces", ("config", "policy"),
                                   "CONFIG_USER_NS is %s but unprivileged users cannot use user namespaces: %s" % (
                                       user_config, policy["unprivileged"]["reason"]),
                                   "built into the kernel, switched off or restricted at run time"))
    return found


def find_disagreements(facts: Facts) -> List[Facts]:
    """Every place where two sources (config, runtime presence, policy, probe, version) disagree, and what it means."""
    found: List[Facts] = []
    for nstype in NAMESPACE_TYPES:
        found.extend(_type_disagreements(facts, nstype))
    found.extend(_version_disagreements(facts))
    found.extend(_userns_disagreements(facts))
    return found


def isolate_summary(facts: Facts) -> Verdict:
    """Whether isolate.yml can run here: its set's types creatable as root, and pidfd_open."""
    if not facts["probed_as"]["root"]:
        return verdict(UNKNOWN, "the audit ran as uid %d, not root: isolate.yml needs root, so creation was not "
                       "probed with its rights (run the audit with become: true)" % facts["probed_as"]["uid"],
                       blockers=[])
    blockers = ["%s namespace: %s" % (name, facts["types"][name]["creatable"]["reason"])
                for name in ISOLATE_TYPES if facts["types"][name]["creatable"]["status"] != PASS]
    blockers += ["%s: %s" % (name, facts["features"][name]["reason"])
                 for name in ISOLATE_FEATURES if facts["features"][name]["status"] != PASS]
    if blockers:
        return verdict(FAIL, "isolate.yml cannot run: " + "; ".join(blockers), blockers=blockers)
    return verdict(PASS, "root can create %s namespaces and pidfd_open() works" % ", ".join(ISOLATE_TYPES),
                   blockers=[])
