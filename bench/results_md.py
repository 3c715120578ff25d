"""RESULTS.md and RESULTS.json from one `make bench` run: figures as min/median/max, ratios against their
anchors, each goal met or not and, where not, what the time is made of."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench.measure import spread

TABLE_START = "<!-- bench-table:start -->"
TABLE_END = "<!-- bench-table:end -->"

# Where the time goes when a goal is missed: the in-process paths were profiled with cProfile (lifecycle, enter,
# removal with a PID namespace); the others say they were not. First match wins.
WHY: Tuple[Tuple[str, str], ...] = (
    (r"^lifecycle\.remove-pid", "Removal waits on the holder's pidfd until it has exited (not until it is reaped): "
     "about 0.8 ms here for the kernel to end its PID namespace and a process forked from Python (measured alone), "
     "against about 0.5 ms for the whole removal of a set without a holder; the unmounting overlaps with it. The "
     "C floor's holder is a small C process."),
    (r"^lifecycle\.default\.(remove|cycle)", "The removal of a set with a PID namespace waits for the holder's "
     "exit (about 0.8 ms, see remove-pid), and its creation forks the creator and the holder from Python."),
    (r"^lifecycle\..*collection/", "Per set the collection forks a creator from a Python process whose memory "
     "is larger than the floor's (fork alone is 1-3 ms here), waits for it over pipes, writes state.json twice "
     "(json + rename), takes the store's flocks, checks the store mount with a few stat calls, "
     "and unmounts each file separately; the floor is one small C process doing the syscalls only."),
    (r"^enter\.module_utils", "run_command joins the set's namespaces from the calling process and starts the "
     "command with subprocess (plugins/module_utils/visit.py). Measured in-process, interleaved, at load 4 (medians, "
     "80 rounds): resolve_target 0.8 ms, joining the 7 namespaces and coming back 0.4 ms, subprocess.Popen of `true` "
     "3.3 ms with the preexec_fn that sets PR_SET_PDEATHSIG against 0.9 ms without it; the whole 4.2 ms against "
     "2.6 ms for nsenter -a. The command must die with its caller (a tested property) and Python sets that only "
     "through preexec_fn, which makes subprocess fork the 22 MiB Python process instead of vfork: that fork is the "
     "floor above nsenter -a (without it the whole would be about 1.8 ms)."),
    (r"^enter\.become-program", "A healthy set is entered by enter_quick's code (os, ctypes, builtin modules; "
     "ctypes costs about 3 ms): the rest is the `-I -S` Python start, the fork for pid/time and the exec of `true`. "
     "The full program travels compressed and is decompressed only for other targets and failures."),
    (r"^tasks\..*/ping", "Not profiled. A module task pays what ping pays (Ansible's start-up, AnsiballZ packing and a "
     "Python start on the target) plus packing the collection's module_utils into the module's payload and "
     "importing them on the target; the namespace work itself is milliseconds."),
    (r"^tasks\..*/command", "Not profiled. The command module's payload is smaller than the collection module's (which "
     "carries its module_utils), and both pay the same Ansible start-up; the util-linux command itself costs "
     "about 2 ms."),
    (r"^scale\..*last/first", "No create, enter or remove reads /proc/self/mountinfo any more; sets of [uts] or "
     "[ipc] alone are created at the same cost with 1,000 sets present. What grows is the kernel's creation of a "
     "network namespace with 1,000 of them present, and it is noisy: fork + unshare(CLONE_NEWNET) + exit alone "
     "went from 2.6 to 5.4 ms here; removals are below a millisecond, where noise dominates."),
    (r"^scale\.list", "cProfile: namespace_info reads each set's state.json and stats its namespace files and "
     "/run/netns link to report its health (about 50 us per set, half of it opens, stats and JSON, half Python), "
     "on top of the /proc walk and the mountinfo parse (about 15 ms with 1,000 sets), which are lsns's own work; "
     "lsns does not see the sets."),
    (r"^audit\.", "Not profiled. audit.yml runs more than the setup module per host (the namespace_facts probes, the report "
     "on the controller); on 2 CPUs the hosts' Python processes share the same cores."),
)


def why(ratio_id: str) -> str:
    for pattern, text in WHY:
        if re.search(pattern, ratio_id):
            return text
    return "not analysed yet"


def is_headline(entry: Dict[str, Any]) -> bool:
    """The goals the README shows: every goal but the create and remove steps of lifecycle (their sum is shown)."""
    if entry["goal"] is None:
        return False
    return not (entry["id"].startswith("lifecycle.") and ".cycle." not in entry["id"]
                and "remove-pid" not in entry["id"])


def evaluate(ratios: Sequence[Dict[str, Any]], stats: Dict[str, Dict[str, float]]) -> List[Dict[str, Any]]:
    evaluated = []
    for entry in ratios:
        numerator, denominator = stats.get(entry["numerator"]), stats.get(entry["denominator"])
        value: Optional[float] = None
        if numerator and denominator and denominator["median"] > 0:
            value = numerator["median"] / denominator["median"]
        if value is None:
            verdict = "missing"
        elif entry["goal"] is None:
            verdict = "reported"
        else:
            verdict = "met" if value <= entry["goal"] else "not met"
        evaluated.append(dict(entry, value=value, verdict=verdict,
                              why=why(entry["id"]) if verdict == "not met" else ""))
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
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run_all.py, %s mode) on %s; the run took %.0f s. Every figure is the "
        "min/median/max of repeated runs interleaved with its anchor's; every ratio is of medians measured in "
        "the same run." % (environment["mode"], environment["finished"], environment["seconds"]),
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
    lines += ["", "## Benchmarks run", "", "| benchmark | arguments | seconds | exit | load average when it ended |",
              "|---|---|---|---|---|"]
    for run in runs:
        load_average = run.get("load_average")
        load_text = "/".join("%.1f" % value for value in load_average) if load_average else "-"
        arguments = " ".join(run["arguments"])
        lines.append("| %s | `%s` | %.0f | %d | %s |" % (run["name"], arguments, run["seconds"], run["exit"], load_text))
    results = {"environment": environment, "runs": list(runs), "findings": list(findings),
               "figures": [dict(id=f["id"], label=f["label"], **stats.get(f["id"], {})) for f in figures],
               "ratios": evaluated}
    return results, "\n".join(lines) + "\n"
