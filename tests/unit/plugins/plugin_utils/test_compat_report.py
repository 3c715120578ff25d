"""The compatibility report from synthetic kit results on two kernel versions (5.10 and 6.18), with FAIL,
SKIP and mixed cells, a host without a result and one with a foreign document. The per-host documents are
made by the kit's own HostReport, so a change of the kit's schema shows here."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[4]
if str(REPOSITORY) not in sys.path:  # ansible-test runs units from a copy of the collection
    sys.path.insert(0, str(REPOSITORY))

from conformance.kernel_features import FEATURES  # noqa: E402
from conformance.report import HostReport, property_group  # noqa: E402

from ansible_collections.linux.namespaces.plugins.plugin_utils import compat_report  # noqa: E402
from tests.report_page import table_rows  # noqa: E402

# host -> (kernel release, time_ns present, [(property, subject, result, reason, feature)])
FLEET = {
    "new1": ("6.18.44-fc", True, [
        ("S2", "reference", "PASS", "", None), ("S2", "collection", "PASS", "", None),
        ("G6", "kernel", "FAIL", "AssertionError: EINVAL binding a newer mount namespace", None),
        ("UTS2", "reference", "PASS", "", None), ("UTS2", "collection", "PASS", "", None),
        ("TIME1", "kernel", "PASS", "", None), ("TIME2", "kernel", "PASS", "", None)]),
    "new2": ("6.18.2", True, [
        ("S2", "reference", "PASS", "", None), ("S2", "collection", "PASS", "", None),
        ("G6", "kernel", "PASS", "", None),
        ("UTS2", "reference", "PASS", "", None),
        ("UTS2", "collection", "FAIL", "AssertionError: the host's names changed to 'x'", None),
        ("TIME1", "kernel", "PASS", "", None),
        ("TIME2", "kernel", "SKIP", "needs root (CAP_SYS_ADMIN) on the host", None)]),
    "old1": ("5.10.0-32-amd64", False, [
        ("S2", "reference", "PASS", "", None), ("S2", "collection", "PASS", "", None),
        ("G6", "kernel", "PASS", "", None),
        ("UTS2", "reference", "FAIL", "AssertionError: a sibling namespace sees 'x'", None),
        ("UTS2", "collection", "FAIL", "AssertionError: a sibling namespace sees 'x'", None),
        ("TIME1", "kernel", "SKIP", "the kernel has no time namespace: needs time namespaces (Linux 5.6+)", "time_ns"),
        ("TIME2", "kernel", "SKIP", "the kernel has no time namespace: needs time namespaces (Linux 5.6+)", "time_ns")]),
}
# The Python each host ran the kit with.
PYTHONS = {"new1": "3.11.2", "new2": "3.13.0", "old1": "3.8.18"}


def kit_result(name: str) -> dict:
    release, has_time, results = FLEET[name]
    host = HostReport("local", "local://", "local", "lnsk0000")
    host.outcome = {"facts": {"kernel": release, "distribution": {"pretty_name": "Debian GNU/Linux 12 (bookworm)"},
                              "python": PYTHONS[name]},
                    "features": dict((key, key != "time_ns" or has_time) for key in FEATURES),
                    "round_trips": {"commands": 3, "ansible_calls": 0}, "started": 0.0, "finished": 1.0}
    for prop, subject, result, reason, feature in results:
        host.add({"id": prop, "group": property_group(prop), "subject": subject, "result": result, "reason": reason,
                  "test": "test_%s" % prop, "nodeid": "n", "observed": {}, "feature": feature, "notes": None,
                  "seconds": 0.1})
    host.add({"id": None, "group": None, "subject": None, "test": "test_kit_left_the_host_as_found", "nodeid": "n",
              "result": "PASS", "reason": "", "observed": None, "feature": None, "notes": None, "seconds": None})
    # What the controller gets back: the file the kit wrote, read as JSON.
    return json.loads(json.dumps(host.as_dict()))


@pytest.fixture
def report():
    results = dict((name, kit_result(name)) for name in FLEET)
    results["gone"] = None
    results["foreign"] = {"schema": "something/else/1"}
    results["broken"] = "Run the kit on the host: non-zero return code"
    return compat_report.build_report(results)


def rows(report):
    return dict((row["id"], row) for group in report["groups"] for row in group["rows"])


def test_columns_are_kernel_versions_oldest_first_with_their_hosts(report):
    assert [(k["kernel"], k["hosts"]) for k in report["kernels"]] == [("5.10", ["old1"]), ("6.18", ["new1", "new2"])]
    assert report["kernels"][1]["releases"] == ["6.18.2", "6.18.44-fc"]
    assert sorted(report["missing"]) == ["broken", "foreign", "gone"]
    assert report["missing"]["gone"] == compat_report.NO_RESULT
    assert report["missing"]["broken"] == "no result: Run the kit on the host: non-zero return code"
    assert "schema" in report["missing"]["foreign"]


def test_rows_are_grouped_by_type_in_catalogue_order(report):
    assert [(g["group"], [r["id"] for r in g["rows"]]) for g in report["groups"]] == [
        ("S", ["S2"]), ("G", ["G6"]), ("UTS", ["UTS2"]), ("TIME", ["TIME1", "TIME2"])]


def test_cells_count_results_per_kernel_and_per_subject(report):
    by_id = rows(report)
    g6 = by_id["G6"]["cells"]
    assert (g6["6.18"]["PASS"], g6["6.18"]["FAIL"], g6["6.18"]["status"]) == (1, 1, "fail")
    assert g6["5.10"]["status"] == "pass" and g6["5.10"]["subjects"] == {"kernel": {"PASS": 1, "FAIL": 0, "SKIP": 0}}
    uts2 = by_id["UTS2"]["cells"]["6.18"]
    assert uts2["subjects"] == {"reference": {"PASS": 2, "FAIL": 0, "SKIP": 0},
                                "collection": {"PASS": 1, "FAIL": 1, "SKIP": 0}}
    time1 = by_id["TIME1"]["cells"]
    assert (time1["5.10"]["SKIP"], time1["5.10"]["status"]) == (1, "skip")
    assert (time1["6.18"]["PASS"], time1["6.18"]["status"]) == (2, "pass")
    assert by_id["TIME2"]["cells"]["6.18"]["status"] == "partial"
    # Every result lands in exactly one cell.
    counted = sum(cell[result] for row in by_id.values() for cell in row["cells"].values() for result in compat_report.RESULTS)
    assert counted == sum(len(FLEET[name][2]) for name in FLEET)
    assert report["totals"] == {"PASS": 14, "FAIL": 4, "SKIP": 3}
    assert report["kernels"][0]["totals"] == {"PASS": 3, "FAIL": 2, "SKIP": 2}


def test_each_row_shows_the_features_it_needs_and_their_first_kernel(report):
    time1 = rows(report)["TIME1"]
    assert time1["needs"] == [{"feature": "time_ns", "description": "time namespaces", "first_kernel": "5.6"}]
    assert time1["first_kernel"] == "5.6"
    assert rows(report)["S2"]["first_kernel"] == "2.6.19"
    time_ns = [f for f in report["features"] if f["feature"] == "time_ns"][0]
    assert time_ns["cells"] == {"5.10": {"present": 0, "absent": 1}, "6.18": {"present": 2, "absent": 0}}


def test_reasons_and_findings_say_where_a_failure_points(report):
    by_id = rows(report)
    assert by_id["TIME1"]["reasons"] == [{"kernel": "5.10", "subject": "kernel", "result": "SKIP", "hosts": ["old1"],
                                          "reason": FLEET["old1"][2][5][3]}]
    blame = dict(((f["id"], f["kernel"]), f["blame"].split(":")[0]) for f in report["findings"])
    assert blame == {("G6", "6.18"): "the kernel", ("UTS2", "5.10"): "the host", ("UTS2", "6.18"): "the collection"}


def test_the_callers_leak_check_decides_left_as_found_too():
    results = {"clean": dict(kit_result("new1"), caller_cleanup={"removed": ["dir /run/x"], "leftovers": []}),
               "leaky": dict(kit_result("new1"), caller_cleanup={"removed": [], "leftovers": ["mount /run/x"]}),
               "kit only": kit_result("new1")}
    hosts = compat_report.build_report(results)["hosts"]
    assert {name: host["left_as_found"] for name, host in hosts.items()} == {"clean": True, "leaky": False, "kit only": True}


def test_hosts_keep_their_kit_result_and_cleanup_verdict(report):
    new1 = report["hosts"]["new1"]
    assert (new1["kernel"], new1["release"], new1["left_as_found"]) == ("6.18", "6.18.44-fc", True)
    assert new1["round_trips"] == {"commands": 3, "ansible_calls": 0, "backend": "local"}
    assert new1["result"]["schema"] == compat_report.HOST_SCHEMA
    assert json.loads(compat_report.render_json(report)) == report


def test_markdown_has_a_table_per_group_with_a_column_per_kernel(report):
    text = compat_report.render_markdown(report)
    assert "| property | needs (feature first kernel) | first kernel | 5.10 (1 host) | 6.18 (2 hosts) |" in text
    time1 = [line for line in text.splitlines() if line.startswith("| TIME1 |")]
    assert time1 == ["| TIME1 | time\\_ns 5.6 | 5.6 | 1 SKIP (kernel 1 SKIP) | 2 PASS (kernel 2 PASS) |"]
    assert "- UTS2 on 6.18: FAIL for collection; points at the collection" in text
    assert "| gone | - | - | - | - | %s | - | - |" % compat_report.NO_RESULT in text


def test_each_hosts_python_is_shown_beside_its_kernel(report):
    assert dict((name, host["python"]) for name, host in report["hosts"].items()) == PYTHONS
    lines = compat_report.render_markdown(report).splitlines()
    assert "| host | kernel | release | python | distribution | results | round trips | left as found |" in lines
    assert [line for line in lines if line.startswith("| old1 |")][0].startswith("| old1 | 5.10 | 5.10.0-32-amd64 | 3.8.18 |")
    page = compat_report.render_html(report)
    assert "<th>host</th><th>kernel</th><th>release</th><th>python</th>" in page
    _header, hosts = table_rows(page, "hosts", "data-host")
    assert [text for _attributes, text in hosts["old1"]][:4] == ["old1", "5.10", "5.10.0-32-amd64", "3.8.18"]


def test_html_page_is_self_contained_and_colours_each_cell_by_its_status(report):
    page = compat_report.render_html(report)
    assert not re.search(r"<(script|link|img|iframe)\b|\bsrc=|url\(", page)
    header, matrix = table_rows(page, "matrix", "data-property")
    assert [th["data-kernel"] for th in header if "data-kernel" in th] == ["5.10", "6.18"]
    cells = dict(((prop_id, attributes["data-kernel"]), (attributes, text)) for prop_id, row in matrix.items()
                 for attributes, text in row if "data-kernel" in attributes)
    assert len(cells) == 5 * 2
    g6 = cells[("G6", "6.18")][0]
    assert (g6["class"], g6["data-counts"]) == ("cell fail", "PASS 1 FAIL 1 SKIP 0")
    assert cells[("TIME1", "5.10")][0]["class"] == "cell skip"
    assert "the kernel has no time namespace" in cells[("TIME1", "5.10")][0]["title"]
    assert cells[("TIME2", "6.18")][0]["class"] == "cell partial"
    assert cells[("S2", "6.18")][1] == "4 PASSreference 2 PASS; collection 2 PASS"
