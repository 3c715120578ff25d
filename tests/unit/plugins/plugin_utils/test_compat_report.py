"""The compatibility report from synthetic kit results on three kernel versions (5.4, 5.10 and 6.18), with
FAIL, SKIP and mixed cells, a host without a result and one with a foreign document (documents made by the kit's
own HostReport, so a change of the kit's schema shows here); and from the recorded results of tests/data/compat."""

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

from ansible.errors import AnsibleActionFail  # noqa: E402

from ansible_collections.linux.namespaces.plugins.plugin_utils import compat_report  # noqa: E402
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import render_template  # noqa: E402
from tests.report_page import dangling_links, elements, realistic_fleet, recorded_kit_results, table_rows  # noqa: E402

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
# Before time namespaces (5.6) and setns with a pidfd (5.8): a FAIL there is expected, a PASS is a finding.
FLEET["ancient"] = ("5.4.0-200-generic", False, [
    ("TIME3", "kernel", "FAIL", "OSError: EINVAL writing timens_offsets", None),
    ("G5", "kernel", "PASS", "", None)])
# The Python each host ran the kit with.
PYTHONS = {"new1": "3.11.2", "new2": "3.13.0", "old1": "3.8.18", "ancient": "3.8.10"}


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
    results["broken"] = "Run the kit on the host: async task did not complete within the requested time - 1800s"
    return compat_report.load_report(compat_report.render_json(compat_report.build_report(results)))


def rows(report):
    return dict((row["id"], row) for group in report["groups"] for row in group["rows"])


def render(report, kind):
    name = {"html": "compat_report.html.j2", "markdown": "compat_report.md.j2"}[kind]
    return render_template(kind, name, report, compat_report.TEMPLATE_HELPERS)


def test_columns_are_kernel_versions_oldest_first_then_each_host_without_a_result(report):
    measured = [(c["key"], c["hosts"]) for c in report["columns"] if not c["no_result"]]
    assert measured == [("5.4", ["ancient"]), ("5.10", ["old1"]), ("6.18", ["new1", "new2"])]
    assert report["kernels"] == ["5.4", "5.10", "6.18"]
    assert report["columns"][2]["releases"] == ["6.18.2", "6.18.44-fc"]
    without = dict((c["label"], c["no_result"]) for c in report["columns"] if c["no_result"])
    assert sorted(without) == ["broken", "foreign", "gone"] and without == report["missing"]
    assert report["missing"]["gone"] == compat_report.NO_RESULT
    assert report["missing"]["broken"].endswith("did not complete within the requested time - 1800s")
    # A column without a result is never counted as a pass.
    for row in rows(report).values():
        for column in (c for c in report["columns"] if c["no_result"]):
            cell = row["cells"][column["key"]]
            assert (cell["status"], cell["verdict"], cell["PASS"]) == ("missing", "missing", 0)


def test_rows_are_grouped_by_type_in_catalogue_order(report):
    assert [(g["group"], [r["id"] for r in g["rows"]]) for g in report["groups"]] == [
        ("S", ["S2"]), ("G", ["G5", "G6"]), ("UTS", ["UTS2"]), ("TIME", ["TIME1", "TIME2", "TIME3"])]


def test_cells_count_results_per_kernel_and_per_subject(report):
    by_id = rows(report)
    g6 = by_id["G6"]["cells"]
    assert (g6["6.18"]["PASS"], g6["6.18"]["FAIL"], g6["6.18"]["status"]) == (1, 1, "fail")
    assert g6["5.10"]["status"] == "pass" and g6["5.10"]["subjects"] == {"kernel": {"PASS": 1}}
    uts2 = by_id["UTS2"]["cells"]["6.18"]
    assert uts2["subjects"] == {"reference": {"PASS": 2}, "collection": {"PASS": 1, "FAIL": 1}}
    assert by_id["TIME2"]["cells"]["6.18"]["status"] == "partial"
    counted = sum(cell[result] for row in by_id.values() for cell in row["cells"].values() for result in compat_report.RESULTS)
    assert counted == sum(len(FLEET[name][2]) for name in FLEET)
    assert {key: report["counts"][key] for key in ("PASS", "FAIL", "SKIP", "hosts", "kernels", "without_result")} == {
        "PASS": 15, "FAIL": 5, "SKIP": 3, "hosts": 7, "kernels": 3, "without_result": 3}


def test_each_cell_says_whether_it_agrees_with_the_documented_first_kernel(report):
    by_id = rows(report)
    assert by_id["TIME3"]["first_kernel"] == "5.6" and by_id["G5"]["first_kernel"] == "5.8"
    verdicts = dict(((prop_id, kernel), cell["verdict"]) for prop_id, row in by_id.items()
                    for kernel, cell in row["cells"].items() if kernel in report["kernels"])
    assert verdicts[("TIME3", "5.4")] == "expected"  # FAIL before 5.6
    assert verdicts[("G5", "5.4")] == "finding"  # PASS before 5.8
    assert verdicts[("G6", "6.18")] == verdicts[("UTS2", "5.10")] == "finding"  # FAIL at or after
    assert verdicts[("TIME1", "5.10")] == "skip" and verdicts[("S2", "6.18")] == "agrees"
    assert verdicts[("TIME1", "5.4")] == "none"


def test_findings_come_first_then_failures_expected_by_version_then_skips(report):
    findings = report["findings"]
    assert [(f["id"], f["kernel"]) for f in findings["findings"]] == [
        ("G5", "5.4"), ("G6", "6.18"), ("UTS2", "5.10"), ("UTS2", "6.18")]
    blame = dict(((f["id"], f["kernel"]), f["what"]) for f in findings["findings"])
    assert blame[("G6", "6.18")] == "FAIL for kernel; points at the kernel: the kit's own probes fail"
    assert blame[("UTS2", "5.10")].endswith("points at the host: the reference set made by util-linux fails too")
    assert blame[("UTS2", "6.18")].endswith("points at the collection: its set fails where util-linux's does not")
    assert "PASS on a kernel older than the documented 5.8" in blame[("G5", "5.4")]
    assert [(f["id"], f["kernel"]) for f in findings["expected"]] == [("TIME3", "5.4")]
    assert findings["expected"][0]["reasons"] == ["kernel FAIL on ancient: OSError: EINVAL writing timens_offsets"]
    assert [(f["id"], f["kernel"]) for f in findings["skips"]] == [("TIME1", "5.10"), ("TIME2", "5.10"), ("TIME2", "6.18")]
    assert findings["skips"][2]["reasons"] == ["kernel SKIP on new2: needs root (CAP_SYS_ADMIN) on the host"]
    assert (report["counts"]["findings"], report["counts"]["expected"]) == (4, 1)


def test_each_row_shows_the_features_it_needs_and_their_first_kernel(report):
    time1 = rows(report)["TIME1"]
    assert time1["needs"] == [{"feature": "time_ns", "description": "time namespaces", "first_kernel": "5.6"}]
    assert rows(report)["S2"]["first_kernel"] == "2.6.19"
    time_ns = [f for f in report["features"] if f["feature"] == "time_ns"][0]
    assert time_ns["cells"] == {"5.4": {"present": 0, "absent": 1}, "5.10": {"present": 0, "absent": 1},
                                "6.18": {"present": 2, "absent": 0}}


def test_the_callers_leak_check_decides_left_as_found_too():
    results = {"clean": dict(kit_result("new1"), caller_cleanup={"removed": ["dir /run/x"], "leftovers": []}),
               "leaky": dict(kit_result("new1"), caller_cleanup={"removed": [], "leftovers": ["mount /run/x"]}),
               "kit only": kit_result("new1")}
    hosts = compat_report.build_report(results)["hosts"]
    assert {name: host["left_as_found"] for name, host in hosts.items()} == {"clean": True, "leaky": False, "kit only": True}


def test_hosts_keep_their_facts_and_the_evidence_of_each_result(report):
    new1 = report["hosts"]["new1"]
    assert (new1["kernel"], new1["release"], new1["left_as_found"]) == ("6.18", "6.18.44-fc", True)
    assert new1["round_trips"] == {"commands": 3, "ansible_calls": 0, "backend": "local"}
    assert new1["kit"]["backend"] == "local" and new1["features"]["time_ns"] is True
    g6 = [e for e in new1["evidence"] if e["id"] == "G6"]
    assert g6 == [{"id": "G6", "subject": "kernel", "result": "FAIL", "observed": "",
                   "reason": "AssertionError: EINVAL binding a newer mount namespace"}]


def test_hosts_with_the_same_results_share_their_evidence_and_a_failing_group_is_open():
    results = dict(("same%d" % n, kit_result("new2")) for n in range(3))
    results["odd"] = kit_result("new1")
    report = compat_report.build_report(results)
    groups = [(g["hosts"], g["open"]) for g in report["host_groups"]]
    assert groups == [(["odd"], True), (["same0", "same1", "same2"], True)]
    # A cell links to the evidence of its kernel's worst group (the one with the most FAILs).
    assert rows(report)["G6"]["cells"]["6.18"]["evidence"] == report["host_groups"][0]["anchor"] + "-G6"


def test_a_report_of_the_previous_schema_is_refused_with_the_reason(report):
    previous = {"schema": "linux.namespaces/compat-report/1", "title": compat_report.TITLE, "kernels": [], "groups": []}
    with pytest.raises(AnsibleActionFail, match=r"written by linux.namespaces 0.1.0 \(schema compat-report/1\).*"
                                                r"Run playbooks/compat_report.yml again"):
        compat_report.load_report(json.dumps(previous))
    previous.update(schema="linux.namespaces/compat-report/2")
    with pytest.raises(AnsibleActionFail, match=r"schema compat-report/2\), which kept a reason and an observation for "
                                                r"every PASS\. Run playbooks/compat_report.yml again to write it with "
                                                r"schema linux.namespaces/compat-report/3"):
        compat_report.load_report(json.dumps(previous))
    with pytest.raises(AnsibleActionFail, match="not a compatibility report of schema"):
        compat_report.load_report(json.dumps({"schema": "linux.namespaces/audit-report/2"}))
    assert compat_report.load_report(compat_report.render_json(report)) == report


def test_markdown_shows_the_title_beside_the_id_and_a_column_per_kernel(report):
    report = compat_report.build_report(recorded_kit_results())
    text = render(report, "markdown")
    assert ("| property | title | first kernel | 5.10 (1 host) | 6.1 (1 host) | 6.12 (1 host) | 6.18 (1 host) |"
            in text)
    assert "| PID2 | unshare(CLONE\\_NEWPID) moves the children, not the caller | 4.12 | 1 PASS | 1 PASS | 1 PASS | 1 PASS |" \
        in text
    assert text.index("## Findings") < text.index("## Per kernel") < text.index("## Properties by kernel version")


def test_markdown_lists_findings_in_order_and_hosts_without_a_result(report):
    text = render(report, "markdown")
    findings = text[text.index("## Findings"):text.index("### FAIL expected by version")]
    assert [line.split("**")[1] for line in findings.splitlines() if line.startswith("- **")] == ["G5", "G6", "UTS2", "UTS2"]
    # The kit's declaration gives the title beside the ID.
    assert "- **TIME3** Offsets are frozen once a process entered, kernel 5.4 (first kernel 5.6): kernel FAIL on ancient" in text
    assert "| gone | gone | - | 0 | 0 | 0 | %s |" % compat_report.NO_RESULT in text


def test_html_page_is_self_contained_and_every_link_has_its_anchor(report):
    page = render(report, "html")
    assert not re.search(r"<(script|link|img|iframe)\b|\bsrc=|url\(", page)
    assert dangling_links(page) == []
    hrefs = [a["href"] for tag, a in elements(page) if tag == "a"]
    assert len(hrefs) > 20


def test_html_matrix_cells_carry_status_verdict_and_a_link_to_the_evidence(report):
    page = render(report, "html")
    header, matrix = table_rows(page, "matrix", "data-property")
    assert [th["data-kernel"] for th in header if "data-kernel" in th] == [
        "5.4", "5.10", "6.18", "no result: broken", "no result: foreign", "no result: gone"]
    cells = dict(((prop_id, attributes["data-kernel"]), (attributes, text)) for prop_id, row in matrix.items()
                 for attributes, text in row if "data-kernel" in attributes)
    g6 = cells[("G6", "6.18")][0]
    assert (g6["class"], g6["data-counts"]) == ("cell fail finding", "PASS 1 FAIL 1 SKIP 0")
    assert cells[("TIME3", "5.4")][0]["class"] == "cell fail expected"
    assert cells[("TIME2", "6.18")][0]["class"] == "cell partial agrees"
    assert cells[("S2", "no result: gone")][1].strip() == "no result"
    evidence_ids = {a["id"] for _tag, a in elements(page) if a.get("id", "").startswith("group-")}
    links = [a["href"][1:] for tag, a in elements(page) if tag == "a" and a.get("href", "").startswith("#group-")]
    assert links and set(links) <= evidence_ids


def test_html_heat_map_has_a_rectangle_per_cell_coloured_by_its_verdict(report):
    page = render(report, "html")
    rects = [a for tag, a in elements(page) if tag == "rect"]
    # A rectangle per property and kernel, and one bar across all properties per host without a result.
    assert len(rects) == len(rows(report)) * len(report["kernels"]) + len(report["missing"])
    bars = [rect for rect in rects if rect["data-heat"] == "missing"]
    assert len(bars) == 3 and all(int(rect["width"]) > len(rows(report)) * 12 for rect in bars)
    fills = {}
    for rect in rects:
        fills.setdefault(rect["data-heat"], set()).add(rect["fill"])
    assert all(len(colors) == 1 for colors in fills.values())
    assert sorted(fills) == ["expected", "finding", "missing", "none", "partial", "pass", "skip"]
    assert len({colors.pop() for colors in fills.values()}) == 7


def test_properties_show_their_title_and_definition_on_demand():
    report = compat_report.build_report(recorded_kit_results())
    page = render(report, "html")
    _header, matrix = table_rows(page, "matrix", "data-property")
    assert sorted(matrix) == sorted(rows(report))
    # Title and definition as the kit declares them (conformance/probes/properties/pid.py).
    assert "<details><summary>PID8: No fork into a PID namespace whose PID 1 has exited</summary>" in page
    assert re.search(r'<p class="definition">After unshare\(CLONE_NEWPID\) the first child exits, then the caller forks '
                     r'again\. It fails unless the\s+second fork gives ENOMEM\. Needs PID namespaces\.</p>', page)


def test_a_pass_keeps_no_observation_and_a_fail_or_skip_keeps_its_observation_cut():
    recorded = recorded_kit_results()
    assert len({document["kernel"]["version"] for document in recorded.values()}) >= 3
    long_observation = {"mounts": ["/run/lnsc0001k-%04d" % n for n in range(200)]}
    for entry in recorded["guest-6.1"]["results"]:
        if (entry["id"], entry["subject"]) == ("G6", "kernel"):
            entry.update(result="FAIL", reason="AssertionError: a pinned namespace died", observed=long_observation)
    report = compat_report.build_report(recorded)
    for name, host in report["hosts"].items():
        assert len(json.dumps(host, sort_keys=True, separators=(",", ":"))) < 30 * 1024, name
        assert all(sorted(e) == ["id", "result", "subject"] for e in host["evidence"] if e["result"] == "PASS"), name
    skip, = [e for e in report["hosts"]["host-6.18"]["evidence"] if e["result"] == "SKIP"]
    assert skip["reason"].startswith("/proc here belongs to a nested PID namespace") and '"errno":"ENOSPC"' in skip["observed"]
    # The longest observations are cut, with their full length said.
    fail, = [e for e in report["hosts"]["guest-6.1"]["evidence"] if e["result"] == "FAIL"]
    full = len(json.dumps(long_observation, sort_keys=True, separators=(",", ":")))
    assert fail["observed"] == "%s ... (%d characters in all)" % (
        json.dumps(long_observation, sort_keys=True, separators=(",", ":"))[:compat_report.OBSERVED_LIMIT["FAIL"]], full)


def test_the_realistic_fleet_has_20_hosts_on_4_kernels_and_no_two_hosts_evidence_alike():
    fleet = realistic_fleet()
    documents = dict((name, document) for name, document in fleet.items() if isinstance(document, dict))
    assert len(fleet) == 20 and len(documents) == 18
    assert len({document["kernel"]["version"] for document in documents.values()}) == 4
    evidence = [json.dumps([(e["id"], e["subject"], e["observed"]) for e in document["results"]], sort_keys=True)
                for document in documents.values()]
    assert len(set(evidence)) == len(evidence)
    assert sum(document["summary"]["FAIL"] for document in documents.values()) == 2


def fleet_report_page():
    report = compat_report.load_report(compat_report.render_json(compat_report.build_report(realistic_fleet())))
    return report, render(report, "html")


def test_a_report_over_20_real_hosts_is_a_page_under_200_kb_and_json_under_30_kb_per_host():
    report, page = fleet_report_page()
    assert report["counts"]["hosts"] == 20 and report["counts"]["kernels"] == 4
    assert len(page.encode()) < 200 * 1024, len(page.encode())
    assert len(compat_report.render_json(report).encode()) / 20 < 30 * 1024
    assert dangling_links(page) == []


def test_passing_hosts_are_collapsed_and_a_failing_group_shows_each_hosts_observation():
    report, page = fleet_report_page()
    details = dict((a["id"], "open" in a) for tag, a in elements(page) if tag == "details" and a.get("id", "").startswith("group-"))
    assert details == dict((group["anchor"], bool(group["summary"]["FAIL"])) for group in report["host_groups"])
    assert sorted(details.values()) == [False, False, False, False, True, True]
    # Hosts that share their results share a section, yet each host's own observation of a SKIP is kept: one
    # 6.18 host saw its SKIP start at another level than the others.
    fleet = realistic_fleet()
    for entry in fleet["node08"]["results"]:
        if entry["result"] == "SKIP":
            entry["observed"] = dict(entry["observed"], start_level=3)
    report = compat_report.build_report(fleet)
    group = next(g for g in report["host_groups"] if g["kernel"] == "6.18")
    evidence = compat_report.group_evidence(report, group)
    skip, = [entry for entry in evidence["results"] if entry["result"] == "SKIP"]
    assert skip["anchor"] == group["anchor"] + "-PID9" and group["hosts"] == ["node04", "node08", "node12", "node16"]
    assert [(seen["hosts"], '"start_level":3' in seen["observed"]) for seen in skip["observed"]] == [
        (["node04", "node12", "node16"], False), (["node08"], True)]
    assert "on node08: <code" in render(report, "html")
    assert [item["id"] for item in evidence["passed"]][:2] == ["S1", "S2"]
    assert evidence["passed"][1] == {"id": "S2", "anchor": group["anchor"] + "-S2", "subjects": ["reference", "collection"]}


def test_a_users_own_template_can_extend_the_collections(report, tmp_path):
    mine = tmp_path / "mine.html.j2"
    mine.write_text('{% extends "compat_report.html.j2" %}{% block css %}{{ super() }} body { color: #000; }'
                    "{% endblock %}")
    page = render_template("html", "compat_report.html.j2", report, compat_report.TEMPLATE_HELPERS, str(mine))
    assert "body { color: #000; }" in page and 'id="matrix"' in page
    with pytest.raises(AnsibleActionFail, match="cannot read the markdown template"):
        render_template("markdown", "compat_report.md.j2", report, compat_report.TEMPLATE_HELPERS,
                        str(tmp_path / "absent.md.j2"))


# One host over the kit's four subjects. runc's reason is the kit's on this machine; bwrap's NET2 FAIL is the
# message conformance/test_net.py gives when /sys/class/net inside lists the host's links.
SUBJECT_RESULTS = [
    ("NET2", "reference", "PASS", ""), ("NET2", "collection", "PASS", ""), ("NET2", "runc", "PASS", ""),
    ("NET2", "bwrap", "FAIL", "AssertionError: /sys/class/net inside lists ['eth0', 'lo']"),
    ("CG1", "reference", "PASS", ""), ("CG1", "collection", "PASS", ""), ("CG1", "bwrap", "PASS", ""),
    ("CG1", "runc", "SKIP", "the runc subject does not make a cgroup namespace")]


@pytest.fixture
def subjects_report():
    host = HostReport("local", "local://", "local", "lnsk0000")
    host.outcome = {"facts": {"kernel": "6.18.44-fc"}, "features": dict((key, True) for key in FEATURES),
                    "subjects": dict((kind, {"kind": kind}) for kind in ("reference", "collection", "bwrap", "runc"))}
    for prop, subject, result, reason in SUBJECT_RESULTS:
        host.add({"id": prop, "group": property_group(prop), "subject": subject, "result": result, "reason": reason,
                  "test": "test_%s" % prop, "nodeid": "n", "observed": {}, "feature": None, "notes": None,
                  "seconds": 0.1})
    document = json.loads(json.dumps(host.as_dict()))
    return compat_report.load_report(compat_report.render_json(compat_report.build_report({"local": document})))


def test_subjects_are_those_of_the_hosts_results_with_what_made_them(subjects_report):
    subjects = [(s["subject"], s["made_by"]) for s in subjects_report["subjects"]]
    assert [name for name, _made_by in subjects] == ["kernel", "reference", "collection", "bwrap", "runc"]
    assert dict(subjects)["bwrap"].startswith("bubblewrap: bwrap --unshare-all")
    assert dict(subjects)["runc"].startswith("runc with the default config.json")


def test_a_third_party_subject_that_fails_is_named_with_what_made_it_and_its_observation(subjects_report):
    findings = subjects_report["findings"]
    assert [(f["id"], f["what"]) for f in findings["findings"]] == [
        ("NET2", "FAIL for bwrap; points at bwrap: the tool, not the kernel: its set fails where util-linux's does not")]
    [reason] = findings["findings"][0]["reasons"]
    assert reason.startswith("bwrap (made by bubblewrap: bwrap --unshare-all")
    assert reason.endswith("FAIL on local: AssertionError: /sys/class/net inside lists ['eth0', 'lo']")
    [skip] = findings["skips"]
    assert skip["id"] == "CG1" and skip["reasons"] == [
        "runc (made by %s) SKIP on local: the runc subject does not make a cgroup namespace"
        % dict((s["subject"], s["made_by"]) for s in subjects_report["subjects"])["runc"]]


def test_per_kernel_each_subject_has_its_column(subjects_report):
    text = render(subjects_report, "markdown")
    assert "| property | 6.18 reference | 6.18 collection | 6.18 bwrap | 6.18 runc |" in text
    assert "| NET2 | 1 PASS | 1 PASS | 1 FAIL | 1 PASS |" in text
    assert "| CG1 | 1 PASS | 1 PASS | 1 PASS | 1 SKIP |" in text
    header, matrix = table_rows(render(subjects_report, "html"), "subjects-matrix", "data-property")
    assert [(th["data-kernel"], th["data-subject"]) for th in header if "data-subject" in th] == [
        ("6.18", "reference"), ("6.18", "collection"), ("6.18", "bwrap"), ("6.18", "runc")]
    assert [text for _attributes, text in matrix["NET2"][1:]] == ["1 PASS", "1 PASS", "1 FAIL", "1 PASS"]
    assert [(attributes["class"], text) for attributes, text in matrix["CG1"][1:]] == [
        ("cell pass", "1 PASS"), ("cell pass", "1 PASS"), ("cell pass", "1 PASS"), ("cell skip", "1 SKIP")]
