"""`make bench`: every benchmark in one run, gathered into bench/RESULTS.md and bench/RESULTS.json.

Run as root from the repository root: `.venv/bin/python -m bench.run_all [--quick] [--output DIR] [--only NAME...]`.

Each benchmark runs as its own process (`python -m bench.NAME`) with the counts below, writes its JSON
into a directory of this run (LNS_BENCH_RESULTS), and shares the run's prefix (LNS_TEST_PREFIX), so
everything it makes is named alike. --quick runs each with tiny counts (a smoke run; its figures mean
nothing). --reuse NAME takes NAME's newest JSON in bench/results instead of running it again (marked so in
RESULTS.md), to re-run only what failed. A benchmark that fails is reported as a finding and the others still run. On Ctrl-C or SIGTERM
the running benchmark is interrupted too and cleans up, and the results so far are written, the
interruption among the findings. Without --output, the full run
writes bench/RESULTS.md and RESULTS.json and rewrites the README's benchmark table from RESULTS.md; a quick
run writes into bench/results/quick (not tracked).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench import readme_table
from bench.common import REPO, RESULTS
from bench.environment import describe
from bench.gather import from_info
from bench.results_md import render
from tests.fleet import run_prefix
from tests.fleet.ssh_hosts import unwind_on_signals

# name, module, arguments of the full run, arguments of --quick, and the seconds the full run is planned to take
# on this 2-core machine: the counts are chosen so that the plan, PLANNED_TOTAL, stays under the 20 minutes of
# issue 15 with room for the C floor's build and the fleets' start. Single runs are kept for the sizes where one
# run takes minutes (audit at 50 hosts, conformance above 10 hosts); RESULTS.md shows the counts of the run.
BENCHMARKS: Tuple[Tuple[str, str, List[str], List[str], int], ...] = (
    ("lifecycle", "bench.bench_lifecycle", ["--rounds", "30"], ["--rounds", "1"], 60),
    ("nsenter", "bench.bench_nsenter", ["--rounds", "100", "--module-rounds", "5"],
     ["--rounds", "2", "--module-rounds", "1"], 60),
    ("scale", "bench.bench_scale", ["--count", "1000", "--list-rounds", "5"], ["--count", "20", "--list-rounds", "1"],
     150),
    ("info", "bench.bench_info", ["--count", "1000", "--rounds", "10"], ["--count", "5", "--rounds", "1"], 120),
    ("tasks", "bench.bench_tasks", ["--rounds", "5"], ["--rounds", "1", "--warmup", "0"], 90),
    ("audit", "bench.bench_audit", ["--sizes", "5,20,50", "--repeats", "3", "--big-repeats", "1"],
     ["--sizes", "2", "--repeats", "1"], 150),
    ("conformance", "bench.bench_conformance", ["--sizes", "5,20,50", "--repeats", "2", "--big-repeats", "1"],
     ["--sizes", "2", "--repeats", "1"], 540),
)
PLANNED_TOTAL = sum(benchmark[4] for benchmark in BENCHMARKS)
BUDGET = 20 * 60  # seconds: issue 15's limit for the full run
GATHER = {"info": from_info}


def run_one(module: str, arguments: Sequence[str], env: Dict[str, str]) -> int:
    """The benchmark as a child; on KeyboardInterrupt here, SIGINT to it and wait for its cleanup. It runs in
    a session of its own, so a Ctrl-C at the terminal reaches it once (from here), not twice."""
    child = subprocess.Popen([sys.executable, "-m", module, *arguments], cwd=REPO, env=env, start_new_session=True)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        child.wait()
        raise


def newest(directory: Path, name: str, since: float) -> Optional[Path]:
    found = [path for path in directory.glob(name + "-*.json") if path.stat().st_mtime >= since]
    return max(found, key=lambda path: path.stat().st_mtime) if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke run")
    parser.add_argument("--output", type=Path,
                        help="where RESULTS.md and RESULTS.json go (default: bench/, and the README's table is "
                             "rewritten; with --quick bench/results/quick)")
    parser.add_argument("--only", nargs="+", choices=[b[0] for b in BENCHMARKS], help="run only these")
    parser.add_argument("--reuse", nargs="+", choices=[b[0] for b in BENCHMARKS], default=[],
                        help="do not run these: take each one's newest JSON from bench/results (an earlier run)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmarks make namespaces, mounts and test hosts")
    unwind_on_signals()
    official = args.output is None and not args.quick  # the run RESULTS.md and the README show
    output = args.output or (RESULTS / "quick" if args.quick else REPO / "bench")
    output.mkdir(parents=True, exist_ok=True)
    raw = RESULTS if official else Path(tempfile.mkdtemp(prefix="raw-", dir=output))
    raw.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LNS_TEST_PREFIX=run_prefix(), LNS_BENCH_RESULTS=str(raw))
    started = time.time()
    environment = describe()
    figures: List[Dict[str, Any]] = []
    ratios: List[Dict[str, Any]] = []
    findings: List[Dict[str, str]] = []
    runs = []
    interrupted = None
    for name, module, full, quick, planned in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        began = time.time()
        if name in args.reuse:
            path = newest(RESULTS, name, 0)
            code = 0 if path else 1
            runs.append({"name": name, "arguments": ["reused: %s" % (path.name if path else "none found")],
                         "exit": code, "seconds": 0, "planned_seconds": planned})
        else:
            print("== bench %s" % name, flush=True)
            try:
                code = run_one(module, quick if args.quick else full, env)
            except KeyboardInterrupt:
                interrupted = name
                code = 130
            runs.append({"name": name, "arguments": quick if args.quick else full, "exit": code,
                         "seconds": time.time() - began, "planned_seconds": None if args.quick else planned})
            if interrupted:
                findings.append({"benchmark": name, "text": "interrupted: the figures of this and every later "
                                                            "benchmark are missing"})
                break
            path = newest(raw, name, began)
        if name in args.reuse and path is None:
            findings.append({"benchmark": name, "text": "no figures: not run in this run, and no earlier run of it "
                                                        "finished (nothing to reuse in bench/results)"})
            continue
        if code != 0 or path is None:
            findings.append({"benchmark": name, "text": "the benchmark failed (exit %d); its figures are missing" % code})
            continue
        document = json.loads(path.read_text())
        runs[-1]["load_average"] = document.get("load_average")  # when it wrote its results
        try:
            if name in GATHER:
                document = dict(document, **GATHER[name](document))
            figures += document["figures"]
            ratios += document["ratios"]
        except (KeyError, TypeError, ValueError) as exc:  # a benchmark whose JSON changed shape
            findings.append({"benchmark": name, "text": "its results could not be read (%r); see %s" % (exc, path)})
            continue
        findings += [{"benchmark": name, "text": text} for text in document.get("findings", [])]
    environment["load_average_end"] = os.getloadavg()
    environment["seconds"] = time.time() - started
    environment["mode"] = "quick" if args.quick else "full"
    environment["planned_seconds"] = None if args.quick else PLANNED_TOTAL
    environment["budget_seconds"] = BUDGET
    if not args.quick and not args.only and not args.reuse and environment["seconds"] > BUDGET:
        findings.append({"benchmark": "make bench", "text": "the run took %.0f s, more than the %d s of issue 15 "
                                                            "(planned: %d s; see each benchmark's seconds below)" % (
                                                                environment["seconds"], BUDGET, PLANNED_TOTAL)})
    environment["finished"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results, text = render(environment, runs, figures, ratios, findings)
    (output / "RESULTS.json").write_text(json.dumps(results, indent=1) + "\n")
    (output / "RESULTS.md").write_text(text)
    print("written: %s, %s" % (output / "RESULTS.md", output / "RESULTS.json"))
    if official:
        readme_table.update(REPO / "README.md", output / "RESULTS.md")
    if interrupted:
        return 130
    return 0 if all(run["exit"] == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
