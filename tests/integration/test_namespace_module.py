# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `linux.namespaces.namespace` module on the real kernel, as root, run through `ansible`.

Every test observes with util-linux, iproute2 and /proc. Sets and stores carry the run's prefix and
are removed (state=absent, then a forced sweep that fails the test if it found anything).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional

import pytest

from helpers import ansible_environment, ansible_program, run
from namespace_sets import (
    ALL_TYPES, HOLDER_COMM_PREFIX, MODULE, NETNS_DIR, TestStore, adopting_orphans, holders_named,
    inode, kill_started, mounts, mounts_under, no_traceback, nsenter, nsfs_mounts_of, pinned, process_alive,
    process_ns_inode, sh, start_pid_namespace_process, store_at, wait_until)

_store_numbers = itertools.count(1)
TARGET_PYTHONS = ("3.8.18", "3.13.0")
USER_MAP = ["0 100000 65536"]


@pytest.fixture(scope="module")
def host_baseline() -> Iterator[Dict[str, str]]:
    """What the host looked like before this file ran; its hostname must be the same after."""
    baseline = {"hostname": socket.gethostname(), "proc": sh(["findmnt", "-n", "/proc"]),
                "sys": sh(["findmnt", "-n", "-R", "/sys"])}
    yield baseline
    assert socket.gethostname() == baseline["hostname"], "the host's hostname changed"


@pytest.fixture
def store(ansible, prefix, host_baseline) -> Iterator[TestStore]:
    with store_at(ansible, prefix, "s%d" % next(_store_numbers)) as made:
        yield made


@pytest.fixture(scope="module")
def shared_store(ansible, prefix, host_baseline) -> Iterator[TestStore]:
    with store_at(ansible, prefix, "shared") as made:
        yield made


@pytest.fixture(scope="module")
def rich_set(shared_store) -> Dict[str, Any]:
    """One set for read-only checks: default types, its own /proc and a hostname."""
    name = shared_store.name("rich")
    run = shared_store.present(name, mount_proc=True, hostname=name + "-h")
    return dict(run.result["set"], store=shared_store)


def holder_of(store: TestStore, name: str) -> int:
    pid = store.state(name)["holder_pid"]
    assert pid and process_alive(pid), "set %s has no live holder" % name
    return pid


def set_traces(store: TestStore, name: str) -> Dict[str, Any]:
    """Everything of a set on the host: mounts, files, holder, /run/netns entry, state file."""
    set_dir = store.set_dir(name)
    state_file = os.path.join(set_dir, "state.json")
    return {
        "mounts": sorted(m["target"] for m in mounts_under(set_dir)),
        "files": sorted(os.listdir(set_dir)) if os.path.isdir(set_dir) else None,
        "state": open(state_file).read() if os.path.exists(state_file) else None,
        "netns": os.path.lexists(os.path.join(NETNS_DIR, name)),
        "inodes": {t: inode(store.file(name, t)) for t in ALL_TYPES if os.path.exists(store.file(name, t))},
    }


def assert_set_gone(store: TestStore, name: str, inodes: Dict[str, int], holder: Optional[int]) -> None:
    assert nsfs_mounts_of(set(inodes.values()), store.prefix) == [], "an nsfs mount of the removed set remains"
    assert mounts_under(store.set_dir(name)) == []
    assert not os.path.exists(store.set_dir(name)), "the set's directory remains in the store"
    assert not os.path.lexists(os.path.join(NETNS_DIR, name)), "the /run/netns entry remains"
    if holder:
        wait_until(lambda: not process_alive(holder) or process_ns_inode(holder, "pid") != inodes.get("pid"),
                   what="the holder to be gone")


# ---------------------------------------------------------------------------------------------
# Each type: a new namespace, and util-linux nsenter joins exactly it.

@pytest.mark.parametrize("nstype", ALL_TYPES)
def test_one_type_set_has_its_own_namespace_and_nsenter_joins_it(store, nstype):
    name = store.name(nstype)
    run = store.present(name, types=[nstype])
    assert run.changed
    path = store.file(name, nstype)
    set_inode = inode(path)
    assert set_inode != inode("/proc/self/ns/" + nstype), "the set's %s namespace is the host's" % nstype
    assert run.result["set"]["namespaces"][nstype] == {"inode": set_inode, "path": path}
    seen = nsenter({nstype: path}, ["readlink", "/proc/self/ns/" + nstype])
    assert seen == "%s:[%d]" % (nstype, set_inode)


def test_all_eight_types_in_one_set_are_new_and_each_is_joined_by_nsenter(store):
    name = store.name("all")
    store.present(name, types=list(ALL_TYPES))
    files = {t: store.file(name, t) for t in ALL_TYPES}
    for nstype, path in files.items():
        set_inode = inode(path)
        assert set_inode != inode("/proc/self/ns/" + nstype), nstype
        seen = nsenter({nstype: path}, ["readlink", "/proc/self/ns/" + nstype])
        assert seen == "%s:[%d]" % (nstype, set_inode), nstype
    # All at once, as a user of the set would enter it: every link names the set's namespace.
    script = "for t in %s; do readlink /proc/self/ns/$t; done" % " ".join(ALL_TYPES)
    seen_all = nsenter(files, ["sh", "-c", script]).split()
    assert seen_all == ["%s:[%d]" % (t, inode(p)) for t, p in files.items()]


# ---------------------------------------------------------------------------------------------
# The rich set: hostname, PID 1, private /proc, loopback.

def test_hostname_set_inside_is_seen_inside_and_never_on_the_host(rich_set, host_baseline):
    uts = rich_set["namespaces"]["uts"]["path"]
    assert nsenter({"uts": uts}, ["hostname"]) == rich_set["name"] + "-h"
    assert sh(["hostname"]) == host_baseline["hostname"] != rich_set["name"] + "-h"


def test_holder_is_pid_1_inside_and_named_nsh(rich_set):
    holder = rich_set["holder_pid"]
    assert process_alive(holder)
    inside_comm = sh(["nsenter", "-t", str(holder), "--pid", "--mount", "cat", "/proc/1/comm"])
    assert inside_comm.startswith(HOLDER_COMM_PREFIX), inside_comm
    assert inside_comm == HOLDER_COMM_PREFIX + rich_set["name"][:11]
    nspid = [line for line in open("/proc/%d/status" % holder) if line.startswith("NSpid:")][0].split()
    assert nspid[1:] == [str(holder), "1"], nspid
    assert process_ns_inode(holder, "pid") == rich_set["namespaces"]["pid"]["inode"]


def test_mount_proc_shows_only_the_sets_processes_and_leaves_host_proc_alone(rich_set, host_baseline):
    holder = rich_set["holder_pid"]
    listed = sh(["nsenter", "-t", str(holder), "--pid", "--mount", "ps", "-e", "-o", "pid=,comm="]).splitlines()
    by_pid = dict(line.split(None, 1) for line in listed)
    # PID 1 is the holder; the only other process is ps itself.
    assert by_pid.pop("1").startswith(HOLDER_COMM_PREFIX)
    assert list(by_pid.values()) == ["ps"], listed
    assert sh(["findmnt", "-n", "/proc"]) == host_baseline["proc"]
    assert len(sh(["findmnt", "-n", "/proc"]).splitlines()) == 1, "the host's /proc has more than one procfs"


@pytest.mark.parametrize("types, user_map", [
    (["mnt", "net", "pid"], None),
    (["user", "mnt", "net", "cgroup"], USER_MAP),  # root inside, an unprivileged range outside
], ids=["root", "user_namespace"])
def test_mount_sysfs_shows_only_the_sets_interfaces_and_leaves_host_sys_alone(store, host_baseline, types, user_map):
    name = store.name("sysfs")
    maps = {"uid_map": user_map, "gid_map": user_map} if user_map else {}
    made = store.present(name, types=types, mount_sysfs=True, **maps).result["set"]
    assert made["mount_sysfs"] is True
    files = {t: made["namespaces"][t]["path"] for t in types}
    assert nsenter(files, ["ls", "-1", "/sys/class/net"]).split() == ["lo"]
    assert "lo" in os.listdir("/sys/class/net") and len(os.listdir("/sys/class/net")) > 1, "no host interface"
    # The cgroup file systems the new /sys would hide are attached again.
    assert set(nsenter(files, ["ls", "-1", "/sys/fs/cgroup"]).split()) == set(os.listdir("/sys/fs/cgroup"))
    assert sh(["findmnt", "-n", "-R", "/sys"]) == host_baseline["sys"], "a mount reached the host's /sys"


def link_lines(name: str) -> List[str]:
    return sh(["ip", "netns", "exec", name, "ip", "-o", "link"]).splitlines()


def test_ip_netns_exec_shows_only_lo_and_it_is_up(rich_set):
    lines = link_lines(rich_set["name"])
    assert [line.split(":")[1].strip() for line in lines] == ["lo"], lines
    assert "UP" in re.search(r"<([^>]*)>", lines[0]).group(1).split(","), lines[0]


def test_loopback_false_keeps_lo_down(store):
    name = store.name("lodown")
    store.present(name, types=["net"], loopback=False)
    lines = link_lines(name)
    assert [line.split(":")[1].strip() for line in lines] == ["lo"], lines
    assert "UP" not in re.search(r"<([^>]*)>", lines[0]).group(1).split(","), lines[0]


# ---------------------------------------------------------------------------------------------
# Removal.

def test_absent_removes_every_trace_and_the_empty_store(store):
    name = store.name("gone")
    run = store.present(name, types=list(ALL_TYPES), mount_proc=True)
    holder = run.result["set"]["holder_pid"]
    inodes = {t: v["inode"] for t, v in run.result["set"]["namespaces"].items()}
    assert os.path.lexists(os.path.join(NETNS_DIR, name)) and store.mounted()
    # A process left in the set's PID namespace must be stopped with it.
    guest = subprocess.Popen(["nsenter", "-t", str(holder), "--pid", "--", "sleep", "1000"])
    try:
        wait_until(lambda: bool(open("/proc/%d/task/%d/children" % (guest.pid, guest.pid)).read().split()),
                   what="the guest process")
        gone = store.absent(name)
        assert gone.status == "changed", gone.result
        guest.wait(timeout=10)  # nsenter ends when its child inside the set is killed
    finally:
        kill_started(guest)
    assert_set_gone(store, name, inodes, holder)
    assert not process_alive(holder)
    assert not store.mounted(), "the store is still mounted with no set in it"
    assert not os.path.lexists(store.path), "the empty store's directory remains"
    again = store.absent(name)
    assert again.status == "ok" and not again.changed


@pytest.mark.parametrize("parent, tag", [("/var/run", "varrun"), ("/run", "caf\u00e9 store")],
                         ids=["below_debians_var_run_symlink", "space_and_non_ascii_letters"])
def test_store_at_an_unusual_path_is_found_again_by_later_runs(ansible, prefix, parent, tag):
    """mountinfo names /var/run/X as /run/X, escapes a space as \\040 and leaves UTF-8 as it is."""
    with store_at(ansible, prefix, tag, parent=parent) as unusual:
        name = unusual.name("u")
        assert unusual.present(name, types=["uts"]).changed
        again = unusual.run(name, types=["uts"])
        assert again.status == "ok" and not again.changed, again.result
        assert unusual.absent(name).changed
        assert not unusual.mounted()


def test_absent_on_a_store_never_made_changes_nothing(store):
    run = store.absent(store.name("never"))
    assert run.status == "ok" and not run.changed
    assert not os.path.lexists(store.path), "state=absent created the store directory"


def test_failed_create_leaves_no_set_and_no_store_mounted(store, prefix):
    name = store.name("clash")
    link = os.path.join(NETNS_DIR, name)
    os.makedirs(NETNS_DIR, exist_ok=True)
    with open(link, "w") as handle:  # a /run/netns entry that is not this set's
        handle.write("not a namespace\n")
    try:
        run = store.run(name)
        assert run.failed and link in run.msg, run.result
        assert no_traceback(run)
        assert not os.path.exists(store.set_dir(name))
        assert not store.mounted(), "a failed create left the store mounted"
        assert holders_named(HOLDER_COMM_PREFIX + name[:11]) == []
        assert open(link).read() == "not a namespace\n"
    finally:
        os.unlink(link)


# ---------------------------------------------------------------------------------------------
# Idempotence, check mode, diff, convergence.

IDEMPOTENCE_CASES = {
    "defaults": {},
    "uts_hostname": {"types": ["uts"], "hostname": "idem-host"},
    "user_with_maps": {"types": ["user", "mnt", "uts", "pid"], "uid_map": USER_MAP, "gid_map": USER_MAP},
    "time_with_offsets": {"types": ["time", "pid", "mnt"], "monotonic_offset": 86400, "boottime_offset": 3600},
    "mount_proc_lo_down_no_link": {"mount_proc": True, "loopback": False, "netns_link": False},
    "all_types": {"types": list(ALL_TYPES), "hostname": "idem-all"},
}


@pytest.mark.parametrize("options", IDEMPOTENCE_CASES.values(), ids=list(IDEMPOTENCE_CASES))
def test_second_identical_run_reports_no_change(store, options):
    name = store.name("idem")
    first = store.present(name, **options)
    assert first.changed
    traces = set_traces(store, name)
    second = store.present(name, **options)
    assert not second.changed, second.result
    predicted = store.run(name, check=True, **options)
    assert predicted.status == "ok" and not predicted.changed, predicted.result
    assert set_traces(store, name) == traces


def test_check_mode_create_predicts_change_makes_nothing_and_diff_matches_real_run(store):
    name = store.name("ck")
    options = {"hostname": "ck-host", "mount_proc": True}
    predicted = store.run(name, check=True, diff=True, **options)
    assert predicted.status == "changed", predicted.result
    assert not os.path.lexists(store.path) and not store.mounted(), "check mode touched the store"
    assert not os.path.lexists(os.path.join(NETNS_DIR, name))
    assert holders_named(HOLDER_COMM_PREFIX + name[:11]) == []
    real = store.run(name, diff=True, **options)
    assert real.status == "changed"
    assert real.result["diff"]["before"] == {}
    after = real.result["diff"]["after"]
    assert after["name"] == name and after["hostname"] == "ck-host" and after["types"] == list(ALL_TYPES[:5])
    assert predicted.result["diff"] == real.result["diff"]


def test_hostname_change_converges_in_place_and_check_mode_predicts_it(store):
    name = store.name("conv")
    created = store.present(name, hostname="conv-a")
    holder, inodes = created.result["set"]["holder_pid"], set_traces(store, name)["inodes"]
    predicted = store.run(name, check=True, diff=True, hostname="conv-b")
    assert predicted.status == "changed"
    assert nsenter({"uts": store.file(name, "uts")}, ["hostname"]) == "conv-a", "check mode changed the hostname"
    real = store.run(name, diff=True, hostname="conv-b")
    assert real.status == "changed"
    assert (real.result["diff"]["before"]["hostname"], real.result["diff"]["after"]["hostname"]) == \
        ("conv-a", "conv-b")
    assert predicted.result["diff"] == real.result["diff"]
    assert nsenter({"uts": store.file(name, "uts")}, ["hostname"]) == "conv-b"
    assert store.state(name)["holder_pid"] == holder and process_alive(holder), "the set was recreated"
    assert set_traces(store, name)["inodes"] == inodes


def test_check_mode_absent_predicts_change_keeps_the_set_and_diff_matches_real_run(store):
    name = store.name("cka")
    store.present(name, hostname="cka-host")
    traces = set_traces(store, name)
    holder = holder_of(store, name)
    predicted = store.absent(name, check=True, diff=True)
    assert predicted.status == "changed"
    assert set_traces(store, name) == traces and process_alive(holder), "check mode removed something"
    real = store.absent(name, diff=True)
    assert real.status == "changed"
    assert real.result["diff"]["after"] == {} and real.result["diff"]["before"]["hostname"] == "cka-host"
    assert predicted.result["diff"] == real.result["diff"]
    after_removal = store.absent(name, check=True)
    assert after_removal.status == "ok" and not after_removal.changed


@pytest.fixture(scope="module")
def fixed_set(shared_store) -> str:
    name = shared_store.name("fixed")
    shared_store.present(name, **FIXED_BASE)
    return name


FIXED_BASE = {"types": ["mnt", "uts", "pid", "net", "user", "time"], "uid_map": USER_MAP, "gid_map": USER_MAP,
              "monotonic_offset": 100}
FIXED_CHANGES = {
    "types": ["mnt", "uts", "ipc", "pid", "net", "user", "time"],
    "mount_proc": True,
    "mount_sysfs": True,
    "uid_map": ["0 200000 65536"],
    "gid_map": ["0 200000 65536"],
    "setgroups": "deny",
    "monotonic_offset": 200,
    "boottime_offset": 5,
    "propagation": "slave",
}


@pytest.mark.parametrize("check", [False, True], ids=["real", "check"])
@pytest.mark.parametrize("option", FIXED_CHANGES)
def test_fixed_option_change_fails_naming_the_option_and_leaves_the_set_untouched(
        shared_store, fixed_set, option, check):
    traces = set_traces(shared_store, fixed_set)
    holder = holder_of(shared_store, fixed_set)
    run = shared_store.run(fixed_set, check=check, **dict(FIXED_BASE, **{option: FIXED_CHANGES[option]}))
    assert run.failed, run.result
    assert no_traceback(run)
    assert "option %s " % option in run.msg and "state=absent" in run.msg, run.msg
    assert run.result.get("option") == option
    assert set_traces(shared_store, fixed_set) == traces
    assert holder_of(shared_store, fixed_set) == holder


# ---------------------------------------------------------------------------------------------
# The lock.

def test_twenty_parallel_creates_of_one_name_make_one_set(store):
    name = store.name("race")
    runs = store.runner.run_parallel([store.args(name, hostname="race")] * 20)
    assert [r.status for r in runs].count("failed") == 0, [r.msg for r in runs if r.failed]
    assert sorted(r.changed for r in runs) == [False] * 19 + [True]
    assert [e for e in os.listdir(store.path) if not e.startswith(".")] == [name]
    assert len(holders_named(HOLDER_COMM_PREFIX + name[:11])) == 1
    assert len(mounts_under(store.set_dir(name))) == 5
    assert {r.result["set"]["holder_pid"] for r in runs} == {store.state(name)["holder_pid"]}


def test_twenty_parallel_creates_of_different_names_make_twenty_sets_and_parallel_absent_removes_all(store):
    names = [store.name("many%02d" % i) for i in range(20)]
    runs = store.runner.run_parallel([store.args(n, types=["uts", "pid"]) for n in names])
    assert [r.msg for r in runs if r.failed] == []
    assert all(r.changed for r in runs)
    assert sorted(e for e in os.listdir(store.path) if not e.startswith(".")) == names
    holders = [store.state(n)["holder_pid"] for n in names]
    assert len(set(holders)) == 20 and all(process_alive(h) for h in holders)
    inodes = {n: {t: inode(store.file(n, t)) for t in ("uts", "pid")} for n in names}
    removed = store.runner.run_parallel([store.args(n, state="absent") for n in names])
    assert [r.msg for r in removed if r.failed] == []
    assert all(r.changed for r in removed)
    for name, holder in zip(names, holders):
        assert_set_gone(store, name, inodes[name], holder)
    assert not store.mounted(), "the store is still mounted after its last set was removed"
    assert not os.path.exists(store.path) or os.listdir(store.path) == [], os.listdir(store.path)


# ---------------------------------------------------------------------------------------------
# Crash recovery: sets left half-made, simulated with real kernel objects.

def write_half_made_state(store: TestStore, name: str, types: List[str], holder: Optional[int] = None,
                          inodes: Optional[Dict[str, int]] = None) -> None:
    os.mkdir(store.set_dir(name))
    state = {"name": name, "status": "creating", "types": types, "inodes": inodes or {}, "holder_pid": holder,
             "options": {"types": types}, "created": "2026-01-01T00:00:00Z"}
    with open(os.path.join(store.set_dir(name), "state.json"), "w") as handle:
        json.dump(state, handle)


def assert_recovered(run: Any, state: str) -> None:
    assert run.status == "changed", run.result
    assert run.result["recovered"] is True
    assert any("half-made" in w for w in run.warnings), run.result


@pytest.mark.parametrize("state", ["present", "absent"])
def test_half_made_set_with_an_nsfs_mount_is_detected_and_completed_or_cleaned(store, state):
    store.present(store.name("anchor"), types=["uts"])  # keeps the store mounted, as a crash would
    name = store.name("half")
    write_half_made_state(store, name, ["uts"])
    stale = store.file(name, "uts")
    open(stale, "w").close()
    sh(["unshare", "--uts=" + stale, "true"])  # util-linux binds a new uts namespace there
    stale_inode = inode(stale)
    with pinned([stale]):
        run = store.run(name, state=state, types=["uts"])
        assert_recovered(run, state)
        assert nsfs_mounts_of({stale_inode}, store.prefix) == [], "the half-made set's namespace is still mounted"
        if state == "present":
            assert inode(stale) != stale_inode
    if state == "present":
        assert store.state(name)["status"] == "ready"
        assert len(mounts_under(store.set_dir(name))) == 1
        assert store.run(name, types=["uts"]).changed is False
    else:
        assert not os.path.exists(store.set_dir(name))


@pytest.mark.parametrize("state", ["present", "absent"])
def test_half_made_set_with_a_live_holder_is_detected_and_its_holder_stopped(store, state):
    store.present(store.name("anchor"), types=["uts"])
    name = store.name("halfh")
    process, orphan = start_pid_namespace_process()
    try:
        orphan_pid_ns = process_ns_inode(orphan, "pid")
        write_half_made_state(store, name, ["pid"], holder=orphan, inodes={"pid": orphan_pid_ns})
        open(store.file(name, "pid"), "w").close()
        sh(["mount", "--bind", "/proc/%d/ns/pid" % orphan, store.file(name, "pid")])
        with pinned([store.file(name, "pid")]):
            run = store.run(name, state=state, types=["pid"])
            assert_recovered(run, state)
            wait_until(lambda: not process_alive(orphan), what="the recorded holder to be stopped")
            process.wait(timeout=10)  # unshare ends once its child, the recorded holder, is killed
            assert nsfs_mounts_of({orphan_pid_ns}, store.prefix) == []
            new_pid_ns = process_ns_inode(store.state(name)["holder_pid"], "pid") if state == "present" else None
        if state == "present":
            holder = store.state(name)["holder_pid"]
            assert holder != orphan and process_alive(holder)
            assert inode(store.file(name, "pid")) == new_pid_ns != orphan_pid_ns
        else:
            assert not os.path.exists(store.set_dir(name))
    finally:
        kill_started(process)


# ---------------------------------------------------------------------------------------------
# A set whose holder died.

@pytest.mark.parametrize("reaped", [False, True], ids=["holder_still_a_zombie", "holder_reaped"])
def test_set_whose_holder_died_is_made_again_by_present_with_a_warning(store, reaped):
    name = store.name("dead")
    with adopting_orphans():  # the holder becomes our child: we decide when it is reaped
        created = store.present(name)
    holder = created.result["set"]["holder_pid"]
    assert os.getpid() == int(open("/proc/%d/stat" % holder).read().rsplit(")", 1)[1].split()[1])
    inodes = {t: v["inode"] for t, v in created.result["set"]["namespaces"].items()}
    try:
        os.kill(holder, signal.SIGKILL)  # our child, made through the module
        wait_until(lambda: not process_alive(holder), what="the holder to die")
        if reaped:
            os.waitpid(holder, 0)
        remade = store.run(name)
        assert remade.status == "changed" and remade.result["recovered"] is True, remade.result
        assert any("holder" in w and "has exited" in w for w in remade.warnings), remade.warnings
    finally:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(holder, 0)
    new_holder = remade.result["set"]["holder_pid"]
    assert new_holder != holder and process_alive(new_holder)
    assert store.run(name).changed is False, "the set made again is not healthy"
    removed = store.absent(name)
    assert removed.status == "changed", removed.result
    assert_set_gone(store, name, inodes, None)


def test_set_half_removed_by_a_killed_run_is_reported_broken_and_made_again(store, namespace_info):
    name = store.name("halfr")
    created = store.present(name, types=["uts", "pid"])
    state_file = os.path.join(store.set_dir(name), "state.json")
    state = store.state(name)
    state["status"] = "removing"  # what a removal killed after its first step leaves
    with open(state_file, "w") as handle:
        json.dump(state, handle)
    info = namespace_info({"name": name, "store": store.path})
    reported = [s for s in info["sets"] if s["name"] == name]
    assert reported and not reported[0]["healthy"], info
    assert any("half-removed" in p for p in reported[0]["problems"]), reported
    remade = store.run(name, types=["uts", "pid"])
    assert remade.status == "changed" and remade.result["recovered"] is True, remade.result
    assert any("half-removed" in w for w in remade.warnings), remade.warnings
    assert store.state(name)["status"] == "ready"
    assert remade.result["set"]["holder_pid"] != created.result["set"]["holder_pid"]
    assert store.run(name, types=["uts", "pid"]).changed is False


# ---------------------------------------------------------------------------------------------
# The store's directories: the parents the module made go with the last set.

def test_store_parent_directories_the_module_made_go_with_the_last_set(ansible, prefix, scratch):
    with store_at(ansible, prefix, "made", parent=scratch + "/p/q") as deep:
        name = deep.name("deep")
        deep.present(name, types=["uts"])
        assert os.path.isdir(deep.path)
        assert deep.absent(name).changed
        assert not os.path.exists(scratch), "directories made for the store remain: %s" % sh(["find", scratch])


# ---------------------------------------------------------------------------------------------
# Bad input: fail_json with a clear message, no traceback, nothing changed.

class BadInput(NamedTuple):
    options: Dict[str, Any]
    message: str  # a piece the message must contain
    store: Optional[Callable[[str], str]] = None  # prepares a bad store below the given base path
    check: bool = False


def symlink_store(base: str) -> str:
    os.mkdir(base + "-real")
    os.symlink(base + "-real", base)
    return base


def file_store(base: str) -> str:
    open(base, "w").close()
    return base


def non_empty_dir_store(base: str) -> str:
    os.mkdir(base)
    open(os.path.join(base, "keep"), "w").close()
    return base


def foreign_tmpfs_store(base: str) -> str:
    os.mkdir(base)
    sh(["mount", "-t", "tmpfs", "-o", "size=1m", "lnst-foreign", base])
    open(os.path.join(base, "keep"), "w").close()
    return base


BAD_INPUTS = {
    "unknown_type": BadInput({"types": ["mnt", "bogus"]}, "bogus"),
    "name_with_slash": BadInput({"name": "{prefix}/x"}, "name"),
    "name_dot_dot": BadInput({"name": ".."}, "name"),
    "name_dot": BadInput({"name": "."}, "name"),
    "name_with_nul": BadInput({"name": "{prefix}\x00x"}, "NUL"),
    "name_65_chars": BadInput({"name": "{prefix}{pad_to_65}"}, "64"),
    "name_trailing_newline": BadInput({"name": "{prefix}-nl\n"}, "name"),
    "name_empty": BadInput({"name": ""}, "name"),
    "uid_map_malformed": BadInput({"types": ["user"], "uid_map": ["0 100000"]}, "uid_map"),
    "gid_map_not_numbers": BadInput({"types": ["user"], "gid_map": ["0 x 1"]}, "gid_map"),
    "uid_map_overlap_inside": BadInput({"types": ["user"], "uid_map": ["0 100000 10", "5 200000 10"]},
                                       "overlapping"),
    "gid_map_overlap_outside": BadInput({"types": ["user"], "gid_map": ["0 100000 10", "100 100005 10"]},
                                        "overlapping"),
    "uid_map_count_0": BadInput({"types": ["user"], "uid_map": ["0 100000 0"]}, "COUNT is 0"),
    "mount_proc_without_pid": BadInput({"types": ["mnt"], "mount_proc": True}, "mount_proc"),
    "mount_sysfs_without_net": BadInput({"types": ["mnt", "pid"], "mount_sysfs": True}, "mount_sysfs"),
    "offsets_without_time": BadInput({"types": ["mnt", "pid"], "monotonic_offset": 5}, "time"),
    "maps_without_user": BadInput({"types": ["mnt"], "uid_map": USER_MAP}, "user"),
    "hostname_without_uts": BadInput({"types": ["mnt"], "hostname": "x"}, "uts"),
    "store_relative": BadInput({"store": "relative/store"}, "absolute"),
    "store_symlink": BadInput({}, "symbolic link", symlink_store),
    "store_symlink_trailing_slash": BadInput({}, "symbolic link", lambda base: symlink_store(base) + "/"),
    "store_regular_file": BadInput({}, "not a directory", file_store),
    "store_non_empty_directory": BadInput({}, "not a store", non_empty_dir_store),
    "store_non_empty_directory_check_mode": BadInput({}, "not a store", non_empty_dir_store, check=True),
    "store_foreign_tmpfs": BadInput({}, "not a store", foreign_tmpfs_store),
    "store_with_nul": BadInput({}, "NUL", lambda base: base + "/a\x00b"),
    "store_too_long": BadInput({}, "at most 4095", lambda base: base + "/" + "/".join(["d" * 200] * 21)),
    "store_too_deep": BadInput({}, "deep", lambda base: base + "/d" * 100),
    "store_component_too_long": BadInput({}, "longer than 255", lambda base: base + "/" + "x" * 256),
    "monotonic_offset_beyond_ktime": BadInput({"types": ["time"], "monotonic_offset": 2 ** 64}, "out of the kernel"),
    "boottime_offset_beyond_ktime": BadInput({"types": ["time"], "boottime_offset": -2 ** 64}, "out of the kernel"),
    "boottime_offset_below_zero": BadInput({"types": ["time"], "boottime_offset": -9223372036}, "within 0"),
    "monotonic_offset_above_half": BadInput({"types": ["time"], "monotonic_offset": 9223372036}, "within 0"),
}


def host_snapshot(prefix: str, paths: List[str]) -> Dict[str, Any]:
    def listing(path: str) -> Any:
        if os.path.islink(path):
            return "-> " + os.readlink(path)
        return sorted(os.listdir(path)) if os.path.isdir(path) else os.path.exists(path)

    return {
        "mounts": sorted(m["target"] for m in mounts() if prefix in m["target"]),
        "run": sorted(e for e in os.listdir("/run") if e.startswith(prefix)),
        "netns": sorted(e for e in os.listdir(NETNS_DIR) if e.startswith(prefix)) if os.path.isdir(NETNS_DIR)
        else [],
        "holders": holders_named(HOLDER_COMM_PREFIX + prefix),
        "paths": {p: listing(p) for p in paths},
        "hostname": socket.gethostname(),
    }


@pytest.fixture
def scratch(ansible, prefix) -> Iterator[str]:
    """A base path for prepared bad stores; whatever was made there is removed after the test."""
    base = "/run/%s-bad" % prefix
    yield base
    for path in (base + "-store", base + "-real", base):
        swept = TestStore(ansible, prefix, path)
        swept.made.append(prefix + "-bad")
        swept.sweep()  # the test's own assertions judge what changed; this only clears up
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=list(BAD_INPUTS))
def test_bad_input_fails_clearly_without_traceback_and_changes_nothing(ansible, prefix, scratch, case):
    options = dict(case.options)
    pad_to_65 = "x" * (65 - len(prefix))
    options["name"] = options.get("name", "{prefix}-bad").format(prefix=prefix, pad_to_65=pad_to_65)
    options.setdefault("store", case.store(scratch) if case.store else scratch + "-store")
    watched = [scratch, scratch + "-real", scratch + "-store"]
    before = host_snapshot(prefix, watched)
    run = ansible.run(options, check=case.check)
    assert run.failed, run.result
    assert no_traceback(run), run.result
    assert case.message in run.msg, run.msg
    assert host_snapshot(prefix, watched) == before
    if case.store and os.path.isdir(scratch):
        absent = ansible.run(dict(options, state="absent"))
        assert absent.status in ("ok", "failed") and not absent.changed, absent.result
        assert host_snapshot(prefix, watched) == before, "state=absent touched a directory that is not a store"


# ---------------------------------------------------------------------------------------------
# User and time namespaces.

def test_user_namespace_maps_root_inside_to_100000_outside(store, prefix):
    name = store.name("user")
    store.present(name, types=["user", "mnt", "uts", "pid"], uid_map=USER_MAP, gid_map=USER_MAP)
    user = store.file(name, "user")
    assert nsenter({"user": user}, ["cat", "/proc/self/uid_map"]).split() == USER_MAP[0].split()
    assert nsenter({"user": user}, ["cat", "/proc/self/gid_map"]).split() == USER_MAP[0].split()
    made = "/tmp/%s-owned-by-set" % prefix
    try:
        nsenter({"user": user, "mnt": store.file(name, "mnt")}, ["touch", made])
        owner = os.stat(made)
        assert (owner.st_uid, owner.st_gid) == (100000, 100000)
    finally:
        if os.path.exists(made):
            os.unlink(made)
    uid_line = [line for line in open("/proc/%d/status" % holder_of(store, name)) if line.startswith("Uid:")][0]
    assert uid_line.split()[1:] == ["100000"] * 4, "the holder is not root inside the set"


def clock_inside(time_file: str, clock: str) -> float:
    code = "import time; print(time.clock_gettime(time.%s))" % clock
    return float(nsenter({"time": time_file}, [sys.executable, "-c", code]))


@pytest.mark.parametrize("types", [["time"], ["time", "pid", "mnt"]], ids=["time_only", "time_with_holder"])
def test_time_namespace_offsets_show_in_clocks_uptime_and_timens_offsets(store, types):
    name = store.name("time")
    store.present(name, types=types, monotonic_offset=86400, boottime_offset=172800)
    time_file = store.file(name, "time")
    expected = [["monotonic", "86400", "0"], ["boottime", "172800", "0"]]
    offsets = nsenter({"time": time_file}, ["cat", "/proc/self/timens_offsets"])
    assert [line.split() for line in offsets.splitlines()] == expected
    if "pid" in types:
        holder_offsets = open("/proc/%d/timens_offsets" % holder_of(store, name)).read()
        assert [line.split() for line in holder_offsets.splitlines()] == expected
    uptime_inside = float(nsenter({"time": time_file}, ["cat", "/proc/uptime"]).split()[0])
    uptime_host = float(open("/proc/uptime").read().split()[0])
    assert abs(uptime_inside - uptime_host - 172800) < 60
    assert abs(clock_inside(time_file, "CLOCK_MONOTONIC") - time.clock_gettime(time.CLOCK_MONOTONIC) - 86400) < 60
    assert abs(clock_inside(time_file, "CLOCK_REALTIME") - time.time()) < 60, "CLOCK_REALTIME was offset"


# ---------------------------------------------------------------------------------------------
# Target Pythons and documentation.

@pytest.mark.parametrize("version", TARGET_PYTHONS)
def test_module_works_on_target_python(store, version, tmp_path):
    target = "/root/.pyenv/versions/%s/bin/python3" % version
    assert os.access(target, os.X_OK), "target interpreter %s is missing on this host" % target
    # The interpreter Ansible is given logs each start and becomes the target Python (exec keeps the pid),
    # so every run below is shown to be the module on that Python.
    starts = tmp_path / "starts"
    python = tmp_path / "python3"
    python.write_text('#!/bin/sh\necho "$$" >> %s\nexec %s "$@"\n' % (shlex.quote(str(starts)), shlex.quote(target)))
    python.chmod(0o755)
    name = store.name("py" + version.replace(".", ""))
    options = {"types": list(ALL_TYPES), "uid_map": USER_MAP, "gid_map": USER_MAP, "hostname": "py-target",
               "monotonic_offset": 3600, "mount_proc": True}
    created = store.run(name, python=str(python), **options)
    assert created.status == "changed", created.result
    holder = created.result["set"]["holder_pid"]
    assert nsenter({"uts": store.file(name, "uts")}, ["hostname"]) == "py-target"
    assert sh(["nsenter", "-t", str(holder), "--pid", "--mount", "cat", "/proc/1/comm"]).startswith(
        HOLDER_COMM_PREFIX)
    again = store.run(name, python=str(python), **options)
    assert again.status == "ok" and not again.changed, again.result
    removed = store.absent(name, python=str(python))
    assert removed.status == "changed", removed.result
    assert not store.mounted()
    assert len(starts.read_text().split()) == 3, "the module did not run on %s for each of the 3 tasks" % target


def test_ansible_doc_renders_and_documents_every_option(ansible):
    env = ansible_environment()
    text = run([ansible_program("ansible-doc"), MODULE], env=env)  # fails the test if it exits non-zero
    assert "ERROR" not in text.stderr, text.stderr
    raw = run([ansible_program("ansible-doc"), "--json", MODULE], env=env).stdout
    documented = set(json.loads(raw)[MODULE]["doc"]["options"])
    # The module's own list of parameters, as it reports an unknown one.
    probe = ansible.run({"name": "x", "lns_no_such_option": 1})
    supported = set(probe.msg.split("Supported parameters include:")[1].strip(" .").split(", "))
    assert documented == supported
    for option in supported:
        assert re.search(r"^\s*[-=] %s\b" % option, text.stdout, re.M), "%s missing from ansible-doc" % option
    for section in ("EXAMPLES", "RETURN VALUES"):
        assert section in text.stdout
