# -*- coding: utf-8 -*-
"""namespace_info on the real kernel, as root: sets, leaks, lsns agreement, filters and trees.

Independent observations come from util-linux (lsns, unshare, umount) and plain stat/readlink, never
from the module's own code.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from typing import Dict, Iterator, List, NamedTuple

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import read_mountinfo
from ansible_collections.linux.namespaces.plugins.module_utils.creating import create_set, remove_set
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import NETNS_DIR, SetOptions, SetState
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store

SET_TYPES = ("mnt", "uts", "ipc", "pid", "net")
TARGET_PYTHONS = ("3.8.18", "3.13.0")


def _mounts_under(root: str) -> List[str]:
    return [m.mount_point for m in read_mountinfo() if m.mount_point == root
            or m.mount_point.startswith(root + "/")]


def _inode(path: str) -> int:
    return os.stat(path).st_ino


def _link_inode(pid: int, nstype: str) -> int:
    link = os.readlink("/proc/%d/ns/%s" % (pid, nstype))
    return int(link[len(nstype) + 2:-1])


class Planted(NamedTuple):
    store_root: str
    healthy: SetState
    unmounted: SetState  # its only file was unmounted behind the store's back
    stray_mount: str  # an nsfs mount in the store that no state file records
    stray_inode: int
    plain_netns: str  # a /run/netns entry that is a plain file


@pytest.fixture(scope="module")
def planted(prefix: str) -> Iterator[Planted]:
    root = "/run/%s-store" % prefix
    store = Store(root)
    plain_netns = os.path.join(NETNS_DIR, prefix + "plain")
    try:
        with store.locked():
            healthy = create_set(store, prefix + "web", SetOptions(types=SET_TYPES))
            unmounted = create_set(store, prefix + "gone", SetOptions(types=("uts",)))
        subprocess.run(["umount", os.path.join(unmounted.path, "uts")], check=True)
        stray_dir = os.path.join(root, prefix + "stray")
        os.mkdir(stray_dir)
        stray_mount = os.path.join(stray_dir, "uts")
        open(stray_mount, "w").close()
        subprocess.run(["unshare", "--uts=" + stray_mount, "true"], check=True)
        os.makedirs(NETNS_DIR, exist_ok=True)
        open(plain_netns, "w").close()
        yield Planted(root, healthy, unmounted, stray_mount, _inode(stray_mount), plain_netns)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(plain_netns)
        for name in (prefix + "web", prefix + "gone"):
            with contextlib.suppress(Exception):
                remove_set(store, name)
        for point in sorted(_mounts_under(root), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False)
        subprocess.run(["rm", "-rf", "--one-file-system", root], check=False)


@pytest.fixture(scope="module")
def listed(planted: Planted, namespace_info) -> Dict:
    result = namespace_info({"store": planted.store_root})
    assert result["rc"] == 0, result
    return result


def _by_inode(result: Dict) -> Dict[int, Dict]:
    return {ns["inode"]: ns for ns in result["namespaces"]}


def test_finds_set_by_name_with_inodes_and_bind_mounts(planted: Planted, namespace_info) -> None:
    name = planted.healthy.name
    result = namespace_info({"store": planted.store_root, "name": name, "relations": True})
    assert result["rc"] == 0, result
    found = {ns["type"]: ns for ns in result["namespaces"]}
    assert sorted(found) == sorted(SET_TYPES)
    for nstype in SET_TYPES:
        path = os.path.join(planted.healthy.path, nstype)
        assert found[nstype]["inode"] == _inode(path)  # what stat says, not what the store recorded
        assert path in found[nstype]["mounts"]
        assert found[nstype]["set"] == name
        # Made by root in the host's user namespace, which owns it.
        assert found[nstype]["owner"] == _link_inode(os.getpid(), "user")
        assert (found[nstype]["owner_uid"], found[nstype]["owner_user"]) == (0, "root")
    assert os.path.join(NETNS_DIR, name) in found["net"]["mounts"]
    assert found["net"]["netns_name"] == name
    # The holder is the only process of the set, PID 1 of its PID namespace.
    assert found["pid"]["nprocs"] == 1 and found["pid"]["pid"] == planted.healthy.holder_pid
    assert [s["name"] for s in result["sets"]] == [name]
    report = result["sets"][0]
    assert report["healthy"] and report["problems"] == [] and report["holder_alive"]
    assert result["leaks"] == []


def test_reports_planted_leaks(planted: Planted, listed: Dict) -> None:
    leaks = {(leak["kind"], leak["path"]) for leak in listed["leaks"]}
    assert ("mount_without_state", planted.stray_mount) in leaks
    assert ("state_without_mounts", os.path.join(planted.unmounted.path, "state.json")) in leaks
    assert ("netns_not_mounted", planted.plain_netns) in leaks
    stray = _by_inode(listed)[planted.stray_inode]
    assert stray["type"] == "uts" and stray["nprocs"] == 0 and stray["mounts"] == [planted.stray_mount]
    assert stray["set"] == os.path.basename(os.path.dirname(planted.stray_mount))


def test_set_health_names_the_unmounted_file(planted: Planted, listed: Dict) -> None:
    reports = {s["name"]: s for s in listed["sets"]}
    gone = reports[planted.unmounted.name]
    assert not gone["healthy"]
    assert any(os.path.join(planted.unmounted.path, "uts") in p for p in gone["problems"])
    assert reports[planted.healthy.name]["healthy"]


@pytest.fixture
def hidden(planted: Planted, prefix: str) -> Iterator[List[SetState]]:
    """Two sets of the planted store whose uts file a later mount hides: a plain file bound over it, and the
    set's directory bound over itself (which shows the directory without the nsfs mounts in it)."""
    store = Store(planted.store_root)
    names = (prefix + "overfile", prefix + "overdir")
    covered: List[str] = []
    try:
        with store.locked():
            over_file, over_dir = (create_set(store, name, SetOptions(types=("uts",))) for name in names)
        for source, target in ((os.path.join(over_file.path, "state.json"), os.path.join(over_file.path, "uts")),
                               (over_dir.path, over_dir.path)):
            subprocess.run(["mount", "--bind", source, target], check=True)
            covered.append(target)
        yield [over_file, over_dir]
    finally:
        for target in reversed(covered):
            subprocess.run(["umount", target], check=False)
        with store.locked():
            for name in names:
                with contextlib.suppress(Exception):
                    remove_set(store, name)


def test_a_set_file_hidden_by_a_later_mount_is_not_healthy(
        planted: Planted, hidden: List[SetState], namespace_info) -> None:
    result = namespace_info({"store": planted.store_root})
    assert result["rc"] == 0, result
    reports = {s["name"]: s for s in result["sets"]}
    for state in hidden:
        uts = os.path.join(state.path, "uts")
        assert os.stat(uts).st_dev != os.stat("/proc/self/ns/uts").st_dev  # no namespace shows there
        assert not reports[state.name]["healthy"]
        assert any(uts in problem for problem in reports[state.name]["problems"]), reports[state.name]


@pytest.fixture
def three_in_one(prefix: str) -> Iterator[int]:
    """A shell and two sleeps alone in new UTS and IPC namespaces; yields the shell's pid."""
    shell = subprocess.Popen(
        ["unshare", "--uts", "--ipc", "sh", "-c", "sleep 600 & sleep 600 & echo ready; wait", prefix],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert shell.stdout.readline().strip() == "ready"
        yield shell.pid
    finally:
        os.killpg(shell.pid, signal.SIGKILL)  # the group the test started: the shell and its sleeps
        shell.wait()
        shell.stdout.close()


def test_agrees_with_lsns_and_finds_what_it_misses(planted: Planted, three_in_one: int, namespace_info) -> None:
    lsns = json.loads(subprocess.run(["lsns", "-J", "-o", "NS,TYPE,NPROCS,PID"], check=True,
                                     capture_output=True, text=True).stdout)["namespaces"]
    result = namespace_info({"store": planted.store_root})
    assert result["rc"] == 0, result
    ours = _by_inode(result)
    stable = []  # still held by the process lsns named: the churn of other processes cannot explain a miss
    for entry in lsns:
        with contextlib.suppress(OSError):
            if _link_inode(entry["pid"], entry["type"]) == entry["ns"]:
                stable.append(entry)
    assert len(stable) >= len(lsns) // 2, "too much churn to compare"
    for entry in stable:
        assert entry["ns"] in ours and ours[entry["ns"]]["type"] == entry["type"], entry
    lsns_nprocs = {e["ns"]: e["nprocs"] for e in lsns}
    for nstype in ("uts", "ipc"):
        made = _link_inode(three_in_one, nstype)
        assert lsns_nprocs[made] == ours[made]["nprocs"] == 3
        assert ours[made]["pid"] == three_in_one
    for nstype in SET_TYPES:  # the holder keeps the set's namespaces in lsns's view too
        inode = planted.healthy.inodes[nstype]
        assert lsns_nprocs[inode] == ours[inode]["nprocs"] == 1
    persisted = [ns for ns in result["namespaces"] if ns["nprocs"] == 0 and ns["mounts"]]
    assert planted.stray_inode in {ns["inode"] for ns in persisted}
    assert planted.stray_inode not in lsns_nprocs, "lsns 2.38 does not list bind-mounted namespaces"


def test_counts_unreadable_processes(planted: Planted, listed: Dict) -> None:
    try:
        os.readlink("/proc/1/ns/net")
    except PermissionError:
        assert listed["unreadable_processes"] >= 1
    else:
        pytest.skip("PID 1's namespaces are readable on this machine; the unit tests cover the count")


def test_filters_by_pid_and_type(planted: Planted, three_in_one: int, namespace_info) -> None:
    result = namespace_info({"store": planted.store_root, "pid": three_in_one, "type": ["uts", "ipc"]})
    assert result["rc"] == 0, result
    assert {(ns["type"], ns["inode"]) for ns in result["namespaces"]} == {
        (t, _link_inode(three_in_one, t)) for t in ("uts", "ipc")}


def test_fails_cleanly_for_a_missing_pid(planted: Planted, namespace_info) -> None:
    result = namespace_info({"store": planted.store_root, "pid": 2 ** 22 + 1})
    assert result["rc"] != 0 and "pid %d" % (2 ** 22 + 1) in result["msg"]
    assert "Traceback" not in json.dumps(result)


@pytest.fixture
def nested_user(prefix: str) -> Iterator[int]:
    """A shell in a new user namespace, and in UTS and PID namespaces that user namespace owns; yields
    the shell's pid on the host."""
    unshare = subprocess.Popen(["unshare", "--user", "--map-root-user", "--uts", "--pid", "--fork", "sh", "-c",
                                "echo ready; sleep 600; : " + prefix], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        assert unshare.stdout.readline().strip() == "ready"
        children = subprocess.run(["pgrep", "-P", str(unshare.pid)], capture_output=True, text=True, check=True)
        yield int(children.stdout.split()[0])
    finally:
        os.killpg(unshare.pid, signal.SIGKILL)
        unshare.wait()
        unshare.stdout.close()


def test_tree_by_owner_and_parent(planted: Planted, nested_user: int, namespace_info) -> None:
    user, uts, pid_ns = (_link_inode(nested_user, t) for t in ("user", "uts", "pid"))
    host_user, host_pid = _link_inode(os.getpid(), "user"), _link_inode(os.getpid(), "pid")

    def children(tree: List[Dict], inode: int) -> List[int]:
        for node in tree:
            if node["inode"] == inode:
                return [c["inode"] for c in node["children"]]
            found = children(node["children"], inode)
            if found:
                return found
        return []

    owner = namespace_info({"store": planted.store_root, "tree": "owner"})
    assert owner["rc"] == 0, owner
    assert user in children(owner["tree"], host_user)
    assert {uts, pid_ns} <= set(children(owner["tree"], user))
    by_inode = _by_inode(owner)
    assert by_inode[uts]["owner"] == user and by_inode[user]["parent"] == host_user
    assert by_inode[user]["owner_uid"] == by_inode[uts]["owner_uid"] == 0  # root made it
    parent = namespace_info({"store": planted.store_root, "tree": "parent", "type": ["pid"]})
    assert pid_ns in children(parent["tree"], host_pid)


def test_check_mode_changes_nothing(planted: Planted, namespace_info) -> None:
    before = sorted(_mounts_under(planted.store_root))
    result = namespace_info({"store": planted.store_root, "name": planted.healthy.name}, check_mode=True)
    assert result["rc"] == 0 and result["changed"] is False
    assert len(result["namespaces"]) == len(SET_TYPES)
    assert sorted(_mounts_under(planted.store_root)) == before


@pytest.mark.parametrize("version", TARGET_PYTHONS)
def test_runs_on_target_python(version: str, planted: Planted, namespace_info) -> None:
    interpreter = "/root/.pyenv/versions/%s/bin/python3" % version
    if not os.access(interpreter, os.X_OK):
        pytest.skip("Python %s is not installed here" % version)
    result = namespace_info({"store": planted.store_root, "name": planted.healthy.name, "type": ["net"]},
                            interpreter=interpreter)
    assert result["rc"] == 0, result
    [net] = result["namespaces"]
    assert net["inode"] == _inode(os.path.join(planted.healthy.path, "net"))


def test_netnsid_is_read_not_assigned(planted: Planted, namespace_info) -> None:
    name = planted.healthy.name
    args = {"store": planted.store_root, "name": name, "type": ["net"], "relations": True}
    [before] = namespace_info(args)["namespaces"]
    assert before["netnsid"] is None  # listing never assigns one
    assert "(id:" not in _ip_netns_line(name)
    subprocess.run(["ip", "netns", "set", name, "auto"], check=True)
    [after] = namespace_info(args)["namespaces"]
    assert "(id: %d)" % after["netnsid"] in _ip_netns_line(name)


def _ip_netns_line(name: str) -> str:
    listing = subprocess.run(["ip", "netns", "list"], check=True, capture_output=True, text=True).stdout
    return next(line for line in listing.splitlines() if line.split()[0] == name)
