# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Newer kernel calls through the ctypes layer of syscalls.py: clone3 and the file-descriptor mount API.

Used to set a new /sys and /proc up (creating.py) and by the capability probes; entering needs none of them.
"""

from __future__ import annotations

import ctypes
import os
import signal
import struct
from typing import Dict, List

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls


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
    result = _pylibc.syscall(ctypes.c_long(syscalls.syscall_number("clone3")), ctypes.c_void_p(ctypes.addressof(args)),
                             ctypes.c_size_t(ctypes.sizeof(args)))
    return syscalls.checked("clone3", result)


# The new mount API (5.2+), mount_setattr (5.12+), listmount and statmount (6.8+).
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
OPEN_TREE_CLONE = 0x1
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
FSCONFIG_SET_FD = 5
FSCONFIG_CMD_CREATE = 6
FSMOUNT_CLOEXEC = 0x1
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
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
    return syscalls.syscall("open_tree", AT_FDCWD, _address(raw),
                            OPEN_TREE_CLONE | os.O_CLOEXEC | (AT_RECURSIVE if recursive else 0))


def move_mount_to(mount_fd: int, target: str) -> None:
    """Attach the detached mount behind mount_fd (from open_tree_clone or fsmount_new) at target."""
    empty, raw = _c_string(""), _c_string(target)
    syscalls.syscall("move_mount", mount_fd, _address(empty), AT_FDCWD, _address(raw), MOVE_MOUNT_F_EMPTY_PATH)


def fsmount_new(fstype: str) -> int:
    """An fd on a new, detached mount of a fresh fstype superblock (e.g. tmpfs)."""
    name = _c_string(fstype)
    context = syscalls.syscall("fsopen", _address(name), 0x1)  # FSOPEN_CLOEXEC
    try:
        syscalls.syscall("fsconfig", context, FSCONFIG_CMD_CREATE, 0, 0, 0)
        return syscalls.syscall("fsmount", context, FSMOUNT_CLOEXEC, 0)
    finally:
        os.close(context)


def procfs_of(pid_namespace_fd: int) -> int:
    """An fd on a new, detached procfs (nosuid, nodev, noexec) showing the PID namespace behind the fd, which
    the caller need not be a member of: procfs's pidns option (Linux 6.18 here). Raises NamespaceError:
    EINVAL where the kernel lacks the option, ENOSYS before the mount API (5.2), EPERM for the root of a
    new user namespace."""
    name, option = _c_string("proc"), _c_string("pidns")
    context = syscalls.syscall("fsopen", _address(name), 0x1)  # FSOPEN_CLOEXEC
    try:
        syscalls.syscall("fsconfig", context, FSCONFIG_SET_FD, _address(option), 0, pid_namespace_fd)
        syscalls.syscall("fsconfig", context, FSCONFIG_CMD_CREATE, 0, 0, 0)
        return syscalls.syscall("fsmount", context, FSMOUNT_CLOEXEC,
                                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
    finally:
        os.close(context)


class _MountAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("attr_set", "attr_clr", "propagation", "userns_fd")]


def mount_setattr(mount_fd: int, attr_set: int, userns_fd: int = 0) -> None:
    """Set MOUNT_ATTR_* flags on the mount behind mount_fd (with MOUNT_ATTR_IDMAP: idmap it by userns_fd)."""
    attr = _MountAttr(attr_set=attr_set, userns_fd=userns_fd)
    empty = _c_string("")
    syscalls.syscall("mount_setattr", mount_fd, _address(empty), AT_EMPTY_PATH, ctypes.addressof(attr),
                     ctypes.sizeof(attr))


class _MntIdReq(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint32), ("spare", ctypes.c_uint32), ("mnt_id", ctypes.c_uint64),
                ("param", ctypes.c_uint64)]


def listmount(mnt_id: int = LSMT_ROOT, limit: int = 256) -> List[int]:
    """Unique 64-bit ids of up to limit mounts below mnt_id."""
    request = _MntIdReq(size=ctypes.sizeof(_MntIdReq), mnt_id=mnt_id)
    ids = (ctypes.c_uint64 * limit)()
    count = syscalls.syscall("listmount", ctypes.addressof(request), ctypes.addressof(ids), limit, 0)
    return list(ids[:count])


def statmount_basic(mnt_id: int) -> Dict[str, int]:
    """The superblock basics of mount mnt_id: the mask of answered fields and the filesystem magic."""
    request = _MntIdReq(size=ctypes.sizeof(_MntIdReq), mnt_id=mnt_id, param=STATMOUNT_SB_BASIC)
    reply = ctypes.create_string_buffer(4096)
    syscalls.syscall("statmount", ctypes.addressof(request), _address(reply), len(reply), 0)
    # struct statmount: u32 size, u32 mnt_opts, u64 mask, u32 sb_dev_major, u32 sb_dev_minor, u64 sb_magic
    raw = reply.raw
    return {"size": struct.unpack_from("I", raw, 0)[0], "mask": struct.unpack_from("Q", raw, 8)[0],
            "sb_magic": struct.unpack_from("Q", raw, 24)[0]}
