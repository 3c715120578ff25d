# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one ctypes syscall layer. Every call is checked; a failure raises NamespaceError."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import signal
import struct
from typing import Callable, Iterable, Optional

from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError, error_from
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPES_BY_FLAG

# Mount flags (linux/mount.h) and umount2 flags.
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_UNBINDABLE = 0x20000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_SHARED = 0x100000
MNT_DETACH = 0x2
UMOUNT_NOFOLLOW = 0x8

PROPAGATION_FLAGS = {
    "private": MS_PRIVATE,
    "slave": MS_SLAVE,
    "shared": MS_SHARED,
    "unbindable": MS_UNBINDABLE,
}

# prctl options (linux/prctl.h).
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

# Syscalls added since 5.0 have one number on every architecture but alpha and mips, which add an
# offset. Older calls (unshare, setns, mount, umount2) go through libc, which knows their numbers.
_UNIFIED_SYSCALLS = {
    "pidfd_send_signal": 424,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "pidfd_open": 434,
    "clone3": 435,
    "close_range": 436,
    "mount_setattr": 442,
    "statmount": 457,
    "listmount": 458,
}
_UNIFIED_OFFSET_BY_MACHINE = {
    "x86_64": 0, "i386": 0, "i486": 0, "i586": 0, "i686": 0,
    "aarch64": 0, "aarch64_be": 0, "armv6l": 0, "armv7l": 0, "armv8l": 0,
    "ppc": 0, "ppc64": 0, "ppc64le": 0, "s390x": 0, "riscv64": 0, "loongarch64": 0,
    "alpha": 110,
}
# Machines whose _IOC_NONE is 1 shifted by 29 instead of 0 (asm/ioctl.h of powerpc, mips, sparc).
_IOC_NONE_HIGH = ("ppc", "ppc64", "ppc64le", "mips", "mips64", "sparc", "sparc64")

_MACHINE = os.uname().machine
libc = ctypes.CDLL(None, use_errno=True)


def syscall_number(name: str) -> int:
    """The number of a post-5.0 syscall on this machine; never a guess for an unknown architecture."""
    offset = _UNIFIED_OFFSET_BY_MACHINE.get(_MACHINE)
    if offset is None:
        raise NamespaceError("%s: no syscall table for the %s architecture" % (name, _MACHINE), call=name,
                             err=errno.ENOSYS)
    return _UNIFIED_SYSCALLS[name] + offset


def checked(call: str, result: int, nstype: Optional[str] = None, target: Optional[str] = None) -> int:
    if result == -1:
        raise error_from(call, ctypes.get_errno(), nstype, target)
    return result


def _from_oserror(call: str, exc: OSError, nstype: Optional[str] = None,
                  target: Optional[str] = None) -> NamespaceError:
    return error_from(call, exc.errno or errno.EIO, nstype, target)


def _type_of(flags: int) -> Optional[str]:
    """The type name when flags name exactly one namespace type."""
    nstype = TYPES_BY_FLAG.get(flags)
    return nstype.name if nstype else None


def _describe_flags(flags: int) -> Optional[str]:
    single = _type_of(flags)
    if single or not flags:
        return single
    names = [t.name for f, t in TYPES_BY_FLAG.items() if flags & f]
    return "+".join(names)


libc.syscall.restype = ctypes.c_long
libc.unshare.argtypes = [ctypes.c_int]
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
libc.setdomainname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def _bytes(value: Optional[str]) -> Optional[bytes]:
    return None if value is None else os.fsencode(value)


def unshare(flags: int) -> None:
    """Move the caller into new namespaces (for pid and time: its future children)."""
    native: Optional[Callable[[int], None]] = getattr(os, "unshare", None)
    if native is not None:
        try:
            native(flags)
        except OSError as exc:
            raise _from_oserror("unshare", exc, _describe_flags(flags))
        return
    checked("unshare", libc.unshare(flags), _describe_flags(flags))


def setns(fd: int, nstype: int = 0, target: Optional[str] = None) -> None:
    """Join the namespace behind fd (an nsfs file, or a pidfd with a mask of types)."""
    native: Optional[Callable[[int, int], None]] = getattr(os, "setns", None)
    if native is not None:
        try:
            native(fd, nstype)
        except OSError as exc:
            raise _from_oserror("setns", exc, _describe_flags(nstype), target)
        return
    checked("setns", libc.setns(fd, nstype), _describe_flags(nstype), target)


def mount(source: Optional[str], target: str, fstype: Optional[str], flags: int = 0,
          data: Optional[str] = None) -> None:
    checked("mount", libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)),
            target=target)


def umount2(target: str, flags: int = 0) -> None:
    checked("umount2", libc.umount2(_bytes(target), flags), target=target)


def sethostname(name: str) -> None:
    raw = name.encode()
    checked("sethostname", libc.sethostname(raw, len(raw)), "uts")


def setdomainname(name: str) -> None:
    raw = name.encode()
    checked("setdomainname", libc.setdomainname(raw, len(raw)), "uts")


def _prctl(option: int, arg: int = 0) -> None:
    checked("prctl", libc.prctl(option, arg, 0, 0, 0))


def set_pdeathsig(sig: int = signal.SIGKILL) -> None:
    """Have the kernel send sig to the caller when its parent exits."""
    _prctl(PR_SET_PDEATHSIG, sig)


def set_dumpable(dumpable: bool) -> None:
    _prctl(PR_SET_DUMPABLE, 1 if dumpable else 0)


def set_no_new_privs() -> None:
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def set_child_subreaper(enabled: bool = True) -> None:
    """Adopt (or stop adopting) the orphans of the caller's descendants."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1 if enabled else 0)


def syscall(name: str, *args: int) -> int:
    """A checked raw syscall by name (post-5.0 calls only)."""
    result = libc.syscall(ctypes.c_long(syscall_number(name)), *[ctypes.c_long(a) for a in args])
    return checked(name, result)


def pidfd_open(pid: int) -> int:
    """A pidfd for pid (5.3+): it names the process, never a later one that reuses the number."""
    return syscall("pidfd_open", pid, 0)


def pidfd_send_signal(pidfd: int, sig: int) -> None:
    syscall("pidfd_send_signal", pidfd, sig, 0, 0)


def close_range(first: int, last: int = 0xFFFFFFFF) -> None:
    """Close fds first..last, with close_range (5.9+) or a loop where the kernel lacks it."""
    try:
        syscall("close_range", first, last, 0)
    except NamespaceError as exc:
        if exc.errno not in (errno.ENOSYS, errno.EINVAL):
            raise
        os.closerange(first, min(last + 1, os.sysconf("SC_OPEN_MAX")))


def close_fds_except(keep: Iterable[int]) -> None:
    """Close every fd above 2 except those in keep (so a command inherits nothing by accident)."""
    start = 3
    for fd in sorted(set(f for f in keep if f >= 3)):
        if fd > start:
            close_range(start, fd - 1)
        start = fd + 1
    close_range(start)


# nsfs ioctls (linux/nsfs.h): NSIO is 0xb7.
def _io(nr: int) -> int:
    none = (1 << 29) if _MACHINE in _IOC_NONE_HIGH else 0
    return none | (0xB7 << 8) | nr


def _ior(nr: int, size: int) -> int:
    read_direction = (2 << 29) if _MACHINE in _IOC_NONE_HIGH else (2 << 30)
    return read_direction | (size << 16) | (0xB7 << 8) | nr


NS_GET_USERNS = _io(0x1)
NS_GET_PARENT = _io(0x2)
NS_GET_NSTYPE = _io(0x3)
NS_GET_OWNER_UID = _io(0x4)
NS_GET_ID = _ior(0xD, 8)


def _ns_ioctl(fd: int, request: int, name: str) -> int:
    try:
        return fcntl.ioctl(fd, request)
    except OSError as exc:
        raise error_from("ioctl", exc.errno or errno.EIO, target=name)


def ns_get_nstype(fd: int) -> int:
    """The CLONE_NEW* value of the namespace behind fd (4.11+)."""
    return _ns_ioctl(fd, NS_GET_NSTYPE, "NS_GET_NSTYPE")


def ns_get_userns(fd: int) -> int:
    """A new fd for the user namespace that owns the namespace behind fd (4.9+)."""
    return _ns_ioctl(fd, NS_GET_USERNS, "NS_GET_USERNS")


def ns_get_parent(fd: int) -> int:
    """A new fd for the parent of a pid or user namespace (4.9+); EPERM at the caller's root."""
    return _ns_ioctl(fd, NS_GET_PARENT, "NS_GET_PARENT")


def _ns_ioctl_read(fd: int, request: int, name: str, layout: str) -> int:
    """An nsfs ioctl that writes one value of struct layout into the caller's buffer."""
    buf = bytearray(struct.calcsize(layout))
    try:
        fcntl.ioctl(fd, request, buf, True)
    except OSError as exc:
        raise error_from("ioctl", exc.errno or errno.EIO, target=name)
    return struct.unpack(layout, bytes(buf))[0]


def ns_get_owner_uid(fd: int) -> int:
    """The uid (in the caller's user namespace) that owns a user namespace (4.11+)."""
    return _ns_ioctl_read(fd, NS_GET_OWNER_UID, "NS_GET_OWNER_UID", "I")


def ns_get_id(fd: int) -> int:
    """The 64-bit id of the namespace behind fd, never reused while the system runs (6.18+)."""
    return _ns_ioctl_read(fd, NS_GET_ID, "NS_GET_ID", "Q")


def open_namespace(path: str) -> int:
    """An fd on a namespace file (/proc/PID/ns/TYPE or a bind mount of one).

    The path is first opened with O_PATH, which opens nothing for reading, and proven to be on nsfs; only
    then is that same file opened for reading (setns and the NS_GET_* ioctls refuse O_PATH fds). Opening
    any other file could block (a FIFO waits for a writer) or act (a device).
    """
    try:
        located = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except ValueError:  # a NUL in the path
        raise error_from("open", errno.EINVAL, target=repr(path))
    except OSError as exc:
        raise error_from("open", exc.errno or errno.EIO, target=path)
    try:
        if os.fstat(located).st_dev != os.stat("/proc/self/ns/uts").st_dev:
            raise NamespaceError("%s is not a namespace file (not on nsfs)" % path, call="open", err=errno.EINVAL)
        return os.open("/proc/self/fd/%d" % located, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise error_from("open", exc.errno or errno.EIO, target=path)
    finally:
        os.close(located)
