# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel-version compatibility report, built from the conformance kit's JSON result of each host.

Controller side only. Rows are the properties the kit checked, grouped by type; columns are kernel versions
(hosts grouped by `kernel.version`), then one column per host without a result. A cell counts the PASS, FAIL
and SKIP results of that property on the hosts of that kernel, in all and per subject, and says whether the
observation agrees with the documented first kernel of what the property needs (its verdict). build_report()
makes the JSON document (schema SCHEMA, docs/REPORTS.md); load_report() reads one back; the Markdown and HTML
are rendered from it by the templates in templates/.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ansible.errors import AnsibleActionFail

from ansible_collections.linux.namespaces.plugins.module_utils.features import version_tuple
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import anchor_ids, element_text, evidence_text

HOST_SCHEMA = "linux.namespaces/conformance-host-result/1"
SCHEMA = "linux.namespaces/compat-report/3"
# Reports this version cannot read, and why.
REFUSED_SCHEMAS = {
    "linux.namespaces/compat-report/1": "it was written by linux.namespaces 0.1.0 (schema compat-report/1), which kept "
                                        "each host's whole kit result and no verdicts or evidence anchors",
    "linux.namespaces/compat-report/2": "it was written by a development version before 0.2.0 (schema "
                                        "compat-report/2), which kept a reason and an observation for every PASS",
}
TITLE = "Linux namespaces: kernel-version compatibility"
RESULTS = ("PASS", "FAIL", "SKIP")
GROUPS = (("S", "S: the seed document"), ("G", "G: all namespace types"), ("UTS", "UTS namespaces"),
          ("IPC", "IPC namespaces"), ("PID", "PID namespaces"), ("MNT", "mount namespaces"),
          ("NET", "network namespaces"), ("USER", "user namespaces"), ("CG", "cgroup namespaces"),
          ("TIME", "time namespaces"))
# The subjects every kit result has, first and in this order; any other subject a host's result lists (bwrap,
# runc, broken-*) follows by name, described by the `made_by` the kit gives it.
SUBJECTS = (("kernel", "the kit's own probes: the kernel alone"),
            ("reference", "a set made by util-linux unshare"),
            ("collection", "a set made by the linux.namespaces.namespace module"))
NO_MAKER = "no made_by in the kit's result"
# A cell's verdict against the documented first kernel, in the order the findings list them.
VERDICTS = ("finding", "expected", "skip", "agrees", "none", "missing")
VERDICT_WORDS = {"finding": "finding: disagrees with the documented first kernel",
                 "expected": "FAIL expected by version: older than the documented first kernel",
                 "skip": "SKIP: not checked there, with a reason", "agrees": "agrees with the documented first kernel",
                 "none": "not checked on this kernel", "missing": "no result from the host"}
NO_RESULT = "no result: the host was unreachable, or the kit could not run there (see the play's output)"
UNKNOWN_KERNEL = "unknown"
PROPERTY_ID = re.compile(r"^([A-Z]+)([0-9]+)$")
# Evidence kept per FAIL and SKIP: enough of the observation to read, not the whole of a large one. A PASS keeps
# none: its property, subject and result say what an operator needs, and the kit's own per-host result file
# (conformance_host_results_dir) has every observation.
OBSERVED_LIMIT = {"FAIL": 1500, "SKIP": 600}
# Of the kit's result, what the report keeps per host besides its evidence (the rest is in the evidence).
HOST_KEYS = ("backend", "caller", "cleanup", "caller_cleanup", "distribution", "finished", "kernel", "prefix",
             "privileges", "round_trips", "started", "subjects", "summary", "target", "tools")

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
    """The cell's colour: fail (any FAIL), partial (PASS and SKIP), skip (all SKIP), pass, none (no result)."""
    if counts["FAIL"]:
        return "fail"
    if counts["PASS"] and counts["SKIP"]:
        return "partial"
    if counts["SKIP"]:
        return "skip"
    return "pass" if counts["PASS"] else "none"


def cell_verdict(counts: Mapping[str, int], kernel: str, first_kernel: Optional[str]) -> str:
    """What the cell says against the documented first kernel: a FAIL at or after it, or a PASS before it, is a
    finding; a FAIL before it is expected by version."""
    older = None
    if first_kernel and version_tuple(kernel) and version_tuple(first_kernel):
        older = version_tuple(kernel) < version_tuple(first_kernel)
    if counts["FAIL"]:
        return "expected" if older else "finding"
    if counts["PASS"]:
        return "finding" if older else "agrees"
    return "skip" if counts["SKIP"] else "none"


def _usable(document: Union[None, str, Mapping[str, Any]]) -> Optional[str]:
    """Why a host's document cannot be used, or None."""
    if document is None:
        return NO_RESULT
    if isinstance(document, str):
        return "no result: %s" % document
    if document.get("schema") != HOST_SCHEMA:
        return "not a conformance kit result (schema %r, expected %r)" % (document.get("schema"), HOST_SCHEMA)
    return None


def _evidence(entry: Mapping[str, Any]) -> Dict[str, Any]:
    evidence = {"id": entry["id"], "subject": entry["subject"], "result": entry["result"]}
    if entry["result"] == "PASS":
        return evidence
    evidence.update(reason=entry.get("reason") or "",
                    observed=evidence_text(entry.get("observed"), OBSERVED_LIMIT.get(entry["result"], 600)))
    if entry.get("feature"):  # the feature a SKIP found missing
        evidence["feature"] = entry["feature"]
    return evidence


def _host_entry(document: Mapping[str, Any]) -> Dict[str, Any]:
    kit_checks = document.get("kit_checks") or []
    left = [check["result"] == "PASS" for check in kit_checks if check.get("test") == "test_kit_left_the_host_as_found"]
    caller_cleanup = document.get("caller_cleanup")  # the role's leak check, after it removed the set
    if caller_cleanup is not None:
        left.append(not caller_cleanup.get("leftovers") and not caller_cleanup.get("errors"))
    results = sorted(document.get("results") or [], key=lambda e: (_property_key(e["id"]), _subject_key(e["subject"])))
    return {
        "kernel": document["kernel"].get("version") or UNKNOWN_KERNEL,
        "release": document["kernel"].get("release"),
        "python": (document.get("tools") or {}).get("python"),  # the Python the kit ran with on the host
        "distribution": (document.get("distribution") or {}).get("pretty_name"),
        "summary": document.get("summary") or _counts(),
        "round_trips": dict(document.get("round_trips") or {}, backend=document.get("backend")),
        "left_as_found": all(left) if left else None,
        "features": dict((key, bool(feature.get("present"))) for key, feature in (document.get("features") or {}).items()),
        "kit": dict((key, document[key]) for key in HOST_KEYS if key in document),
        "evidence": [_evidence(entry) for entry in results],
    }


def _features(documents: Mapping[str, Mapping[str, Any]]) -> Dict[str, Dict[str, str]]:
    """Every feature any host reported: its description and documented first kernel."""
    known: Dict[str, Dict[str, str]] = {}
    for document in documents.values():
        for key, feature in (document.get("features") or {}).items():
            known.setdefault(key, {"description": feature["description"], "first_kernel": feature["first_kernel"]})
    return known


def _properties(documents: Mapping[str, Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
    """The kit's description of each property (title, definition), from any host that carries it."""
    known: Dict[str, Mapping[str, Any]] = {}
    for document in documents.values():
        for prop_id, description in (document.get("properties") or {}).items():
            known.setdefault(prop_id, description)
    return known


def _newest(versions: Iterable[str]) -> Optional[str]:
    ordered = sorted(versions, key=_version_key)
    return ordered[-1] if ordered else None


def _host_groups(hosts: Mapping[str, Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Hosts whose results are the same (kernel, and each result with its reason), together; worst first."""
    groups: Dict[Tuple[Any, ...], List[str]] = {}
    for name, host in hosts.items():
        key = (host["kernel"],) + tuple((e["id"], e["subject"], e["result"], e.get("reason")) for e in host["evidence"])
        groups.setdefault(key, []).append(name)
    ordered = sorted(groups.values(), key=lambda names: (
        -hosts[names[0]]["summary"].get("FAIL", 0), _version_key(hosts[names[0]]["kernel"]), names[0]))
    anchors = anchor_ids("group", ["-".join(names[:1]) for names in ordered])
    return [{"anchor": anchor, "hosts": names, "kernel": hosts[names[0]]["kernel"],
             "summary": hosts[names[0]]["summary"], "open": bool(hosts[names[0]]["summary"].get("FAIL"))}
            for anchor, names in zip(anchors, ordered)]


def _row(prop_id: str, hosts: Mapping[str, Mapping[str, Any]], groups: List[Dict[str, Any]], needs: Iterable[str],
         features: Mapping[str, Mapping[str, str]], description: Mapping[str, Any],
         columns: List[Dict[str, Any]]) -> Dict[str, Any]:
    """One property: its cells per column, what it needs, and the reasons of its FAIL and SKIP results."""
    entries = [(hosts[name]["kernel"], dict(entry, host=name)) for name in hosts for entry in hosts[name]["evidence"]
               if entry["id"] == prop_id]
    needed = sorted(set(needs) | {entry["feature"] for _kernel, entry in entries if entry.get("feature")},
                    key=lambda key: (_version_key(features.get(key, {}).get("first_kernel", "0")), key))
    first_kernel = _newest(features[key]["first_kernel"] for key in needed if key in features)
    cells = {}
    for column in columns:
        if column["no_result"]:
            cells[column["key"]] = dict(_counts(), status="missing", verdict="missing", subjects={}, evidence=None)
            continue
        total = _counts()
        subjects: Dict[str, Counts] = {}
        for entry in (entry for kernel, entry in entries if kernel == column["key"]):
            total[entry["result"]] += 1
            subjects.setdefault(entry["subject"], _counts())[entry["result"]] += 1
        # The evidence a cell links to: that of the kernel's worst group of hosts (groups are worst first).
        group = next((g for g in groups if g["kernel"] == column["key"]), None)
        cells[column["key"]] = dict(
            total, status=cell_status(total), verdict=cell_verdict(total, column["key"], first_kernel),
            # Per subject only the results that occur: a large fleet's report stays small.
            subjects=dict((subject, dict((r, n) for r, n in subjects[subject].items() if n))
                          for subject in sorted(subjects, key=_subject_key)),
            evidence="%s-%s" % (group["anchor"], prop_id) if group and any(total.values()) else None)
    reasons: Dict[Tuple[str, str, str, str], List[str]] = {}
    for kernel, entry in entries:
        if entry["result"] != "PASS":
            reasons.setdefault((kernel, entry["subject"], entry["result"], entry["reason"]), []).append(entry["host"])
    return {
        "id": prop_id,
        "anchor": "property-%s" % prop_id,
        "title": description.get("title"),
        "definition": description.get("definition"),
        "needs": [dict(features.get(key, {"description": key, "first_kernel": None}), feature=key) for key in needed],
        "first_kernel": first_kernel,
        "subjects": sorted({entry["subject"] for _kernel, entry in entries}, key=_subject_key),
        "cells": cells,
        "reasons": [{"kernel": kernel, "subject": subject, "result": result, "reason": reason, "hosts": sorted(names)}
                    for (kernel, subject, result, reason), names in sorted(
                        reasons.items(), key=lambda item: (_version_key(item[0][0]), _subject_key(item[0][1])))],
    }


def _subjects(documents: Mapping[str, Mapping[str, Any]], hosts: Mapping[str, Mapping[str, Any]]) -> List[Dict[str, str]]:
    """Every subject the hosts' results list or have results for, in SUBJECTS order then by name, each with what
    made it (the kit's `made_by`)."""
    made_by: Dict[str, str] = {}
    for document in documents.values():
        for subject, description in (document.get("subjects") or {}).items():
            if isinstance(description, Mapping) and description.get("made_by"):
                made_by.setdefault(subject, description["made_by"])
    named = set(made_by) | {entry["subject"] for host in hosts.values() for entry in host["evidence"]}
    described = dict(SUBJECTS)
    return [{"subject": subject, "description": described.get(subject) or made_by.get(subject) or NO_MAKER,
             "made_by": made_by.get(subject) or described.get(subject) or NO_MAKER}
            for subject in sorted(named | set(described), key=_subject_key)]


def _subject_name(subject: str, made_by: Mapping[str, str]) -> str:
    """The subject, and what made it when it is not one of SUBJECTS (the report's legend describes those)."""
    return subject if subject in dict(SUBJECTS) else "%s (made by %s)" % (subject, made_by.get(subject, NO_MAKER))


def _blame(subjects: Mapping[str, Counts]) -> str:
    """What a failing cell points at, by the kit's reading rule: the kernel when its own probes fail, the host when
    util-linux's reference set fails too, else each subject that fails (the finding's reasons say what made it)."""
    failing = [subject for subject, counts in subjects.items() if counts.get("FAIL")]
    if "kernel" in failing:
        return "the kernel: the kit's own probes fail"
    if "reference" in failing:
        return "the host: the reference set made by util-linux fails too"
    return "; ".join(
        "the collection: its set fails where util-linux's does not" if subject == "collection" else
        "%s: the tool, not the kernel: its set fails where util-linux's does not" % subject for subject in failing)


def _findings(rows: List[Dict[str, Any]], columns: List[Dict[str, Any]],
              made_by: Mapping[str, str]) -> Dict[str, List[Dict[str, Any]]]:
    """The cells a reader must see, by kind: findings (a FAIL at or after the documented first kernel, or a PASS
    before it), FAILs expected by version, and SKIPs with their reasons."""
    found: Dict[str, List[Dict[str, Any]]] = {"findings": [], "expected": [], "skips": []}
    for row in rows:
        for column in (c for c in columns if not c["no_result"]):
            cell = row["cells"][column["key"]]
            base = {"id": row["id"], "title": row["title"], "kernel": column["key"], "first_kernel": row["first_kernel"],
                    "cell": "cell-%s-%s" % (row["id"], column["anchor"]), "evidence": cell["evidence"]}
            results = [(r["result"], "%s %s on %s: %s" % (_subject_name(r["subject"], made_by), r["result"],
                                                          ", ".join(r["hosts"]), r["reason"] or "no reason given"))
                       for r in row["reasons"] if r["kernel"] == column["key"]]
            reasons = [text for _result, text in results]
            if cell["verdict"] == "finding":
                what = ("FAIL for %s; points at %s" % (", ".join(s for s, c in cell["subjects"].items() if c.get("FAIL")),
                                                       _blame(cell["subjects"])) if cell["FAIL"] else
                        "PASS on a kernel older than the documented %s: a distribution backport or a wrong table entry"
                        % row["first_kernel"])
                found["findings"].append(dict(base, what=what, reasons=reasons))
            elif cell["verdict"] == "expected":
                found["expected"].append(dict(base, what="FAIL before the documented %s" % row["first_kernel"],
                                              reasons=reasons))
            if cell["SKIP"]:
                found["skips"].append(dict(base, what="%d SKIP" % cell["SKIP"],
                                           reasons=[text for result, text in results if result == "SKIP"]))
    return found


def _groups(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The rows by property group, in catalogue order (unknown groups after, by name)."""
    groups = []
    for _order, group in sorted({_property_key(row["id"])[:2] for row in rows}):
        groups.append({"group": group, "title": dict(GROUPS).get(group, group),
                       "rows": [row for row in rows if _property_key(row["id"])[1] == group]})
    return groups


def _columns(hosts: Mapping[str, Mapping[str, Any]], missing: Mapping[str, str]) -> List[Dict[str, Any]]:
    """Each kernel version with its hosts and their releases, oldest first; then each host without a result."""
    columns = []
    for kernel in sorted({entry["kernel"] for entry in hosts.values()}, key=_version_key):
        names = [name for name, entry in hosts.items() if entry["kernel"] == kernel]
        columns.append({"key": kernel, "label": kernel, "hosts": names, "no_result": None,
                        "releases": sorted({hosts[name]["release"] or "?" for name in names})})
    columns += [{"key": "no result: %s" % name, "label": name, "hosts": [name], "no_result": reason, "releases": []}
                for name, reason in missing.items()]
    for column, anchor in zip(columns, anchor_ids("kernel", [c["label"] for c in columns])):
        column["anchor"] = anchor
    return columns


def _feature_rows(features: Mapping[str, Mapping[str, str]], hosts: Mapping[str, Mapping[str, Any]],
                  columns: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Each kernel feature, oldest first, with on how many hosts of each kernel it is present."""
    feature_rows = []
    for key in sorted(features, key=lambda k: (_version_key(features[k]["first_kernel"]), k)):
        cells = {}
        for column in (c for c in columns if not c["no_result"]):
            present = [hosts[name]["features"][key] for name in column["hosts"] if key in hosts[name]["features"]]
            cells[column["key"]] = {"present": sum(1 for value in present if value),
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
    for name, anchor in zip(hosts, anchor_ids("host", list(hosts))):
        hosts[name]["anchor"] = anchor
    columns = _columns(hosts, missing)
    features = _features(documents)
    properties = _properties(documents)
    groups = _host_groups(hosts)
    needs: Dict[str, set] = {}
    for document in documents.values():
        for prop_id, keys in (document.get("needs") or {}).items():
            needs.setdefault(prop_id, set()).update(keys)
    prop_ids = sorted({entry["id"] for host in hosts.values() for entry in host["evidence"]}, key=_property_key)
    rows = [_row(prop_id, hosts, groups, needs.get(prop_id, ()), features, properties.get(prop_id) or {}, columns)
            for prop_id in prop_ids]
    totals = _counts()
    for column in columns:
        column["totals"] = _counts()
        for row in rows:
            for result in RESULTS:
                column["totals"][result] += row["cells"][column["key"]][result]
                totals[result] += row["cells"][column["key"]][result]
    subjects = _subjects(documents, hosts)
    findings = _findings(rows, columns, dict((s["subject"], s["made_by"]) for s in subjects))
    return {
        "schema": SCHEMA,
        "title": TITLE,
        "subjects": subjects,
        "verdicts": [{"verdict": verdict, "description": VERDICT_WORDS[verdict]} for verdict in VERDICTS],
        "columns": columns,
        "kernels": [column["key"] for column in columns if not column["no_result"]],
        "groups": _groups(rows),
        "features": _feature_rows(features, hosts, columns),
        "findings": findings,
        "counts": dict(totals, hosts=len(hosts) + len(missing), without_result=len(missing),
                       kernels=sum(1 for column in columns if not column["no_result"]),
                       findings=len(findings["findings"]), expected=len(findings["expected"])),
        "host_groups": groups,
        "hosts": hosts,
        "missing": missing,
    }


def render_json(report: Report) -> str:
    # Compact: a fleet of many hosts and properties stays small (docs/REPORTS.md).
    return json.dumps(report, sort_keys=True, separators=(",", ":")) + "\n"


def load_report(text: str) -> Report:
    """A report read back from its JSON text; one of another schema is refused with the reason."""
    try:
        report = json.loads(text)
    except ValueError as error:
        raise AnsibleActionFail("not a compatibility report: the JSON does not parse (%s)" % error)
    schema = report.get("schema") if isinstance(report, dict) else None
    if schema in REFUSED_SCHEMAS:
        raise AnsibleActionFail("cannot read this compatibility report: %s. Run playbooks/compat_report.yml again to "
                                "write it with schema %s." % (REFUSED_SCHEMAS[schema], SCHEMA))
    if schema != SCHEMA:
        raise AnsibleActionFail("not a compatibility report of schema %s (found %r)" % (SCHEMA, schema))
    return report


def group_evidence(report: Mapping[str, Any], group: Mapping[str, Any]) -> Dict[str, List[Dict[str, Any]]]:
    """A host group's evidence as the page shows it: `results`, every result of the properties that did not only
    pass, each FAIL and SKIP with its reason and each distinct observation with the hosts that made it (hosts of a
    group share their results, not their PIDs or names); and `passed`, the properties that only passed, with their
    subjects. Each property's first entry carries the anchor the matrix links to (the group's anchor-ID)."""
    # Hosts of a group have the same results in the same order (_host_groups): a position names one result.
    hosts = [report["hosts"][name] for name in group["hosts"]]
    failing = {entry["id"] for entry in hosts[0]["evidence"] if entry["result"] != "PASS"}
    results: List[Dict[str, Any]] = []
    passed: List[Dict[str, Any]] = []
    for position, entry in enumerate(hosts[0]["evidence"]):
        first = position == 0 or hosts[0]["evidence"][position - 1]["id"] != entry["id"]
        anchor = "%s-%s" % (group["anchor"], entry["id"]) if first else None
        if entry["id"] not in failing:
            if first:
                passed.append({"id": entry["id"], "anchor": anchor, "subjects": []})
            passed[-1]["subjects"].append(entry["subject"])
            continue
        observed: Dict[str, List[str]] = {}
        if entry["result"] != "PASS":
            for name, host in zip(group["hosts"], hosts):
                observed.setdefault(host["evidence"][position].get("observed") or "", []).append(name)
        results.append(dict(entry, reason=entry.get("reason") or "", anchor=anchor,
                            observed=[{"hosts": names, "observed": text} for text, names in observed.items()]))
    return {"results": results, "passed": passed}


def counts_text(counts: Mapping[str, int]) -> str:
    """'5 PASS, 1 FAIL' (results that occur, in PASS, FAIL, SKIP order); '-' when there are none."""
    return ", ".join("%d %s" % (counts[result], result) for result in RESULTS if counts.get(result)) or "-"


# Filters and values the Markdown and HTML templates use.
TEMPLATE_HELPERS = {"counts_text": counts_text, "group_evidence": group_evidence, "text": element_text}
