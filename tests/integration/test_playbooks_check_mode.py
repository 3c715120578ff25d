"""Check mode of audit.yml and compat_report.yml on this host: it changes nothing and predicts the real run.

isolate.yml's check mode is tested in test_isolate.py. The plays run as `make isolate` runs its own: a
one-host inventory with a local connection, nothing silenced, so any warning shows. Needs root (the
audit probes namespaces).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import REPO, RECAP_LINE, ansible_environment, ansible_program, run

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the audit probes namespaces: root only")

SILENCERS = ("ANSIBLE_LOCALHOST_WARNING", "ANSIBLE_INVENTORY_UNPARSED_WARNING", "ANSIBLE_DEPRECATION_WARNINGS")


def play(playbook: str, extra_vars: dict, workdir: Path, check: bool) -> int:
    """Run PLAYBOOK on this host; return how many tasks it reports changed."""
    environment = {name: value for name, value in ansible_environment().items() if name not in SILENCERS}
    completed = run([ansible_program("ansible-playbook"), "-i", "localhost,", "-c", "local", str(REPO / playbook),
                     "-e", json.dumps(dict(extra_vars, ansible_python_interpreter=sys.executable)),
                     *(["--check"] if check else [])], check=False, cwd=str(workdir), env=environment)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "[WARNING]" not in output and "[DEPRECATION WARNING]" not in output, output
    recap = {match.group(1): (int(match.group(3)), int(match.group(5))) for match in RECAP_LINE.finditer(output)}
    assert recap["localhost"][1] == 0, output
    return recap["localhost"][0]


def test_audit_check_mode_predicts_the_report_and_writes_nothing(tmp_path):
    report_dir = tmp_path / "reports"
    # Root already: no become (this machine has no sudo).
    extra_vars = {"audit_report_dir": str(report_dir), "audit_become": False}
    predicted = play("playbooks/audit.yml", extra_vars, tmp_path, check=True)
    assert not report_dir.exists()
    assert play("playbooks/audit.yml", extra_vars, tmp_path, check=False) == predicted > 0
    written = {path.name: path.stat().st_mtime_ns for path in report_dir.iterdir()}
    assert sorted(written) == ["namespace-audit.html", "namespace-audit.json", "namespace-audit.md"]
    play("playbooks/audit.yml", extra_vars, tmp_path, check=True)
    assert {path.name: path.stat().st_mtime_ns for path in report_dir.iterdir()} == written


def test_compat_report_check_mode_predicts_a_change_and_runs_nothing(tmp_path, prefix):
    report_dir = tmp_path / "reports"
    mounts_before = Path("/proc/self/mountinfo").read_text().count(prefix)
    temporary_before = sorted(Path("/tmp").glob(f"{prefix}c*"))
    extra_vars = {"conformance_report_dir": str(report_dir), "conformance_prefix": f"{prefix}c",
                  "conformance_become": False}
    assert play("playbooks/compat_report.yml", extra_vars, tmp_path, check=True) == 1
    assert not report_dir.exists()
    assert sorted(Path("/tmp").glob(f"{prefix}c*")) == temporary_before
    assert Path("/proc/self/mountinfo").read_text().count(prefix) == mounts_before
