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
import socket
import struct
from typing import Callable, Dict, Iterable, List, Optional

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

PROPAGATION_FLAGS = {
    "private": MS_PRIVATE,
    "slave": MS_SLAVE,
    "shared": MS_SHARED,
    "unbindable": MS_UNBINDABLE,
}

# prctl options (linux/prctl.h).
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
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
_libc = ctypes.CDLL(None, use_errno=True)


def syscall_number(name: str) -> int:
    """The number of a post-5.0 syscall on this machine; never a guess for an unknown architecture."""
    offset = _UNIFIED_OFFSET_BY_MACHINE.get(_MACHINE)
    if offset is None:
        raise NamespaceError("%s: no syscall table for the %s architecture" % (name, _MACHINE), call=name,
                             err=errno.ENOSYS)
    return _UNIFIED_SYSCALLS[name] + offset


def _checked(call: str, result: int, nstype: Optional[str] = None, target: Optional[str] = None) -> int:
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


_libc.syscall.restype = ctypes.c_long
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.setdomainname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


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
    _checked("unshare", _libc.unshare(flags), _describe_flags(flags))


def setns(fd: int, nstype: int = 0, target: Optional[str] = None) -> None:
    """Join the namespace behind fd (an nsfs file, or a pidfd with a mask of types)."""
    native: Optional[Callable[[int, int], None]] = getattr(os, "setns", None)
    if native is not None:
        try:
            native(fd, nstype)
        except OSError as exc:
            raise _from_oserror("setns", exc, _describe_flags(nstype), target)
        return
    _checked("setns", _libc.setns(fd, nstype), _describe_flags(nstype), target)


def mount(source: Optional[str], target: str, fstype: Optional[str], flags: int = 0,
          data: Optional[str] = None) -> None:
    _checked("mount", _libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)),
             target=target)


def umount2(target: str, flags: int = 0) -> None:
    _checked("umount2", _libc.umount2(_bytes(target), flags), target=target)


def sethostname(name: str) -> None:
    raw = name.encode()
    _checked("sethostname", _libc.sethostname(raw, len(raw)), "uts")


def setdomainname(name: str) -> None:
    raw = name.encode()
    _checked("setdomainname", _libc.setdomainname(raw, len(raw)), "uts")


def _prctl(option: int, arg: int = 0) -> None:
    _checked("prctl", _libc.prctl(option, arg, 0, 0, 0))


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


def set_name(name: str) -> None:
    """Set the caller's comm (what ps shows), at most 15 bytes."""
    raw = ctypes.create_string_buffer(name.encode()[:15])
    _checked("prctl", _libc.prctl(PR_SET_NAME, ctypes.addressof(raw), 0, 0, 0))


def syscall(name: str, *args: int) -> int:
    """A checked raw syscall by name (post-5.0 calls only)."""
    result = _libc.syscall(ctypes.c_long(syscall_number(name)), *[ctypes.c_long(a) for a in args])
    return _checked(name, result)


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
    """An fd on a namespace file (/proc/PID/ns/TYPE or a bind mount of one)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise error_from("open", exc.errno or errno.EIO, target=path)


# Interface flags through the classic ioctls: no netlink needed to bring lo up.
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: ifr_name[IFNAMSIZ], then ifr_flags in the union


def _ifreq_flags(sock: socket.socket, ifname: str) -> int:
    request = struct.pack(_IFREQ, ifname.encode(), 0)
    try:
        reply = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request)
    except OSError as exc:
        raise error_from("ioctl", exc.errno or errno.EIO, "net", "SIOCGIFFLAGS " + ifname)
    return struct.unpack(_IFREQ, reply)[1]


def link_is_up(ifname: str) -> bool:
    """Whether the interface is administratively up in the caller's network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return bool(_ifreq_flags(sock, ifname) & IFF_UP)


def set_link_up(ifname: str, up: bool = True) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = _ifreq_flags(sock, ifname)
        flags = (flags | IFF_UP) if up else (flags & ~IFF_UP)
        try:
            fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack(_IFREQ, ifname.encode(), flags))
        except OSError as exc:
            raise error_from("ioctl", exc.errno or errno.EIO, "net", "SIOCSIFFLAGS " + ifname)


# clone3 (5.3+). It goes through a PyDLL handle, which keeps the GIL across the call: the child
# then returns into Python exactly as after os.fork(), holding the only thread's GIL.
_pylibc = ctypes.PyDLL(None, use_errno=True)
_pylibc.syscall.restype = ctypes.c_long


class _CloneArgs(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in
                ("flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack", "stack_size", "tls")]


def clone3_fork(flags: int = 0) -> int:
    """fork() through clone3 with CLONE_* flags: the child's pid in the parent, 0 in the child.

    The child must leave with os._exit: Python's after-fork hooks do not run for it.
    """
    args = _CloneArgs(flags=flags, exit_signal=signal.SIGCHLD)
    result = _pylibc.syscall(ctypes.c_long(syscall_number("clone3")), ctypes.c_void_p(ctypes.addressof(args)),
                             ctypes.c_size_t(ctypes.sizeof(args)))
    return _checked("clone3", result)


# The new mount API (5.2+), mount_setattr (5.12+), listmount and statmount (6.8+).
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
OPEN_TREE_CLONE = 0x1
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
FSCONFIG_CMD_CREATE = 6
FSMOUNT_CLOEXEC = 0x1
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_IDMAP = 0x100000
LSMT_ROOT = 0xFFFFFFFFFFFFFFFF  # listmount: the mounts below the caller's root
STATMOUNT_SB_BASIC = 0x1


def _address(buffer: ctypes.Array) -> int:  # type: ignore[type-arg]
    return ctypes.addressof(buffer)


def _c_string(value: str) -> ctypes.Array:  # type: ignore[type-arg]
    return ctypes.create_string_buffer(os.fsencode(value))


def open_tree_clone(path: str, recursive: bool = False) -> int:
    """An fd on a detached copy of the mount at path (with recursive: and of every mount below it), attached
    nowhere until move_mount_to, gone when the fd closes."""
    raw = _c_string(path)
    return syscall("open_tree", AT_FDCWD, _address(raw),
                   OPEN_TREE_CLONE | os.O_CLOEXEC | (AT_RECURSIVE if recursive else 0))


def move_mount_to(mount_fd: int, target: str) -> None:
    """Attach the detached mount behind mount_fd (from open_tree_clone or fsmount_new) at target."""
    empty, raw = _c_string(""), _c_string(target)
    syscall("move_mount", mount_fd, _address(empty), AT_FDCWD, _address(raw), MOVE_MOUNT_F_EMPTY_PATH)


def fsmount_new(fstype: str) -> int:
    """An fd on a new, detached mount of a fresh fstype superblock (e.g. tmpfs)."""
    name = _c_string(fstype)
    context = syscall("fsopen", _address(name), 0x1)  # FSOPEN_CLOEXEC
    try:
        syscall("fsconfig", context, FSCONFIG_CMD_CREATE, 0, 0, 0)
        return syscall("fsmount", context, FSMOUNT_CLOEXEC, 0)
    finally:
        os.close(context)


class _MountAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("attr_set", "attr_clr", "propagation", "userns_fd")]


def mount_setattr(mount_fd: int, attr_set: int, userns_fd: int = 0) -> None:
    """Set MOUNT_ATTR_* flags on the mount behind mount_fd (with MOUNT_ATTR_IDMAP: idmap it by userns_fd)."""
    attr = _MountAttr(attr_set=attr_set, userns_fd=userns_fd)
    empty = _c_string("")
    syscall("mount_setattr", mount_fd, _address(empty), AT_EMPTY_PATH, ctypes.addressof(attr), ctypes.sizeof(attr))


class _MntIdReq(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint32), ("spare", ctypes.c_uint32), ("mnt_id", ctypes.c_uint64),
                ("param", ctypes.c_uint64)]


def listmount(mnt_id: int = LSMT_ROOT, limit: int = 256) -> List[int]:
    """Unique 64-bit ids of up to limit mounts below mnt_id."""
    request = _MntIdReq(size=ctypes.sizeof(_MntIdReq), mnt_id=mnt_id)
    ids = (ctypes.c_uint64 * limit)()
    count = syscall("listmount", ctypes.addressof(request), ctypes.addressof(ids), limit, 0)
    return list(ids[:count])


def statmount_basic(mnt_id: int) -> Dict[str, int]:
    """The superblock basics of mount mnt_id: the mask of answered fields and the filesystem magic."""
    request = _MntIdReq(size=ctypes.sizeof(_MntIdReq), mnt_id=mnt_id, param=STATMOUNT_SB_BASIC)
    reply = ctypes.create_string_buffer(4096)
    syscall("statmount", ctypes.addressof(request), _address(reply), len(reply), 0)
    # struct statmount: u32 size, u32 mnt_opts, u64 mask, u32 sb_dev_major, u32 sb_dev_minor, u64 sb_magic
    raw = reply.raw
    return {"size": struct.unpack_from("I", raw, 0)[0], "mask": struct.unpack_from("Q", raw, 8)[0],
            "sb_magic": struct.unpack_from("Q", raw, 24)[0]}


# rtnetlink (linux/netlink.h, linux/rtnetlink.h, linux/net_namespace.h): the id under which the caller's
# network namespace knows another one, what `ip netns list-id` and lsns's NETNSID show.
NETLINK_ROUTE = 0
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
RTM_NEWNSID = 88
RTM_GETNSID = 90
NETNSA_NSID = 1
NETNSA_FD = 3
_NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
_RTGENMSG = struct.Struct("=B3x")  # family, padded to the netlink alignment of 4
_NLATTR = struct.Struct("=HH")  # length, type


def open_rtnetlink() -> socket.socket:
    """A route netlink socket for netns_id; one serves many queries."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        sock.bind((0, 0))
    except OSError as exc:
        raise error_from("socket", exc.errno or errno.EIO, "net", "AF_NETLINK")
    return sock


def netns_id(sock: socket.socket, ns_fd: int, sequence: int = 1) -> Optional[int]:
    """The id of the network namespace behind ns_fd as seen from the caller's; None when unassigned.

    RTM_GETNSID only reads: it never assigns an id.
    """
    body = _RTGENMSG.pack(socket.AF_UNSPEC) + _NLATTR.pack(8, NETNSA_FD) + struct.pack("=I", ns_fd)
    request = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), RTM_GETNSID, NLM_F_REQUEST, sequence, 0) + body
    try:
        sock.send(request)
        while True:
            reply = sock.recv(65536)
            header = _NLMSGHDR.unpack_from(reply)
            length, kind, answered = header[0], header[1], header[3]
            if answered == sequence:
                break
    except OSError as exc:
        raise error_from("netlink", exc.errno or errno.EIO, "net", "RTM_GETNSID")
    if kind == NLMSG_ERROR:
        raise error_from("netlink", -struct.unpack_from("=i", reply, _NLMSGHDR.size)[0], "net", "RTM_GETNSID")
    offset = _NLMSGHDR.size + _RTGENMSG.size
    while offset + _NLATTR.size <= length:
        attr_length, attr_type = _NLATTR.unpack_from(reply, offset)
        if attr_type == NETNSA_NSID:
            nsid = struct.unpack_from("=i", reply, offset + _NLATTR.size)[0]
            return nsid if nsid >= 0 else None  # NETNSA_NSID_NOT_ASSIGNED is -1
        if attr_length < _NLATTR.size:
            break
        offset += (attr_length + 3) & ~3
    return None


# System V message queues (sys/msg.h): the seed's IPC demonstration, by key.
IPC_CREAT = 0o1000
IPC_EXCL = 0o2000
IPC_RMID = 0
_libc.msgget.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.msgctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]


def msgget(key: int, flags: int = 0) -> int:
    """The id of the caller's IPC namespace's message queue with that key; IPC_CREAT makes it if missing."""
    signed_key = ctypes.c_int32(key).value  # key_t is a signed int; keys are usually written in hex
    return _checked("msgget", _libc.msgget(signed_key, flags), target="key 0x%08x" % (key & 0xFFFFFFFF))


def msgctl_remove(queue_id: int) -> None:
    """Remove a message queue by id (IPC_RMID)."""
    _checked("msgctl", _libc.msgctl(queue_id, IPC_RMID, None), target="queue id %d" % queue_id)
