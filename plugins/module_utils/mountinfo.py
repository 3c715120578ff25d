# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one parser of /proc/self/mountinfo (proc(5)), shared by the store and by inspection."""

from __future__ import annotations

import re
import sys
from typing import Dict, Iterable, List, NamedTuple, Optional

MOUNTINFO = "/proc/self/mountinfo"
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
# The root of an nsfs mount names the namespace it pins, as readlink of /proc/PID/ns/TYPE does.
_NSFS_ROOT = re.compile(r"^([a-z_]+):\[([0-9]+)\]$")


class Mount(NamedTuple):
    mount_id: int
    parent_id: int
    root: str  # the path inside the mounted filesystem; for nsfs: 'net:[4026532281]'
    mount_point: str
    fstype: str
    source: str


class NsfsMount(NamedTuple):
    """A bind mount that pins a namespace (fstype nsfs)."""
    mount_point: str
    nstype: str
    inode: int


def _unescape(field: str) -> str:
    """Decode the kernel's octal escapes; it escapes only space, tab, newline and backslash."""
    if "\\" in field:
        return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)
    return field


def read_mountinfo(path: str = MOUNTINFO) -> List[Mount]:
    """The mounts of the caller's mount namespace, in mount order (a later mount may cover an earlier)."""
    with open(path, "rb") as handle:
        # Decoded as os.fsdecode does; split on the single spaces and newlines the kernel writes, never on
        # other whitespace, which it leaves unescaped in paths.
        text = handle.read().decode(sys.getfilesystemencoding(), "surrogateescape")
    mounts = []
    for line in text.split("\n"):
        if not line:
            continue
        left, right = line.partition(" - ")[::2]
        fields = left.split(" ", 5)
        after = right.split(" ", 2)
        mounts.append(Mount(int(fields[0]), int(fields[1]), _unescape(fields[3]), _unescape(fields[4]),
                            after[0], _unescape(after[1]) if len(after) > 1 else ""))
    return mounts


def mount_points(fstype: Optional[str] = None, mounts: Optional[Iterable[Mount]] = None) -> Dict[str, str]:
    """Mount point -> file system type of the topmost mount there, optionally only of one type.

    Reads the caller's mountinfo unless a snapshot (from read_mountinfo) is given.
    """
    points = {}
    for mount in read_mountinfo() if mounts is None else mounts:
        if fstype is None or mount.fstype == fstype:
            points[mount.mount_point] = mount.fstype
    return points


def nsfs_mounts(mounts: Iterable[Mount]) -> List[NsfsMount]:
    """Every nsfs bind mount among mounts, with the type and inode of the namespace it pins."""
    found = []
    for mount in mounts:
        if mount.fstype != "nsfs":
            continue
        match = _NSFS_ROOT.match(mount.root)
        if match:
            found.append(NsfsMount(mount.mount_point, match.group(1), int(match.group(2))))
    return found
