"""The fleet report: matrix cells, grouping by kernel, the isolate.yml answer, and the three renderings."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from ansible_collections.linux.namespaces.plugins.module_utils import facts_analysis
from ansible_collections.linux.namespaces.plugins.modules.namespace_facts import isolate_verdict
from ansible_collections.linux.namespaces.plugins.plugin_utils import audit_report


def conclude(facts):
    facts["disagreements"] = facts_analysis.find_disagreements(facts)
    facts["isolate"] = isolate_verdict(facts)
    return facts


def fleet(make_facts):
    """new1 and new2 on 6.18 (new2 cannot create net namespaces), old1 on 5.10 without pidfd_open, gone: no facts."""
    new1 = conclude(make_facts("6.18.44"))
    new2 = make_facts("6.18.44")
    new2["types"]["net"]["creatable"] = {"status": "fail", "reason": "cannot create a net namespace: <denied>",
                                         "errno": "EPERM"}
    old1 = make_facts("5.10.0")
    old1["features"]["pidfd_open"] = {"status": "fail", "reason": "no pidfd_open", "errno": "ENOSYS"}
    return {"new2": conclude(new2), "old1": conclude(old1), "new1": new1, "gone": None}


class Matrix(HTMLParser):
    """Rows of the matrix table: host -> {capability: (css class, title, text)}; and the group headers."""

    def __init__(self):
        super().__init__()
        self.rows, self.groups, self.external = {}, [], []
        self._host = self._cell = None
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("link", "script", "img") or (tag == "a" and attrs.get("href", "").startswith("http")):
            self.external.append(tag)
        if tag == "tbody":
            self.groups.append(attrs["data-kernel"])
        if tag == "tr" and "data-host" in attrs:
            self._host = attrs["data-host"]
            self.rows[self._host] = {}
        if tag == "td" and self._host and "data-capability" in attrs:
            self._cell = (attrs["data-capability"], attrs["class"], attrs["title"])
            self._text = []

    def handle_data(self, data):
        if self._cell:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell:
            key, css, title = self._cell
            self.rows[self._host][key] = (css, title, "".join(self._text).strip())
            self._cell = None
        if tag == "tr":
            self._host = None


def test_isolate_answer_names_who_can_who_cannot_and_why(make_facts):
    report = audit_report.build_report(fleet(make_facts))
    assert report["isolate"]["can"] == ["new1"]
    assert set(report["isolate"]["cannot"]) == {"new2", "old1"}
    assert "net namespace: cannot create a net namespace" in report["isolate"]["cannot"]["new2"]
    assert "pidfd_open: no pidfd_open" in report["isolate"]["cannot"]["old1"]
    assert report["isolate"]["unknown"] == {"gone": audit_report.NO_FACTS}


def test_groups_by_kernel_newest_first_and_unknown_last(make_facts):
    report = audit_report.build_report(fleet(make_facts))
    assert report["groups"] == [{"kernel": "6.18.44", "hosts": ["new1", "new2"]},
                                {"kernel": "5.10.0", "hosts": ["old1"]},
                                {"kernel": "unknown", "hosts": ["gone"]}]


def test_cells_carry_status_and_reason(make_facts):
    cells = audit_report.build_report(fleet(make_facts))["hosts"]["new2"]["cells"]
    assert cells["type:net"] == {"status": "fail", "reason": "cannot create a net namespace: <denied>"}
    assert cells["type:uts"]["status"] == "pass"
    assert cells["kernel_config"]["status"] == "pass"
    assert len(cells) == len(audit_report.build_report({})["columns"])


def test_config_cell(make_facts):
    facts = make_facts()
    facts["kernel_config"]["options"]["CONFIG_USER_NS"] = "n"
    assert audit_report.host_cells(conclude(facts))["kernel_config"] == {
        "status": "fail", "reason": "/proc/config.gz: CONFIG_USER_NS=n"}
    facts["kernel_config"]["source"] = None
    assert audit_report.host_cells(facts)["kernel_config"]["status"] == "unknown"


def test_html_matrix_has_one_row_per_host_with_reasons_and_no_external_resource(make_facts):
    report = audit_report.build_report(fleet(make_facts))
    page = audit_report.render_html(report)
    matrix = Matrix()
    matrix.feed(page)
    assert set(matrix.rows) == {"new1", "new2", "old1", "gone"}
    assert matrix.groups == ["6.18.44", "5.10.0", "unknown"]
    css, title, text = matrix.rows["new2"]["type:net"]
    assert css == "fail" and text.endswith("fail")
    assert title == "net: cannot create a net namespace: <denied>"  # unescaped by the parser: it was escaped
    assert all(len(row) == len(report["columns"]) for row in matrix.rows.values())
    assert matrix.external == []
    assert "<denied>" not in page  # escaped everywhere
    assert re.search(r"<style>.*\.fail \{", page, re.S)


def test_markdown_lists_matrix_reasons_and_disagreements(make_facts):
    text = audit_report.render_markdown(audit_report.build_report(fleet(make_facts)))
    assert "### Kernel 6.18.44 (2 hosts)" in text
    assert re.search(r"^\| new2 \| .*\u2718 fail", text, re.M)
    assert "- Can run isolate.yml (1): new1" in text
    assert "cannot create a net namespace: \\<denied\\>" in text
    assert "Disagreements:" in text  # old1's backports and new2's refusal


def test_renderings_are_deterministic_and_json_round_trips(make_facts):
    first = audit_report.build_report(fleet(make_facts))
    second = audit_report.build_report(dict(reversed(list(fleet(make_facts).items()))))
    assert audit_report.render_html(first) == audit_report.render_html(second)
    assert audit_report.render_markdown(first) == audit_report.render_markdown(second)
    assert json.loads(audit_report.render_json(first)) == json.loads(audit_report.render_json(second))
