"""audit.yml over SSH against a fleet of 5 test hosts and one host that cannot be reached, and its HTML
report opened in headless Chromium.

Each fleet host is a network, UTS, mount and PID namespace with its own sshd (tests/fleet), made
and removed by the module fixture. The unreachable host is an address on the fleet's bridge that nobody owns.
"""

from __future__ import annotations

import json
import os
import typing
import pathlib
import subprocess
import sys

import pytest

from tests.report_page import chromium, dangling_links, elements, screenshot, table_rows
from tests.fleet import Fleet, next_fleet_prefix

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
HOSTS = 5
ALL_TYPES = ("mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time")
WINDOW = (1600, 1400)
PASS_GREEN = (0xD6, 0xF5, 0xD6)  # the .pass cell background of the report's CSS
# Heat map fills of the report's template, by status.
HEAT_COLORS = {"pass": (0x2E, 0x9D, 0x4E), "unknown": (0xE0, 0xA8, 0x00)}
GHOST = "ghost"  # the host that cannot be reached
SCREENSHOTS = REPO_ROOT / "tests" / "output" / "screenshots"


class AuditRun(typing.NamedTuple):
    ghost_address: str
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
        ghost_inventory = workdir / "ghost.ini"
        ghost_address = fleet.subnet[200]  # on the fleet's bridge, owned by nobody
        ghost_inventory.write_text("[fleet]\n%s ansible_host=%s\n" % (GHOST, ghost_address))
        completed = subprocess.run(
            [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "linux.namespaces.audit",
             "-i", str(fleet.inventory_path), "-i", str(ghost_inventory),
             "-e", json.dumps({"audit_report_dir": str(report_dir)})],
            env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
            check=False, timeout=300)
        names = [host.name for host in fleet.hosts]
        hostnames = {name: fleet.run(name, "hostname").stdout.strip() for name in names}
    assert completed.returncode == 4, completed.stdout  # 4: a host was unreachable
    return AuditRun(str(ghost_address), names, hostnames, completed, report_dir)


def test_audit_runs_over_ssh_on_every_fleet_host(audit):
    names, hostnames, completed, report_dir = audit.names, audit.hostnames, audit.completed, audit.report_dir
    assert len(names) == HOSTS
    # Each host answered over its own sshd, as its own UTS namespace: its hostname is the fleet's.
    assert all(hostnames[name] == name for name in names)
    recap = completed.stdout[completed.stdout.rindex("PLAY RECAP"):]
    for name in names:
        assert "%s " % name in recap and "unreachable=0    failed=0" in recap.split(name, 1)[1].splitlines()[0]
    assert "%s " % GHOST in recap and "unreachable=1" in recap.split(GHOST, 1)[1].splitlines()[0]
    report = json.loads((report_dir / "namespace-audit.json").read_text())
    assert sorted(report["hosts"]) == sorted(names + [GHOST])
    assert sorted(report["isolate"]["can"]) == sorted(names)
    for name in names:
        facts = report["hosts"][name]["facts"]
        assert facts["kernel"]["release"] == os.uname().release
        assert {t: facts["types"][t]["creatable"]["status"] for t in ALL_TYPES} == {t: "pass" for t in ALL_TYPES}
    # The fleet's hosts have identical results: one group; the unreachable host its own.
    assert [(g["kernel"], g["hosts"]) for g in report["groups"]] == [
        (os.uname().release, sorted(names)), ("unknown", [GHOST])]


def test_an_unreachable_host_keeps_ansibles_own_message(audit):
    report = json.loads((audit.report_dir / "namespace-audit.json").read_text())
    reason = report["isolate"]["unknown"][GHOST]
    # Ansible's words, e.g. "unreachable: ... ssh: connect to host 10.64.1.200 port 22: No route to host".
    assert reason.startswith("unreachable: ") and "ssh: connect to host %s port 22: " % audit.ghost_address in reason, reason
    assert "UNREACHABLE!" in audit.completed.stdout  # the same message Ansible printed for the host
    assert {cell["reason"] for cell in report["hosts"][GHOST]["cells"].values()} == {reason}


def test_the_play_ends_with_where_the_report_is_and_its_counts(audit):
    tail = audit.completed.stdout[audit.completed.stdout.rindex("Say where the report is"):]
    assert "Report: %s" % (audit.report_dir / "namespace-audit.html") in tail
    assert "%d hosts (1 without facts) on 1 kernel releases, in 2 groups of identical results" % (HOSTS + 1) in tail
    assert "Can run isolate.yml: %d; cannot: 0; unknown: 1" % HOSTS in tail


def test_markdown_report_has_a_row_per_host(audit):
    names, report_dir = audit.names, audit.report_dir
    text = (report_dir / "namespace-audit.md").read_text()
    assert "| %s | %s |" % (", ".join(sorted(names)), os.uname().release) in text
    assert "- Can run isolate.yml (%d):" % HOSTS in text
    assert "  - %s: unreachable: " % GHOST in text and "port 22: No route to host" in text
    assert sorted(path.name for path in report_dir.iterdir()) == [
        "namespace-audit.html", "namespace-audit.json", "namespace-audit.md"]


def test_html_report_renders_groups_links_and_heat_map_in_headless_chromium(audit):
    names, report_dir = audit.names, audit.report_dir
    report = json.loads((report_dir / "namespace-audit.json").read_text())
    page = (report_dir / "namespace-audit.html").resolve().as_uri()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _rows, colors = screenshot(page, WINDOW, SCREENSHOTS / "audit-report-unreachable.png")
    width, height = WINDOW
    painted = width * height - colors[(255, 255, 255)]
    assert painted > width * height // 20, "the page is (nearly) blank"
    columns = len(report["columns"])
    # The heat map: a row of pass cells for the fleet's group, a row of unknown for the unreachable host.
    for status, color in HEAT_COLORS.items():
        assert colors.get(color, 0) >= columns * 15 * 17 * 0.9, status
    # The matrix: the fleet's group's row, all pass.
    assert colors.get(PASS_GREEN, 0) > columns * 200

    dom = chromium("--dump-dom", page).stdout
    assert dangling_links(dom) == []
    _header, matrix = table_rows(dom, "matrix", "data-group")
    assert len(matrix) == 2
    links = dict((attributes["data-host"], attributes["href"]) for tag, attributes in elements(dom)
                 if tag == "a" and "data-host" in attributes)
    assert sorted(links) == sorted(names + [GHOST])
    details = dict((attributes["id"], "open" in attributes) for tag, attributes in elements(dom) if tag == "details")
    fleet_group, ghost_group = report["groups"]
    assert details == {fleet_group["anchor"]: False, ghost_group["anchor"]: True}  # passing details collapsed
    for cells in matrix.values():
        for attributes, text in cells:
            assert attributes["class"] in ("pass", "fail", "unknown") and text.strip()
            assert ": " in attributes["title"] and len(attributes["title"].split(": ", 1)[1]) > 5  # the reason
    assert report["isolate"]["unknown"][GHOST] in " ".join(dom.split())
