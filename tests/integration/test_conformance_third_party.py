"""The conformance kit checks third-party isolation tools through its subject interface: one kit run
over the reference, bubblewrap, runc and systemd-nspawn (installed by the project's set-up, APT_PACKAGES)
gives every setup property a result for each; on this machine they isolate what they make, and SKIP,
naming the type, exactly the properties about namespace types the tool does not make (bwrap: time; runc's
default config.json: cgroup and time; nspawn: time). The one FAIL is nspawn's S6: it leaves the
container's root mount shared. Needs root (the kit creates namespaces)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
if str(REPOSITORY) not in sys.path:  # the kit is a directory of the repository, not an installed package
    sys.path.insert(0, str(REPOSITORY))

from conformance.probes.registry import PROPERTIES  # noqa: E402

SETUP_PROPERTIES = sorted(prop_id for prop_id, declared in PROPERTIES.items() if declared.setup)
# Properties about a type each tool does not make, by that type.
NOT_MADE = {"reference": {}, "bwrap": {"TIME4": "time", "TIME6": "time"},
            "runc": {"CG1": "cgroup", "CG3": "cgroup", "TIME4": "time", "TIME6": "time"},
            "nspawn": {"TIME4": "time", "TIME6": "time"}}
# Properties a tool fails on this machine, with the kit's reason.
FAILS = {"nspawn": {"S6": "the set's root mount is shared (shared:"}}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the conformance kit needs root to create namespaces")


def test_third_party_subjects_pass_what_they_make_and_skip_what_they_do_not(tmp_path):
    prefix = (os.environ.get("LNS_TEST_PREFIX") or "lnst" + secrets.token_hex(2)) + "t"
    argv = [sys.executable, "-m", "pytest", str(REPOSITORY / "conformance"), "--hosts=local://",
            "--lns-subjects=" + ",".join(NOT_MADE), "-k", " or ".join(SETUP_PROPERTIES),
            "--lns-report-dir", str(tmp_path), "-p", "no:cacheprovider", "-q"]
    completed = subprocess.run(argv, cwd=REPOSITORY, env=dict(os.environ, LNS_TEST_PREFIX=prefix),
                               capture_output=True, text=True, timeout=600, check=False)
    output = (completed.stdout + completed.stderr)[-3000:]
    assert completed.returncode == 1, "the kit should fail only nspawn's S6 (exit 1), got %d:\n%s" % (
        completed.returncode, output)
    report = json.loads((tmp_path / "local.json").read_text())
    for kind in NOT_MADE:
        assert "error" not in report["subjects"][kind], report["subjects"][kind]
        assert report["subjects"][kind]["holder_pid"], "the %s subject names no PID 1" % kind
    results = dict(((e["subject"], e["id"]), e) for e in report["results"])
    for kind, not_made in NOT_MADE.items():
        for prop_id in SETUP_PROPERTIES:
            entry = results[(kind, prop_id)]
            if prop_id in not_made:
                assert entry["result"] == "SKIP", (kind, entry)
                assert "does not make a %s namespace" % not_made[prop_id] in entry["reason"], (kind, entry)
            elif prop_id in FAILS.get(kind, {}):
                assert entry["result"] == "FAIL", (kind, entry)
                assert FAILS[kind][prop_id] in entry["reason"], (kind, entry)
            else:
                assert entry["result"] == "PASS", (kind, entry)
    assert report["cleanup"]["leftovers"] == [], report["cleanup"]
