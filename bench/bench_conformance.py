"""The whole conformance kit: on this host (local://), over 5 and 20 SSH hosts with compat_report.yml (the
role runs the kit on each host itself), and over the same 5 hosts with testinfra's ssh:// backend driving
the kit from here; wall times and SSH round trips per host, side by side in one run.

Run as root from the repository root:
`.venv/bin/python -m bench.bench_conformance [--repeats N] [--sizes 5,20] [--delay-ms 25]`.

One fleet of the largest size is built (tests/fleet); smaller sizes use its first hosts (--limit). Round
trips are counted as SSH sessions: every `ssh`, `sftp` and `scp` process Ansible or testinfra starts goes
through a logging wrapper put first on PATH, and is attributed to the host it names; over ControlMaster
each session is at least one exchange with the host. As the counterfactual, one round trip per check is
measured too (the floor of that design: as many `true` commands over testinfra's ssh:// backend as the
kit has results per host). The fleet's bridge has next to no latency, so the smallest size is measured a
second time through a ProxyCommand that delays each way by --delay-ms (bench/ssh_delay.py), a network with
a round-trip time. Round 0 warms up and is not counted. Prints a table and ratios of medians, writes
bench/results/conformance-*.json; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing
from concurrent.futures import ThreadPoolExecutor

import testinfra

from bench.common import REPO, ansible_env, write_results
from tests.fleet import Fleet, SessionCounter, random_prefix


class Network(typing.NamedTuple):
    """How the fleet is reached: an ssh_config, an inventory that uses it, and its own control sockets."""
    name: str
    ssh_config: pathlib.Path
    inventory: pathlib.Path
    control_dir: typing.Optional[pathlib.Path] = None


def delayed_network(fleet: Fleet, workdir: pathlib.Path, delay_ms: int) -> Network:
    """The fleet's ssh_config and inventory, through bench/ssh_delay.py and with control sockets of their own."""
    # Control sockets need a short path (sun_path is 108 bytes): /tmp, as the fleet's own; removed by close().
    control_dir = pathlib.Path(tempfile.mkdtemp(prefix=fleet.prefix + "-d-", dir="/tmp"))
    config = fleet.ssh_config_path.read_text().replace(
        "ControlPath %s/" % fleet.control_dir, "ControlPath %s/" % control_dir).replace(
        "    User root\n", "    User root\n    ProxyCommand %s %s %%h %%p %d\n" % (
            sys.executable, REPO / "bench" / "ssh_delay.py", delay_ms), 1)
    ssh_config = workdir / "ssh_config.delayed"
    ssh_config.write_text(config)
    inventory = workdir / "inventory.delayed.ini"
    inventory.write_text(fleet.inventory_path.read_text().replace(str(fleet.ssh_config_path), str(ssh_config)))
    return Network("rtt %d ms" % (2 * delay_ms), ssh_config, inventory, control_dir)


def close(network: Network, fleet: Fleet) -> None:
    """End the network's ssh control masters (and with them their relays), remove its control sockets."""
    for host in fleet.hosts:
        subprocess.run(["ssh", "-F", str(network.ssh_config), "-O", "exit", host.name],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    if network.control_dir is not None:
        shutil.rmtree(network.control_dir, ignore_errors=True)


def timed(command: list, env: dict, ok_codes=(0,)) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode not in ok_codes:
        raise SystemExit("failed (%d): %s\n%s" % (completed.returncode, " ".join(command), completed.stdout[-4000:]))
    return elapsed


def kit_command(report_dir: pathlib.Path, *target: str) -> list:
    return [sys.executable, "-m", "pytest", str(REPO / "conformance"), *target, "-p", "no:cacheprovider", "-q",
            "--lns-report-dir", str(report_dir)]


def kit_results(report_dir: pathlib.Path) -> dict:
    return dict((path.stem, json.loads(path.read_text())) for path in report_dir.glob("*.json"))


def run_local(workdir: pathlib.Path, prefix: str) -> dict:
    report_dir = workdir / "local"
    seconds = timed(kit_command(report_dir, "--hosts=local://"), dict(ansible_env(ANSIBLE_HOST_KEY_CHECKING="false"), LNS_TEST_PREFIX=prefix), (0, 1))
    result = kit_results(report_dir)["local"]
    return {"seconds": seconds, "results": len(result["results"]), "kit_round_trips": result["round_trips"]}


def run_playbook(fleet: Fleet, network: Network, size: int, counter: SessionCounter, workdir: pathlib.Path,
                 prefix: str) -> dict:
    """compat_report.yml: the role ships the kit and runs it on each host with the local backend."""
    hosts = fleet.hosts[:size]
    report_dir = workdir / ("reports-%d-%s" % (size, network.name.replace(" ", "")))
    command = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "linux.namespaces.compat_report",
               "-i", str(network.inventory), "--limit", ",".join(host.name for host in hosts), "-f", str(size),
               "-e", json.dumps({"conformance_report_dir": str(report_dir), "conformance_prefix": prefix})]
    seconds = timed(command, counter.env(ansible_env(ANSIBLE_HOST_KEY_CHECKING="false")))
    report = json.loads((report_dir / "compat-report.json").read_text())
    return {"hosts": size, "seconds": seconds, "sessions_per_host": counter.per_host(hosts),
            "totals": report["totals"], "kernels": [k["kernel"] for k in report["kernels"]]}


def run_direct(fleet: Fleet, network: Network, size: int, counter: SessionCounter, workdir: pathlib.Path,
               prefix: str) -> dict:
    """The kit from here over testinfra's ssh:// backend (the collection's set via the ansible command)."""
    hosts = fleet.hosts[:size]
    report_dir = workdir / ("direct-%d-%s" % (size, network.name.replace(" ", "")))
    command = kit_command(report_dir, "--hosts=" + ",".join("ssh://%s" % host.name for host in hosts),
                          "--ssh-config=%s" % network.ssh_config, "--lns-parallel=%d" % size)
    seconds = timed(command, counter.env(dict(ansible_env(ANSIBLE_HOST_KEY_CHECKING="false"), LNS_TEST_PREFIX=prefix)), (0, 1))
    results = kit_results(report_dir)
    return {"hosts": size, "seconds": seconds, "sessions_per_host": counter.per_host(hosts),
            "kit_round_trips": dict((name, doc["round_trips"]) for name, doc in sorted(results.items())),
            "results_per_host": max(len(doc["results"]) for doc in results.values())}


def run_floor(fleet: Fleet, network: Network, size: int, checks: int, counter: SessionCounter) -> dict:
    """One ssh:// round trip per check: `true`, `checks` times per host, hosts in parallel."""
    hosts = fleet.hosts[:size]
    env = counter.env(os.environ)
    saved = dict((key, os.environ.get(key)) for key in ("PATH", "LNS_SSH_LOG"))
    os.environ.update(PATH=env["PATH"], LNS_SSH_LOG=env["LNS_SSH_LOG"])  # testinfra runs ssh from this process
    try:
        targets = [testinfra.get_host("ssh://%s" % host.name, ssh_config=str(network.ssh_config)) for host in hosts]
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
    return {"hosts": size, "checks_per_host": checks, "seconds": seconds, "sessions_per_host": counter.per_host(hosts)}


def measure_round(fleet: Fleet, networks: list, sizes: list, counter: SessionCounter, run_dir: pathlib.Path,
                  prefix: str) -> dict:
    """Every method once: local, then per network the playbook, the direct kit and the floor."""
    measured = {"kit, local:// on this machine": run_local(run_dir, prefix + "l")}
    for network in networks:
        for size in sizes if network is networks[0] else sizes[:1]:
            measured["playbook %d, %s" % (size, network.name)] = run_playbook(
                fleet, network, size, counter, run_dir, prefix + "c")
        direct = run_direct(fleet, network, sizes[0], counter, run_dir, prefix + "d")
        measured["direct %d, %s" % (sizes[0], network.name)] = direct
        measured["floor %d, %s" % (sizes[0], network.name)] = run_floor(
            fleet, network, sizes[0], direct["results_per_host"], counter)
    return measured


def spread(per_host: dict) -> str:
    values = sorted(per_host.values())
    return str(values[0]) if values[0] == values[-1] else "%d-%d" % (values[0], values[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="5,20", help="fleet sizes for compat_report.yml; the first one also "
                                                        "for the direct ssh:// run, the floor and the delayed network")
    parser.add_argument("--delay-ms", type=int, default=25, help="added each way on the delayed network")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    prefix = random_prefix("lnsb")
    runs: dict = {}
    with tempfile.TemporaryDirectory(prefix="lns-bench-conformance-") as temporary:
        workdir = pathlib.Path(temporary)
        counter = SessionCounter(workdir)
        # sshd of 50 hosts starting on 2 busy CPUs needs more than the fleet's default 20 s
        with Fleet(prefix + "f", max(sizes), workdir, start_timeout=20.0 + max(sizes)) as fleet:
            networks = [Network("bridge", fleet.ssh_config_path, fleet.inventory_path)]
            try:
                networks.append(delayed_network(fleet, workdir, args.delay_ms))
                for attempt in range(args.repeats + 1):
                    run_dir = workdir / ("run-%d" % attempt)
                    run_dir.mkdir()
                    measured = measure_round(fleet, networks, sizes, counter, run_dir, prefix)
                    for name, run in measured.items() if attempt else ():
                        runs.setdefault(name, []).append(run)
            finally:
                for network in networks[1:]:
                    close(network, fleet)
    median = dict((name, statistics.median(run["seconds"] for run in measured)) for name, measured in runs.items())
    checks = runs["floor %d, bridge" % sizes[0]][-1]["checks_per_host"]
    print("%-44s %10s %18s" % ("method (hosts, network)", "wall (s)", "ssh sessions/host"))
    for name, measured in runs.items():
        label = name.replace("floor", "floor: 1 ssh:// round trip per check (%d)" % checks, 1)
        label = label.replace("direct", "kit over testinfra ssh:// from here", 1)
        label = label.replace("playbook", "compat_report.yml, kit on each host", 1)
        print("%-62s %8.1f %10s" % (label, median[name], spread(measured[-1].get("sessions_per_host", {"": 0}))))
    ratios = {}
    for network in networks:
        playbook = median["playbook %d, %s" % (sizes[0], network.name)]
        ratios["playbook/direct (%s)" % network.name] = playbook / median["direct %d, %s" % (sizes[0], network.name)]
        ratios["playbook/floor (%s)" % network.name] = playbook / median["floor %d, %s" % (sizes[0], network.name)]
    local = median["kit, local:// on this machine"]
    ratios["playbook %d/local" % sizes[0]] = median["playbook %d, bridge" % sizes[0]] / local
    if len(sizes) > 1:
        ratios["playbook %d/playbook %d" % (sizes[-1], sizes[0])] = (
            median["playbook %d, bridge" % sizes[-1]] / median["playbook %d, bridge" % sizes[0]])
    for name, value in ratios.items():
        print("ratio %-36s %6.2f" % (name, value))
    write_results("conformance", {"benchmark": "conformance kit: local, compat_report.yml, ssh:// direct, floor",
                                  "repeats": args.repeats, "delay_ms_each_way": args.delay_ms,
                                  "median_seconds": median, "ratios": ratios, "runs": runs})


if __name__ == "__main__":
    main()
