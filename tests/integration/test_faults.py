# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kill -9 at random moments during create and remove, and of the holder (issue 14).

Each fault kills the namespace module's process, or separately its whole process group, after a
seeded random delay while it creates or removes a set. After each fault:
- namespace_info reports every trace of the set left on the host (store directory, holder process,
  /run/netns link), as a set or as a leak;
- the next run converges: `present` (when drawn) makes a healthy set, then `absent` leaves nothing of
  it (nsfs mount, holder or other process of the killed run, store entry, /run/netns entry).
A killed holder must be reported broken, and `present` must make the set whole again.

LNS_FAULTS sets the number of module faults (default 12, `make soak` runs 200); LNS_FAULT_SEED the seed.
Every fault runs; the test fails at the end listing each one that went wrong (also written to
tests/output/hardening/faults.txt).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from typing import Any, Dict, List

import pytest

from hardening import (descendants, finish_module, holders, kill_group, record_findings, run_module, start_module,
                       store_fixtures, sweep, traces, wait_for)
from namespace_sets import NETNS_DIR, process_alive

FAULTS = int(os.environ.get("LNS_FAULTS", "12"))
SEED = int(os.environ.get("LNS_FAULT_SEED", "14"))
# Seconds: the module's run (its Python start included) takes about 0.15-0.25 s to create the default set here
# and 0.15-0.25 s to remove it, so most kills land while it works and some just after.
CREATE_WINDOW = 0.25
REMOVE_WINDOW = 0.22


tag, store = store_fixtures("k")


def unreported(info: Dict[str, Any], store: str, name: str, found: Dict[str, Any]) -> List[str]:
    """The traces namespace_info's sets and leaks do not mention."""
    told = json.dumps({"sets": info.get("sets"), "leaks": info.get("leaks")})
    missing = []
    if found["store entry"] and name not in told:
        missing.append("store entry %s" % os.path.join(store, name))
    missing += ["holder %d" % pid for pid in found["holders"] if str(pid) not in told]
    if found["netns entry"] and os.path.join(NETNS_DIR, name) not in told and '"netns"' not in told:
        missing.append("/run/netns entry %s" % name)
    broken = [s for s in info.get("sets") or [] if s.get("name") == name and not s.get("healthy")]
    if found["holders"] and not found["store entry"] and not broken:
        missing.append("a holder without a store entry is not reported as a broken set")
    return missing


def healthy(store: str, name: str) -> List[str]:
    info = run_module("namespace_info", {"name": name, "store": store})
    sets = [s for s in (info.result or {}).get("sets") or [] if s.get("name") == name]
    if not sets or not sets[0].get("healthy"):
        return ["after present the set is not healthy: %s" % json.dumps(sets or info.result)[:600]]
    return []


def converge(store: str, name: str, present_first: bool, left_by_fault: List[int]) -> List[str]:
    """The next present (when drawn) and absent; what is wrong with their results or what they leave."""
    problems = []
    if present_first:
        made = run_module("namespace", {"name": name, "store": store})
        if made.crash() or made.failed:
            problems.append("present after the fault: %s" % (made.crash() or made.msg))
        else:
            problems += healthy(store, name)
    removed = run_module("namespace", {"name": name, "store": store, "state": "absent"})
    if removed.crash() or removed.failed:
        problems.append("absent after the fault: %s" % (removed.crash() or removed.msg))
    wait_for(lambda: not any(process_alive(pid) for pid in left_by_fault + list(holders(name))), timeout=5)
    after = traces(store, name)
    problems += ["absent left %s: %s" % (kind, value) for kind, value in after.items() if value]
    problems += ["process %d of the killed run is still alive" % pid for pid in left_by_fault if process_alive(pid)]
    return problems


def one_fault(store: str, name: str, step: str, whole_group: bool, delay: float,
              present_first: bool) -> "tuple[bool, List[str]]":
    """Kill one create or remove of NAME after DELAY; return whether the kill landed while the run was going,
    and what went wrong (empty: the host converged)."""
    if step == "remove":
        made = run_module("namespace", {"name": name, "store": store})
        if made.crash() or made.failed:
            return False, ["setting up the set to remove failed: %s" % (made.crash() or made.msg)]
    args = {"name": name, "store": store, "state": "present" if step == "create" else "absent"}
    process, args_file = start_module("namespace", args)
    wait_for(lambda: process.poll() is not None, timeout=delay)
    landed = process.poll() is None
    left_by_fault = descendants(process.pid)
    if whole_group:
        kill_group(process.pid)
    else:
        process.send_signal(signal.SIGKILL)
    outcome = finish_module("namespace", args, process, args_file)
    problems = []
    if not landed and (outcome.crash() or outcome.failed):
        problems.append("the run ended by itself before the kill, and went wrong: %s"
                        % (outcome.crash() or outcome.msg))
    found = traces(store, name)
    info = run_module("namespace_info", {"name": name, "store": store})
    if info.crash() or info.failed:
        problems.append("namespace_info after the fault: %s" % (info.crash() or info.msg))
    else:
        problems += ["namespace_info does not report the %s" % missing
                     for missing in unreported(info.result, store, name, found)]
    problems += converge(store, name, present_first, left_by_fault)
    if problems:
        sweep(name, range(0))
    return landed, problems


def test_kill_9_of_the_module_or_its_group_during_create_and_remove_converges(store, tag):
    draw = random.Random(SEED)
    findings, landed_count = [], 0
    for number in range(FAULTS):
        step = ("create", "remove")[number % 2]
        whole_group = bool((number // 2) % 2)
        delay = draw.uniform(0.0, CREATE_WINDOW if step == "create" else REMOVE_WINDOW)
        present_first = draw.random() < 0.5
        name = "%s%02x" % (tag, number % 256)  # 11 characters: the holder's comm tells sets apart
        landed, problems = one_fault(store, name, step, whole_group, delay, present_first)
        landed_count += landed
        if problems:
            findings.append("fault %d: kill -9 of the %s %.3f s into %s%s (then %s)\n  -> %s"
                            % (number, "process group" if whole_group else "process", delay, step,
                               "" if landed else ", after the run had ended",
                               "present, absent" if present_first else "absent", "\n  -> ".join(problems)))
    record_findings("faults", ["%d faults injected (seed %d), %d while the run was still going"
                               % (FAULTS, SEED, landed_count)] + findings)
    assert not findings, "%d of %d faults did not converge:\n%s" % (len(findings), FAULTS, "\n".join(findings))


@pytest.mark.parametrize("then", ["present", "absent"])
def test_kill_9_of_the_holder_is_reported_and_the_next_run_converges(store, tag, then):
    name = "%sh%s" % (tag, then[0])
    made = run_module("namespace", {"name": name, "store": store})
    assert made.result and not made.failed, made.result or made.stderr
    holder = made.result["set"]["holder_pid"]
    os.kill(holder, signal.SIGKILL)
    wait_for(lambda: not process_alive(holder))
    problems = []
    info = run_module("namespace_info", {"name": name, "store": store})
    sets = [s for s in (info.result or {}).get("sets") or [] if s.get("name") == name]
    if not sets or sets[0].get("healthy"):
        problems.append("namespace_info does not report the set broken: %s" % json.dumps(info.result)[:600])
    if then == "present":
        whole = run_module("namespace", {"name": name, "store": store})
        if whole.crash() or whole.failed:
            problems.append("present on the broken set: %s" % (whole.crash() or whole.msg))
        else:
            problems += healthy(store, name)
            if not whole.result.get("warnings"):
                problems.append("present made the broken set whole without a warning")
    problems += converge(store, name, False, [])
    if problems:
        sweep(name, range(0))
    record_findings("holder-kill-" + then, problems)
    assert not problems, problems


def leave_as_a_killed_run(store: str, name: str, status: str, keep_inodes: bool) -> Dict[str, Any]:
    """A healthy set rewritten into what a run killed at a chosen step leaves: its status, and no inodes when
    the run died before recording them. Returns the set as the namespace module described it."""
    made = run_module("namespace", {"name": name, "store": store})
    assert made.result and not made.failed, made.result or made.stderr
    state_file = os.path.join(store, name, "state.json")
    with open(state_file) as handle:
        state = json.load(handle)
    state["status"] = status
    if not keep_inodes:
        state["inodes"] = {"pid": state["inodes"]["pid"]}
    with open(state_file, "w") as handle:
        json.dump(state, handle)
    return made.result["set"]


def converged_after(name: str, store: str, then: str, findings: str) -> None:
    problems = converge(store, name, then == "present", [])
    if problems:
        sweep(name, range(0))
    record_findings(findings, problems)
    assert not problems, problems


@pytest.mark.parametrize("then", ["present", "absent"])
def test_kill_9_between_detaching_and_unlinking_the_netns_entry_converges(store, tag, then):
    """The window soak fault 107 found: a removal killed after it detached /run/netns/NAME's mount and before
    it unlinked the file (the set marked removing, its holder killed, the entry's mount detached)."""
    name = "%sd%s" % (tag, then[0])
    holder = leave_as_a_killed_run(store, name, "removing", keep_inodes=True)["holder_pid"]
    os.kill(holder, signal.SIGKILL)
    wait_for(lambda: not process_alive(holder))
    link = os.path.join(NETNS_DIR, name)
    subprocess.run(["umount", "-l", link], check=True)
    assert os.path.isfile(link) and os.path.getsize(link) == 0
    converged_after(name, store, then, "netns-entry-detached-" + then)


@pytest.mark.parametrize("then", ["present", "absent"])
def test_kill_9_right_after_linking_the_netns_entry_converges(store, tag, then):
    """A create killed after it bound /run/netns/NAME and before it recorded the namespaces' inodes."""
    name = "%sl%s" % (tag, then[0])
    leave_as_a_killed_run(store, name, "creating", keep_inodes=False)
    assert os.path.lexists(os.path.join(NETNS_DIR, name))
    converged_after(name, store, then, "netns-entry-linked-" + then)
