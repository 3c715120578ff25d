"""Figures and ratios (bench/measure.py's shape) from the JSON of a benchmark that writes its own: bench_info.py."""

from __future__ import annotations

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
