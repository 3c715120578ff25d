"""The fleet report: matrix cells, hosts grouped by identical results, the isolate.yml answer, an unreachable host's
own message, the schema, and the renderings from the templates."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail

REPOSITORY = Path(__file__).resolve().parents[4]
if str(REPOSITORY) not in sys.path:  # ansible-test runs units from a copy of the collection
    sys.path.insert(0, str(REPOSITORY))

from ansible_collections.linux.namespaces.plugins.module_utils import facts_analysis  # noqa: E402
from ansible_collections.linux.namespaces.plugins.modules.namespace_facts import isolate_verdict  # noqa: E402
from ansible_collections.linux.namespaces.plugins.plugin_utils import audit_report  # noqa: E402
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import render_template  # noqa: E402
from tests.report_page import dangling_links, elements, table_rows  # noqa: E402

NO_ROUTE = "unreachable: Failed to connect to the host via ssh: ssh: connect to host 10.0.0.9 port 22: No route to host"


def conclude(facts):
    facts["disagreements"] = facts_analysis.find_disagreements(facts)
    facts["isolate"] = isolate_verdict(facts)
    return facts


def fleet(make_facts):
    """new1, same1 and new2 on 6.18 (new2 cannot create net namespaces), old1 on 5.10 without pidfd_open, gone: no
    facts, lost: unreachable with Ansible's message."""
    new1 = conclude(make_facts("6.18.44"))
    new2 = make_facts("6.18.44")
    new2["types"]["net"]["creatable"] = {"status": "fail", "reason": "cannot create a net namespace: <denied>",
                                         "errno": "EPERM"}
    old1 = make_facts("5.10.0")
    old1["features"]["pidfd_open"] = {"status": "fail", "reason": "no pidfd_open", "errno": "ENOSYS"}
    same1 = make_facts("6.18.44")  # as new1, but for a reason of a pass that names its own namespace's id
    same1["types"]["uts"]["creatable"]["reason"] = "unshare worked: uts:[4026532999]"
    return {"new2": conclude(new2), "old1": conclude(old1), "new1": new1, "same1": conclude(same1),
            "gone": None, "lost": NO_ROUTE}


def report_of(make_facts):
    return audit_report.load_report(audit_report.render_json(audit_report.build_report(fleet(make_facts))))


def render(report, kind):
    name = {"html": "audit_report.html.j2", "markdown": "audit_report.md.j2"}[kind]
    return render_template(kind, name, report, audit_report.TEMPLATE_HELPERS)


def test_isolate_answer_names_who_can_who_cannot_and_why(make_facts):
    report = report_of(make_facts)
    assert report["isolate"]["can"] == ["new1", "same1"]
    assert set(report["isolate"]["cannot"]) == {"new2", "old1"}
    assert "net namespace: cannot create a net namespace" in report["isolate"]["cannot"]["new2"]
    assert "pidfd_open: no pidfd_open" in report["isolate"]["cannot"]["old1"]
    assert report["isolate"]["unknown"] == {"gone": audit_report.NO_FACTS, "lost": NO_ROUTE}


def test_hosts_with_identical_results_are_one_group_newest_kernel_first(make_facts):
    report = report_of(make_facts)
    assert [(g["kernel"], g["hosts"], g["open"]) for g in report["groups"]] == [
        ("6.18.44", ["new1", "same1"], False), ("6.18.44", ["new2"], True), ("5.10.0", ["old1"], True),
        ("unknown", ["gone"], True), ("unknown", ["lost"], True)]
    assert report["hosts"]["same1"]["group"] == report["groups"][0]["anchor"]
    assert (report["counts"]["hosts"], report["counts"]["kernels"], report["counts"]["without_facts"]) == (6, 2, 2)


def test_cells_carry_status_and_reason_and_an_unreachable_host_keeps_ansibles_message(make_facts):
    report = report_of(make_facts)
    cells = report["hosts"]["new2"]["cells"]
    assert cells["type:net"] == {"status": "fail", "reason": "cannot create a net namespace: <denied>"}
    assert cells["type:uts"]["status"] == "pass"
    assert len(cells) == len(report["columns"])
    assert {cell["reason"] for cell in report["hosts"]["lost"]["cells"].values()} == {NO_ROUTE}


def test_config_cell(make_facts):
    facts = make_facts()
    facts["kernel_config"]["options"]["CONFIG_USER_NS"] = "n"
    assert audit_report.host_cells(conclude(facts))["kernel_config"] == {
        "status": "fail", "reason": "/proc/config.gz: CONFIG_USER_NS=n"}
    facts["kernel_config"]["source"] = None
    assert audit_report.host_cells(facts)["kernel_config"]["status"] == "unknown"


def test_a_report_of_the_previous_version_is_refused_with_the_reason(make_facts):
    previous = {"title": "Linux namespaces: fleet kernel audit", "columns": [], "groups": [], "isolate": {}, "hosts": {}}
    with pytest.raises(AnsibleActionFail, match=r"written by linux.namespaces 0.1.0.*Run playbooks/audit.yml again"):
        audit_report.load_report(json.dumps(previous))
    with pytest.raises(AnsibleActionFail, match="not an audit report of schema"):
        audit_report.load_report(json.dumps({"schema": "linux.namespaces/compat-report/2"}))


def test_html_matrix_has_a_row_per_group_linking_each_host_to_its_details(make_facts):
    report = report_of(make_facts)
    page = render(report, "html")
    assert dangling_links(page) == []
    _header, matrix = table_rows(page, "matrix", "data-group")
    assert sorted(matrix) == sorted(g["anchor"] for g in report["groups"])
    links = dict((a["data-host"], a["href"]) for tag, a in elements(page) if tag == "a" and "data-host" in a)
    assert sorted(links) == sorted(report["hosts"])
    cells = dict((a["data-capability"], (a, text)) for a, text in matrix[report["hosts"]["new2"]["group"]])
    assert cells["type:net"][0]["class"] == "fail" and cells["type:net"][1].strip() == audit_report.SYMBOLS["fail"]
    assert cells["type:net"][0]["title"] == "net: cannot create a net namespace: <denied>"
    assert "<denied>" not in page  # escaped everywhere
    assert not re.search(r"<(script|link|img|iframe)\b|\bsrc=|url\(", page)


def test_html_shows_the_first_kernel_of_each_capability_in_the_table(make_facts):
    page = render(report_of(make_facts), "html")
    assert '<th title="Time namespaces can be created">time <span class="first">5.6+</span></th>' in page
    assert re.search(r"mount_setattr <span class=\"first\">5.12\+</span>", page)


def test_passing_groups_are_collapsed_and_the_unreachable_host_shows_its_message(make_facts):
    report = report_of(make_facts)
    page = render(report, "html")
    details = dict((a["id"], "open" in a) for tag, a in elements(page) if tag == "details")
    assert details == dict((g["anchor"], g["open"]) for g in report["groups"])
    assert "No route to host" in page and 'data-reason="%s"' % NO_ROUTE in page


def test_html_heat_map_colours_each_capability_of_each_group_by_status(make_facts):
    report = report_of(make_facts)
    rects = [a for tag, a in elements(render(report, "html")) if tag == "rect"]
    assert len(rects) == len(report["groups"]) * len(report["columns"])
    fills = {}
    for rect in rects:
        fills.setdefault(rect["data-heat"], set()).add(rect["fill"])
    assert sorted(fills) == ["fail", "pass", "unknown"] and all(len(f) == 1 for f in fills.values())
    assert len(set.union(*fills.values())) == 3


def test_markdown_lists_groups_first_kernels_reasons_and_disagreements(make_facts):
    text = render(report_of(make_facts), "markdown")
    assert re.search(r"^\| new1, same1 \| 6\.18\.44 \| \u2714 pass", text, re.M)
    assert "| time (5.6+) |" in text
    assert "- Can run isolate.yml (2): new1, same1" in text
    assert "cannot create a net namespace: \\<denied\\>" in text
    assert "  - lost: %s" % NO_ROUTE in text
    assert "Disagreements:" in text  # old1's backports and new2's refusal


def test_renderings_are_deterministic_and_json_round_trips(make_facts):
    first = audit_report.build_report(fleet(make_facts))
    second = audit_report.build_report(dict(reversed(list(fleet(make_facts).items()))))
    assert render(first, "html") == render(second, "html")
    assert render(first, "markdown") == render(second, "markdown")
    assert audit_report.render_json(first) == audit_report.render_json(second)
