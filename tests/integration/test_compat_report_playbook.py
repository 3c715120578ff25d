"""compat_report.yml over SSH against 3 fleet hosts through an inventory: the role ships the kit to each
host and runs it there, showing its progress; every property passes or SKIPs with a true reason (a kernel
FAIL only where the kit finds the same kernel failing on this machine); the report has one column, this
kernel, counting 3 x each host's results; its HTML page shows that matrix in headless Chromium; the play ends
with a summary; nothing is left on the hosts or the machine; a host where the kit cannot run, or hangs past the
timeout, is reported with the reason. Needs root and openssh-server (tests/fleet)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import typing
from pathlib import Path
from html.parser import HTMLParser

import pytest

from ansible_collections.linux.namespaces.plugins.plugin_utils import compat_report
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import render_template
from tests.report_page import chromium, dangling_links, elements, realistic_fleet, recorded_kit_results, screenshot, table_rows
from tests.fleet import Fleet, next_fleet_prefix
from tests.integration.compat_runs import (REPOSITORY, compat_report_playbook, fails_here, host_trace,
                                           machine_trace)

HOSTS = 3
KERNEL = re.match(r"\d+\.\d+", os.uname().release).group(0)
WINDOW = (1000, 6000)  # tall enough for the findings, the heat map and the whole matrix
# Cell backgrounds of the report's CSS, by cell status.
STATUS_COLORS = {"pass": (0xD6, 0xF5, 0xD6), "fail": (0xFB, 0xD3, 0xD0), "skip": (0xE4, 0xE4, 0xEA),
                 "partial": (0xE6, 0xF0, 0xC8)}

# Heat map fills of the report's template, by heat key (the cell's verdict; its status where it agrees).
HEAT_COLORS = {"finding": (0xC6, 0x28, 0x28), "expected": (0xEF, 0x8F, 0x1F), "skip": (0x9E, 0x9E, 0xAB),
               "pass": (0x2E, 0x9D, 0x4E), "partial": (0x9C, 0xC4, 0x3C), "missing": (0x5B, 0x5B, 0x66)}
# Where the tests leave their screenshots for a person to look at.
SCREENSHOTS = REPOSITORY / "tests" / "output" / "screenshots"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the conformance kit and the fleet need root")


class CompatRun(typing.NamedTuple):
    names: list
    prefix: str
    completed: subprocess.CompletedProcess
    report_dir: Path
    hosts_before: dict
    hosts_after: dict
    machine_after: list


@pytest.fixture(scope="module")
def compat(tmp_path_factory, prefix) -> CompatRun:
    workdir = tmp_path_factory.mktemp("compat")
    report_dir = workdir / "reports"
    (workdir / "hosts").mkdir()
    role_prefix = prefix + "c"  # the role's run; the kit on the hosts adds a letter of its own
    with Fleet(next_fleet_prefix(), HOSTS, workdir) as fleet:
        names = [host.name for host in fleet.hosts]
        before = dict((name, host_trace(fleet, name, role_prefix)) for name in names)
        extra_vars = {"conformance_report_dir": str(report_dir), "conformance_prefix": role_prefix,
                      "conformance_host_results_dir": str(workdir / "hosts")}
        completed = compat_report_playbook([fleet.inventory_path], extra_vars)
        after = dict((name, host_trace(fleet, name, role_prefix)) for name in names)
    assert completed.returncode == 0, completed.stdout[-6000:]
    return CompatRun(names, role_prefix, completed, report_dir, before, after, machine_trace(role_prefix))


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
        result = report["hosts"][name]["kit"]
        # Run with testinfra's local backend on the host: 3 local commands, no ansible there.
        assert (result["backend"], result["round_trips"]) == ("local", {"commands": 3, "ansible_calls": 0})
        assert result["kernel"]["release"] == os.uname().release
        # Each host ran the kit itself: the role's first command on it read its own hostname.
        assert result["caller"]["hostname"] == name and result["caller"]["prefix"] == compat.prefix
        assert result["subjects"]["collection"]["ns"]["uts"] == "/run/%s-store/%s-col/uts" % (compat.prefix, compat.prefix)
        assert result["caller_cleanup"]["leftovers"] == [] and result["caller_cleanup"].get("errors", []) == []
        assert report["hosts"][name]["left_as_found"] is True
        # conformance_host_results_dir keeps each host's own result, the evidence the report was built from.
        kept = json.loads((compat.report_dir.parent / "hosts" / ("%s.json" % name)).read_text())
        assert kept["schema"] == "linux.namespaces/conformance-host-result/1"
        assert kept["caller"]["hostname"] == name and kept["results"]


def test_every_property_passes_or_skips_with_a_true_reason_on_each_host(compat, prefix):
    report = load_report(compat)
    results = dict((name, report["hosts"][name]["evidence"]) for name in compat.names)
    kernel_failures = {e["id"] for entries in results.values() for e in entries
                       if e["subject"] == "kernel" and e["result"] == "FAIL"}
    # A kernel property may FAIL on a host only if it fails on this machine too: they share the kernel.
    failing_here = fails_here(kernel_failures, prefix) if kernel_failures else set()
    for name in compat.names:
        host = report["hosts"][name]
        assert {e["subject"] for e in host["evidence"]} == {"kernel", "reference", "collection"}
        failed = [(e["id"], e["subject"], e["reason"]) for e in host["evidence"]
                  if e["result"] == "FAIL" and (e["subject"] != "kernel" or e["id"] not in failing_here)]
        assert not failed, "%s: %s (failing on this machine: %s)" % (name, failed, sorted(failing_here))
        for entry in (e for e in host["evidence"] if e["result"] == "SKIP"):
            assert entry["reason"], "%s: SKIP of %s without a reason" % (name, entry["id"])
            if entry.get("feature"):  # a SKIP that names a missing feature: the host indeed lacks it
                assert host["features"][entry["feature"]] is False, (name, entry)


def test_report_has_one_column_for_this_kernel_with_three_times_each_hosts_results(compat):
    report = load_report(compat)
    assert [(c["key"], sorted(c["hosts"])) for c in report["columns"]] == [(KERNEL, sorted(compat.names))]
    assert report["kernels"] == [KERNEL]
    results = [report["hosts"][name]["evidence"] for name in compat.names]
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
    assert sum(report["columns"][0]["totals"].values()) == HOSTS * len(per_host[0])
    assert [g["group"] for g in report["groups"]] == ["S", "G", "UTS", "IPC", "PID", "MNT", "NET", "USER", "CG", "TIME"]
    assert all(row["first_kernel"] and row["needs"] for row in by_id.values())


def test_markdown_report_has_a_row_per_property(compat):
    report = load_report(compat)
    text = (compat.report_dir / "compat-report.md").read_text()
    assert "| property | title | first kernel | %s (3 hosts) |" % KERNEL in text
    # The matrix's section; "Properties by subject" after it has a row per property checked on a set.
    matrix = text[text.index("## Properties by kernel version"):text.index("## Properties by subject")]
    for prop_id in rows(report):
        assert sum(1 for line in matrix.splitlines() if line.startswith("| %s | " % prop_id)) == 1, prop_id
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
            KERNEL, "cell %s %s" % (cell["status"], cell["verdict"]),
            "PASS %d FAIL %d SKIP %d" % (cell["PASS"], cell["FAIL"], cell["SKIP"]))
        assert text.startswith(", ".join("%d %s" % (cell[r], r) for r in ("PASS", "FAIL", "SKIP") if cell[r]))

    pixels, _colors = screenshot(page, WINDOW, tmp_path / "compat.png")
    width = WINDOW[0]
    # One kernel column: the cell colours fill one band of x, as wide as a cell (the legend's swatches
    # above the matrix are too short to count; the per-subject table's columns below it are narrower).
    cell_colors = set(STATUS_COLORS.values())
    coloured = [x for x in range(width) if sum(1 for row in pixels if row[x] in cell_colors) > 500]
    bands: list = []
    for x in coloured:
        if bands and bands[-1][-1] == x - 1:
            bands[-1].append(x)
        else:
            bands.append([x])
    wide = [b for b in bands if len(b) >= 100]
    assert len(wide) == 1 and len(wide[0]) < 400, [(b[0], b[-1]) for b in bands]
    band = wide[0]
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


def test_the_play_ends_with_where_the_report_is_and_its_counts(compat):
    report = load_report(compat)
    tail = compat.completed.stdout[compat.completed.stdout.rindex("Say where the report is"):]
    assert "Report: %s" % (compat.report_dir / "compat-report.html") in tail
    assert str(compat.report_dir / "compat-report.json") in tail and str(compat.report_dir / "compat-report.md") in tail
    counts = report["counts"]
    assert "%d hosts (0 without a result) on 1 kernel versions: %s" % (HOSTS, KERNEL) in tail
    assert "Results: %d PASS, %d FAIL, %d SKIP" % (counts["PASS"], counts["FAIL"], counts["SKIP"]) in tail
    assert "Findings: %d; FAIL expected by version: %d" % (counts["findings"], counts["expected"]) in tail


def test_a_host_that_hangs_is_cut_off_by_the_timeout_and_reported_with_that_reason(prefix):
    """The kit's Python on one host is a wrapper that hangs when asked to run pytest: the role's timeout cuts it
    off, the report gives it a column without a result that says so, and the other host still reports."""
    role_prefix = prefix + "t"
    # Not under /tmp: each fleet host has a /tmp of its own.
    scratch = Path(tempfile.mkdtemp(prefix=role_prefix + "-", dir="/var/tmp"))
    try:
        with Fleet(next_fleet_prefix(), 2, scratch) as fleet:
            # It wraps the hosts' own Python: a venv under this machine's /tmp is not there on a host.
            hanging = scratch / "python3"
            hanging.write_text('#!/bin/sh\ncase "$*" in *"-m pytest"*) exec sleep 600;; esac\nexec %s "$@"\n' % fleet.python)
            hanging.chmod(0o755)
            good, stuck = [host.name for host in fleet.hosts]
            # The timeout leaves the good host time for S2 on a loaded machine; the stuck one never ends.
            inventory = scratch / "stuck.ini"
            inventory.write_text("[fleet]\n%s conformance_python=%s\n" % (stuck, hanging))
            completed = compat_report_playbook(
                [fleet.inventory_path, inventory],
                {"conformance_report_dir": str(scratch / "reports"), "conformance_prefix": role_prefix,
                 "conformance_select": "test_S2_", "conformance_timeout": 45})
            after = fleet.run(stuck, "ps -eo args=").stdout
        assert completed.returncode != 0, completed.stdout[-3000:]
        # The play says the kit runs now; the host that finished has its line.
        assert "The kit runs on 2 hosts now" in completed.stdout and "a host still running after 45 seconds" in completed.stdout
        assert re.search(r"TASK \[linux.namespaces.conformance : Run the kit on the host with the local backend\] \*+\n"
                         r"(.*\n)*changed: \[%s\]" % re.escape(good), completed.stdout)
        report = json.loads((scratch / "reports" / "compat-report.json").read_text())
        assert sorted(report["hosts"]) == [good] and sorted(report["missing"]) == [stuck]
        assert report["missing"][stuck].startswith("no result: Run the kit on the host with the local backend: cut off after "
                                                   "45 seconds (conformance_timeout)"), report["missing"]
        column = [c for c in report["columns"] if c["no_result"]]
        assert [(c["label"], c["totals"]["PASS"]) for c in column] == [(stuck, 0)]
        assert "sleep 600" not in after  # cut off, not left running
    finally:
        shutil.rmtree(scratch)


class _Texts(HTMLParser):
    """The text of every element with an id, and of every <summary>, of a page."""

    def __init__(self):
        super().__init__()
        self.summaries: list = []
        self._open = 0

    def handle_starttag(self, tag, attrs):
        if tag == "summary":
            self._open += 1
            self.summaries.append("")

    def handle_endtag(self, tag):
        if tag == "summary":
            self._open -= 1

    def handle_data(self, data):
        if self._open:
            self.summaries[-1] += data


def recorded_fleet_report() -> dict:
    """The report over the recorded results of tests/data/compat (at least 3 kernels), with one FAIL made on the
    6.1 guest (G6, the kernel subject: a finding) and one host that could not be reached."""
    results = recorded_kit_results()
    guest = results["guest-6.1"]
    for entry in guest["results"]:
        if (entry["id"], entry["subject"]) == ("G6", "kernel"):
            entry.update(result="FAIL", reason="AssertionError: made by the test: a pinned namespace died")
    guest["summary"] = {"PASS": guest["summary"]["PASS"] - 1, "FAIL": 1, "SKIP": guest["summary"]["SKIP"]}
    results["guest-7.0"] = ("unreachable: Failed to connect to the host via ssh: ssh: connect to host 10.64.0.9 "
                            "port 22: No route to host")
    return compat_report.load_report(compat_report.render_json(compat_report.build_report(results)))


def test_a_report_over_several_kernels_renders_in_chromium_with_findings_first_and_working_links(tmp_path):
    report = recorded_fleet_report()
    assert len(report["kernels"]) >= 3
    path = tmp_path / "compat-report.html"
    path.write_text(render_template("html", "compat_report.html.j2", report, compat_report.TEMPLATE_HELPERS))
    page = path.resolve().as_uri()
    dom = chromium("--dump-dom", page).stdout
    found = elements(dom)
    # Titles: every property's summary says its ID and its title.
    texts = _Texts()
    texts.feed(dom)
    rows = dict((row["id"], row) for group in report["groups"] for row in group["rows"])
    for prop_id, row in rows.items():
        assert "%s: %s" % (prop_id, row["title"]) in [" ".join(text.split()) for text in texts.summaries], prop_id
    # Findings first: the findings table comes before the matrix, its rows in order finding, expected, skip.
    ids = [attributes.get("id") for _tag, attributes in found]
    assert ids.index("findings-table") < ids.index("heatmap") < ids.index("matrix")
    # An empty section has one "none" row: the order is that of the sections with rows.
    kinds = [attributes["data-kind"] for tag, attributes in found
             if tag == "tr" and attributes.get("data-kind") not in (None, "none")]
    assert kinds[0] == "finding" and kinds == sorted(kinds, key=["finding", "expected", "skip"].index)
    first = [attributes for tag, attributes in found if tag == "tr" and attributes.get("data-kind") == "finding"][0]
    assert (first["data-property"], first["data-kernel"]) == ("G6", "6.1")
    # Every in-page link has its anchor in the rendered page, and each cell links to evidence.
    assert dangling_links(dom) == []
    cell_links = [attributes["href"] for tag, attributes in found if tag == "a" and attributes.get("href", "").startswith("#group-")]
    assert len(cell_links) >= len(rows) * len(report["kernels"])
    # The unreachable host's column says so, with the reason.
    header, _matrix = table_rows(dom, "matrix", "data-property")
    assert [th["data-kernel"] for th in header if "data-kernel" in th][-1] == "no result: guest-7.0"
    assert "No route to host" in dom

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pixels, colors = screenshot(page, WINDOW, SCREENSHOTS / "compat-report-recorded.png")
    del pixels
    rects = [attributes["data-heat"] for tag, attributes in found if tag == "rect"]
    assert len(rects) == len(rows) * len(report["kernels"]) + 1
    assert rects.count("finding") == 1 and rects.count("missing") == 1
    assert_heat_map_colours(rects, colors, len(rows))


def assert_heat_map_colours(rects: list, colors: dict, properties: int) -> None:
    """Chromium drew each heat-map cell, 12 x 17 pixels, in the colour of its heat (less a few pixels at the edges,
    blended by anti-aliasing); a host without a result as one bar across all properties."""
    for heat in set(rects) - {"none"}:
        width = properties * 12 if heat == "missing" else 12
        assert colors.get(HEAT_COLORS[heat], 0) >= rects.count(heat) * width * 17 * 0.9, heat


def test_a_report_over_20_real_hosts_renders_in_chromium_small_with_passing_hosts_collapsed(tmp_path):
    report = compat_report.load_report(compat_report.render_json(compat_report.build_report(realistic_fleet())))
    path = tmp_path / "compat-report-20.html"
    path.write_text(render_template("html", "compat_report.html.j2", report, compat_report.TEMPLATE_HELPERS))
    assert path.stat().st_size < 200 * 1024
    page = path.resolve().as_uri()
    dom = chromium("--dump-dom", page).stdout
    found = elements(dom)
    # Passing hosts collapsed: in the rendered page only the two groups with a FAIL are open.
    groups = dict((a["id"], "open" in a) for tag, a in found if tag == "details" and a.get("id", "").startswith("group-"))
    assert groups == dict((g["anchor"], bool(g["summary"]["FAIL"])) for g in report["host_groups"])
    assert sum(groups.values()) == 2 and len(groups) == 6
    # Finding rows first: the two FAILs, in catalogue order, before any other row of the findings table.
    kinds = [(a["data-kind"], a.get("data-property"), a.get("data-kernel")) for tag, a in found
             if tag == "tr" and a.get("data-kind") not in (None, "none")]
    assert kinds[:2] == [("finding", "G6", "6.1"), ("finding", "UTS2", "6.12")]
    assert all(kind != "finding" for kind, _prop, _kernel in kinds[2:])
    # Every in-page link has its anchor, among them a link from each measured cell to its evidence.
    assert dangling_links(dom) == []
    properties = sum(len(group["rows"]) for group in report["groups"])
    cell_links = [a for tag, a in found if tag == "a" and a.get("href", "").startswith("#group-")]
    assert len(cell_links) >= properties * len(report["kernels"])
    # Heat map cells coloured by status, as Chromium draws them (a window wide enough for all six columns' map).
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _pixels, colors = screenshot(page, (1400, 6000), SCREENSHOTS / "compat-report-20-hosts.png")
    rects = [a["data-heat"] for tag, a in found if tag == "rect"]
    assert len(rects) == properties * len(report["kernels"]) + 2
    assert rects.count("finding") == 2 and rects.count("missing") == 2
    assert_heat_map_colours(rects, colors, properties)
