"""The whole conformance kit: on this host (local://), over 5 and 20 SSH hosts with compat_report.yml (the
role runs the kit on each host itself), and over the same 5 hosts with testinfra's ssh:// backend driving
the kit from here; wall times and SSH round trips per host, side by side in one run.

Run as root from the repository root: `.venv/bin/python -m bench.bench_conformance [--repeats N] [--sizes 5,20]`.

One fleet of the largest size is built (tests/fleet); smaller sizes use its first hosts (--limit). Round
trips are counted as SSH sessions: every `ssh`, `sftp` and `scp` process Ansible or testinfra starts goes
through a logging wrapper put first on PATH, and is attributed to the host it names. Over ControlMaster
each session is at least one exchange with the host. A floor for "one round trip per check" is measured
too: as many `true` commands over testinfra's ssh:// backend as the kit has results per host. Prints a
table and ratios, writes bench/results/conformance-*.json; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import testinfra

from tests.fleet import Fleet, random_prefix

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SSH_TOOLS = ("ssh", "sftp", "scp")
WRAPPER = '#!/bin/sh\nprintf "%%s\\n" "$*" >> "$LNS_SSH_LOG"\nexec %s "$@"\n'


class SessionCounter:
    """A PATH directory whose ssh, sftp and scp log their arguments, then run the real program."""

    def __init__(self, workdir: pathlib.Path):
        self.directory = workdir / "ssh-wrappers"
        self.directory.mkdir()
        for tool in SSH_TOOLS:
            real = shutil.which(tool)
            if real is None:
                raise SystemExit("%s not found: install openssh-client" % tool)
            wrapper = self.directory / tool
            wrapper.write_text(WRAPPER % real)
            wrapper.chmod(0o755)
        self.log = workdir / "ssh-sessions.log"

    def env(self, base: dict) -> dict:
        self.log.write_text("")
        return dict(base, PATH="%s%s%s" % (self.directory, os.pathsep, base.get("PATH", "")), LNS_SSH_LOG=str(self.log))

    def per_host(self, fleet: Fleet, hosts: list) -> dict:
        """Sessions per host name since env() was called (a host is named by its name or address)."""
        aliases = {}
        for host in hosts:
            for alias in (host.name, host.address, "[%s]" % host.address, "root@%s" % host.address):
                aliases[alias] = host.name
        counts = dict((host.name, 0) for host in hosts)
        for line in self.log.read_text().splitlines():
            named = {aliases[word] for word in line.split() if word in aliases}
            if len(named) == 1:
                counts[named.pop()] += 1
        return counts


def ansible_env() -> dict:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="false")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".ansible" / "collections"))
    return env


def timed(command: list, env: dict, ok_codes=(0,)) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode not in ok_codes:
        raise SystemExit("failed (%d): %s\n%s" % (completed.returncode, " ".join(command), completed.stdout[-4000:]))
    return elapsed


def kit_command(report_dir: pathlib.Path, *target: str) -> list:
    return [sys.executable, "-m", "pytest", str(REPO_ROOT / "conformance"), *target, "-p", "no:cacheprovider", "-q",
            "--lns-report-dir", str(report_dir)]


def kit_results(report_dir: pathlib.Path) -> dict:
    return dict((path.stem, json.loads(path.read_text())) for path in report_dir.glob("*.json"))


def run_local(workdir: pathlib.Path, prefix: str) -> dict:
    report_dir = workdir / "local"
    seconds = timed(kit_command(report_dir, "--hosts=local://"), dict(ansible_env(), LNS_TEST_PREFIX=prefix), (0, 1))
    result = kit_results(report_dir)["local"]
    return {"seconds": seconds, "results": len(result["results"]), "kit_round_trips": result["round_trips"]}


def run_direct(fleet: Fleet, size: int, counter: SessionCounter, workdir: pathlib.Path, prefix: str) -> dict:
    """The kit from here over testinfra's ssh:// backend (the collection's set via the ansible command)."""
    hosts = fleet.hosts[:size]
    report_dir = workdir / ("direct-%d" % size)
    command = kit_command(report_dir, "--hosts=" + ",".join("ssh://%s" % host.name for host in hosts),
                          "--ssh-config=%s" % fleet.ssh_config_path, "--lns-parallel=%d" % size)
    seconds = timed(command, counter.env(dict(ansible_env(), LNS_TEST_PREFIX=prefix)), (0, 1))
    results = kit_results(report_dir)
    return {"hosts": size, "seconds": seconds, "sessions_per_host": counter.per_host(fleet, hosts),
            "kit_round_trips": dict((name, doc["round_trips"]) for name, doc in sorted(results.items())),
            "results_per_host": max(len(doc["results"]) for doc in results.values())}


def run_playbook(fleet: Fleet, size: int, counter: SessionCounter, workdir: pathlib.Path, prefix: str) -> dict:
    """compat_report.yml: the role ships the kit and runs it on each host with the local backend."""
    hosts = fleet.hosts[:size]
    command = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "linux.namespaces.compat_report",
               "-i", str(fleet.inventory_path), "--limit", ",".join(host.name for host in hosts), "-f", str(size),
               "-e", json.dumps({"conformance_report_dir": str(workdir / ("reports-%d" % size)),
                                 "conformance_prefix": prefix})]
    seconds = timed(command, counter.env(ansible_env()))
    report = json.loads((workdir / ("reports-%d" % size) / "compat-report.json").read_text())
    return {"hosts": size, "seconds": seconds, "sessions_per_host": counter.per_host(fleet, hosts),
            "totals": report["totals"], "kernels": [k["kernel"] for k in report["kernels"]]}


def run_floor(fleet: Fleet, size: int, checks: int, counter: SessionCounter) -> dict:
    """One ssh:// round trip per check: `true`, `checks` times per host, hosts in parallel."""
    hosts = fleet.hosts[:size]
    env = counter.env(dict(os.environ))
    saved = dict((key, os.environ.get(key)) for key in ("PATH", "LNS_SSH_LOG"))
    os.environ.update(PATH=env["PATH"], LNS_SSH_LOG=env["LNS_SSH_LOG"])  # testinfra runs ssh from this process
    try:
        targets = [testinfra.get_host("ssh://%s" % host.name, ssh_config=str(fleet.ssh_config_path)) for host in hosts]
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=size) as pool:
            list(pool.map(lambda target: [target.run("true") for _check in range(checks)], targets))
        seconds = time.perf_counter() - start
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"hosts": size, "checks_per_host": checks, "seconds": seconds,
            "sessions_per_host": counter.per_host(fleet, hosts)}


def spread(per_host: dict) -> str:
    values = sorted(per_host.values())
    return str(values[0]) if values[0] == values[-1] else "%d-%d" % (values[0], values[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--sizes", default="5,20", help="fleet sizes for compat_report.yml; the first one also "
                                                        "for the direct ssh:// run and the floor")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    prefix = random_prefix("lnsb")
    runs: dict = {"local": [], "direct": [], "floor": []}
    runs.update(("playbook-%d" % size, []) for size in sizes)
    with tempfile.TemporaryDirectory(prefix="lns-bench-conformance-") as temporary:
        workdir = pathlib.Path(temporary)
        counter = SessionCounter(workdir)
        with Fleet(prefix + "f", max(sizes), workdir) as fleet:
            for attempt in range(args.repeats):  # alternate, so every method sees the same machine load
                run_dir = workdir / ("run-%d" % attempt)
                run_dir.mkdir()
                runs["local"].append(run_local(run_dir, prefix + "l"))
                for size in sizes:
                    runs["playbook-%d" % size].append(run_playbook(fleet, size, counter, run_dir, prefix + "c"))
                runs["direct"].append(run_direct(fleet, sizes[0], counter, run_dir, prefix + "d"))
                runs["floor"].append(run_floor(fleet, sizes[0], runs["direct"][-1]["results_per_host"], counter))
    median = dict((name, statistics.median(run["seconds"] for run in measured)) for name, measured in runs.items())
    print("%-46s %6s %10s %16s" % ("method", "hosts", "wall (s)", "ssh sessions/host"))
    print("%-46s %6d %10.1f %16s" % ("kit, local:// on this machine", 1, median["local"], "0"))
    for size in sizes:
        print("%-46s %6d %10.1f %16s" % ("compat_report.yml (kit on each host)", size, median["playbook-%d" % size],
                                         spread(runs["playbook-%d" % size][-1]["sessions_per_host"])))
    print("%-46s %6d %10.1f %16s" % ("kit over testinfra ssh:// from here", sizes[0], median["direct"],
                                     spread(runs["direct"][-1]["sessions_per_host"])))
    print("%-46s %6d %10.1f %16s" % ("floor: 1 ssh:// round trip per check (%d checks)"
                                     % runs["floor"][-1]["checks_per_host"], sizes[0], median["floor"],
                                     spread(runs["floor"][-1]["sessions_per_host"])))
    ratios = {"playbook_%d_over_direct_%d" % (sizes[0], sizes[0]): median["playbook-%d" % sizes[0]] / median["direct"],
              "playbook_%d_over_floor_%d" % (sizes[0], sizes[0]): median["playbook-%d" % sizes[0]] / median["floor"],
              "playbook_%d_over_local" % sizes[0]: median["playbook-%d" % sizes[0]] / median["local"]}
    if len(sizes) > 1:
        ratios["playbook_%d_over_playbook_%d" % (sizes[-1], sizes[0])] = (
            median["playbook-%d" % sizes[-1]] / median["playbook-%d" % sizes[0]])
    for name, value in ratios.items():
        print("ratio %-40s %6.2f" % (name, value))
    out_dir = REPO_ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = out_dir / ("conformance-%s.json" % stamp)
    out.write_text(json.dumps({"benchmark": "conformance kit: local, compat_report.yml, ssh:// direct, floor",
                               "kernel": os.uname().release, "cpus": os.cpu_count(), "repeats": args.repeats,
                               "median_seconds": median, "ratios": ratios, "runs": runs}, indent=2) + "\n")
    print("written:", out.relative_to(REPO_ROOT))


if __name__ == "__main__":
    main()
