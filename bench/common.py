"""What the benchmarks share: where things are, Ansible's environment, the results file (cleanup on signals:
tests.fleet.ssh_hosts.unwind_on_signals).

Benchmarks run as modules from the repository root (`.venv/bin/python -m bench.NAME`), so `tests.fleet`
and this module import.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from pathlib import Path
from typing import Any, Dict, Tuple

from tests.fleet import run_prefix
from tests.fleet.ssh_hosts import unwind_on_signals

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".ansible" / "collections"  # where `make collection` links the repository
# LNS_BENCH_RESULTS: where bench/run_all.py wants one run's JSON files (a temporary directory in quick mode).
RESULTS = Path(os.environ.get("LNS_BENCH_RESULTS") or REPO / "bench" / "results")


def ansible_env(**extra: str) -> Dict[str, str]:
    """The environment for Ansible programs: no colour, this collection visible."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", **extra)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))
    return env


def write_results(name: str, results: Dict[str, Any]) -> Path:
    """results as bench/results/NAME-STAMP.json, with the kernel and the load it was measured under."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / ("%s-%s.json" % (name, stamp))
    context = {"kernel": os.uname().release, "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    path.write_text(json.dumps(dict(context, **results), indent=1) + "\n")
    print("written:", path)
    return path


def benchmark_parser(description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)


def start_as_root(parser: argparse.ArgumentParser) -> Tuple[argparse.Namespace, str]:
    """The parsed options and the run's prefix, once it is sure the benchmark runs as root (it makes namespaces
    and mounts) and that a signal unwinds it through its cleanup."""
    options = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("run as root: namespaces and mounts are made")
    unwind_on_signals()
    return options, run_prefix()
