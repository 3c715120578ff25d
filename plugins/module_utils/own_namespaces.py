# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Leaving this process's own namespaces for a while and coming back: visit.py joins a target's, inside.py a
set's, creating.py unshares new ones to set them up and bind them. A user namespace cannot be left, and
joining or unsharing a mount namespace needs a single-threaded process (docs/PITFALLS.md, P4): can_leave()
says when this applies."""

from __future__ import annotations

import contextlib
import os
from typing import Iterable, Iterator

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPES_BY_NAME


def can_leave(types: Iterable[str]) -> bool:
    """Whether this process may leave its namespaces of these types and come back: no user namespace, one thread."""
    return "user" not in types and len(os.listdir("/proc/self/task")) == 1


def file_of_own(nstype: str) -> str:
    """The /proc/self/ns file of the namespace this process's children join: the one to come back to."""
    return "/proc/self/ns/" + (TYPES_BY_NAME[nstype].for_children or nstype)


@contextlib.contextmanager
def kept(types: Iterable[str]) -> Iterator[None]:
    """The block may join or unshare namespaces of these types; afterwards this process is back in its own, and
    in its own root and working directory, whatever the block raised."""
    opened = []
    try:
        own = {}
        for nstype in types:
            own[nstype] = os.open(file_of_own(nstype), os.O_RDONLY | os.O_CLOEXEC)
            opened.append(own[nstype])
        root_fd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        opened.append(root_fd)
        cwd_fd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        opened.append(cwd_fd)
        try:
            yield
        finally:
            for nstype, fd in own.items():
                syscalls.setns(fd, TYPES_BY_NAME[nstype].flag, target=file_of_own(nstype))
            # Joining a mount namespace moves root and working directory to its root.
            if os.stat("/")[:2] != os.fstat(root_fd)[:2]:
                os.fchdir(root_fd)
                os.chroot(".")
            os.fchdir(cwd_fd)
    finally:
        for fd in opened:
            os.close(fd)
