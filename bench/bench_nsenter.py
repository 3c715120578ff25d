"""Cost of running `true` in all namespaces of a set: ours against util-linux and iproute2, side by side.

Run as root from the repository root: `python3 -m bench.bench_nsenter [--rounds 200] [--module-rounds 8]`.
Every round runs each way once, in turn, so load on the machine weighs on all of them alike:

  module_utils        resolve_target + run_command from Python, in this process (fork, setns, exec),
                      through bench/collection_api.py
  C floor             bench/floor/lnsfloor.c built here with cc: lnsfloor enter SETDIR true
  python start        /usr/bin/python3 -c pass: a bare start of the Python the become plugin runs by
                      default, as Ansible starts a module's Python (site imported): the goal's anchor
  python -I -S start  /usr/bin/python3 -I -S -c pass: the start the become program itself pays
  become program      the become plugin's entering program, run by that Python as the plugin runs it:
                      /usr/bin/python3 -I -S -c PROGRAM '' TARGET true
  nsenter -a          util-linux: nsenter -t HOLDER -a true
  ip netns exec       iproute2: ip netns exec NAME true (the network namespace only, plus a /sys)
  nsenter module      ansible localhost -m linux.namespaces.nsenter, end to end
  command module      ansible localhost -m ansible.builtin.command -a true, for scale

Prints medians and ratios and writes them, with every sample as figures for `make bench`, to
bench/results/nsenter-TIMESTAMP.json. Asserts nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

from bench.collection_api import Store, create_set, remove_set, run_in_set
from bench.common import REPO, benchmark_parser, start_as_root, write_results
from bench.measure import build_floor, figure, ratio

SET_TYPES = ("mnt", "uts", "ipc", "pid", "net", "cgroup", "time")
HOST_PYTHON = "/usr/bin/python3"  # the become plugin's default become_exe


def collections_path(workdir: str) -> str:
    """A collections directory holding this checkout as linux.namespaces."""
    link = Path(workdir, "ansible_collections", "linux", "namespaces")
    link.parent.mkdir(parents=True)
    link.symlink_to(REPO)
    return str(Path(workdir))


def seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=200, help="rounds of the ways that take milliseconds")
    parser.add_argument("--module-rounds", type=int, default=8, help="rounds of the two Ansible ways (~1 s each)")
    args, prefix = start_as_root(parser)
    ansible = Path(sys.executable).with_name("ansible")
    if not ansible.exists():
        sys.exit("ansible not found next to %s: run with the venv's python" % sys.executable)

    with tempfile.TemporaryDirectory(prefix=prefix + "-bench-") as workdir:
        collections = collections_path(workdir)
        floor = str(build_floor(Path(workdir)))
        store = Store("/run/%s-bench" % prefix)
        name = prefix + "-bench"
        state = create_set(store, name, SET_TYPES, mount_proc=True, netns_link=True)
        try:
            env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="false",
                       ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
            quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            interpreter = sys.executable
            # From another process: importing the become plugin here would load Ansible and make this
            # process, and so every fork the module_utils way does, larger than a module's.
            program = subprocess.run(
                [interpreter, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from ansible_collections.linux."
                 "namespaces.plugins.become.nsenter import entering_program; print(entering_program())", collections],
                capture_output=True, text=True, check=True).stdout

            def ours_in_process() -> None:
                assert run_in_set(store, name, ["true"]) == 0

            def adhoc(module: str, module_args: str) -> Callable[[], object]:
                argv = [str(ansible), "localhost", "-c", "local", "-e", "ansible_python_interpreter=" + interpreter,
                        "-m", module, "-a", module_args]
                return lambda: subprocess.run(argv, env=env, **quiet, check=True)

            fast = {
                "module_utils": ours_in_process,
                "python start": lambda: subprocess.run([HOST_PYTHON, "-c", "pass"], **quiet, check=True),
                "python -I -S start": lambda: subprocess.run([HOST_PYTHON, "-I", "-S", "-c", "pass"], **quiet,
                                                             check=True),
                "become program": lambda: subprocess.run([HOST_PYTHON, "-I", "-S", "-c", program, "", json.dumps(
                    {"name": name, "store": store.root}), "true"], **quiet, check=True),
                "C floor": lambda: subprocess.run([floor, "enter", state.path, "true"], **quiet, check=True),
                "nsenter -a": lambda: subprocess.run(["nsenter", "-t", str(state.holder_pid), "-a", "true"], **quiet, check=True),
                "ip netns exec": lambda: subprocess.run(["ip", "netns", "exec", name, "true"], **quiet, check=True),
            }
            slow = {
                "nsenter module": adhoc("linux.namespaces.nsenter",
                                        json.dumps({"name": name, "store": store.root, "argv": ["true"]})),
                "command module": adhoc("ansible.builtin.command", "true"),
            }
            samples: Dict[str, List[float]] = {way: [] for way in list(fast) + list(slow)}
            for ways, rounds in ((fast, args.rounds), (slow, args.module_rounds)):
                for way, run in ways.items():  # warm up: caches, first imports
                    run()
                for unused in range(rounds):
                    for way, run in ways.items():
                        samples[way].append(seconds(run))
        finally:
            remove_set(store, name)
            store.unmount_if_empty()

    medians = {way: statistics.median(values) for way, values in samples.items()}
    ratios = {
        "module_utils / nsenter -a": medians["module_utils"] / medians["nsenter -a"],
        "module_utils / ip netns exec": medians["module_utils"] / medians["ip netns exec"],
        "module_utils / C floor": medians["module_utils"] / medians["C floor"],
        "become program / nsenter -a": medians["become program"] / medians["nsenter -a"],
        "become program / python start": medians["become program"] / medians["python start"],
        "become program / python -I -S start": medians["become program"] / medians["python -I -S start"],
        "nsenter module / command module": medians["nsenter module"] / medians["command module"],
    }
    print("running `true` in the %d namespaces of a set (%s); kernel %s"
          % (len(SET_TYPES), ", ".join(SET_TYPES), os.uname().release))
    print("%-16s %8s %10s %10s" % ("way", "rounds", "median ms", "p90 ms"))
    for way, values in samples.items():
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        print("%-16s %8d %10.2f %10.2f" % (way, len(values), medians[way] * 1000, p90 * 1000))
    for label, value in ratios.items():
        print("%-34s %6.2f" % (label, value))

    set_label = "[%s]" % ", ".join(SET_TYPES)
    figures = [figure("enter." + way.replace(" ", "-"), "`true` in a set %s: %s" % (set_label, way), values)
               for way, values in samples.items()]
    goals = {("module_utils", "nsenter -a"): (1.0, "no slower than nsenter -a"),
             ("become program", "python start"): (2.0, "at most 2x a bare Python start"),
             ("nsenter module", "command module"): (None, "")}
    compared = []
    for numerator, denominator in [("module_utils", "nsenter -a"), ("module_utils", "ip netns exec"),
                                   ("module_utils", "C floor"), ("become program", "python start"),
                                   ("become program", "python -I -S start"), ("become program", "nsenter -a"),
                                   ("nsenter module", "command module")]:
        goal, goal_text = goals.get((numerator, denominator), (None, ""))
        compared.append(ratio("enter.%s/%s" % (numerator.replace(" ", "-"), denominator.replace(" ", "-")),
                              "enter a set: %s / %s" % (numerator, denominator),
                              "enter." + numerator.replace(" ", "-"), "enter." + denominator.replace(" ", "-"),
                              goal, goal_text))
    write_results("nsenter", {"types": list(SET_TYPES), "python": sys.version.split()[0],
                              "median_seconds": medians, "ratios_of_medians": ratios, "samples_seconds": samples,
                              "figures": figures, "ratios": compared, "findings": []})
    return 0


if __name__ == "__main__":
    sys.exit(main())
