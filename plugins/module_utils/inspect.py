# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Listing the namespaces of a host: one walk of /proc and one read of /proc/self/mountinfo.

It finds what lsns shows (namespaces with processes) and what lsns misses: namespaces pinned only by a
bind mount, or only as the owner or parent of another namespace. It also checks this collection's store:
the health of every set, and the leaks (records without mounts, mounts without records, /run/netns files
that are not mounts). It only reads: no namespace is created, entered or changed.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pwd
import socket
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils import netdev, syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import (
    MOUNTINFO, MountTable, NsfsMount, read_mount_table)
from ansible_collections.linux.namespaces.plugins.module_utils.procfs import (
    PROC, NamespaceRecord, Records, namespaces_of_pid, present_types, read_text, walk_processes)
from ansible_collections.linux.namespaces.plugins.module_utils.rootless import holder_holds, open_store
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import (
    NETNS_DIR, STATE_FILE, SetState, describe_set)
from ansible_collections.linux.namespaces.plugins.module_utils.store import (
    Store, holder_alive, is_nsfs_of, netns_linked)

TREE_KEYS = ("owner", "parent")

# Leak kinds.
STATE_WITHOUT_MOUNTS = "state_without_mounts"
MOUNT_WITHOUT_STATE = "mount_without_state"
NETNS_NOT_MOUNTED = "netns_not_mounted"


def add_mounts(records: Records, mounts: Iterable[NsfsMount]) -> None:
    """Attach every nsfs bind mount to its namespace; a namespace with no process is added here."""
    for mount in mounts:
        record = records.get(mount.inode)
        if record is None:
            record = records[mount.inode] = NamespaceRecord(mount.nstype, mount.inode)
        record.mounts.append(mount.mount_point)


class _Describer:
    """Fills owner, parent, owner uid and netnsid through the nsfs ioctls and rtnetlink.

    Owners and parents no process or mount shows (pinned by a child namespace or an open fd) are added
    as namespaces of their own, so the trees are complete.
    """

    # Owners and parents stay open while the walk lasts: closing the last fd on a namespace frees its nsfs
    # dentry, and the next NS_GET_USERNS for the same owner builds it again (holding them took a tenth off
    # the listing with relations of 1,000 persisted namespaces). Capped far below RLIMIT_NOFILE for a
    # host with thousands of user namespaces.
    MAX_HELD = 256

    def __init__(self, records: Records) -> None:
        self.records = records
        self.netlink: Optional[socket.socket] = None
        self.sequence = 0
        self.held: Dict[int, int] = {}  # inode -> fd of an owner or parent

    def __enter__(self) -> "_Describer":
        try:
            self.netlink = netdev.open_rtnetlink()
        except NamespaceError:
            self.netlink = None  # netnsid stays null
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.netlink is not None:
            self.netlink.close()
        for fd in self.held.values():
            os.close(fd)
        self.held.clear()

    def describe_all(self) -> None:
        for record in list(self.records.values()):
            fd = self._open(record)
            if fd is None:
                continue
            try:
                self._describe(record, fd)
            finally:
                os.close(fd)
        for record in self.records.values():
            if record.nstype != "user" and record.owner in self.records:
                record.owner_uid = self.records[record.owner].owner_uid

    @staticmethod
    def _open(record: NamespaceRecord) -> Optional[int]:
        for path in record.paths():
            try:
                return syscalls.open_namespace(path)
            except NamespaceError:
                continue  # the process exited or the mount went away: try the next path
        return None

    def _describe(self, record: NamespaceRecord, fd: int) -> None:
        if record.nstype == "user":
            record.owner_uid = self._ask(syscalls.ns_get_owner_uid, fd)
        if record.nstype == "net" and self.netlink is not None:
            self.sequence += 1
            record.netnsid = self._ask(lambda f: netdev.netns_id(self.netlink, f, self.sequence), fd)
        record.owner = self._related(fd, syscalls.ns_get_userns, "user")
        if record.nstype in ("pid", "user"):
            record.parent = self._related(fd, syscalls.ns_get_parent, record.nstype)

    @staticmethod
    def _ask(query: Callable[[int], Any], fd: int) -> Any:
        try:
            return query(fd)
        except NamespaceError:
            return None  # ENOTTY on an old kernel, or EPERM: not visible from here

    def _related(self, fd: int, get: Callable[[int], int], nstype: str) -> Optional[int]:
        """The inode of the owner or parent behind fd; None at the root or beyond our view (EPERM)."""
        related = self._ask(get, fd)
        if related is None:
            return None
        keep = False
        try:
            inode = os.fstat(related).st_ino
            if inode not in self.records:
                record = self.records[inode] = NamespaceRecord(nstype, inode)
                self._describe(record, related)
            if inode not in self.held and len(self.held) < self.MAX_HELD:
                self.held[inode] = related
                keep = True
            return inode
        finally:
            if not keep:
                os.close(related)


# ---------------------------------------------------------------------------------------------
# The store: health of each set, and leaks.

def _leak(kind: str, path: str, name: Optional[str], mount: Optional[NsfsMount] = None) -> Dict[str, Any]:
    return {"kind": kind, "path": path, "name": name,
            "type": mount.nstype if mount else None, "inode": mount.inode if mount else None}


def _holder_is_init(state: SetState, proc_root: str) -> bool:
    """Whether the holder is PID 1 of its PID namespace (the last NSpid field, 4.1+)."""
    status = read_text("%s/%d/status" % (proc_root, state.holder_pid)) or ""
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return line.split()[-1] == "1"
    return False


class MountView:
    """is_nsfs_of(path, inode) answered from the mount table a listing has read, without a stat per file.

    The table answers where it is unambiguous: one nsfs mount at path, resting on the mount that holds path's
    directory (so nothing mounted since hides it); or no mount at path, whose directory is a mount point or a
    set's directory in the store (no symbolic link on the way). Any other path is asked with a stat.
    """

    def __init__(self, table: MountTable, store_root: str) -> None:
        self.store_root = store_root
        self.topmost: Dict[str, int] = {}  # mount point -> id of the last mount there (as mountinfo.topmost)
        for mount in table.mounts:
            self.topmost[mount.mount_point] = mount.mount_id
        self.pins: Dict[str, NsfsMount] = {}
        stacked: Set[str] = set()
        for pin in table.pins:
            if pin.mount_point in self.pins:
                stacked.add(pin.mount_point)
            self.pins[pin.mount_point] = pin
        self.ambiguous = stacked | (set(self.topmost) & set(self.pins))
        self.holders: Dict[str, Optional[int]] = {}  # directory -> _holder_of it, for the other files of a set

    def _holder_of(self, directory: str) -> Optional[int]:
        """The id of the mount that holds directory: the topmost at the longest mount point above it."""
        if directory not in self.holders:
            above = directory
            while above and above not in self.topmost:
                above = above.rpartition("/")[0]
            self.holders[directory] = self.topmost.get(above or "/")  # "" is above every path: the root
        return self.holders[directory]

    def __call__(self, path: str, inode: int) -> bool:
        if path not in self.ambiguous:
            directory = path.rpartition("/")[0]
            pin = self.pins.get(path)
            if pin is not None and pin.parent_id == self._holder_of(directory):
                return pin.inode == inode
            if pin is None and (directory in self.topmost or directory.rpartition("/")[0] == self.store_root):
                return False
        return is_nsfs_of(path, inode)


def _set_report(store: Store, state: SetState, proc_root: str, is_bound: Callable[[str, int], bool]
                ) -> Dict[str, Any]:
    problems = store.problems(state, is_bound)
    alive = holder_alive(state)
    if alive and not _holder_is_init(state, proc_root):
        problems.append("its holder (pid %d) is not PID 1 of the set's PID namespace" % state.holder_pid)
    report = describe_set(state, {"netns_link": netns_linked(state, is_bound)})
    report.update({"status": state.status, "holder_alive": alive if "pid" in state.types else None,
                   "healthy": not problems, "problems": problems})
    return report


def inspect_store(store: Store, table: MountTable, proc_root: str = PROC
                  ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]], Dict[int, str]]:
    """(set reports, leaks in the store, set name by namespace inode)."""
    mounts = table.pins
    is_bound = MountView(table, store.root)
    by_set_dir: Dict[str, List[NsfsMount]] = {}
    leaks = []
    inside = store.root + "/"
    for mount in mounts:
        if not mount.mount_point.startswith(inside):
            continue
        set_dir = mount.mount_point.rpartition("/")[0]
        store_dir, set_name = set_dir.rpartition("/")[::2]
        if store_dir == store.root:
            by_set_dir.setdefault(set_name, []).append(mount)
        else:
            leaks.append(_leak(MOUNT_WITHOUT_STATE, mount.mount_point, None, mount))
    sets = []
    set_of: Dict[int, str] = {}
    for state, has_state in store.load_all():
        name = state.name
        sets.append(_set_report(store, state, proc_root, is_bound))
        pinned = by_set_dir.pop(name, [])
        recorded = set(state.inodes.items()) if has_state else set()
        if state.rootless:
            # Nothing is mounted: the namespaces of a running holder (checked against the record) are the set's.
            if holder_holds(state):
                set_of.update((inode, name) for inode in state.inodes.values())
            continue
        if has_state and not pinned:
            leaks.append(_leak(STATE_WITHOUT_MOUNTS, os.path.join(state.path, STATE_FILE), name))
        for mount in pinned:
            # Membership comes from what is mounted, never from a recorded inode alone: the kernel
            # reuses the inode of a freed namespace.
            set_of[mount.inode] = name
            if (mount.mount_point.rpartition("/")[2], mount.inode) not in recorded:  # (file name, inode)
                leaks.append(_leak(MOUNT_WITHOUT_STATE, mount.mount_point, name, mount))
    for name, pinned in by_set_dir.items():  # under the store, but not in a mounted store's set
        for mount in pinned:
            set_of[mount.inode] = name
            leaks.append(_leak(MOUNT_WITHOUT_STATE, mount.mount_point, name, mount))
    return sets, leaks, set_of


def netns_leaks(mounts: Sequence[NsfsMount], netns_dir: str = NETNS_DIR) -> List[Dict[str, Any]]:
    """/run/netns entries that are not nsfs mounts: `ip netns` lists them, but they pin nothing."""
    try:
        entries = sorted(os.listdir(netns_dir))
    except FileNotFoundError:
        return []
    mounted = {m.mount_point for m in mounts}
    return [_leak(NETNS_NOT_MOUNTED, os.path.join(netns_dir, e), e) for e in entries
            if os.path.join(netns_dir, e) not in mounted]


# ---------------------------------------------------------------------------------------------
# Filters, trees and the whole listing.

def build_tree(namespaces: Sequence[Dict[str, Any]], key: str) -> List[Dict[str, Any]]:
    """Namespaces nested under their owning user namespace (key 'owner') or parent (key 'parent'), like
    lsns --tree. A namespace whose owner or parent is not in the list is a root."""
    nodes = {ns["inode"]: {"inode": ns["inode"], "type": ns["type"], "children": []} for ns in namespaces}
    roots = []
    for ns in namespaces:
        above = nodes.get(ns[key]) if ns[key] != ns["inode"] else None
        (above["children"] if above else roots).append(nodes[ns["inode"]])
    return roots


class _UserNames:
    def __init__(self) -> None:
        self.cache: Dict[int, Optional[str]] = {}

    def __call__(self, uid: Optional[int]) -> Optional[str]:
        if uid is None:
            return None
        if uid not in self.cache:
            try:
                self.cache[uid] = pwd.getpwuid(uid).pw_name
            except KeyError:
                self.cache[uid] = None
        return self.cache[uid]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a listing: it builds a record, a state and a report per namespace and
    set, all alive until it returns, and the collector's passes over them (several full ones over 1,000 sets)
    find nothing to free; reference counting still frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@_collector_paused()
def inspect_host(store_root: Optional[str] = None, types: Optional[Sequence[str]] = None,
                 pid: Optional[int] = None, name: Optional[str] = None, tree: Optional[str] = None,
                 relations: bool = False, proc_root: str = PROC, mountinfo_path: str = MOUNTINFO,
                 netns_dir: str = NETNS_DIR) -> Dict[str, Any]:
    """Everything namespace_info returns, with the sets of store_root (default: the caller's store). Filters: types, pid (its namespaces), name (a set or a
    /run/netns name). tree: 'owner' or 'parent', which needs and so implies relations.

    relations: also owner, owner uid, parent and netnsid. They cost an open and an ioctl or two for every
    namespace, most of the time on a host with many persisted namespaces, so they are asked for.
    """
    if tree is not None and tree not in TREE_KEYS:
        raise ValueError("tree must be one of %s" % ", ".join(TREE_KEYS))
    available = present_types(proc_root)
    walked = tuple(t for t in available if types is None or t in types)
    of_pid = namespaces_of_pid(pid, walked, proc_root) if pid is not None else None

    table = read_mount_table(mountinfo_path)
    mounts, pins = table
    records, unreadable = walk_processes(walked, proc_root)
    add_mounts(records, (m for m in pins if m.nstype in walked))
    relations = relations or tree is not None
    if relations:
        with _Describer(records) as describer:
            describer.describe_all()

    try:
        store: Optional[Store] = open_store(store_root, mounts)
    except NamespaceError:
        if store_root is not None:
            raise
        store = None  # an ordinary user without a runtime directory has no default store, so no sets
    sets, leaks, set_of = inspect_store(store, table, proc_root) if store is not None else ([], [], {})
    leaks.extend(netns_leaks(pins, netns_dir))
    netns_of = {}
    for mount in pins:
        directory, entry = mount.mount_point.rpartition("/")[::2]
        if directory == netns_dir:
            netns_of[mount.inode] = entry
    for record in records.values():
        record.set_name = set_of.get(record.inode)
        record.netns_name = netns_of.get(record.inode)

    selected = [r for r in records.values() if r.nstype in walked]  # ancestors of other types drop out
    if of_pid is not None:
        wanted = set(of_pid.values())
        selected = [r for r in selected if r.inode in wanted]
    if name is not None:
        selected = [r for r in selected if name in (r.set_name, r.netns_name)]
        sets = [s for s in sets if s["name"] == name]
        leaks = [leak for leak in leaks if leak["name"] == name]
    user_names = _UserNames()
    namespaces = [r.to_dict(user_names, relations) for r in sorted(selected, key=lambda r: r.inode)]
    result: Dict[str, Any] = {"namespaces": namespaces, "sets": sets, "leaks": leaks,
                              "unreadable_processes": unreadable}
    if tree is not None:
        result["tree"] = build_tree(namespaces, tree)
    return result
