# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit report: hosts by capabilities, built from each host's linux_namespaces facts.

Controller side only. build_report() makes the JSON document (schema SCHEMA, docs/REPORTS.md), load_report()
reads one back, and the Markdown and HTML are rendered from it by the templates in templates/. Hosts whose
cells are the same are one group (one matrix row). Nothing here reads a clock, so the same facts give the same
files (idempotent runs).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

from ansible.errors import AnsibleActionFail

from ansible_collections.linux.namespaces.plugins.module_utils.features import KERNEL_FEATURES, version_tuple
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import NAMESPACE_TYPES
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import anchor_ids, element_text

SCHEMA = "linux.namespaces/audit-report/2"
# Reports this version cannot read, and why (version 1 had no schema field).
REFUSED_SCHEMA_WORDS = ("it was written by linux.namespaces 0.1.0 (no schema field: audit-report/1), which had no "
                        "host groups or first kernels")
PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
NO_FACTS = "no facts: the host was unreachable, or namespace_facts failed on it"
SYMBOLS = {PASS: "\u2714", FAIL: "\u2718", UNKNOWN: "?"}

Cell = Dict[str, str]
Report = Dict[str, Any]


class Column(NamedTuple):
    key: str
    title: str
    description: str
    first_kernel: Optional[str]  # the first mainline kernel that has it, where one does


def _capabilities() -> List[Column]:
    """Every matrix column, in order."""
    columns = [Column("isolate", "isolate.yml", "can run isolate.yml (mnt, uts, ipc, pid, net as root; pidfd_open)",
                      None)]
    columns += [Column("type:" + t.name, t.name, "%s can be created" % t.title, t.first_kernel) for t in NAMESPACE_TYPES]
    columns.append(Column("userns_unprivileged", "unpriv. userns",
                          "an unprivileged user can create a user namespace and use its capabilities", None))
    columns += [Column("feature:" + f.name, f.name, f.title, f.first_kernel) for f in KERNEL_FEATURES]
    columns.append(Column("kernel_config", "config", "the kernel config enables every namespace type", None))
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


def host_cells(facts: Union[None, str, Mapping[str, Any]]) -> Dict[str, Cell]:
    """One cell per capability column for a host's facts (None: the host gave none; a text: why it gave none)."""
    if facts is None or isinstance(facts, str):
        return {column.key: _cell(UNKNOWN, facts or NO_FACTS) for column in _capabilities()}
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


def _host_groups(hosts: Mapping[str, Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Hosts whose kernel release, cell statuses, reasons of what does not pass and disagreements are the same,
    together (a pass's reason may name something of the host's own, such as a namespace id): newest kernel first,
    hosts without facts last."""
    groups: Dict[str, List[str]] = {}
    for name, entry in hosts.items():
        cells = dict((key, cell if cell["status"] != PASS else PASS) for key, cell in entry["cells"].items())
        key = json.dumps([entry["kernel"], cells, entry["disagreements"]], sort_keys=True)
        groups.setdefault(key, []).append(name)
    ordered = sorted(groups.values(), key=lambda names: (
        hosts[names[0]]["kernel"] is None, tuple(-n for n in _release_key(hosts[names[0]]["kernel"] or "0")), names[0]))
    result = []
    for anchor, names in zip(anchor_ids("group", [names[0] for names in ordered]), ordered):
        cells = hosts[names[0]]["cells"]
        counts = dict((status, sum(1 for cell in cells.values() if cell["status"] == status)) for status in SYMBOLS)
        result.append({"anchor": anchor, "kernel": hosts[names[0]]["kernel"] or "unknown", "hosts": names,
                       "counts": counts, "open": counts[PASS] < len(cells) or bool(hosts[names[0]]["disagreements"])})
    return result


def build_report(facts_by_host: Mapping[str, Union[None, str, Mapping[str, Any]]]) -> Report:
    """The JSON report for hosts -> their linux_namespaces facts (None where a host gave none, or the reason why
    as a text: Ansible's own message for an unreachable or failed host)."""
    hosts = {}
    names = sorted(facts_by_host)
    for name, anchor in zip(names, anchor_ids("host", names)):
        facts = facts_by_host[name]
        usable = facts if isinstance(facts, Mapping) else None
        hosts[name] = {
            "anchor": anchor,
            "kernel": usable["kernel"]["release"] if usable else None,
            "cells": host_cells(facts),
            "disagreements": list(usable["disagreements"]) if usable else [],
            "facts": usable,
        }
    groups = _host_groups(hosts)
    for group in groups:
        for name in group["hosts"]:
            hosts[name]["group"] = group["anchor"]
    isolate: Dict[str, Any] = {PASS: [], FAIL: {}, UNKNOWN: {}}
    for name, entry in hosts.items():
        cell = entry["cells"]["isolate"]
        if cell["status"] == PASS:
            isolate[PASS].append(name)
        else:
            isolate[cell["status"]][name] = cell["reason"]
    counts = dict((status, sum(1 for entry in hosts.values() for cell in entry["cells"].values()
                               if cell["status"] == status)) for status in SYMBOLS)
    return {
        "schema": SCHEMA,
        "title": "Linux namespaces: fleet kernel audit",
        "columns": [column._asdict() for column in _capabilities()],
        "groups": groups,
        "isolate": {"can": isolate[PASS], "cannot": isolate[FAIL], "unknown": isolate[UNKNOWN]},
        "counts": dict(counts, hosts=len(hosts), kernels=len({e["kernel"] for e in hosts.values() if e["kernel"]}),
                       without_facts=sum(1 for e in hosts.values() if e["facts"] is None)),
        "hosts": hosts,
    }


def render_json(report: Report) -> str:
    return json.dumps(report, indent=1, sort_keys=True) + "\n"


def load_report(text: str) -> Report:
    """A report read back from its JSON text; one of another schema is refused with the reason."""
    try:
        report = json.loads(text)
    except ValueError as error:
        raise AnsibleActionFail("not an audit report: the JSON does not parse (%s)" % error)
    if not isinstance(report, dict):
        raise AnsibleActionFail("not an audit report: the JSON is not an object")
    if "schema" not in report and "columns" in report and "isolate" in report:
        raise AnsibleActionFail("cannot read this audit report: %s. Run playbooks/audit.yml again to write it with "
                                "schema %s." % (REFUSED_SCHEMA_WORDS, SCHEMA))
    if report.get("schema") != SCHEMA:
        raise AnsibleActionFail("not an audit report of schema %s (found %r)" % (SCHEMA, report.get("schema")))
    return report


# Filters and values the Markdown and HTML templates use.
TEMPLATE_HELPERS = {"SYMBOLS": SYMBOLS, "text": element_text}
