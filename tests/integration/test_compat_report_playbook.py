"""compat_report.yml over SSH against 3 fleet hosts through an inventory: the role ships the kit to each
host and runs it there; every property passes or SKIPs with a true reason (a kernel FAIL only where the
kit finds the same kernel failing on this machine); the report has one column, this kernel, counting 3 x
each host's results; its HTML page shows that matrix in headless Chromium; nothing is left on the hosts
or the machine. Needs root and openssh-server (tests/fleet)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import typing
from pathlib import Path

import pytest

from tests.report_page import chromium, screenshot, table_rows
from tests.fleet import Fleet, next_fleet_prefix

REPOSITORY = Path(__file__).resolve().parents[2]
HOSTS = 3
KERNEL = re.match(r"\d+\.\d+", os.uname().release).group(0)
WINDOW = (1000, 3600)  # tall enough for the whole matrix, with room for more properties
# Cell backgrounds of the report's CSS, by cell status.
STATUS_COLORS = {"pass": (0xD6, 0xF5, 0xD6), "fail": (0xFB, 0xD3, 0xD0), "skip": (0xE4, 0xE4, 0xEA),
                 "partial": (0xE6, 0xF0, 0xC8)}
# On each host: its /tmp and /run, and everything that shows a name (mounts, processes, links, ns links).
HOST_TRACE = ("ls -A /tmp; echo --; ls -A /run; echo --; ls -A /run/netns 2>/dev/null; echo --; "
              "findmnt -rn -o TARGET,SOURCE; ps -eo comm=,args=; ip -o link")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the conformance kit and the fleet need root")


class CompatRun(typing.NamedTuple):
    names: list
    prefix: str
    completed: subprocess.CompletedProcess
    report_dir: Path
    hosts_before: dict
    hosts_after: dict
    machine_after: list


def host_trace(fleet: Fleet, name: str, prefix: str) -> dict:
    tmp, run, netns, names = fleet.run(name, HOST_TRACE).stdout.split("--\n")
    return {"tmp": sorted(tmp.split()), "run": sorted(run.split()), "netns": sorted(netns.split()),
            "with prefix": [line for line in names.splitlines() if prefix in line]}


def machine_trace(prefix: str) -> list:
    """What on this machine carries the prefix: mounts, processes, interfaces, /tmp and /run/netns entries."""
    listings = [subprocess.run(argv, capture_output=True, text=True, check=True).stdout
                for argv in (["findmnt", "-rn", "-o", "TARGET,SOURCE"], ["ps", "-eo", "pid=,args="], ["ip", "-o", "link"])]
    found = [line for listing in listings for line in listing.splitlines() if prefix in line]
    found += ["%s/%s" % (directory, entry) for directory in ("/tmp", "/run/netns") if os.path.isdir(directory)
              for entry in os.listdir(directory) if entry.startswith(prefix)]
    return found


def ansible_env() -> dict:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="false")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPOSITORY / ".ansible" / "collections"))
    return env


def compat_report_playbook(inventories: list, extra_vars: dict,
                           env: typing.Optional[dict] = None) -> subprocess.CompletedProcess:
    inventory_args = [word for inventory in inventories for word in ("-i", str(inventory))]
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "linux.namespaces.compat_report", *inventory_args,
         "-e", json.dumps(extra_vars)],
        env=env or ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
        check=False, timeout=600)


@pytest.fixture(scope="module")
def compat(tmp_path_factory, prefix) -> CompatRun:
    workdir = tmp_path_factory.mktemp("compat")
    report_dir = workdir / "reports"
    role_prefix = prefix + "c"  # the role's run; the kit on the hosts adds a letter of its own
    with Fleet(next_fleet_prefix(), HOSTS, workdir) as fleet:
        names = [host.name for host in fleet.hosts]
        before = dict((name, host_trace(fleet, name, role_prefix)) for name in names)
        extra_vars = {"conformance_report_dir": str(report_dir), "conformance_prefix": role_prefix}
        completed = compat_report_playbook([fleet.inventory_path], extra_vars)
        after = dict((name, host_trace(fleet, name, role_prefix)) for name in names)
    assert completed.returncode == 0, completed.stdout[-6000:]
    return CompatRun(names, role_prefix, completed, report_dir, before, after, machine_trace(role_prefix))


def fails_here(prop_ids: set, prefix: str, attempts: int = 5) -> set:
    """Which of these kernel properties the kit finds failing when run on this machine itself (the fleet
    hosts' kernel), trying each up to `attempts` times: a kernel failure may depend on the CPUs' timing."""
    found: set = set()
    for attempt in range(attempts):
        wanted = prop_ids - found
        if not wanted:
            break
        report_dir = Path(tempfile.mkdtemp(prefix="lns-compat-local-"))
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "pytest", str(REPOSITORY / "conformance"), "--hosts=local://",
                 "--lns-subject=reference", "--lns-report-dir", str(report_dir), "-p", "no:cacheprovider", "-q",
                 "-k", " or ".join(sorted(wanted))],
                cwd=REPOSITORY, env=dict(os.environ, LNS_TEST_PREFIX="%sl%d" % (prefix, attempt)),
                capture_output=True, text=True, timeout=600, check=False)
            assert completed.returncode in (0, 1), completed.stdout[-3000:] + completed.stderr[-3000:]
            results = json.loads((report_dir / "local.json").read_text())["results"]
        finally:
            shutil.rmtree(report_dir)
        found |= {e["id"] for e in results if e["subject"] == "kernel" and e["result"] == "FAIL"}
    return found


def load_report(compat: CompatRun) -> dict:
    return json.loads((compat.report_dir / "compat-report.json").read_text())


def rows(report: dict) -> dict:
    return dict((row["id"], row) for group in report["groups"] for row in group["rows"])


def test_the_kit_ran_on_each_host_itself_and_came_back(compat):
    recap = compat.completed.stdout[compat.completed.stdout.rindex("PLAY RECAP"):]
    for name in compat.names:
        assert "unreachable=0    failed=0" in recap.split(name, 1)[1].splitlines()[0], recap
    report = load_report(compat)
    assert sorted(report["hosts"]) == sorted(compat.names) and report["missing"] == {}
    for name in compat.names:
        result = report["hosts"][name]["result"]
        # Run with testinfra's local backend on the host: 3 local commands, no ansible there.
        assert (result["backend"], result["round_trips"]) == ("local", {"commands": 3, "ansible_calls": 0})
        assert result["kernel"]["release"] == os.uname().release
        # Each host ran the kit itself: the role's first command on it read its own hostname.
        assert result["caller"]["hostname"] == name and result["caller"]["prefix"] == compat.prefix
        assert result["subjects"]["collection"]["ns"]["uts"] == "/run/%s-store/%s-col/uts" % (compat.prefix, compat.prefix)
        assert result["caller_cleanup"]["leftovers"] == [] and result["caller_cleanup"].get("errors", []) == []
        assert report["hosts"][name]["left_as_found"] is True


def test_every_property_passes_or_skips_with_a_true_reason_on_each_host(compat, prefix):
    report = load_report(compat)
    results = dict((name, report["hosts"][name]["result"]["results"]) for name in compat.names)
    kernel_failures = {e["id"] for entries in results.values() for e in entries
                       if e["subject"] == "kernel" and e["result"] == "FAIL"}
    # A kernel property may FAIL on a host only if it fails on this machine too: they share the kernel.
    failing_here = fails_here(kernel_failures, prefix) if kernel_failures else set()
    for name in compat.names:
        result = report["hosts"][name]["result"]
        assert {e["subject"] for e in result["results"]} == {"kernel", "reference", "collection"}
        failed = [(e["id"], e["subject"], e["reason"]) for e in result["results"]
                  if e["result"] == "FAIL" and (e["subject"] != "kernel" or e["id"] not in failing_here)]
        assert not failed, "%s: %s (failing on this machine: %s)" % (name, failed, sorted(failing_here))
        for entry in (e for e in result["results"] if e["result"] == "SKIP"):
            assert entry["reason"], "%s: SKIP of %s without a reason" % (name, entry["id"])
            if entry["feature"]:  # a SKIP that names a missing feature: the host indeed lacks it
                assert result["features"][entry["feature"]]["present"] is False, (name, entry)


def test_report_has_one_column_for_this_kernel_with_three_times_each_hosts_results(compat):
    report = load_report(compat)
    assert [(k["kernel"], sorted(k["hosts"])) for k in report["kernels"]] == [(KERNEL, sorted(compat.names))]
    results = [report["hosts"][name]["result"]["results"] for name in compat.names]
    per_host = [sorted((e["id"], e["subject"]) for e in host) for host in results]
    assert per_host[0] == per_host[1] == per_host[2]
    by_id = rows(report)
    assert sorted(by_id) == sorted({prop_id for prop_id, _subject in per_host[0]})
    for prop_id, row in by_id.items():
        cell = row["cells"][KERNEL]
        subjects = [subject for other, subject in per_host[0] if other == prop_id]
        assert cell["PASS"] + cell["FAIL"] + cell["SKIP"] == HOSTS * len(subjects), (prop_id, cell)
        assert sorted(cell["subjects"]) == sorted(subjects)
        assert all(sum(counts.values()) == HOSTS for counts in cell["subjects"].values()), (prop_id, cell)
        for result in ("PASS", "FAIL", "SKIP"):
            assert cell[result] == sum(1 for host in results for e in host if e["id"] == prop_id and e["result"] == result)
    assert sum(report["kernels"][0]["totals"].values()) == HOSTS * len(per_host[0])
    assert [g["group"] for g in report["groups"]] == ["S", "G", "UTS", "IPC", "PID", "MNT", "NET", "USER", "CG", "TIME"]
    assert all(row["first_kernel"] and row["needs"] for row in by_id.values())


def test_markdown_report_has_a_row_per_property(compat):
    report = load_report(compat)
    text = (compat.report_dir / "compat-report.md").read_text()
    assert "| property | needs (feature first kernel) | first kernel | %s (3 hosts) |" % KERNEL in text
    for prop_id in rows(report):
        assert sum(1 for line in text.splitlines() if line.startswith("| %s | " % prop_id)) == 1, prop_id
    files = sorted(path.name for path in compat.report_dir.iterdir())
    assert files == ["compat-report.html", "compat-report.json", "compat-report.md"]


def vertical_runs(rows, x: int, color: tuple) -> int:
    """How many separate stretches of `color`, at least 10 pixels tall, column x of a screenshot has."""
    runs, length = 0, 0
    for row in rows + [[None] * (x + 1)]:
        if row[x] == color:
            length += 1
            continue
        runs += length >= 10
        length = 0
    return runs


def test_html_report_shows_the_matrix_in_headless_chromium(compat, tmp_path):
    report = load_report(compat)
    page = (compat.report_dir / "compat-report.html").resolve().as_uri()
    header, matrix = table_rows(chromium("--dump-dom", page).stdout, "matrix", "data-property")
    assert [th["data-kernel"] for th in header if "data-kernel" in th] == [KERNEL]
    assert sorted(matrix) == sorted(rows(report))
    for prop_id, cells in matrix.items():
        cell = rows(report)[prop_id]["cells"][KERNEL]
        kernel_cells = [(attributes, text) for attributes, text in cells if "data-kernel" in attributes]
        assert len(kernel_cells) == 1, (prop_id, cells)
        attributes, text = kernel_cells[0]
        assert (attributes["data-kernel"], attributes["class"], attributes["data-counts"]) == (
            KERNEL, "cell " + cell["status"], "PASS %d FAIL %d SKIP %d" % (cell["PASS"], cell["FAIL"], cell["SKIP"]))
        assert text.startswith(", ".join("%d %s" % (cell[r], r) for r in ("PASS", "FAIL", "SKIP") if cell[r]))

    pixels, _colors = screenshot(page, WINDOW, tmp_path / "compat.png")
    width = WINDOW[0]
    # One kernel column: the cell colours fill one band of x, as wide as a cell (the legend's swatches
    # above the matrix are too short to count).
    cell_colors = set(STATUS_COLORS.values())
    band = [x for x in range(width) if sum(1 for row in pixels if row[x] in cell_colors) > 500]
    assert band and band[-1] - band[0] + 1 == len(band) and 100 < len(band) < 400, band and (band[0], band[-1])
    # Down the band's left edge (padding: no text), one stretch of colour per cell of that status.
    statuses = [row["cells"][KERNEL]["status"] for row in rows(report).values()]
    for status, color in STATUS_COLORS.items():
        assert vertical_runs(pixels, band[0] + 2, color) == statuses.count(status), status
    assert statuses.count("pass") > 40


def test_nothing_is_left_on_the_hosts_or_the_machine(compat):
    for name in compat.names:
        before, after = compat.hosts_before[name], compat.hosts_after[name]
        assert after["tmp"] == before["tmp"], (name, before["tmp"], after["tmp"])
        assert after["with prefix"] == [], (name, after["with prefix"])
        # The namespace module keeps /run/netns (as `ip netns` does), empty once its set is removed.
        assert set(after["run"]) - set(before["run"]) <= {"netns"} and after["netns"] == [], (name, after)
    assert compat.machine_after == []


def test_a_host_where_the_kit_cannot_run_is_reported_with_the_reason_and_left_clean(tmp_path, prefix):
    role_prefix = prefix + "e"
    with Fleet(next_fleet_prefix(), 2, tmp_path) as fleet:
        good, broken = [host.name for host in fleet.hosts]
        before = host_trace(fleet, broken, role_prefix)
        broken_python = tmp_path / "broken.ini"
        broken_python.write_text("[fleet]\n%s conformance_python=/nonexistent/python3\n" % broken)
        completed = compat_report_playbook(
            [fleet.inventory_path, broken_python],
            {"conformance_report_dir": str(tmp_path / "reports"), "conformance_prefix": role_prefix,
             "conformance_select": "test_S2_"})
        after = host_trace(fleet, broken, role_prefix)
    assert completed.returncode != 0, completed.stdout[-3000:]
    report = json.loads((tmp_path / "reports" / "compat-report.json").read_text())
    assert sorted(report["hosts"]) == [good] and sorted(report["missing"]) == [broken]
    reason = report["missing"][broken]
    # The failed task, by name: the host's Python could not be run (the role's first command there).
    assert reason.startswith("no result: Make a temporary directory on the host with the kit's Python, and ask it for "
                             "its version:")
    assert [row["id"] for group in report["groups"] for row in group["rows"]] == ["S2"]
    assert after["tmp"] == before["tmp"] and after["with prefix"] == [], (before, after)
