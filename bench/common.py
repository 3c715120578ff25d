"""What the benchmarks share: where things are, Ansible's environment, the results file, timing a command that
is interrupted cleanly, warming a fleet's ssh connections (cleanup on signals: tests.fleet.ssh_hosts.unwind_on_signals).

Benchmarks run as modules from the repository root (`.venv/bin/python -m bench.NAME`), so `tests.fleet`
and this module import.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Mapping, Sequence, Tuple

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


def timed(command: Sequence[str], env: Mapping[str, str], ok_codes: Sequence[int] = (0,)) -> float:
    """Wall seconds of command, run from the repository root; SystemExit with its output's tail if its exit status
    is not in ok_codes. It runs in a process group of its own: on KeyboardInterrupt (Ctrl-C, SIGTERM: see
    start_as_root) the whole group (ansible-playbook and its forks, pytest and its ansible calls) gets SIGINT and
    10 s to end, then SIGKILL, before the interruption goes on to the caller's cleanup."""
    started = time.perf_counter()
    child = subprocess.Popen(list(command), env=dict(env), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, start_new_session=True)
    try:
        output, _unused = child.communicate()
    except KeyboardInterrupt:
        signal_group(child.pid, signal.SIGINT)
        try:
            child.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            signal_group(child.pid, signal.SIGKILL)
            child.communicate()
        raise
    elapsed = time.perf_counter() - started
    if child.returncode not in ok_codes:
        raise SystemExit("failed (%d): %s\n%s" % (child.returncode, " ".join(command), output[-4000:]))
    return elapsed


def signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has ended already
        os.killpg(group, signum)


def open_control_masters(ssh_config: Path, names: Sequence[str]) -> None:
    """An ssh control master to each host (the fleet's ssh_config keeps it 60 s), so that no measured run pays
    for opening the connections of the hosts it is the first to reach."""
    openers = [subprocess.Popen(["ssh", "-F", str(ssh_config), name, "true"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name in names]
    for opener in openers:
        opener.wait()


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
