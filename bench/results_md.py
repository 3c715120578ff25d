"""RESULTS.md and RESULTS.json from one `make bench` run: figures as min/median/max, ratios against their
anchors, each goal met or not and, where not, what the time is made of."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench.explain import why
from bench.measure import spread

TABLE_START = "<!-- bench-table:start -->"
TABLE_END = "<!-- bench-table:end -->"


def is_headline(entry: Dict[str, Any]) -> bool:
    """The goals the README shows: every goal but the create and remove steps of lifecycle (their sum is shown)."""
    if entry["goal"] is None:
        return False
    return not (entry["id"].startswith("lifecycle.") and ".cycle." not in entry["id"]
                and "remove-pid" not in entry["id"])


def _median_ratio(stats: Dict[str, Dict[str, float]], numerator: str, denominator: str) -> Optional[float]:
    above, below = stats.get(numerator), stats.get(denominator)
    if above and below and below["median"] > 0:
        return above["median"] / below["median"]
    return None


def evaluate(ratios: Sequence[Dict[str, Any]], stats: Dict[str, Dict[str, float]]) -> List[Dict[str, Any]]:
    evaluated = []
    for entry in ratios:
        value = _median_ratio(stats, entry["numerator"], entry["denominator"])
        if value is not None and entry.get("per"):
            beside = _median_ratio(stats, *entry["per"])
            value = value / beside if beside else None
        if value is None:
            verdict = "missing"
        elif entry["goal"] is None:
            verdict = "reported"
        else:
            verdict = "met" if value <= entry["goal"] else "not met"
        evaluated.append(dict(entry, value=value, verdict=verdict,
                              why=why(entry, stats) if verdict == "not met" else ""))
    return evaluated


def ms(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    return "%.0f" % (seconds * 1e3) if seconds >= 1 else "%.2f" % (seconds * 1e3)


def goals_table(evaluated: Sequence[Dict[str, Any]], stats: Dict[str, Dict[str, float]]) -> List[str]:
    lines = [TABLE_START, "| goal | ratio (medians) | ms: ours / anchor | verdict |", "|---|---|---|---|"]
    for entry in evaluated:
        if not is_headline(entry):
            continue
        mine, anchor = stats.get(entry["numerator"], {}), stats.get(entry["denominator"], {})
        lines.append("| %s: %s | %s | %s / %s | %s |" % (
            entry["label"], entry["goal_text"], "-" if entry["value"] is None else "%.2f" % entry["value"],
            ms(mine.get("median")), ms(anchor.get("median")), entry["verdict"]))
    lines.append(TABLE_END)
    return lines


def render(environment: Dict[str, Any], runs: Sequence[Dict[str, Any]], figures: Sequence[Dict[str, Any]],
           ratios: Sequence[Dict[str, Any]], findings: Sequence[Dict[str, str]]) -> Tuple[Dict[str, Any], str]:
    stats = {f["id"]: spread(f["seconds"]) for f in figures if f["seconds"]}
    evaluated = evaluate(ratios, stats)
    start, end = environment["load_average_start"], environment["load_average_end"]
    cpus = environment["machine"].split(", ")[-2]
    busiest = max([start[0], end[0]] + [run["load_average"][0] for run in runs if run.get("load_average")])
    load = ("Other work shared the machine (1-minute load up to %.0f): the figures are noisy, the ratios less so; "
            "re-run on a quiet machine." % busiest if busiest > 1.0 else "The machine was quiet.")
    plan = ""
    if environment.get("planned_seconds"):
        plan = (" (planned: %d s, under the %d s of issue 15; the repetition counts of each benchmark are its "
                "arguments under \"Benchmarks run\", its planned seconds beside them)" % (
                    environment["planned_seconds"], environment["budget_seconds"]))
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run_all.py, %s mode) on %s; the run took %.0f s%s. Every figure is the "
        "min/median/max of repeated runs interleaved with its anchor's; every ratio is of medians measured in "
        "the same run." % (environment["mode"], environment["finished"], environment["seconds"], plan),
        "",
        "Load: the 1/5/15-minute load average was %.1f/%.1f/%.1f at the start and %.1f/%.1f/%.1f at the end, on "
        "%s. %s" % (tuple(start) + tuple(end) + (cpus, load)),
    ]
    reused = [run["name"] for run in runs if run["arguments"][:1] and run["arguments"][0].startswith("reused")]
    if reused:
        lines += ["", "The figures of %s come from earlier runs (`--reuse`, files named under \"Benchmarks run\", "
                      "with the load each ran under)." % ", ".join(reused)]
    lines += [
        "",
        "| | |", "|---|---|",
    ]
    for key in ("machine", "kernel", "python", "ansible-core", "util-linux", "iproute2", "pyroute2", "cc"):
        lines.append("| %s | %s |" % (key, environment[key]))
    lines += ["", "## Goals", ""] + goals_table(evaluated, stats)
    missed = [e for e in evaluated if e["verdict"] == "not met" and is_headline(e)]
    lines += ["", "## Goals not met, and why", ""]
    first_with: Dict[str, str] = {}
    for entry in missed:
        told = first_with.setdefault(entry["why"], entry["label"])
        lines.append("- %s (%.2f, goal %s): %s" % (entry["label"], entry["value"], entry["goal"],
                                                   entry["why"] if told == entry["label"] else "as for %s." % told))
    if not missed:
        lines.append("None.")
    lines += ["", "## Findings", ""]
    lines += ["- %s: %s" % (f["benchmark"], f["text"]) for f in findings] or ["None."]
    lines += ["", "## Every ratio", "", "| ratio | value | goal | verdict |", "|---|---|---|---|"]
    for e in evaluated:
        value = "-" if e["value"] is None else "%.2f" % e["value"]
        lines.append("| %s | %s | %s | %s |" % (e["label"], value, e["goal_text"] or "-", e["verdict"]))
    lines += ["", "## Every figure (ms)", "", "| figure | runs | min | median | max |", "|---|---|---|---|---|"]
    for f in figures:
        s = stats.get(f["id"])
        lines.append("| %s | %d | %s | %s | %s |" % (f["label"], len(f["seconds"]), ms(s and s["min"]),
                                                     ms(s and s["median"]), ms(s and s["max"])))
    lines += ["", "## Benchmarks run", "",
              "| benchmark | arguments | seconds | planned seconds | exit | load average when it ended |",
              "|---|---|---|---|---|---|"]
    for run in runs:
        load_average = run.get("load_average")
        load_text = "/".join("%.1f" % value for value in load_average) if load_average else "-"
        arguments = " ".join(run["arguments"])
        planned = "-" if run.get("planned_seconds") is None else str(run["planned_seconds"])
        lines.append("| %s | `%s` | %.0f | %s | %d | %s |" % (
            run["name"], arguments, run["seconds"], planned, run["exit"], load_text))
    results = {"environment": environment, "runs": list(runs), "findings": list(findings),
               "figures": [dict(id=f["id"], label=f["label"], **stats.get(f["id"], {})) for f in figures],
               "ratios": evaluated}
    return results, "\n".join(lines) + "\n"
