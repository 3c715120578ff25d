# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel-version compatibility report, built from the conformance kit's JSON result of each host.

Controller side only. Rows are the properties the kit checked, grouped by type (S, G, UTS, IPC, PID, MNT,
NET, USER, CG, TIME); columns are kernel versions (hosts grouped by `kernel.version`); a cell counts the
PASS, FAIL and SKIP results of that property on the hosts of that kernel, in all and per subject (kernel,
reference, collection). Beside each row: the features the property relies on and the first kernel that
documents them. build_report() makes the JSON document; render_markdown() and render_html() render it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ansible_collections.linux.namespaces.plugins.module_utils.features import version_tuple
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import escape_html as _e
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import escape_markdown as _md
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import html_page

HOST_SCHEMA = "linux.namespaces/conformance-host-result/1"
SCHEMA = "linux.namespaces/compat-report/1"
TITLE = "Linux namespaces: kernel-version compatibility"
RESULTS = ("PASS", "FAIL", "SKIP")
GROUPS = (("S", "S: the seed document"), ("G", "G: all namespace types"), ("UTS", "UTS namespaces"),
          ("IPC", "IPC namespaces"), ("PID", "PID namespaces"), ("MNT", "mount namespaces"),
          ("NET", "network namespaces"), ("USER", "user namespaces"), ("CG", "cgroup namespaces"),
          ("TIME", "time namespaces"))
SUBJECTS = (("kernel", "the kit's own probes: the kernel alone"),
            ("reference", "a set made by util-linux unshare"),
            ("collection", "a set made by the linux.namespaces.namespace module"))
# A cell's status, worst first: what its colour says.
STATUSES = ("fail", "skip", "partial", "pass", "none")
STATUS_WORDS = {"fail": "at least one FAIL", "skip": "all SKIP", "partial": "PASS and SKIP",
                "pass": "all PASS", "none": "not checked on this kernel"}
NO_RESULT = "no result: the host was unreachable, or the kit could not run there (see the play's output)"
UNKNOWN_KERNEL = "unknown"
PROPERTY_ID = re.compile(r"^([A-Z]+)([0-9]+)$")

Report = Dict[str, Any]
Counts = Dict[str, int]


def _counts() -> Counts:
    return dict((result, 0) for result in RESULTS)


def _version_key(version: str) -> Tuple[int, Tuple[int, ...]]:
    parsed = version_tuple(version) if version != UNKNOWN_KERNEL else None
    return (1, ()) if parsed is None else (0, parsed)


def _property_key(prop_id: str) -> Tuple[int, str, int]:
    found = PROPERTY_ID.match(prop_id)
    group, number = (found.group(1), int(found.group(2))) if found else (prop_id, 0)
    order = [key for key, _title in GROUPS]
    return (order.index(group) if group in order else len(order), group, number)


def _subject_key(subject: str) -> Tuple[int, str]:
    order = [key for key, _description in SUBJECTS]
    return (order.index(subject) if subject in order else len(order), subject)


def cell_status(counts: Mapping[str, int]) -> str:
    if counts["FAIL"]:
        return "fail"
    if counts["PASS"] and counts["SKIP"]:
        return "partial"
    if counts["SKIP"]:
        return "skip"
    return "pass" if counts["PASS"] else "none"


def _usable(document: Union[None, str, Mapping[str, Any]]) -> Optional[str]:
    """Why a host's document cannot be used, or None."""
    if document is None:
        return NO_RESULT
    if isinstance(document, str):
        return "no result: %s" % document
    if document.get("schema") != HOST_SCHEMA:
        return "not a conformance kit result (schema %r, expected %r)" % (document.get("schema"), HOST_SCHEMA)
    return None


def _host_entry(document: Mapping[str, Any]) -> Dict[str, Any]:
    kit_checks = document.get("kit_checks") or []
    left = [check["result"] == "PASS" for check in kit_checks if check.get("test") == "test_kit_left_the_host_as_found"]
    caller_cleanup = document.get("caller_cleanup")  # the role's leak check, after it removed the set
    if caller_cleanup is not None:
        left.append(not caller_cleanup.get("leftovers") and not caller_cleanup.get("errors"))
    return {
        "kernel": document["kernel"].get("version") or UNKNOWN_KERNEL,
        "release": document["kernel"].get("release"),
        "python": (document.get("tools") or {}).get("python"),  # the Python the kit ran with on the host
        "distribution": (document.get("distribution") or {}).get("pretty_name"),
        "summary": document.get("summary"),
        "round_trips": dict(document.get("round_trips") or {}, backend=document.get("backend")),
        "left_as_found": all(left) if left else None,
        "result": dict(document),
    }


def _features(documents: Mapping[str, Mapping[str, Any]]) -> Dict[str, Dict[str, str]]:
    """Every feature any host reported: its description and documented first kernel."""
    known: Dict[str, Dict[str, str]] = {}
    for document in documents.values():
        for key, feature in (document.get("features") or {}).items():
            known.setdefault(key, {"description": feature["description"], "first_kernel": feature["first_kernel"]})
    return known


def _newest(versions: Iterable[str]) -> Optional[str]:
    ordered = sorted(versions, key=_version_key)
    return ordered[-1] if ordered else None


def _row(prop_id: str, entries: List[Tuple[str, Mapping[str, Any]]], needs: Iterable[str],
         features: Mapping[str, Mapping[str, str]], columns: List[str]) -> Dict[str, Any]:
    """One property: its cells per kernel column, what it needs, and the reasons of its FAIL and SKIP results."""
    needed = sorted(set(needs) | {entry["feature"] for _kernel, entry in entries if entry.get("feature")},
                    key=lambda key: (_version_key(features.get(key, {}).get("first_kernel", "0")), key))
    cells = {}
    for kernel in columns:
        total = _counts()
        subjects: Dict[str, Counts] = {}
        for entry in (entry for column, entry in entries if column == kernel):
            total[entry["result"]] += 1
            subjects.setdefault(entry["subject"], _counts())[entry["result"]] += 1
        ordered = dict((subject, subjects[subject]) for subject in sorted(subjects, key=_subject_key))
        cells[kernel] = dict(total, status=cell_status(total), subjects=ordered)
    reasons: Dict[Tuple[str, str, str, str], List[str]] = {}
    for kernel, entry in entries:
        if entry["result"] != "PASS":
            key = (kernel, entry["subject"], entry["result"], entry.get("reason") or "")
            reasons.setdefault(key, []).append(entry["host"])
    return {
        "id": prop_id,
        "needs": [dict(features.get(key, {"description": key, "first_kernel": None}), feature=key) for key in needed],
        "first_kernel": _newest(features[key]["first_kernel"] for key in needed if key in features),
        "cells": cells,
        "reasons": [{"kernel": kernel, "subject": subject, "result": result, "reason": reason, "hosts": sorted(hosts)}
                    for (kernel, subject, result, reason), hosts in sorted(
                        reasons.items(), key=lambda item: (_version_key(item[0][0]), _subject_key(item[0][1])))],
    }


def _findings(rows: List[Dict[str, Any]], columns: List[str]) -> List[Dict[str, Any]]:
    """Failing cells, each with what it points at: the kernel when the kit's own probes fail, the host when
    util-linux's reference set fails, the collection when only its set fails."""
    found = []
    for row in rows:
        for kernel in columns:
            subjects = row["cells"][kernel]["subjects"]
            failing = [subject for subject, counts in subjects.items() if counts["FAIL"]]
            if not failing:
                continue
            if "kernel" in failing:
                blame = "the kernel: the kit's own probes fail"
            elif "reference" in failing:
                blame = "the host: the reference set made by util-linux fails too"
            else:
                blame = "the collection: its set fails where util-linux's does not"
            found.append({"id": row["id"], "kernel": kernel, "subjects": failing, "blame": blame})
    return found


def _groups(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The rows by property group, in catalogue order (unknown groups after, by name)."""
    groups = []
    for _order, group in sorted({_property_key(row["id"])[:2] for row in rows}):
        groups.append({"group": group, "title": dict(GROUPS).get(group, group),
                       "rows": [row for row in rows if _property_key(row["id"])[1] == group]})
    return groups


def _kernel_columns(columns: List[str], hosts: Mapping[str, Mapping[str, Any]],
                    rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Each kernel version with its hosts, their releases, and the results over all its cells."""
    kernels = []
    for kernel in columns:
        names = [name for name, entry in hosts.items() if entry["kernel"] == kernel]
        totals = _counts()
        for row in rows:
            for result in RESULTS:
                totals[result] += row["cells"][kernel][result]
        kernels.append({"kernel": kernel, "hosts": names, "releases": sorted({hosts[n]["release"] for n in names}),
                        "totals": totals})
    return kernels


def _feature_rows(features: Mapping[str, Mapping[str, str]], documents: Mapping[str, Mapping[str, Any]],
                  hosts: Mapping[str, Mapping[str, Any]], columns: List[str]) -> List[Dict[str, Any]]:
    """Each kernel feature, oldest first, with on how many hosts of each kernel it is present."""
    feature_rows = []
    for key in sorted(features, key=lambda k: (_version_key(features[k]["first_kernel"]), k)):
        cells = {}
        for kernel in columns:
            present = [document["features"][key]["present"] for name, document in documents.items()
                       if hosts[name]["kernel"] == kernel and key in (document.get("features") or {})]
            cells[kernel] = {"present": sum(1 for value in present if value),
                             "absent": sum(1 for value in present if not value)}
        feature_rows.append(dict(features[key], feature=key, cells=cells))
    return feature_rows


def build_report(results_by_host: Mapping[str, Union[None, str, Mapping[str, Any]]]) -> Report:
    """The JSON report for hosts -> their conformance kit result (None where a host gave none, or the
    reason why as a string)."""
    missing = {}
    documents = {}
    for name in sorted(results_by_host):
        problem = _usable(results_by_host[name])
        if problem:
            missing[name] = problem
        else:
            documents[name] = results_by_host[name]
    hosts = dict((name, _host_entry(document)) for name, document in documents.items())
    columns = sorted({entry["kernel"] for entry in hosts.values()}, key=_version_key)
    features = _features(documents)
    entries: Dict[str, List[Tuple[str, Mapping[str, Any]]]] = {}
    needs: Dict[str, set] = {}
    for name, document in documents.items():
        for entry in document.get("results") or []:
            entries.setdefault(entry["id"], []).append((hosts[name]["kernel"], dict(entry, host=name)))
        for prop_id, keys in (document.get("needs") or {}).items():
            needs.setdefault(prop_id, set()).update(keys)
    rows = [_row(prop_id, entries[prop_id], needs.get(prop_id, ()), features, columns)
            for prop_id in sorted(entries, key=_property_key)]
    kernels = _kernel_columns(columns, hosts, rows)
    totals = _counts()
    for kernel in kernels:
        for result in RESULTS:
            totals[result] += kernel["totals"][result]
    return {
        "schema": SCHEMA,
        "title": TITLE,
        "subjects": [{"subject": subject, "description": description} for subject, description in SUBJECTS],
        "kernels": kernels,
        "groups": _groups(rows),
        "features": _feature_rows(features, documents, hosts, columns),
        "findings": _findings(rows, columns),
        "totals": totals,
        "hosts": hosts,
        "missing": missing,
    }


def render_json(report: Report) -> str:
    return json.dumps(report, indent=1, sort_keys=True) + "\n"


# ---------------------------------------------------------------------------------------------
# Texts shared by Markdown and HTML

def counts_text(counts: Mapping[str, int]) -> str:
    """'5 PASS, 1 FAIL' (results that occur, in PASS, FAIL, SKIP order); '-' when there are none."""
    return ", ".join("%d %s" % (counts[result], result) for result in RESULTS if counts[result]) or "-"


def subjects_text(cell: Mapping[str, Any]) -> str:
    return "; ".join("%s %s" % (subject, counts_text(counts)) for subject, counts in cell["subjects"].items())


def needs_text(row: Mapping[str, Any]) -> str:
    return ", ".join("%s %s" % (need["feature"], need["first_kernel"] or "?") for need in row["needs"]) or "-"


def _hosts_word(count: int) -> str:
    return "%d host%s" % (count, "" if count == 1 else "s")


def _overview(report: Report) -> str:
    kernels = ", ".join("%s (%s)" % (k["kernel"], _hosts_word(len(k["hosts"]))) for k in report["kernels"])
    text = "%s on %d kernel version%s: %s. Results: %s." % (
        _hosts_word(len(report["hosts"])), len(report["kernels"]), "" if len(report["kernels"]) == 1 else "s",
        kernels or "none", counts_text(report["totals"]))
    if report["missing"]:
        text += " Without a result: %s." % ", ".join(sorted(report["missing"]))
    return text


def _finding_text(finding: Mapping[str, Any]) -> str:
    return "%s on %s: FAIL for %s; points at %s" % (
        finding["id"], finding["kernel"], ", ".join(finding["subjects"]), finding["blame"])


# ---------------------------------------------------------------------------------------------
# Markdown

def render_markdown(report: Report) -> str:
    kernels = report["kernels"]
    lines = ["# %s" % report["title"], "", _overview(report), "", "## Findings", ""]
    lines += ["- %s" % _md(_finding_text(finding)) for finding in report["findings"]] or ["- none: no FAIL"]
    lines += ["", "## Properties by kernel version", "",
              "A cell counts the results over the hosts of that kernel version, then per subject: "
              + "; ".join("%s: %s" % (s["subject"], s["description"]) for s in report["subjects"])
              + ". Beside each property: the features it relies on and their first mainline kernel."]
    header = "| property | needs (feature first kernel) | first kernel | " + " | ".join(
        "%s (%s)" % (k["kernel"], _hosts_word(len(k["hosts"]))) for k in kernels) + " |"
    for group in report["groups"]:
        lines += ["", "### %s" % group["title"], "", header, "|---" * (3 + len(kernels)) + "|"]
        for row in group["rows"]:
            cells = ["%s (%s)" % (counts_text(row["cells"][k["kernel"]]), _md(subjects_text(row["cells"][k["kernel"]])))
                     for k in kernels]
            lines.append("| %s | %s | %s | %s |" % (row["id"], _md(needs_text(row)), row["first_kernel"] or "-",
                                                    " | ".join(cells)))
    lines += ["", "Totals: " + "; ".join("%s: %s" % (k["kernel"], counts_text(k["totals"])) for k in kernels), ""]
    lines += ["## Kernel features", "", "| feature | description | first kernel | " + " | ".join(
        k["kernel"] for k in kernels) + " |", "|---" * (3 + len(kernels)) + "|"]
    for feature in report["features"]:
        lines.append("| %s | %s | %s | %s |" % (_md(feature["feature"]), _md(feature["description"]), feature["first_kernel"],
                                                " | ".join(_presence(feature["cells"][k["kernel"]]) for k in kernels)))
    lines += ["", "## Hosts", "", "| host | kernel | release | python | distribution | results | round trips | left as found |",
              "|---|---|---|---|---|---|---|---|"]
    for name, host in report["hosts"].items():
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, host["kernel"], _md(host["release"] or "?"), _md(host["python"] or "?"), _md(host["distribution"] or "?"),
            counts_text(host["summary"] or _counts()), _md(_round_trips_text(host["round_trips"])),
            _left_text(host["left_as_found"])))
    lines += ["| %s | - | - | - | - | %s | - | - |" % (name, _md(reason)) for name, reason in report["missing"].items()]
    lines += ["", "## Reasons of FAIL and SKIP", ""]
    reasons = [(row["id"], reason) for group in report["groups"] for row in group["rows"] for reason in row["reasons"]]
    lines += ["- %s, kernel %s, %s, %s on %s: %s" % (prop_id, r["kernel"], r["subject"], r["result"],
                                                     ", ".join(r["hosts"]), _md(r["reason"] or "(no reason given)"))
              for prop_id, r in reasons] or ["- none"]
    return "\n".join(lines) + "\n"


def _presence(cell: Mapping[str, int]) -> str:
    return "present on %d/%d" % (cell["present"], cell["present"] + cell["absent"])


def _round_trips_text(trips: Mapping[str, Any]) -> str:
    """What the kit ran per host, and over which testinfra backend ('local': on the host itself)."""
    return "%s commands, %s ansible calls (%s backend)" % (
        trips.get("commands", "?"), trips.get("ansible_calls", "?"), trips.get("backend") or "?")


def _left_text(left: Optional[bool]) -> str:
    if left is None:
        return "not checked"
    return "yes" if left else "NO"


# ---------------------------------------------------------------------------------------------
# HTML: one self-contained page (report_output.html_page): inline CSS, no scripts, no external resources.

_CSS = """
table.matrix thead th { background: #f0f0f3; }
table.matrix td.property, table.matrix td.needs { text-align: left; white-space: nowrap; }
table.matrix td.needs { color: #4a4a50; }
table.matrix td.cell { min-width: 11em; }
table.matrix td.cell span { display: block; }
table.matrix td.cell span.subjects { font-size: 10px; font-weight: normal; }
table.matrix tfoot th { background: #f0f0f3; }
.skip { background: #e4e4ea; color: #45454d; }
.partial { background: #e6f0c8; color: #3d5200; }
.none { background: #ffffff; color: #8e8e93; }
.findings li { margin: 2px 0; }
/* Outside the matrix: colours of their own, so the matrix's colours mean only its cells. */
.ok { background: #e3eefb; color: #123a6b; }
.bad { background: #fdf1c7; color: #6b5300; font-weight: 600; }
"""


def _matrix_html(report: Report) -> List[str]:
    kernels = report["kernels"]
    out = ['<table class="matrix" id="matrix">', "<thead><tr><th>property</th><th>needs (feature first kernel)</th>"
           "<th>first kernel</th>"]
    out += ['<th data-kernel="%s" title="%s">%s<br>%s</th>' % (
        _e(k["kernel"]), _e(", ".join(k["hosts"])), _e(k["kernel"]), _hosts_word(len(k["hosts"]))) for k in kernels]
    out.append("</tr></thead>")
    for group in report["groups"]:
        out.append('<tbody data-group="%s"><tr class="group"><th colspan="%d">%s</th></tr>' % (
            _e(group["group"]), 3 + len(kernels), _e(group["title"])))
        for row in group["rows"]:
            out.append('<tr data-property="%s"><td class="property">%s</td><td class="needs">%s</td><td>%s</td>' % (
                _e(row["id"]), _e(row["id"]), _e(needs_text(row)), _e(row["first_kernel"] or "-")))
            for kernel in kernels:
                cell = row["cells"][kernel["kernel"]]
                reasons = ["%s %s on %s: %s" % (r["subject"], r["result"], ", ".join(r["hosts"]), r["reason"])
                           for r in row["reasons"] if r["kernel"] == kernel["kernel"]]
                out.append('<td class="cell %s" data-kernel="%s" data-counts="%s" title="%s">'
                           '<span class="counts">%s</span><span class="subjects">%s</span></td>' % (
                               cell["status"], _e(kernel["kernel"]),
                               _e(" ".join("%s %d" % (result, cell[result]) for result in RESULTS)),
                               _e("%s: %s" % (row["id"], "; ".join(reasons) or STATUS_WORDS[cell["status"]])),
                               _e(counts_text(cell)), _e(subjects_text(cell))))
            out.append("</tr>")
        out.append("</tbody>")
    out.append('<tfoot><tr><th colspan="3">all properties</th>')
    out += ['<th data-kernel="%s">%s</th>' % (_e(k["kernel"]), _e(counts_text(k["totals"]))) for k in kernels]
    out += ["</tr></tfoot>", "</table>"]
    return out


def _features_html(report: Report) -> List[str]:
    kernels = report["kernels"]
    out = ['<table class="reasons" id="features"><tr><th>feature</th><th>description</th><th>first kernel</th>']
    out += ["<th>%s</th>" % _e(k["kernel"]) for k in kernels]
    out.append("</tr>")
    for feature in report["features"]:
        out.append("<tr><td>%s</td><td>%s</td><td>%s</td>" % (
            _e(feature["feature"]), _e(feature["description"]), _e(feature["first_kernel"])))
        for kernel in kernels:
            cell = feature["cells"][kernel["kernel"]]
            out.append('<td class="%s">%s</td>' % ("bad" if cell["absent"] else "ok", _e(_presence(cell))))
        out.append("</tr>")
    out.append("</table>")
    return out


def _hosts_html(report: Report) -> List[str]:
    out = ['<table class="reasons" id="hosts"><tr><th>host</th><th>kernel</th><th>release</th><th>python</th>'
           "<th>distribution</th><th>results</th><th>round trips</th><th>left as found</th></tr>"]
    for name, host in report["hosts"].items():
        out.append('<tr data-host="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                   '<td class="%s">%s</td></tr>' % (
                       _e(name), _e(name), _e(host["kernel"]), _e(host["release"] or "?"), _e(host["python"] or "?"),
                       _e(host["distribution"] or "?"), _e(counts_text(host["summary"] or _counts())),
                       _e(_round_trips_text(host["round_trips"])),
                       "ok" if host["left_as_found"] else "bad", _e(_left_text(host["left_as_found"]))))
    out += ['<tr data-host="%s"><td>%s</td><td colspan="7" class="bad">%s</td></tr>' % (_e(name), _e(name), _e(reason))
            for name, reason in report["missing"].items()]
    out.append("</table>")
    return out


def _reasons_html(report: Report) -> List[str]:
    out = ['<table class="reasons" id="reasons"><tr><th>property</th><th>kernel</th><th>subject</th><th>result</th>'
           "<th>hosts</th><th>reason</th></tr>"]
    for group in report["groups"]:
        for row in group["rows"]:
            out += ["<tr><td>%s</td><td>%s</td><td>%s</td><td><strong>%s</strong></td><td>%s</td><td>%s</td></tr>" % (
                _e(row["id"]), _e(r["kernel"]), _e(r["subject"]), _e(r["result"]),
                _e(", ".join(r["hosts"])), _e(r["reason"] or "(no reason given)")) for r in row["reasons"]]
    out.append("</table>")
    return out


def render_html(report: Report) -> str:
    body = ['<p id="overview">%s</p>' % _e(_overview(report)), "<h2>Findings</h2>", '<ul class="findings" id="findings">']
    body += ["<li>%s</li>" % _e(_finding_text(finding)) for finding in report["findings"]] or ["<li>none: no FAIL</li>"]
    legend = "".join('<span class="%s">%s</span>' % (status, STATUS_WORDS[status]) for status in STATUSES)
    body += ["</ul>", "<h2>Properties by kernel version</h2>",
             '<p class="legend">' + legend
             + " A cell counts the results over the hosts of that kernel, then per subject ("
             + _e("; ".join("%s: %s" % (s["subject"], s["description"]) for s in report["subjects"]))
             + "). Hover a cell for the reasons of its FAIL and SKIP results; they are also listed below.</p>"]
    body += _matrix_html(report)
    body.append("<h2>Kernel features</h2>")
    body += _features_html(report)
    body.append("<h2>Hosts</h2>")
    body += _hosts_html(report)
    body.append("<h2>Reasons of FAIL and SKIP</h2>")
    body += _reasons_html(report)
    return html_page(report["title"], _CSS, body)
