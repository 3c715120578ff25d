# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where an errno becomes a message a person can act on."""

from __future__ import annotations

import errno
import os
from typing import List, NamedTuple, Optional, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPES_BY_NAME


class NamespaceError(Exception):
    """A failed namespace operation, with the call, the namespace type and the cause."""

    def __init__(self, message: str, call: str = "", nstype: Optional[str] = None,
                 err: Optional[int] = None) -> None:
        super().__init__(message)
        self.call = call
        self.nstype = nstype
        self.errno = err


def read_sysctl(name: str) -> Optional[str]:
    """The value of a sysctl such as 'user.max_user_namespaces', or None where it does not exist."""
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as handle:
            return handle.read().strip()
    except OSError:
        return None


# (call, errno) -> the cause in plain words. The type, where known, is said by the caller's verb.
_CAUSES = {
    ("unshare", errno.EINVAL): "the kernel does not support this namespace type, or the process is multithreaded",
    ("unshare", errno.ENOMEM): "the PID namespace's init has exited, or the kernel is out of memory",
    ("unshare", errno.EUSERS): "user namespaces are nested 32 levels deep already",
    ("setns", errno.EINVAL): "the file is not a namespace of that type (before 5.8, a pidfd is not accepted), "
                             "or the process is multithreaded",
    ("setns", errno.EBADF): "the file descriptor is not open",
    ("setns", errno.ESRCH): "the process behind the pidfd has exited",
    ("setns", errno.ENOMEM): "the PID namespace's init has exited, or the kernel is out of memory",
    ("mount", errno.EINVAL): "the source or target is not a mount point, or a namespace file is bound onto a "
                             "shared mount (the store must be a private mount)",
    ("mount", errno.ENOENT): "the source or target does not exist",
    ("mount", errno.EBUSY): "the target is busy",
    ("umount2", errno.EINVAL): "the path is not a mount point",
    ("pidfd_open", errno.ESRCH): "the process does not exist",
    ("pidfd_send_signal", errno.ESRCH): "the process has exited",
    ("fork", errno.ENOMEM): "the PID namespace's init has exited: the namespace is dead",
    ("ioctl", errno.ENOTTY): "the file is not a namespace file (nsfs), or the kernel lacks this ioctl",
    ("mount_setattr", errno.EINVAL): "the filesystem does not support the attribute (for MOUNT_ATTR_IDMAP: no "
                                     "idmapped mounts on it)",
    ("setresuid", errno.EPERM): "only root can switch to another user",
    ("setresgid", errno.EINVAL): "the group is not mapped in the caller's user namespace",
    ("setgroups", errno.EPERM): "setgroups is denied in this user namespace (/proc/PID/setgroups is deny), or the "
                                "caller lacks CAP_SETGID",
    ("ioctl", errno.EPERM): "the namespace has no parent visible from here (the caller is at the root)",
    ("execve", errno.ENOENT): "the program was not found inside (PATH is searched in the mount namespace entered)",
    ("execve", errno.EACCES): "the program is not executable there (a directory, a missing execute bit, or a "
                              "noexec mount)",
    ("chdir", errno.ENOENT): "the directory does not exist in the mount namespace entered",
    ("setresuid", errno.EINVAL): "the id is not mapped in the user namespace entered",
    ("write timens_offsets", errno.ERANGE): "an offset is out of the kernel's range: at most 9223372036 s either "
                                            "way, and the shifted clock must stay within 0 to 4611686018 s",
    ("write timens_offsets", errno.EINVAL): "the kernel did not accept the offsets (a clock it cannot shift, or "
                                            "malformed text)",
    ("write timens_offsets", errno.EACCES): "a process has already entered the time namespace: offsets can be "
                                            "written only before that",
}

_GENERIC = {
    errno.EPERM: "permission denied: the operation needs CAP_SYS_ADMIN (run as root)",
    errno.EACCES: "access denied",
    errno.ENOSYS: "the running kernel does not have this system call",
    errno.ENOENT: "no such file or directory",
    errno.ESRCH: "no such process",
    errno.ENOSPC: "a namespace limit is reached",
}


class UsernsGate(NamedTuple):
    sysctl: str
    closed_value: str  # the value that closes the gate
    applies_to_root: bool
    meaning: str


# The sysctls that gate user namespaces, in the order a refusal is explained.
USERNS_GATES: Tuple[UsernsGate, ...] = (
    UsernsGate("user.max_user_namespaces", "0", True, "no user may create user namespaces"),
    UsernsGate("kernel.unprivileged_userns_clone", "0", False,
               "unprivileged user namespaces are off (Debian's switch)"),
    UsernsGate("kernel.apparmor_restrict_unprivileged_userns", "1", False,
               "AppArmor restricts them: they are created without usable capabilities"),
)


def _user_namespace_gate() -> Optional[str]:
    """Why this host refuses user namespaces, from the sysctls that gate them, or None."""
    privileged = os.geteuid() == 0
    for gate in USERNS_GATES:
        if (gate.applies_to_root or not privileged) and read_sysctl(gate.sysctl) == gate.closed_value:
            return "%s is %s on this host (%s)" % (gate.sysctl, gate.closed_value, gate.meaning)
    return None


def _limit_reached(types: List[str]) -> Optional[str]:
    """Which user.max_TYPE_namespaces limit stopped a create of these types (ENOSPC)."""
    limits = [(TYPES_BY_NAME[t].max_sysctl, read_sysctl(TYPES_BY_NAME[t].max_sysctl))
              for t in types if t in TYPES_BY_NAME]
    exhausted = [name for name, value in limits if value == "0"]
    if exhausted:
        return "%s is 0 on this host" % " and ".join(exhausted)
    known = ["%s (%s)" % (name, value) for name, value in limits if value is not None]
    if len(known) == 1:
        return "the limit %s is reached" % known[0]
    if known:
        return "a namespace limit is reached, one of: %s" % ", ".join(known)
    return None


def explain(call: str, err: int, nstype: Optional[str] = None) -> str:
    """The cause of errno `err` from `call`, in plain words. nstype may join several types with '+'."""
    types = nstype.split("+") if nstype else []
    if err == errno.ENOSPC and types:
        limit = _limit_reached(types)
        if limit:
            return limit
    if err == errno.EPERM and "user" in types and call in ("unshare", "clone"):
        gate = _user_namespace_gate()
        if gate:
            return gate
    if err == errno.ENOSYS:
        return "the running kernel (%s) does not have the %s system call" % (os.uname().release, call)
    cause = _CAUSES.get((call, err)) or _GENERIC.get(err)
    return cause or os.strerror(err)


_VERBS = {
    "unshare": "cannot create",
    "clone": "cannot create",
    "setns": "cannot enter",
}


def error_from(call: str, err: int, nstype: Optional[str] = None, target: Optional[str] = None) -> NamespaceError:
    """A NamespaceError naming the call, the namespace type or target, and the cause."""
    if nstype and "+" in nstype and call in _VERBS:
        what = "%s the %s namespaces" % (_VERBS[call], nstype.replace("+", ", "))
    elif nstype and call in _VERBS:
        what = "%s %s %s namespace" % (_VERBS[call], "an" if nstype[0] in "aeio" else "a", nstype)
    elif nstype:
        what = "%s failed for the %s namespace" % (call, nstype)
    else:
        what = "%s failed" % call
    if target:
        what += " (%s)" % target
    return NamespaceError("%s: %s" % (what, explain(call, err, nstype)), call=call, nstype=nstype, err=err)
