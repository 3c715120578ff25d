"""audit.yml over SSH against a fleet of 5 test hosts, and its HTML report opened in headless Chromium.

Each fleet host is a network, UTS, mount and PID namespace with its own sshd (tests/fleet), made
and removed by the module fixture.
"""

from __future__ import annotations

import json
import os
import typing
import pathlib
import subprocess
import sys

import pytest

from tests.report_page import chromium, screenshot, table_rows
from tests.fleet import Fleet, next_fleet_prefix

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
HOSTS = 5
ALL_TYPES = ("mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time")
WINDOW = (1600, 1000)
PASS_GREEN = (0xD6, 0xF5, 0xD6)  # the .pass cell background of the report's CSS


class AuditRun(typing.NamedTuple):
    names: list
    hostnames: dict
    completed: subprocess.CompletedProcess
    report_dir: pathlib.Path


def ansible_env() -> dict:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="false")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".ansible" / "collections"))
    return env


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    """The fleet's host names and hostnames, the playbook's completed process and the report directory."""
    workdir = tmp_path_factory.mktemp("audit")
    report_dir = workdir / "reports"
    with Fleet(next_fleet_prefix(), HOSTS, workdir) as fleet:
        completed = subprocess.run(
            [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "linux.namespaces.audit",
             "-i", str(fleet.inventory_path), "-e", json.dumps({"audit_report_dir": str(report_dir)})],
            env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
            check=False, timeout=300)
        names = [host.name for host in fleet.hosts]
        hostnames = {name: fleet.run(name, "hostname").stdout.strip() for name in names}
    assert completed.returncode == 0, completed.stdout
    return AuditRun(names, hostnames, completed, report_dir)


def test_audit_runs_over_ssh_on_every_fleet_host(audit):
    names, hostnames, completed, report_dir = audit.names, audit.hostnames, audit.completed, audit.report_dir
    assert len(names) == HOSTS
    # Each host answered over its own sshd, as its own UTS namespace: its hostname is the fleet's.
    assert all(hostnames[name] == name for name in names)
    recap = completed.stdout[completed.stdout.rindex("PLAY RECAP"):]
    for name in names:
        assert "%s " % name in recap and "unreachable=0    failed=0" in recap.split(name, 1)[1].splitlines()[0]
    report = json.loads((report_dir / "namespace-audit.json").read_text())
    assert sorted(report["hosts"]) == sorted(names)
    assert sorted(report["isolate"]["can"]) == sorted(names)
    for name in names:
        facts = report["hosts"][name]["facts"]
        assert facts["kernel"]["release"] == os.uname().release
        assert {t: facts["types"][t]["creatable"]["status"] for t in ALL_TYPES} == {t: "pass" for t in ALL_TYPES}
    assert report["groups"] == [{"kernel": os.uname().release, "hosts": sorted(names)}]


def test_markdown_report_has_a_row_per_host(audit):
    names, report_dir = audit.names, audit.report_dir
    text = (report_dir / "namespace-audit.md").read_text()
    for name in names:
        assert any(line.startswith("| %s | " % name) for line in text.splitlines())
    assert "- Can run isolate.yml (%d):" % HOSTS in text
    assert sorted(path.name for path in report_dir.iterdir()) == [
        "namespace-audit.html", "namespace-audit.json", "namespace-audit.md"]


def test_html_report_renders_the_matrix_in_headless_chromium(audit, tmp_path):
    names, report_dir = audit.names, audit.report_dir
    page = (report_dir / "namespace-audit.html").resolve().as_uri()
    _rows, colors = screenshot(page, WINDOW, tmp_path / "report.png")
    width, height = WINDOW
    painted = width * height - colors[(255, 255, 255)]
    assert painted > width * height // 20, "the page is (nearly) blank"
    # 5 hosts x 26 cells, all pass: a good area of the pass colour.
    assert colors.get(PASS_GREEN, 0) > HOSTS * 26 * 200

    _header, matrix = table_rows(chromium("--dump-dom", page).stdout, "matrix", "data-host")
    assert sorted(matrix) == sorted(names)
    widths = {len(cells) for cells in matrix.values()}
    assert len(widths) == 1 and widths.pop() >= 1 + len(ALL_TYPES)
    for cells in matrix.values():
        for attributes, text in cells:
            css, title = attributes.get("class"), attributes.get("title", "")
            assert css in ("pass", "fail", "unknown")
            assert text.strip().endswith(css)
            assert ": " in title and len(title.split(": ", 1)[1]) > 5  # the reason
