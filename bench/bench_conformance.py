"""compat_report.yml (the conformance role runs the kit on each host) against the kit run from here over
testinfra's ssh:// backend, over 5, 20 and 50 SSH test hosts: wall time, cost per host, SSH sessions per host;
and the kit on this host (local://) as the cost of one host alone.

Run as root from the repository root:
`.venv/bin/python -m bench.bench_conformance [--sizes 5,20,50] [--repeats 3] [--big-repeats 1] [--floor]
[--delay-ms 25]`.

One fleet of the largest size is built (tests/fleet); a smaller size uses its first hosts (--limit, or their
ssh:// targets). Before a size is measured an ssh control master is opened to each of its hosts, and the kit
runs once unmeasured on this host (the controller compiles it), so neither is in a figure.
At each size the playbook and the direct run alternate in a random order, REPEATS times (BIG_REPEATS above 10
hosts, where one run takes a minute or more), so both see the same machine load; ratios are of medians. Both run the
whole kit (every property, subjects reference and collection) with every host in parallel (-f N,
--lns-parallel N). SSH sessions are counted per host: every `ssh`, `sftp` and `scp` either starts goes through
a logging wrapper (tests.fleet.SessionCounter).

Two more measurements, off unless asked for: --floor, at the smallest size, one round trip per check (as many
`true` commands over testinfra's ssh:// backend as the kit has results per host: the design the kit avoids);
--delay-ms N, the smallest size again through a ProxyCommand that delays each way by N ms (bench/ssh_delay.py),
a network with a round-trip time (the fleet's bridge has next to none).

Writes bench/results/conformance-*.json (figures, ratios, findings: bench/measure.py); asserts nothing about time.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing
from concurrent.futures import ThreadPoolExecutor

import testinfra

from bench.common import (REPO, ansible_env, benchmark_parser, open_control_masters, start_as_root, timed,
                          write_results)
from bench.measure import figure, ratio
from tests.fleet import Fleet, SessionCounter, next_fleet_prefix

BIG = 10  # sizes above this many hosts are measured --big-repeats times (one run takes a minute or more)


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


def kit_command(report_dir: pathlib.Path, *target: str) -> list:
    return [sys.executable, "-m", "pytest", str(REPO / "conformance"), *target, "-p", "no:cacheprovider", "-q",
            "--lns-report-dir", str(report_dir)]


def kit_results(report_dir: pathlib.Path) -> dict:
    return dict((path.stem, json.loads(path.read_text())) for path in report_dir.glob("*.json"))


class Runs:
    """Each way of running the kit over the fleet, timed; what each run makes on the controller is under workdir
    (TMPDIR too: the role's bundle directory), so an interrupted run leaves nothing outside it."""

    def __init__(self, fleet: Fleet, workdir: pathlib.Path, prefix: str):
        self.fleet = fleet
        self.workdir = workdir
        self.prefix = prefix
        self.counter = SessionCounter(workdir)
        self.number = 0

    def env(self, prefix: str) -> dict:
        return self.counter.env(ansible_env(ANSIBLE_HOST_KEY_CHECKING="false", TMPDIR=str(self.workdir),
                                            LNS_TEST_PREFIX=prefix))

    def report_dir(self, way: str) -> pathlib.Path:
        self.number += 1
        return self.workdir / ("%s-%d" % (way, self.number))

    def local(self) -> dict:
        report_dir = self.report_dir("local")
        seconds = timed(kit_command(report_dir, "--hosts=local://"), self.env(self.prefix + "l"), (0, 1))
        return {"seconds": seconds, "results": len(kit_results(report_dir)["local"]["results"])}

    def playbook(self, network: Network, size: int) -> dict:
        hosts = self.fleet.hosts[:size]
        report_dir = self.report_dir("playbook")
        command = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "linux.namespaces.compat_report",
                   "-i", str(network.inventory), "--limit", ",".join(host.name for host in hosts), "-f", str(size),
                   "-e", json.dumps({"conformance_report_dir": str(report_dir),
                                     "conformance_prefix": self.prefix + "c"})]
        seconds = timed(command, self.env(self.prefix + "c"))
        report = json.loads((report_dir / "compat-report.json").read_text())
        return {"seconds": seconds, "sessions_per_host": self.counter.per_host(hosts), "counts": report["counts"]}

    def direct(self, network: Network, size: int) -> dict:
        hosts = self.fleet.hosts[:size]
        report_dir = self.report_dir("direct")
        command = kit_command(report_dir, "--hosts=" + ",".join("ssh://%s" % host.name for host in hosts),
                              "--ssh-config=%s" % network.ssh_config, "--lns-parallel=%d" % size)
        seconds = timed(command, self.env(self.prefix + "d"), (0, 1))
        results = kit_results(report_dir)
        return {"seconds": seconds, "sessions_per_host": self.counter.per_host(hosts), "hosts_with_result": len(results),
                "results_per_host": max(len(doc["results"]) for doc in results.values())}

    def floor(self, network: Network, size: int, checks: int) -> dict:
        """One ssh:// round trip per check: `true`, `checks` times per host, hosts in parallel."""
        hosts = self.fleet.hosts[:size]
        env = self.counter.env(os.environ)
        saved = dict((key, os.environ.get(key)) for key in ("PATH", "LNS_SSH_LOG"))
        os.environ.update(PATH=env["PATH"], LNS_SSH_LOG=env["LNS_SSH_LOG"])  # testinfra runs ssh from this process
        try:
            targets = [testinfra.get_host("ssh://%s" % host.name, ssh_config=str(network.ssh_config))
                       for host in hosts]
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
        return {"seconds": seconds, "checks_per_host": checks, "sessions_per_host": self.counter.per_host(hosts)}


def alternate(ways: typing.Dict[str, typing.Callable[[], dict]], repeats: int,
              runs: typing.Dict[str, typing.List[dict]]) -> None:
    """Each way once per repeat, in a fresh random order, appended to runs[way]."""
    for _repeat in range(repeats):
        order = list(ways)
        random.shuffle(order)
        for way in order:
            runs.setdefault(way, []).append(ways[way]())


def spread(per_host: typing.Dict[str, int]) -> str:
    values = sorted(per_host.values())
    return str(values[0]) if values[0] == values[-1] else "%d-%d" % (values[0], values[-1])


def measure(fleet: Fleet, workdir: pathlib.Path, prefix: str, sizes: typing.List[int], repeats: int,
            big_repeats: int, with_floor: bool, delay_ms: int) -> typing.Dict[str, typing.List[dict]]:
    """Every way's runs by name: "local", "playbook N", "direct N", and "floor N", "playbook N, rtt M ms",
    "direct N, rtt M ms" when asked for."""
    bridge = Network("bridge", fleet.ssh_config_path, fleet.inventory_path)
    measured = Runs(fleet, workdir, prefix)
    smallest = sizes[0]
    names = [host.name for host in fleet.hosts]
    runs: typing.Dict[str, typing.List[dict]] = {}
    open_control_masters(bridge.ssh_config, names[:smallest])
    measured.local()  # warm-up, not measured: the controller compiles the kit once
    for size in sizes:
        open_control_masters(bridge.ssh_config, names[:size])
        ways = {"playbook %d" % size: lambda size=size: measured.playbook(bridge, size),
                "direct %d" % size: lambda size=size: measured.direct(bridge, size)}
        if size == smallest:
            ways["local"] = measured.local
        alternate(ways, repeats if size <= BIG else big_repeats, runs)
    if with_floor:
        checks = runs["direct %d" % smallest][-1]["results_per_host"]
        alternate({"floor %d" % smallest: lambda: measured.floor(bridge, smallest, checks)}, repeats, runs)
    if delay_ms:
        delayed = delayed_network(fleet, workdir, delay_ms)
        try:
            open_control_masters(delayed.ssh_config, names[:smallest])
            alternate({"playbook %d, %s" % (smallest, delayed.name): lambda: measured.playbook(delayed, smallest),
                       "direct %d, %s" % (smallest, delayed.name): lambda: measured.direct(delayed, smallest)},
                      repeats, runs)
        finally:
            close(delayed, fleet)
    return runs


def figures_and_ratios(runs: typing.Dict[str, typing.List[dict]], sizes: typing.List[int],
                       delay_ms: int) -> typing.Tuple[list, list, list]:
    figures = [figure("conformance.local", "the kit on this host (local://)", [r["seconds"] for r in runs["local"]])]
    ratios, findings = [], []
    for size in sizes:
        for way, label in (("playbook", "compat_report.yml over %d hosts (the kit on each host)"),
                           ("direct", "the kit from here over testinfra ssh://, %d hosts")):
            values = [run["seconds"] for run in runs["%s %d" % (way, size)]]
            figures.append(figure("conformance.%d.%s" % (size, way), label % size, values))
            figures.append(figure("conformance.%d.%s.per-host" % (size, way), (label % size) + ", per host",
                                  [value / size for value in values]))
        ratios.append(ratio("conformance.%d.playbook/direct" % size,
                            "%d hosts: compat_report.yml / the kit over testinfra ssh:// from here" % size,
                            "conformance.%d.playbook" % size, "conformance.%d.direct" % size))
        ratios.append(ratio("conformance.%d.per-host/local" % size,
                            "%d hosts: compat_report.yml per host / the kit on this host alone" % size,
                            "conformance.%d.playbook.per-host" % size, "conformance.local"))
        playbook, direct = runs["playbook %d" % size][-1], runs["direct %d" % size][-1]
        counts = playbook["counts"]
        findings.append("compat_report.yml over %d hosts: %s PASS, %s FAIL, %s SKIP, %s hosts without a result; ssh "
                        "sessions per host: %s (playbook), %s (the kit over ssh://, %d of %d hosts with a result)" % (
                            size, counts["PASS"], counts["FAIL"], counts["SKIP"], counts["without_result"],
                            spread(playbook["sessions_per_host"]), spread(direct["sessions_per_host"]),
                            direct["hosts_with_result"], size))
    smallest = sizes[0]
    if "floor %d" % smallest in runs:
        floor = runs["floor %d" % smallest]
        figures.append(figure("conformance.%d.floor" % smallest, "one ssh:// round trip per check (%d per host), %d "
                              "hosts" % (floor[-1]["checks_per_host"], smallest), [r["seconds"] for r in floor]))
        ratios.append(ratio("conformance.%d.playbook/floor" % smallest, "%d hosts: compat_report.yml / one ssh:// "
                            "round trip per check" % smallest, "conformance.%d.playbook" % smallest,
                            "conformance.%d.floor" % smallest))
    if delay_ms:
        rtt = "rtt %d ms" % (2 * delay_ms)
        for way in ("playbook", "direct"):
            figures.append(figure("conformance.%d.%s.rtt" % (smallest, way), "%s over %d hosts, %s" % (
                way, smallest, rtt), [r["seconds"] for r in runs["%s %d, %s" % (way, smallest, rtt)]]))
        ratios.append(ratio("conformance.%d.playbook/direct.rtt" % smallest, "%d hosts, %s: compat_report.yml / "
                            "the kit over testinfra ssh://" % (smallest, rtt), "conformance.%d.playbook.rtt" % smallest,
                            "conformance.%d.direct.rtt" % smallest))
    return figures, ratios, findings


def main() -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sizes", default="5,20,50", help="fleet sizes (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each way at %d hosts or fewer" % BIG)
    parser.add_argument("--big-repeats", type=int, default=1, help="runs of each way above %d hosts" % BIG)
    parser.add_argument("--floor", action="store_true", help="also one ssh:// round trip per check, smallest size")
    parser.add_argument("--delay-ms", type=int, default=0, help="also the smallest size through a network that "
                                                                "delays each way by this many ms (0: not)")
    args, prefix = start_as_root(parser)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lns-bench-conformance-") as temporary:
        workdir = pathlib.Path(temporary)
        # sshd of 50 hosts starting on 2 busy CPUs needs more than the fleet's default 20 s
        with Fleet(next_fleet_prefix(), max(sizes), workdir, start_timeout=20.0 + max(sizes)) as fleet:
            runs = measure(fleet, workdir, prefix, sizes, args.repeats, args.big_repeats, args.floor,
                           args.delay_ms)
    figures, ratios, findings = figures_and_ratios(runs, sizes, args.delay_ms)
    print("%-72s %5s %9s" % ("way", "runs", "median s"))
    for entry in figures:
        print("%-72s %5d %9.2f" % (entry["label"], len(entry["seconds"]), statistics.median(entry["seconds"])))
    for line in findings:
        print(line)
    write_results("conformance", {"benchmark": "compat_report.yml against the kit over ssh://, 5 to 50 hosts",
                                  "sizes": sizes, "repeats": args.repeats, "big_repeats": args.big_repeats,
                                  "seconds": time.monotonic() - started, "figures": figures, "ratios": ratios,
                                  "findings": findings, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
