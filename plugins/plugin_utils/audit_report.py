# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit report: hosts by capabilities, built from each host's linux_namespaces facts.

Controller side only. build_report() makes the JSON document; render_markdown() and render_html()
render it. Nothing here reads a clock, so the same facts give the same files (idempotent runs).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils.features import KERNEL_FEATURES, version_tuple
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import NAMESPACE_TYPES
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import escape_html as _e
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import escape_markdown as _md_escape
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import html_page

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
NO_FACTS = "no facts: the host was unreachable, or namespace_facts failed on it"
SYMBOLS = {PASS: "\u2714", FAIL: "\u2718", UNKNOWN: "?"}

Cell = Dict[str, str]
Report = Dict[str, Any]


class Column(NamedTuple):
    key: str
    title: str
    description: str


def _capabilities() -> List[Column]:
    """Every matrix column, in order."""
    columns = [Column("isolate", "isolate.yml", "can run isolate.yml (mnt, uts, ipc, pid, net as root; pidfd_open)")]
    columns += [Column("type:" + t.name, t.name, "%s can be created" % t.title) for t in NAMESPACE_TYPES]
    columns.append(Column("userns_unprivileged", "unpriv. userns",
                          "an unprivileged user can create a user namespace and use its capabilities"))
    columns += [Column("feature:" + f.name, f.name, "%s (mainline %s)" % (f.title, f.first_kernel))
                for f in KERNEL_FEATURES]
    columns.append(Column("kernel_config", "config", "the kernel config enables every namespace type"))
    return columns


def _cell(status: str, reason: str) -> Cell:
    return {"status": status if status in SYMBOLS else UNKNOWN, "reason": reason}


def _config_cell(facts: Mapping[str, Any]) -> Cell:
    config = facts["kernel_config"]
    if not config["source"]:
        return _cell(UNKNOWN, "no kernel config readable (/proc/config.gz, /boot/config-RELEASE)")
    off = ["%s=%s" % (name, value) for name, value in config["options"].items() if value not in ("y", "m")]
    if off:
        return _cell(FAIL, "%s: %s" % (config["source"], ", ".join(off)))
    return _cell(PASS, "%s enables %s" % (config["source"], ", ".join(config["options"])))


def host_cells(facts: Optional[Mapping[str, Any]]) -> Dict[str, Cell]:
    """One cell per capability column for a host's facts (None: the host gave none)."""
    if facts is None:
        return {column.key: _cell(UNKNOWN, NO_FACTS) for column in _capabilities()}
    cells = {"isolate": _cell(facts["isolate"]["status"], facts["isolate"]["reason"])}
    for nstype in NAMESPACE_TYPES:
        entry = facts["types"][nstype.name]
        reason = entry["creatable"]["reason"]
        if not entry["present"]:
            reason += " (/proc/self/ns/%s is missing)" % nstype.name
        cells["type:" + nstype.name] = _cell(entry["creatable"]["status"], reason)
    unprivileged = facts["userns_policy"]["unprivileged"]
    cells["userns_unprivileged"] = _cell(unprivileged["status"], unprivileged["reason"])
    for feature in KERNEL_FEATURES:
        result = facts["features"].get(feature.name, {"status": UNKNOWN, "reason": "not probed by this version"})
        cells["feature:" + feature.name] = _cell(result["status"], result["reason"])
    cells["kernel_config"] = _config_cell(facts)
    return cells


def _release_key(release: str) -> Tuple[int, ...]:
    return version_tuple(release) or (0,)


def build_report(facts_by_host: Mapping[str, Optional[Mapping[str, Any]]]) -> Report:
    """The JSON report for hosts -> their linux_namespaces facts (None where a host gave none)."""
    hosts = {}
    for name in sorted(facts_by_host):
        facts = facts_by_host[name]
        hosts[name] = {
            "kernel": facts["kernel"]["release"] if facts else None,
            "cells": host_cells(facts),
            "disagreements": list(facts["disagreements"]) if facts else [],
            "facts": facts,
        }
    groups: Dict[str, List[str]] = {}
    for name, entry in hosts.items():
        groups.setdefault(entry["kernel"] or "unknown", []).append(name)
    ordered = sorted(groups, key=lambda release: (release == "unknown", tuple(-n for n in _release_key(release))))
    isolate: Dict[str, Any] = {PASS: [], FAIL: {}, UNKNOWN: {}}
    for name, entry in hosts.items():
        cell = entry["cells"]["isolate"]
        if cell["status"] == PASS:
            isolate[PASS].append(name)
        else:
            isolate[cell["status"]][name] = cell["reason"]
    return {
        "title": "Linux namespaces: fleet kernel audit",
        "columns": [column._asdict() for column in _capabilities()],
        "groups": [{"kernel": release, "hosts": groups[release]} for release in ordered],
        "isolate": {"can": isolate[PASS], "cannot": isolate[FAIL], "unknown": isolate[UNKNOWN]},
        "hosts": hosts,
    }


def render_json(report: Report) -> str:
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------------------------------------
# Markdown

def _answer_lines(report: Report) -> List[str]:
    isolate = report["isolate"]
    lines = ["- Can run isolate.yml (%d): %s" % (len(isolate["can"]), ", ".join(isolate["can"]) or "none")]
    lines.append("- Cannot run isolate.yml (%d)%s" % (len(isolate["cannot"]), ":" if isolate["cannot"] else ": none"))
    lines += ["  - %s: %s" % (name, _md_escape(reason)) for name, reason in isolate["cannot"].items()]
    lines.append("- Unknown (%d)%s" % (len(isolate["unknown"]), ":" if isolate["unknown"] else ": none"))
    lines += ["  - %s: %s" % (name, _md_escape(reason)) for name, reason in isolate["unknown"].items()]
    return lines


def render_markdown(report: Report) -> str:
    columns = report["columns"]
    lines = ["# %s" % report["title"], "", "## Which hosts can run isolate.yml", ""]
    lines += _answer_lines(report)
    lines += ["", "## Matrix", "", "Each cell: %s pass, %s fail, %s unknown. Reasons follow the matrix." % (
        SYMBOLS[PASS], SYMBOLS[FAIL], SYMBOLS[UNKNOWN])]
    for group in report["groups"]:
        count = len(group["hosts"])
        lines += ["", "### Kernel %s (%d host%s)" % (group["kernel"], count, "" if count == 1 else "s"), ""]
        lines.append("| host | " + " | ".join(column["title"] for column in columns) + " |")
        lines.append("|---" * (len(columns) + 1) + "|")
        for name in group["hosts"]:
            cells = report["hosts"][name]["cells"]
            lines.append("| %s | " % name + " | ".join(
                "%s %s" % (SYMBOLS[cells[c["key"]]["status"]], cells[c["key"]]["status"]) for c in columns) + " |")
    lines += ["", "## Reasons", ""]
    for name, entry in report["hosts"].items():
        lines += ["### %s (kernel %s)" % (name, entry["kernel"] or "unknown"), ""]
        for column in columns:
            cell = entry["cells"][column["key"]]
            lines.append("- %s %s: %s: %s" % (
                SYMBOLS[cell["status"]], column["title"], cell["status"], _md_escape(cell["reason"])))
        if entry["disagreements"]:
            lines += ["", "Disagreements:", ""]
            lines += ["- %s (%s): %s. Meaning: %s" % (d["subject"], " vs ".join(d["between"]),
                                                      _md_escape(d["observed"]), _md_escape(d["meaning"]))
                      for d in entry["disagreements"]]
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# HTML: one self-contained page, inline CSS, no scripts, no external resources.

_CSS = """
table.matrix thead th { background: #f0f0f3; writing-mode: vertical-rl; transform: rotate(180deg);
  white-space: nowrap; vertical-align: bottom; }
table.matrix thead th.host { writing-mode: horizontal-tb; transform: none; }
table.matrix th.host { text-align: left; white-space: nowrap; }
.unknown { background: #fdf1c7; color: #6b5300; }
.answer li { margin: 2px 0; }
"""


def _matrix_html(report: Report) -> List[str]:
    columns = report["columns"]
    out = ['<table class="matrix" id="matrix">', "<thead><tr><th class=\"host\">host</th>"]
    out += ['<th title="%s">%s</th>' % (_e(c["description"]), _e(c["title"])) for c in columns]
    out.append("</tr></thead>")
    for group in report["groups"]:
        count = len(group["hosts"])
        out.append('<tbody data-kernel="%s"><tr class="group"><th colspan="%d">Kernel %s &mdash; %d host%s</th></tr>'
                   % (_e(group["kernel"]), len(columns) + 1, _e(group["kernel"]), count, "" if count == 1 else "s"))
        for name in group["hosts"]:
            cells = report["hosts"][name]["cells"]
            out.append('<tr class="host" data-host="%s"><th class="host">%s</th>' % (_e(name), _e(name)))
            for column in columns:
                cell = cells[column["key"]]
                out.append('<td class="%s" data-capability="%s" title="%s">%s %s</td>' % (
                    cell["status"], _e(column["key"]), _e("%s: %s" % (column["title"], cell["reason"])),
                    SYMBOLS[cell["status"]], cell["status"]))
            out.append("</tr>")
        out.append("</tbody>")
    out.append("</table>")
    return out


def _answer_html(report: Report) -> List[str]:
    isolate = report["isolate"]
    out = ['<ul class="answer" id="isolate-answer">']
    out.append("<li><strong>Can run isolate.yml (%d):</strong> %s</li>" % (
        len(isolate["can"]), _e(", ".join(isolate["can"]) or "none")))
    for label, key in (("Cannot run isolate.yml", "cannot"), ("Unknown", "unknown")):
        out.append("<li><strong>%s (%d)%s</strong>" % (label, len(isolate[key]), ":" if isolate[key] else ": none"))
        if isolate[key]:
            out.append("<ul>")
            out += ["<li>%s: %s</li>" % (_e(name), _e(reason)) for name, reason in isolate[key].items()]
            out.append("</ul>")
        out.append("</li>")
    out.append("</ul>")
    return out


def _details_html(report: Report) -> List[str]:
    out = []
    for name, entry in report["hosts"].items():
        failing = sum(1 for cell in entry["cells"].values() if cell["status"] != PASS)
        out.append('<details id="host-%s"%s><summary>%s &mdash; kernel %s &mdash; %d not passing, %d disagreement%s'
                   '</summary>' % (_e(name), " open", _e(name), _e(entry["kernel"] or "unknown"),
                                   failing, len(entry["disagreements"]),
                                   "" if len(entry["disagreements"]) == 1 else "s"))
        out.append('<table class="reasons"><tr><th>capability</th><th>status</th><th>reason</th></tr>')
        for column in report["columns"]:
            cell = entry["cells"][column["key"]]
            out.append('<tr><td>%s</td><td class="%s">%s %s</td><td>%s</td></tr>' % (
                _e(column["title"]), cell["status"], SYMBOLS[cell["status"]], cell["status"], _e(cell["reason"])))
        out.append("</table>")
        if entry["disagreements"]:
            out.append('<table class="reasons"><tr><th>subject</th><th>between</th><th>observed</th>'
                       "<th>meaning</th></tr>")
            out += ["<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
                _e(d["subject"]), _e(" vs ".join(d["between"])), _e(d["observed"]), _e(d["meaning"]))
                for d in entry["disagreements"]]
            out.append("</table>")
        out.append("</details>")
    return out


def render_html(report: Report) -> str:
    body = ["<h2>Which hosts can run isolate.yml</h2>"]
    body += _answer_html(report)
    body += ["<h2>Hosts &times; capabilities, grouped by kernel version</h2>",
             '<p class="legend"><span class="pass">%s pass</span><span class="fail">%s fail</span>'
             '<span class="unknown">%s unknown</span> Hover a cell for its reason; every reason is also listed '
             "below.</p>" % (SYMBOLS[PASS], SYMBOLS[FAIL], SYMBOLS[UNKNOWN])]
    body += _matrix_html(report)
    body.append("<h2>Reasons and disagreements per host</h2>")
    body += _details_html(report)
    return html_page(report["title"], _CSS, body)
