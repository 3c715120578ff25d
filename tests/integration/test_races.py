# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parallel runs of the namespace module on one name and on many names (issue 14).

The store serializes every change with its lock, and `present` and `absent` each apply to a set in
any state, so every run of a race must succeed; the set must end healthy or gone, with no leak.
LNS_RACE_ROUNDS repeats each race (default 1, `make soak` runs 10). Findings are also written to
tests/output/hardening/.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any, Dict, List

from hardening import finish_module, record_findings, run_module, start_module, store_fixtures, sweep, traces

ROUNDS = int(os.environ.get("LNS_RACE_ROUNDS", "1"))
SEED = 14
RACE_TIMEOUT = 300  # seconds: runs wait for the store's lock one after another (a removal holds it about 2 s)


tag, store = store_fixtures("r")


def run_all(many_args: List[Dict[str, Any]]) -> List[str]:
    """Start every run before waiting for the first; return what went wrong with each."""
    started = [(args, start_module("namespace", args)) for args in many_args]
    problems = []
    for args, (process, args_file) in started:
        outcome = finish_module("namespace", args, process, args_file, timeout=RACE_TIMEOUT)
        if outcome.crash() or outcome.failed:
            problems.append("%s %s: %s" % (args["name"], args.get("state", "present"), outcome.crash() or outcome.msg))
    return problems


def whole_or_gone(store: str, name: str) -> List[str]:
    """The set is healthy with no leak, or nothing of it is left."""
    info = run_module("namespace_info", {"name": name, "store": store})
    if info.crash() or info.failed:
        return ["namespace_info: %s" % (info.crash() or info.msg)]
    sets = [s for s in info.result.get("sets") or [] if s.get("name") == name]
    problems = ["leak: %s" % json.dumps(leak) for leak in info.result.get("leaks") or []]
    if sets and not sets[0].get("healthy"):
        problems.append("the set is broken: %s" % sets[0].get("problems"))
    if not sets:
        problems += ["no set, yet %s is left: %s" % (kind, value)
                     for kind, value in traces(store, name).items() if value]
    return problems


def test_twenty_present_and_ten_absent_on_one_name(store, tag):
    draw = random.Random(SEED)
    findings = []
    for round_number in range(ROUNDS):
        name = "%so%x" % (tag, round_number)  # at most 11 characters: holders' comms tell sets apart
        runs = [{"name": name, "store": store}] * 20 + [{"name": name, "store": store, "state": "absent"}] * 10
        draw.shuffle(runs)
        problems = run_all(runs) + whole_or_gone(store, name)
        removed = run_module("namespace", {"name": name, "store": store, "state": "absent"})
        if removed.crash() or removed.failed:
            problems.append("absent after the race: %s" % (removed.crash() or removed.msg))
        problems += ["absent after the race left %s: %s" % (k, v) for k, v in traces(store, name).items() if v]
        if problems:
            findings.append("round %d:\n  -> %s" % (round_number, "\n  -> ".join(problems)))
            sweep(name, range(0))
    record_findings("race-one-name", findings)
    assert not findings, "\n".join(findings)


def test_twenty_names_in_parallel(store, tag):
    findings = []
    for round_number in range(ROUNDS):
        names = ["%s%02x" % (tag, round_number * 20 + number) for number in range(20)]
        problems = run_all([{"name": name, "store": store} for name in names])
        for name in names:
            problems += ["%s: %s" % (name, problem) for problem in whole_or_gone(store, name)]
        problems += run_all([{"name": name, "store": store, "state": "absent"} for name in names])
        for name in names:
            problems += ["%s: absent left %s: %s" % (name, k, v) for k, v in traces(store, name).items() if v]
        if problems:
            findings.append("round %d:\n  -> %s" % (round_number, "\n  -> ".join(problems)))
            sweep(tag, range(0))
    record_findings("race-twenty-names", findings)
    assert not findings, "\n".join(findings)
