"""Figures and ratios (bench/measure.py's shape) from the JSON of the benchmarks that write their own:
bench_info.py and bench_conformance.py."""

from __future__ import annotations

import re
import statistics
from typing import Any, Dict, List

from bench.measure import figure, ratio


def from_info(document: Dict[str, Any]) -> Dict[str, List[Any]]:
    figures, ratios = [], []
    for scenario in document["scenarios"]:
        name = scenario["scenario"]
        for contender, values in scenario["samples_ms"].items():
            figures.append(figure("info.%s.%s" % (name, contender), "namespace_info scenario %s (%d made): %s" % (
                name, scenario["namespaces_made"], contender), [value / 1000 for value in values]))
        for mine, anchor in (("core", "lsns"), ("relations", "lsns"), ("module", "command")):
            ratios.append(ratio("info.%s.%s/%s" % (name, mine, anchor), "namespace_info, %s: %s / %s" % (
                name, mine, anchor), "info.%s.%s" % (name, mine), "info.%s.%s" % (name, anchor)))
    findings = ["scenario %s: of %d namespaces made, found by namespace_info %d, by lsns -J %d" % (
        s["scenario"], s["namespaces_made"], s["found"]["core"], s["found"]["lsns"]) for s in document["scenarios"]]
    return {"figures": figures, "ratios": ratios, "findings": findings}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _conformance_label(name: str) -> str:
    """bench_conformance's run names ("playbook 20, bridge") in words."""
    match = re.match(r"(playbook|direct|floor) (\d+), (.+)$", name)
    if not match:
        return "conformance kit: " + name
    way, hosts, network = match.groups()
    return {"playbook": "compat_report.yml over %s hosts (%s)",
            "direct": "the kit over testinfra ssh:// from here, %s hosts (%s)",
            "floor": "one ssh:// round trip per check, %s hosts (%s)"}[way] % (hosts, network)


def from_conformance(document: Dict[str, Any]) -> Dict[str, List[Any]]:
    figures, ratios, findings = [], [], []
    runs = document["runs"]
    for name, measured in runs.items():
        figures.append(figure("conformance." + _slug(name), _conformance_label(name),
                              [run["seconds"] for run in measured]))
        hosts = measured[-1].get("hosts")
        if name.startswith("playbook") and hosts:
            findings.append("%s: %.2f s per host (median)" % (
                _conformance_label(name), statistics.median(run["seconds"] for run in measured) / hosts))
    for name in runs:
        match = re.match(r"playbook (\d+), (.+)$", name)
        if match and "direct %s, %s" % match.groups() in runs:
            direct = "direct %s, %s" % match.groups()
            ratios.append(ratio("conformance.%s/%s" % (_slug(name), _slug(direct)),
                                "compat_report.yml over %s hosts (%s) / the kit over testinfra ssh:// from here" %
                                match.groups(), "conformance." + _slug(name), "conformance." + _slug(direct)))
    return {"figures": figures, "ratios": ratios, "findings": findings}
