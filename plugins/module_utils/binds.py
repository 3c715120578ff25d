# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nsfs bind mounts: a set's namespace files in the store and its link in /run/netns."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from typing import Optional

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import is_mount_point
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import NETNS_DIR, SetState
from ansible_collections.linux.namespaces.plugins.module_utils.store import is_nsfs_of


def create_empty_file(path: str) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444))


def bind(source: str, target: str) -> None:
    create_empty_file(target)
    try:
        syscalls.mount(source, target, None, syscalls.MS_BIND)
    except BaseException:
        with contextlib.suppress(OSError):  # an empty file in /run/netns would show as a name to `ip netns`
            os.unlink(target)
        raise


def unbind(path: str) -> None:
    """Detach a bind mount (if it is one) and remove its mount-point file. A symbolic link is not followed:
    the holder's link to sleep (holder.holder_link) may be left in a set's directory by a killed run."""
    try:
        syscalls.umount2(path, syscalls.MNT_DETACH | syscalls.UMOUNT_NOFOLLOW)
    except NamespaceError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOENT):
            raise
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def link_netns(state: SetState) -> None:
    """Publish the net namespace at /run/netns/NAME, as `ip netns add` would."""
    link = os.path.join(NETNS_DIR, state.name)
    if os.path.lexists(link):
        if is_nsfs_of(link, state.inodes["net"]):
            return
        raise NamespaceError("%s exists and is not this set's network namespace; remove it or set "
                             "netns_link: false" % link)
    os.makedirs(NETNS_DIR, mode=0o755, exist_ok=True)
    if not is_mount_point(NETNS_DIR):
        # iproute2 makes /run/netns a shared mount of its own, so namespaces bound there later
        # appear in mount namespaces made earlier by `ip netns exec`.
        syscalls.mount(NETNS_DIR, NETNS_DIR, None, syscalls.MS_BIND | syscalls.MS_REC)
        syscalls.mount(None, NETNS_DIR, None, syscalls.MS_SHARED | syscalls.MS_REC)
    bind(os.path.join(state.path, "net"), link)


def unlink_netns(state: SetState) -> bool:
    """Remove /run/netns/NAME if it is the set's network namespace; say if it was."""
    link = os.path.join(NETNS_DIR, state.name)
    inode = _net_inode(state)
    if inode is not None and is_nsfs_of(link, inode):
        unbind(link)
        return True
    if "net" in state.types and state.options.netns_link and _is_bare_mount_point(link):
        # A run killed inside unbind() detached the mount but did not get to unlink its file.
        os.unlink(link)
        return True
    return False


def _is_bare_mount_point(path: str) -> bool:
    """An empty regular file with nothing mounted on it, as bind() makes and unbind() leaves for a moment."""
    try:
        info = os.lstat(path)
        parent = os.stat(os.path.dirname(path))
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == 0 and info.st_dev == parent.st_dev


def _net_inode(state: SetState) -> Optional[int]:
    """The set's network namespace: as recorded, or, for a create killed before it recorded the inodes, as its
    own bind in the store shows (bound before /run/netns/NAME is, unbound after it is)."""
    if "net" in state.inodes:
        return state.inodes["net"]
    own = os.path.join(state.path, "net")
    with contextlib.suppress(OSError):
        inode = os.stat(own).st_ino
        if is_nsfs_of(own, inode):
            return inode
    return None
