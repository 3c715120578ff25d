# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one parser of /proc/self/mountinfo (proc(5)), shared by the store and by inspection, and the questions
about one path that need no read of it (its size grows with every mount on the host)."""

from __future__ import annotations

import errno
import os
import re
import sys
from typing import Dict, Iterable, List, NamedTuple, Optional

MOUNTINFO = "/proc/self/mountinfo"
FDINFO = "/proc/self/fdinfo/%d"
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
# An nsfs mount: its root names the namespace it pins, as readlink of /proc/PID/ns/TYPE does. Matched over
# the whole text at once: a host can have thousands of them, and one regex pass is cheaper than a Mount
# each.
_NSFS_LINE = re.compile(r"^([0-9]+) ([0-9]+) [0-9]+:[0-9]+ ([a-z_]+):\[([0-9]+)\] ([^ \n]+) [^\n]*? - nsfs ",
                        re.MULTILINE)
_NSFS_SEPARATOR = " - nsfs "  # paths never hold a space (the kernel escapes it), so this is the type field


class Mount(NamedTuple):
    mount_id: int
    parent_id: int
    root: str  # the path inside the mounted filesystem; for nsfs: 'net:[4026532281]'
    mount_point: str
    fstype: str
    source: str
    dev: int  # st_dev of the files on this mount


class NsfsMount(NamedTuple):
    """A bind mount that pins a namespace (fstype nsfs)."""
    mount_point: str
    nstype: str
    inode: int
    mount_id: int
    parent_id: int


class MountTable(NamedTuple):
    """One read of mountinfo, split for inspection."""
    mounts: List[Mount]  # all but the nsfs mounts, which sit on files and never under a looked-up directory
    pins: List[NsfsMount]


def _unescape(field: str) -> str:
    """Decode the kernel's octal escapes; it escapes only space, tab, newline and backslash."""
    if "\\" in field:
        return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)
    return field


def _read_text(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read().decode(sys.getfilesystemencoding(), "surrogateescape")  # as os.fsdecode does


def _parse_line(line: str) -> Mount:
    # Split on the single spaces the kernel writes, never on other whitespace, which it leaves unescaped
    # in paths.
    left, right = line.partition(" - ")[::2]
    fields = left.split(" ", 5)
    after = right.split(" ", 2)
    major, minor = fields[2].split(":")
    return Mount(int(fields[0]), int(fields[1]), _unescape(fields[3]), _unescape(fields[4]), after[0],
                 _unescape(after[1]) if len(after) > 1 else "", os.makedev(int(major), int(minor)))


def read_mountinfo(path: str = MOUNTINFO) -> List[Mount]:
    """The mounts of the caller's mount namespace, in mount order (a later mount may cover an earlier)."""
    return [_parse_line(line) for line in _read_text(path).split("\n") if line]


def read_mount_table(path: str = MOUNTINFO) -> MountTable:
    """The same read, with every nsfs bind mount given as the namespace it pins instead of as a Mount."""
    text = _read_text(path)
    pins = [NsfsMount(_unescape(mount_point) if "\\" in mount_point else mount_point, nstype, int(inode),
                      int(mount_id), int(parent_id))
            for mount_id, parent_id, nstype, inode, mount_point in _NSFS_LINE.findall(text)]
    mounts = [_parse_line(line) for line in text.split("\n") if line and _NSFS_SEPARATOR not in line]
    return MountTable(mounts, pins)


def mount_points(fstype: Optional[str] = None, mounts: Optional[Iterable[Mount]] = None) -> Dict[str, str]:
    """Mount point -> file system type of the topmost mount there, optionally only of one type.

    Reads the caller's mountinfo unless a snapshot (from read_mountinfo) is given.
    """
    points = {}
    for mount in read_mountinfo() if mounts is None else mounts:
        if fstype is None or mount.fstype == fstype:
            points[mount.mount_point] = mount.fstype
    return points


def topmost(mount_point: str, mounts: Optional[Iterable[Mount]] = None) -> Optional[Mount]:
    """The mount that covers any others at mount_point (the last mounted there), or None.

    Reads the caller's mountinfo unless a snapshot (from read_mountinfo) is given.
    """
    found = None
    for mount in read_mountinfo() if mounts is None else mounts:
        if mount.mount_point == mount_point:
            found = mount
    return found


def mount_id(path: str) -> int:
    """The id of the mount that path resolves into (mountinfo's first field), from the fdinfo of an O_PATH fd."""
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        with open(FDINFO % fd) as handle:
            for line in handle:
                if line.startswith("mnt_id:"):
                    return int(line.split()[1])
    finally:
        os.close(fd)
    raise OSError(errno.ENOTSUP, "no mnt_id in " + FDINFO % fd)


def is_mount_point(path: str) -> bool:
    """Whether a mount sits at path: the path resolves into another mount than its parent directory.

    Unlike a comparison of st_dev, this sees a bind mount of a directory onto itself (iproute2's /run/netns).
    """
    path = os.path.realpath(path)
    try:
        return mount_id(path) != mount_id(os.path.dirname(path))
    except FileNotFoundError:
        return False
