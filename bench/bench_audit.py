"""audit.yml against `ansible -m setup` on the same SSH test hosts, as a ratio (goal: at most 1.3).

Run as root from the repository root:
`.venv/bin/python -m bench.bench_audit [--repeats N] [--big-repeats N] [--sizes 5,20,50]`.

One fleet of the largest size is built (tests/fleet); smaller sizes use its first hosts through
--limit. Both commands run once unmeasured at the smallest size (the controller's caches), and an ssh
control master is opened to each host of a size before it is measured, so neither is in a figure. For each
size the two commands alternate in a random order, REPEATS times each (BIG_REPEATS above 20 hosts, where one
run takes tens of seconds), so both see the same machine load; the ratio is of the medians. Prints a table
and writes bench/results/audit-*.json.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import statistics
import sys
import tempfile

from bench.common import ansible_env, benchmark_parser, open_control_masters, start_as_root, timed, write_results
from bench.measure import figure, ratio
from tests.fleet import Fleet, next_fleet_prefix

GOAL = 1.3
BIG = 20  # sizes above this many hosts are measured --big-repeats times


def commands(fleet: Fleet, size: int, report_dir: str) -> dict:
    bin_dir = pathlib.Path(sys.executable).parent
    limit = ",".join(host.name for host in fleet.hosts[:size])
    inventory = str(fleet.inventory_path)
    return {"audit": [str(bin_dir / "ansible-playbook"), "linux.namespaces.audit", "-i", inventory, "--limit", limit,
                      "-e", json.dumps({"audit_report_dir": report_dir})],
            "setup": [str(bin_dir / "ansible"), "all", "-i", inventory, "--limit", limit, "-m",
                      "ansible.builtin.setup"]}


def measure(fleet: Fleet, size: int, repeats: int, report_dir: str) -> dict:
    open_control_masters(fleet.ssh_config_path, [host.name for host in fleet.hosts[:size]])
    ways = commands(fleet, size, report_dir)
    times: dict = {"audit": [], "setup": []}
    for _attempt in range(repeats):
        order = list(ways)
        random.shuffle(order)
        for way in order:
            times[way].append(timed(ways[way], ansible_env()))
    audit_times, setup_times = times["audit"], times["setup"]
    return {
        "hosts": size,
        "repeats": repeats,
        "audit_s": audit_times,
        "setup_s": setup_times,
        "audit_median_s": statistics.median(audit_times),
        "setup_median_s": statistics.median(setup_times),
        "ratio": statistics.median(audit_times) / statistics.median(setup_times),
        "goal": GOAL,
    }


def main() -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--big-repeats", type=int, default=2, help="repeats for sizes above %d hosts" % BIG)
    parser.add_argument("--sizes", default="5,20,50")
    args, _prefix = start_as_root(parser)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    results = []
    with tempfile.TemporaryDirectory(prefix="lns-bench-audit-") as workdir:
        # sshd of 50 hosts starting on 2 busy CPUs needs more than the fleet's default 20 s
        with Fleet(next_fleet_prefix(), max(sizes), pathlib.Path(workdir), start_timeout=20.0 + max(sizes)) as fleet:
            report_dir = os.path.join(workdir, "reports")
            open_control_masters(fleet.ssh_config_path, [host.name for host in fleet.hosts[:sizes[0]]])
            for command in commands(fleet, sizes[0], report_dir).values():  # warm-up, not measured
                timed(command, ansible_env())
            for size in sizes:
                results.append(measure(fleet, size, args.repeats if size <= BIG else args.big_repeats, report_dir))
    print("%6s %14s %14s %8s %6s" % ("hosts", "audit.yml (s)", "-m setup (s)", "ratio", "goal"))
    for row in results:
        print("%6d %14.2f %14.2f %8.2f %6s" % (row["hosts"], row["audit_median_s"], row["setup_median_s"],
                                               row["ratio"], "ok" if row["ratio"] <= GOAL else "MISS"))
    figures, ratios = [], []
    for row in results:
        hosts = row["hosts"]
        figures.append(figure("audit.%d.audit" % hosts, "audit.yml over %d hosts" % hosts, row["audit_s"]))
        figures.append(figure("audit.%d.setup" % hosts, "ansible -m setup over %d hosts" % hosts, row["setup_s"]))
        ratios.append(ratio("audit.%d" % hosts, "%d hosts: audit.yml / ansible -m setup" % hosts,
                            "audit.%d.audit" % hosts, "audit.%d.setup" % hosts, GOAL, "at most 1.3x -m setup"))
    write_results("audit", {"benchmark": "audit.yml vs ansible -m setup", "results": results,
                            "figures": figures, "ratios": ratios, "findings": []})
    return 0


if __name__ == "__main__":
    sys.exit(main())
