# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""System V IPC of the caller's IPC namespace, through the ctypes layer of syscalls.py."""

from __future__ import annotations

import ctypes

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls

# System V message queues (sys/msg.h), by key: the IPC demonstration of docs/SEED.md.
IPC_CREAT = 0o1000
IPC_EXCL = 0o2000
IPC_RMID = 0
syscalls.libc.msgget.argtypes = [ctypes.c_int, ctypes.c_int]
syscalls.libc.msgctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]


def msgget(key: int, flags: int = 0) -> int:
    """The id of the caller's IPC namespace's message queue with that key; IPC_CREAT makes it if missing."""
    signed_key = ctypes.c_int32(key).value  # key_t is a signed int; keys are usually written in hex
    return syscalls.checked("msgget", syscalls.libc.msgget(signed_key, flags),
                            target="key 0x%08x" % (key & 0xFFFFFFFF))


def msgctl_remove(queue_id: int) -> None:
    """Remove a message queue by id (IPC_RMID)."""
    syscalls.checked("msgctl", syscalls.libc.msgctl(queue_id, IPC_RMID, None), target="queue id %d" % queue_id)
