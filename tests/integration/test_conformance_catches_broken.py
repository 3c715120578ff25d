"""The conformance kit catches what it claims to check: run against a subject that claims a UTS
namespace but shares the host's, exactly the properties that look at the subject's UTS namespace FAIL,
and no other property of that subject does. (The kernel column does not depend on the subject and is
not judged here.) Needs root (the kit creates namespaces)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
# S2: the hostname inside; UTS2: names set inside stay inside; G2: a requested type has a new identity.
UTS_PROPERTIES_OF_A_SUBJECT = {"S2", "UTS2", "G2"}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the conformance kit needs root to create namespaces")


def run_kit(report_dir: Path, subjects: str, prefix: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pytest", str(REPOSITORY / "conformance"), "--hosts=local://",
            "--lns-subject=" + subjects, "--lns-report-dir", str(report_dir), "-p", "no:cacheprovider", "-q",
            "--junitxml", str(report_dir / "junit.xml")]
    env = dict(os.environ, LNS_TEST_PREFIX=prefix)
    return subprocess.run(argv, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=600, check=False)


def results_by_subject(report: dict) -> dict[str, dict[str, str]]:
    by_subject: dict[str, dict[str, str]] = {}
    for entry in report["results"]:
        by_subject.setdefault(entry["subject"], {})[entry["id"]] = entry["result"]
    return by_subject


def test_broken_uts_subject_fails_exactly_the_uts_properties(tmp_path):
    prefix = os.environ.get("LNS_TEST_PREFIX") or "lnst" + secrets.token_hex(2)
    completed = run_kit(tmp_path, "reference,broken-uts", prefix + "b")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, "the kit should report failures (exit 1), got %d:\n%s" % (
        completed.returncode, output[-3000:])
    report = json.loads((tmp_path / "local.json").read_text())
    by_subject = results_by_subject(report)

    failed_broken = {prop for prop, result in by_subject["broken-uts"].items() if result == "FAIL"}
    assert failed_broken == UTS_PROPERTIES_OF_A_SUBJECT, "FAIL on the broken subject: %s\n%s" % (
        sorted(failed_broken), output[-3000:])
    failed_reference = sorted(prop for prop, result in by_subject["reference"].items() if result == "FAIL")
    assert not failed_reference, "the reference failed %s too:\n%s" % (failed_reference, output[-3000:])
    # The same properties hold for the reference: the kit blames the subject, not the host.
    for prop in UTS_PROPERTIES_OF_A_SUBJECT:
        assert by_subject["reference"][prop] == "PASS"
    assert set(by_subject["broken-uts"]) == set(by_subject["reference"]), "both subjects get the same checks"

    reasons = dict((e["id"], e["reason"]) for e in report["results"] if e["subject"] == "broken-uts")
    assert "refusing to change it" in reasons["UTS2"], "UTS2 must refuse to rename the host: %s" % reasons["UTS2"]
    assert report["cleanup"]["leftovers"] == [], report["cleanup"]
    assert report["kit_checks"][0]["result"] == "PASS"
    junit = (tmp_path / "junit.xml").read_text()
    assert 'name="test_S2_hostname_inside_never_on_host[broken-uts-local]"' in junit
