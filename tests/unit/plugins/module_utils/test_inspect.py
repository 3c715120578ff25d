# -*- coding: utf-8 -*-
"""inspect on a fake /proc tree: unreadable and vanishing processes, mounts, leaks, filters, trees."""

from __future__ import annotations

import errno
import gc
import os
from typing import Dict

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import inspect, procfs
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import read_mount_table


def _process(proc, pid: int, links: Dict[str, int], cmdline: bytes = b"sleep\x00600\x00", comm: str = "sleep"):
    base = proc / str(pid)
    (base / "ns").mkdir(parents=True)
    for nstype, inode in links.items():
        os.symlink("%s:[%d]" % (nstype, inode), str(base / "ns" / nstype))
    (base / "cmdline").write_bytes(cmdline)
    (base / "comm").write_text(comm + "\n")


@pytest.fixture
def proc(tmp_path):
    """pid 10 and 12 share uts 100 and net 200; 11 exited (no ns left); 13 exited after its net link was
    read (its uts link is gone); 14 is a kernel thread alone in net 201."""
    root = tmp_path / "proc"
    _process(root, 10, {"net": 200, "uts": 100}, b"sleep\x00600\x00")
    (root / "11").mkdir(parents=True)
    _process(root, 12, {"net": 200, "uts": 100})
    _process(root, 13, {"net": 200})
    _process(root, 14, {"net": 201, "uts": 100}, b"", "kworker/0:1")
    _process(root, "self", {"net": 200, "uts": 100})
    (root / "self" / "ns" / "pid_for_children").symlink_to("pid:[300]")
    return root


def test_walk_counts_and_skips_unreadable_processes(proc) -> None:
    records, unreadable = procfs.walk_processes(("net", "uts"), str(proc))
    assert unreadable == 2  # 11 exited before the walk, 13 during it
    assert {i: r.nprocs for i, r in records.items()} == {200: 2, 100: 3, 201: 1}  # 13 counted nowhere
    assert (records[100].pid, records[100].command) == (10, "sleep 600")
    assert (records[201].pid, records[201].command) == (14, "kworker/0:1")


def test_permission_denied_is_counted_not_fatal(proc, monkeypatch) -> None:
    real_readlink = os.readlink

    def readlink(path, *args, **kwargs):
        if path.startswith("%s/10/" % proc):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_readlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "readlink", readlink)
    records, unreadable = procfs.walk_processes(("net", "uts"), str(proc))
    assert unreadable == 3
    assert records[100].nprocs == 2 and records[100].pid == 12


def test_present_types_ignore_for_children_links(proc) -> None:
    assert procfs.present_types(str(proc)) == ("uts", "net")  # table order


@pytest.fixture
def host(proc, tmp_path):
    """The fake /proc, a mount table pinning one namespace with no process, and a /run/netns dir."""
    store_root = tmp_path / "store"
    (store_root / "old").mkdir(parents=True)
    netns = tmp_path / "netns"
    netns.mkdir()
    (netns / "plain").write_text("")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "27 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "68 27 0:4 uts:[400] %s/old/uts rw - nsfs nsfs rw\n"
        "69 27 0:4 net:[200] %s/pinned rw - nsfs nsfs rw\n" % (store_root, netns))
    return dict(store_root=str(store_root), proc_root=str(proc), mountinfo_path=str(mountinfo),
                netns_dir=str(netns))


def test_lists_namespaces_pinned_only_by_a_mount(host) -> None:
    found = {ns["inode"]: ns for ns in inspect.inspect_host(**host)["namespaces"]}
    assert found[400]["nprocs"] == 0 and found[400]["pid"] is None
    assert found[400]["mounts"] == [host["store_root"] + "/old/uts"]
    assert found[400]["path"] == host["store_root"] + "/old/uts"
    assert found[400]["set"] == "old"
    assert found[200]["netns_name"] == "pinned" and found[200]["nprocs"] == 2


def test_reports_leaks_in_the_store_and_in_netns(host) -> None:
    leaks = {(leak["kind"], leak["path"]) for leak in inspect.inspect_host(**host)["leaks"]}
    assert leaks == {(inspect.MOUNT_WITHOUT_STATE, host["store_root"] + "/old/uts"),
                     (inspect.NETNS_NOT_MOUNTED, host["netns_dir"] + "/plain")}


def test_filters(host) -> None:
    assert [ns["inode"] for ns in inspect.inspect_host(types=["net"], **host)["namespaces"]] == [200, 201]
    assert [ns["inode"] for ns in inspect.inspect_host(pid=14, **host)["namespaces"]] == [100, 201]
    named = inspect.inspect_host(name="pinned", **host)
    assert [ns["inode"] for ns in named["namespaces"]] == [200]
    assert named["leaks"] == []


def test_pid_filter_fails_for_an_unreadable_process(host) -> None:
    with pytest.raises(NamespaceError, match="pid 11"):
        inspect.inspect_host(pid=11, **host)


def test_tree_nests_by_owner_and_puts_orphans_on_top() -> None:
    listed = [
        {"inode": 1, "type": "user", "owner": None},
        {"inode": 2, "type": "user", "owner": 1},
        {"inode": 3, "type": "uts", "owner": 2},
        {"inode": 4, "type": "net", "owner": 99},  # owner not listed (filtered out)
    ]
    assert inspect.build_tree(listed, "owner") == [
        {"inode": 1, "type": "user", "children": [
            {"inode": 2, "type": "user", "children": [{"inode": 3, "type": "uts", "children": []}]}]},
        {"inode": 4, "type": "net", "children": []},
    ]


def test_unknown_tree_is_refused(host) -> None:
    with pytest.raises(ValueError):
        inspect.inspect_host(tree="sideways", **host)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_during_a_listing_and_left_as_it_was(host, monkeypatch, enabled: bool) -> None:
    seen = []
    walk = inspect.walk_processes
    monkeypatch.setattr(inspect, "walk_processes", lambda *args: seen.append(gc.isenabled()) or walk(*args))
    (gc.enable if enabled else gc.disable)()
    try:
        inspect.inspect_host(**host)
        with pytest.raises(NamespaceError):
            inspect.inspect_host(pid=11, **host)  # a failed listing, too, leaves it as it was
        assert seen == [False] and gc.isenabled() is enabled
    finally:
        gc.enable()


RELATION_KEYS = {"owner", "owner_uid", "owner_user", "parent", "netnsid"}


def test_relations_are_asked_for_and_no_namespace_is_opened_without_them(host, monkeypatch) -> None:
    opened = []
    monkeypatch.setattr(inspect.syscalls, "open_namespace", lambda path: opened.append(path) or os.open(
        "/proc/self/ns/uts", os.O_RDONLY | os.O_CLOEXEC))
    plain = inspect.inspect_host(**host)["namespaces"]
    assert opened == [] and all(not RELATION_KEYS & set(ns) for ns in plain)
    related = inspect.inspect_host(relations=True, **host)["namespaces"]
    assert opened and all(RELATION_KEYS <= set(ns) for ns in related)
    # A tree needs them, so it brings them.
    assert all(RELATION_KEYS <= set(ns) for ns in inspect.inspect_host(tree="owner", **host)["namespaces"])


def _view(lines: str, monkeypatch, tmp_path):
    """A MountView of store /s over this mountinfo text, and the paths it had to stat."""
    path = tmp_path / "mountinfo"
    path.write_text("27 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
                    "40 27 0:39 / /s rw - tmpfs linux-namespaces rw\n" + lines)
    asked = []
    monkeypatch.setattr(inspect, "is_nsfs_of", lambda p, inode: asked.append(p) or inode == 7)
    return inspect.MountView(read_mount_table(str(path)), "/s"), asked


def test_mount_view_answers_a_set_file_from_the_mount_table(monkeypatch, tmp_path) -> None:
    view, asked = _view("41 40 0:4 uts:[7] /s/web/uts rw - nsfs nsfs rw\n", monkeypatch, tmp_path)
    assert view("/s/web/uts", 7) and not view("/s/web/uts", 8)
    assert not view("/s/web/net", 7)  # nothing mounted there: not bound, whatever stat would say
    assert asked == []


@pytest.mark.parametrize("hiding", [
    "42 41 0:4 uts:[8] /s/web/uts rw - nsfs nsfs rw\n",  # another namespace bound on top
    "42 41 0:39 /web/state.json /s/web/uts rw - tmpfs linux-namespaces rw\n",  # a plain file bound on top
    "42 40 0:39 /web /s/web rw - tmpfs linux-namespaces rw\n",  # the set's directory bound over itself
])
def test_mount_view_asks_stat_where_a_later_mount_may_hide_the_file(hiding, monkeypatch, tmp_path) -> None:
    view, asked = _view("41 40 0:4 uts:[7] /s/web/uts rw - nsfs nsfs rw\n" + hiding, monkeypatch, tmp_path)
    assert view("/s/web/uts", 7)  # what the standin for stat answers
    assert asked == ["/s/web/uts"]
