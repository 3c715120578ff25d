# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The walk of /proc: which namespaces the processes are in, read from their ns links."""

from __future__ import annotations

import errno
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError, explain
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPE_NAMES

PROC = "/proc"


class NamespaceRecord:
    """What is known of one namespace; filled by the walk, the mount table and the nsfs ioctls."""

    __slots__ = ("nstype", "inode", "nprocs", "pid", "command", "uid", "proc_path", "mounts", "owner",
                 "parent", "owner_uid", "netnsid", "set_name", "netns_name")

    def __init__(self, nstype: str, inode: int) -> None:
        self.nstype = nstype
        self.inode = inode
        self.nprocs = 0
        self.pid: Optional[int] = None  # the lowest pid inside
        self.command: Optional[str] = None
        self.uid: Optional[int] = None  # of the lowest pid, as lsns shows
        self.proc_path: Optional[str] = None
        self.mounts: List[str] = []
        self.owner: Optional[int] = None  # inode of the owning user namespace
        self.parent: Optional[int] = None  # inode of the parent (pid and user namespaces only)
        self.owner_uid: Optional[int] = None
        self.netnsid: Optional[int] = None
        self.set_name: Optional[str] = None
        self.netns_name: Optional[str] = None

    def paths(self) -> List[str]:
        """Where the namespace can be opened, the most stable first."""
        return self.mounts + ([self.proc_path] if self.proc_path else [])

    def to_dict(self, user_names: Callable[[Optional[int]], Optional[str]], relations: bool) -> Dict[str, Any]:
        listed = {
            "type": self.nstype,
            "inode": self.inode,
            "path": self.mounts[0] if self.mounts else self.proc_path,
            "nprocs": self.nprocs,
            "pid": self.pid,
            "command": self.command,
            "uid": self.uid,
            "user": user_names(self.uid),
            "mounts": list(self.mounts),
            "set": self.set_name,
            "netns_name": self.netns_name,
        }
        if relations:
            listed.update(owner_uid=self.owner_uid, owner_user=user_names(self.owner_uid), owner=self.owner,
                          parent=self.parent, netnsid=self.netnsid)
        return listed


Records = Dict[int, NamespaceRecord]  # by inode: nsfs inodes are unique across types


def present_types(proc_root: str = PROC) -> Tuple[str, ...]:
    """The types this kernel has, in table order."""
    available = set(os.listdir(os.path.join(proc_root, "self", "ns")))
    return tuple(t for t in TYPE_NAMES if t in available)


def _link_inode(link: str, nstype: str) -> int:
    """The inode in a namespace link such as 'net:[4026531840]'."""
    return int(link[len(nstype) + 2:-1])


def read_text(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def _process_identity(proc_root: str, pid: int) -> Tuple[Optional[str], Optional[int]]:
    """The command line (the name for kernel threads, as lsns shows) and the uid of a process."""
    base = "%s/%d" % (proc_root, pid)
    cmdline = read_text(base + "/cmdline")
    command = " ".join(cmdline.rstrip("\0").split("\0")) if cmdline else None
    if not command:
        command = (read_text(base + "/comm") or "").strip() or None
    try:
        uid: Optional[int] = os.stat(base).st_uid
    except OSError:
        uid = None
    return command, uid


def walk_processes(types: Sequence[str], proc_root: str = PROC) -> Tuple[Records, int]:
    """The one walk of /proc: namespaces with processes, and the count of processes that could not be read.

    A process whose namespace links cannot all be read (permission denied, exited during the walk, a
    zombie) is skipped whole, so no namespace counts a process it cannot prove.
    """
    records: Records = {}
    unreadable = 0
    readlink = os.readlink
    pids = sorted(int(entry) for entry in os.listdir(proc_root) if entry.isdigit())
    for pid in pids:  # ascending: the first process seen in a namespace is its lowest pid
        base = "%s/%d/ns/" % (proc_root, pid)
        try:
            links = [readlink(base + nstype) for nstype in types]
        except OSError:
            unreadable += 1
            continue
        first_seen = []
        for nstype, link in zip(types, links):
            inode = _link_inode(link, nstype)
            record = records.get(inode)
            if record is None:
                record = records[inode] = NamespaceRecord(nstype, inode)
                record.pid = pid
                record.proc_path = base + nstype
                first_seen.append(record)
            record.nprocs += 1
        if first_seen:
            command, uid = _process_identity(proc_root, pid)
            for record in first_seen:
                record.command, record.uid = command, uid
    return records, unreadable


def namespaces_of_pid(pid: int, types: Sequence[str], proc_root: str = PROC) -> Dict[str, int]:
    """{type: inode} for one process (or thread); NamespaceError if it cannot be read."""
    found = {}
    for nstype in types:
        path = "%s/%d/ns/%s" % (proc_root, pid, nstype)
        try:
            found[nstype] = _link_inode(os.readlink(path), nstype)
        except OSError as exc:
            raise NamespaceError("cannot read the %s namespace of pid %d (%s): %s"
                                 % (nstype, pid, path, explain("readlink", exc.errno or errno.EIO)),
                                 call="readlink", nstype=nstype, err=exc.errno)
    return found
