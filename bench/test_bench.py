"""`make bench` in quick mode (bench/run_all.py --quick): every benchmark runs, RESULTS.md holds every figure
and ratio with its anchor; and the README's benchmark table is the one of bench/RESULTS.md.

The quick run takes minutes on this 2-core machine (the fleets of audit and conformance), more than `make
test` should pay: it runs when LNS_BENCH_SMOKE=1. Needs root (namespaces, mounts and SSH test hosts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import measure, readme_table, results_md

REPOSITORY = Path(__file__).resolve().parents[1]
QUICK_FLEET = 2  # bench/run_all.py's --quick fleet size for audit and conformance

# The ratios issue 15 asks for, by id (bench/measure.py's ratio ids).
REQUIRED_RATIOS = [
    "lifecycle.net.cycle.collection/floor", "lifecycle.net.cycle.collection/ip netns",
    "lifecycle.net.cycle.collection/pyroute2", "lifecycle.net.cycle.collection/unshare",
    "lifecycle.uts-ipc-net.cycle.collection/floor", "lifecycle.uts-ipc-net.cycle.collection/unshare",
    "lifecycle.default.cycle.collection/floor", "lifecycle.default.cycle.collection/unshare",
    "lifecycle.remove-pid/without.collection",
    "enter.module_utils/nsenter--a", "enter.module_utils/ip-netns-exec", "enter.module_utils/C-floor",
    "enter.become-program/python-start",
    "tasks.namespace.create/ping", "tasks.namespace.create/command", "tasks.namespace.remove/ping",
    "tasks.namespace.remove/command", "tasks.nsenter.task/ping", "tasks.nsenter.task/command",
    "tasks.namespace_info.task/ping", "tasks.namespace_info.task/command",
    "scale.list.namespace_info/lsns", "scale.create.last/first", "scale.enter.last/first", "scale.remove.last/first",
    "info.persisted.core/lsns",
    "audit.%d" % QUICK_FLEET,
    "conformance.%d.playbook/direct" % QUICK_FLEET, "conformance.%d.per-host/local" % QUICK_FLEET,
]


@pytest.mark.skipif(os.environ.get("LNS_BENCH_SMOKE") != "1", reason="takes minutes: LNS_BENCH_SMOKE=1 runs it")
def test_quick_bench_writes_every_figure_and_ratio(tmp_path: Path) -> None:
    completed = subprocess.run([sys.executable, "-m", "bench.run_all", "--quick", "--output", str(tmp_path)],
                               cwd=REPOSITORY, capture_output=True, text=True, timeout=900, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results = json.loads((tmp_path / "RESULTS.json").read_text())
    text = (tmp_path / "RESULTS.md").read_text()
    assert all(run["exit"] == 0 for run in results["runs"]), results["runs"]
    ratios = {entry["id"]: entry for entry in results["ratios"]}
    missing = [ratio_id for ratio_id in REQUIRED_RATIOS
               if ratio_id not in ratios or ratios[ratio_id]["verdict"] == "missing"]
    assert not missing, "ratios without a value: %s" % missing
    for entry in results["ratios"]:
        assert entry["label"] in text
    for figure in results["figures"]:
        assert figure["median"] > 0
        assert "| %s |" % figure["label"] in text
    for key in ("kernel", "util-linux", "iproute2", "pyroute2", "ansible-core", "python"):
        assert "| %s | %s |" % (key, results["environment"][key]) in text
    assert "nothing left at the end: yes" in text


def test_readme_table_is_the_one_of_results() -> None:
    assert readme_table.in_step(REPOSITORY / "README.md", REPOSITORY / "bench" / "RESULTS.md")


def test_each_goal_is_judged_on_the_ratio_of_medians() -> None:
    stats = {"ours": {"median": 3.0}, "anchor": {"median": 2.0}}
    judged = results_md.evaluate([
        measure.ratio("over", "over", "ours", "anchor", 1.3),
        measure.ratio("under", "under", "ours", "anchor", 2.0),
        measure.ratio("reported", "reported", "ours", "anchor"),
        measure.ratio("missing", "missing", "ours", "not measured", 2.0),
    ], stats)
    assert [(entry["id"], entry["verdict"]) for entry in judged] == [
        ("over", "not met"), ("under", "met"), ("reported", "reported"), ("missing", "missing")]
    assert judged[0]["value"] == 1.5
    assert judged[0]["why"] and not judged[1]["why"]


def test_a_ratio_per_figures_beside_it_is_divided_by_theirs() -> None:
    # The last hundred 1.5x the first, the store beside them 1.4x: the drift both saw is not counted.
    stats = {"last": {"median": 3.0}, "first": {"median": 2.0}, "last beside": {"median": 2.8},
             "first beside": {"median": 2.0}}
    flat = measure.ratio("flat", "flat", "last", "first", 1.2, per=("last beside", "first beside"))
    bare = measure.ratio("bare", "bare", "last", "first", 1.2)
    judged = results_md.evaluate([flat, bare], stats)
    assert [(entry["id"], entry["verdict"]) for entry in judged] == [("flat", "met"), ("bare", "not met")]
    assert judged[0]["value"] == pytest.approx(1.5 / 1.4)
    missing = measure.ratio("missing", "missing", "last", "first", 1.2, per=("last beside", "not measured"))
    assert results_md.evaluate([missing], stats)[0]["verdict"] == "missing"


def test_an_explanation_is_made_of_the_figures_of_its_run_and_only_for_a_goal_not_met() -> None:
    ids = ["lifecycle.net.%s.%s" % (step, way) for step in ("create", "remove", "cycle") for way in ("collection", "floor")]
    medians = [0.0276, 0.0058, 0.0023, 0.0027, 0.0299, 0.0085]
    ratios = [measure.ratio("lifecycle.net.cycle.collection/floor", "cycle", "lifecycle.net.cycle.collection",
                            "lifecycle.net.cycle.floor", goal, "") for goal in (2.0, 4.0)]
    judged = results_md.evaluate(ratios, dict((i, {"median": m}) for i, m in zip(ids, medians)))
    assert [entry["verdict"] for entry in judged] == ["not met", "met"]
    assert "create 27.60 ms against 5.80 ms" in judged[0]["why"]
    assert "remove 2.30 ms against 2.70 ms" in judged[0]["why"]
    assert judged[1]["why"] == ""
    environment = {"load_average_start": (0.1, 0.1, 0.1), "load_average_end": (0.1, 0.1, 0.1), "mode": "full",
                   "finished": "now", "seconds": 1.0, "machine": "x86_64, cpu, 2 CPUs, 1 MiB"}
    environment.update((key, key) for key in ("kernel", "python", "ansible-core", "util-linux", "iproute2",
                                              "pyroute2", "cc"))
    figures = [measure.figure(i, i, [m]) for i, m in zip(ids, medians)]
    for goal, shown in ((2.0, True), (4.0, False)):
        ratio = measure.ratio("lifecycle.net.cycle.collection/floor", "cycle", "lifecycle.net.cycle.collection",
                              "lifecycle.net.cycle.floor", goal, "")
        text = results_md.render(environment, [], figures, [ratio], [])[1]
        assert ("create 27.60 ms against 5.80 ms" in text) == shown
