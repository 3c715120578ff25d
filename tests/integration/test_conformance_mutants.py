"""The conformance kit can fail every setup property: one kit run over the broken subjects of
conformance/probes/lib/mutants.py (each breaks exactly one isolation aspect) FAILs, for each of them,
exactly the expected properties; every setup property FAILs for at least one broken subject; the reference
fails none. The table broken subject x failing properties is written into conformance/README.md.
Needs root (the kit creates namespaces)."""

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

from conformance.probes.lib.mutants import BROKEN  # noqa: E402
from conformance.probes.registry import PROPERTIES  # noqa: E402

README = REPOSITORY / "conformance" / "README.md"
TABLE_BEGIN = "<!-- broken subjects: written by tests/integration/test_conformance_mutants.py -->\n"
TABLE_END = "<!-- end of broken subjects -->\n"
SETUP_PROPERTIES = sorted(prop_id for prop_id, declared in PROPERTIES.items() if declared.setup)

# What each broken subject must fail, and why (the property that looks at the broken aspect; G2 whenever
# a claimed type is the host's; S6 whenever /proc inside is not the set's own).
EXPECTED_FAILURES = {
    "broken-uts": {"S2", "UTS2", "G2"},
    "broken-hostname": {"S2"},
    "broken-ipc": {"S3", "IPC1", "IPC2", "IPC3", "IPC4", "IPC5", "IPC6", "IPC7", "G2"},
    "broken-ipc-pinned": {"IPC6"},
    "broken-net": {"NET2", "NET3", "G2"},
    "broken-cgroup": {"CG1", "CG3", "G2"},
    "broken-pid": {"S4", "S5", "S6", "G2"},
    "broken-pid1": {"S4"},
    "broken-mnt": {"MNT4", "S6", "G2"},
    "broken-proc": {"S6"},
    "broken-propagation": {"S6"},
    "broken-time": {"TIME4", "TIME6"},
    "broken-late-offsets": {"TIME4", "TIME6"},
    "broken-label": {"S2", "UTS2", "G2", "G3"},
}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the conformance kit needs root to create namespaces")


def run_kit(report_dir: Path, subjects: list[str], prefix: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pytest", str(REPOSITORY / "conformance"), "--hosts=local://",
            "--lns-subjects=" + ",".join(subjects), "-k", " or ".join(SETUP_PROPERTIES),
            "--lns-report-dir", str(report_dir), "-p", "no:cacheprovider", "-q"]
    env = dict(os.environ, LNS_TEST_PREFIX=prefix)
    return subprocess.run(argv, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=600, check=False)


def failures_by_subject(report: dict) -> dict[str, set[str]]:
    failed: dict[str, set[str]] = {}
    for entry in report["results"]:
        failed.setdefault(entry["subject"], set())
        if entry["result"] == "FAIL":
            failed[entry["subject"]].add(entry["id"])
    return failed


def table(failed: dict[str, set[str]]) -> str:
    rows = ["| broken subject | what is broken | failing properties |", "|---|---|---|"]
    for kind, how in BROKEN.items():
        rows.append("| `%s` | %s | %s |" % (kind, how.description, ", ".join(sorted(failed[kind]))))
    return "\n".join(rows) + "\n"


def write_table_into_readme(rendered: str) -> bool:
    """Writes the table between its markers; True if the README changed."""
    text = README.read_text()
    begin = text.index(TABLE_BEGIN) + len(TABLE_BEGIN)
    end = text.index(TABLE_END)
    if text[begin:end] == rendered:
        return False
    README.write_text(text[:begin] + rendered + text[end:])
    return True


def test_every_broken_subject_fails_exactly_its_properties(tmp_path):
    assert set(EXPECTED_FAILURES) == set(BROKEN), "every broken subject has its expected failures"
    prefix = os.environ.get("LNS_TEST_PREFIX") or "lnst" + secrets.token_hex(2)
    completed = run_kit(tmp_path, ["reference"] + list(BROKEN), prefix + "m")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, "the kit should report failures (exit 1), got %d:\n%s" % (
        completed.returncode, output[-3000:])
    report = json.loads((tmp_path / "local.json").read_text())
    failed = failures_by_subject(report)

    assert failed["reference"] == set(), "the reference fails %s:\n%s" % (sorted(failed["reference"]), output[-3000:])
    wrong = dict((kind, {"expected": sorted(EXPECTED_FAILURES[kind]), "failed": sorted(failed.get(kind, set()))})
                 for kind in BROKEN if failed.get(kind) != EXPECTED_FAILURES[kind])
    assert not wrong, "broken subjects failing other properties than expected: %s\n%s" % (wrong, output[-3000:])
    never_failed = sorted(set(SETUP_PROPERTIES) - set().union(*failed.values()))
    assert not never_failed, "no broken subject fails %s: the kit never showed it can fail them" % never_failed
    assert report["cleanup"]["leftovers"] == [], report["cleanup"]
    assert not write_table_into_readme(table(failed)), \
        "conformance/README.md's broken-subject table was out of step: rewritten, commit it"
