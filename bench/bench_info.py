# -*- coding: utf-8 -*-
"""namespace_info against `lsns -J`, side by side in one run, in three scenarios:

  host        the host's own processes;
  processes   plus N processes, each alone in a new UTS namespace (`unshare --uts sleep`);
  persisted   plus N UTS namespaces with no process, each bind-mounted on a private tmpfs.

For each, five contenders run interleaved in random order:

  core        inspect_host() in this process: the listing `lsns -J` gives (type, inode, processes, lowest
              pid, its user and command), plus the bind mounts, set names, set health and leaks;
  relations   the same with relations=True: also each namespace's owner, owner uid, parent and netnsid,
              which means opening every namespace (lsns 2.38 opens every namespace of every process for
              them whatever it prints);
  module      the module end to end (a fresh Python running the module file with an argument file, as
              Ansible's target side does, interpreter and Ansible start-up included);
  lsns        `lsns -J`;
  command     `lsns -J` through ansible.builtin.command run the same way as the module: what a play pays
              to ask lsns, the fair match for `module`.

The medians and their ratios are printed and written to bench/results/. Everything made carries the prefix
and is removed on exit, also on Ctrl-C or failure.

Run as root from the repository root:  .venv/bin/python -m bench.bench_info [--count 1000] [--rounds 15]
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, Iterator, List, Set

from bench.common import COLLECTIONS, REPO, benchmark_parser, start_as_root, write_results

sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.inspect import inspect_host  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import read_mountinfo  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import CLONE_NEWUTS  # noqa: E402

MODULE = str(REPO / "plugins" / "modules" / "namespace_info.py")


def uts_inode(pid: Any) -> int:
    return os.stat("/proc/%s/ns/uts" % pid).st_ino


@contextlib.contextmanager
def sleepers(count: int) -> Iterator[Set[int]]:
    """count processes, each alone in a new UTS namespace; yields their namespaces' inodes."""
    host = uts_inode("self")
    started: List[subprocess.Popen] = []
    try:
        for _number in range(count):
            # PDEATHSIG: should this bench be killed outright, the kernel still ends its sleepers.
            started.append(subprocess.Popen(["unshare", "--uts", "sleep", "3600"], stdin=subprocess.DEVNULL,
                                            preexec_fn=syscalls.set_pdeathsig))
        inodes: Set[int] = set()
        deadline = time.monotonic() + 30
        for process in started:  # until each has unshared (it execs sleep right after)
            while uts_inode(process.pid) == host and time.monotonic() < deadline:
                time.sleep(0.001)
            inodes.add(uts_inode(process.pid))
        inodes.discard(host)
        yield inodes
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
        for process in started:
            process.wait()


def _persist_in_child(paths: List[str]) -> None:
    """In a forked child: a new UTS namespace per path, bind-mounted there. Never returns."""
    code = 1
    try:
        for path in paths:
            syscalls.unshare(CLONE_NEWUTS)
            syscalls.mount("/proc/self/ns/uts", path, None, syscalls.MS_BIND)
        code = 0
    finally:
        os._exit(code)


@contextlib.contextmanager
def persisted(count: int, prefix: str) -> Iterator[Set[int]]:
    """count UTS namespaces with no process, pinned by bind mounts on a private tmpfs; yields their inodes."""
    root = "/run/%s-bench" % prefix
    os.mkdir(root, 0o700)
    mounted = False
    try:
        syscalls.mount(prefix, root, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC,
                       "mode=0700,size=4m")
        mounted = True
        syscalls.mount(None, root, None, syscalls.MS_PRIVATE)
        paths = [os.path.join(root, "uts%04d" % i) for i in range(count)]
        for path in paths:
            open(path, "w").close()
        child = os.fork()
        if child == 0:
            _persist_in_child(paths)
        status = os.waitpid(child, 0)[1]
        if status != 0:
            raise RuntimeError("making the persisted namespaces failed (status %d)" % status)
        yield {os.stat(p).st_ino for p in paths}
    finally:
        if mounted:
            syscalls.umount2(root, syscalls.MNT_DETACH)  # takes the nsfs mounts beneath with it
        os.rmdir(root)


def timed(func: Callable[[], Any]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def run_lsns() -> Dict[str, Any]:
    return json.loads(subprocess.run(["lsns", "-J"], check=True, capture_output=True, text=True).stdout)


@contextlib.contextmanager
def args_file(prefix: str, args: Dict[str, Any]) -> Iterator[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix=prefix) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
        handle.flush()
        yield handle.name


class Modules:
    """namespace_info and ansible.builtin.command running `lsns -J`, each run as Ansible's target side does."""

    def __init__(self, info_args: str, command_args: str) -> None:
        self.info = [sys.executable, MODULE, info_args]
        self.command = [sys.executable, "-m", "ansible.modules.command", command_args]

    @staticmethod
    def _run(argv: List[str]) -> Dict[str, Any]:
        env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
        return json.loads(subprocess.run(argv, check=True, capture_output=True, text=True, env=env).stdout)

    def run_info(self) -> Dict[str, Any]:
        return self._run(self.info)

    def run_command(self) -> Dict[str, Any]:
        result = self._run(self.command)
        if result.get("rc") != 0:
            raise RuntimeError("lsns through the command module failed: %s" % result)
        return json.loads(result["stdout"])


def measure(rounds: int, modules: Modules) -> Dict[str, List[float]]:
    contenders = {"core": inspect_host, "relations": lambda: inspect_host(relations=True),
                  "module": modules.run_info, "lsns": run_lsns, "command": modules.run_command}
    times: Dict[str, List[float]] = {name: [] for name in contenders}
    for _round in range(rounds):
        order = list(contenders)
        random.shuffle(order)
        for name in order:
            times[name].append(timed(contenders[name]))
    return times


def found_counts(made: Set[int], modules: Modules) -> Dict[str, int]:
    """How many of the namespaces the bench made each tool lists."""
    return {"core": len(made & {ns["inode"] for ns in inspect_host()["namespaces"]}),
            "module": len(made & {ns["inode"] for ns in modules.run_info()["namespaces"]}),
            "lsns": len(made & {ns["ns"] for ns in run_lsns()["namespaces"]}),
            "command": len(made & {ns["ns"] for ns in modules.run_command()["namespaces"]})}


def scenario(name: str, made: Set[int], rounds: int, modules: Modules) -> Dict[str, Any]:
    counts = found_counts(made, modules)
    times = measure(rounds, modules)
    medians = {k: statistics.median(v) * 1000 for k, v in times.items()}
    processes = sum(1 for e in os.listdir("/proc") if e.isdigit())
    result = {
        "scenario": name, "processes": processes, "namespaces_made": len(made), "found": counts,
        "median_ms": medians, "samples_ms": {k: [t * 1000 for t in v] for k, v in times.items()},
        "ratio_core_to_lsns": medians["core"] / medians["lsns"],
        "ratio_relations_to_lsns": medians["relations"] / medians["lsns"],
        "ratio_module_to_lsns": medians["module"] / medians["lsns"],
        "ratio_module_to_command": medians["module"] / medians["command"],
    }
    print("%-10s %5d procs %5d made | ms: core %.1f  relations %.1f  lsns %.1f  module %.1f  command %.1f | "
          "core/lsns %.2f  relations/lsns %.2f  module/command %.2f | made found: core %d module %d lsns %d"
          % (name, processes, len(made), medians["core"], medians["relations"], medians["lsns"],
             medians["module"], medians["command"], result["ratio_core_to_lsns"],
             result["ratio_relations_to_lsns"], result["ratio_module_to_command"], counts["core"],
             counts["module"], counts["lsns"]), flush=True)
    return result


def main() -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--count", type=int, default=1000, help="extra processes / persisted namespaces")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timings per contender")
    options, prefix = start_as_root(parser)
    lsns_version = subprocess.run(["lsns", "--version"], check=True, capture_output=True, text=True).stdout.strip()
    print("prefix %s, %s, kernel %s, Python %s" % (prefix, lsns_version, os.uname().release,
                                                   sys.version.split()[0]), flush=True)
    results = []
    with args_file(prefix, {}) as info_args, args_file(prefix, {"argv": ["lsns", "-J"]}) as command_args:
        modules = Modules(info_args, command_args)
        results.append(scenario("host", set(), options.rounds, modules))
        with sleepers(options.count) as made:
            results.append(scenario("processes", made, options.rounds, modules))
        with persisted(options.count, prefix) as made:
            results.append(scenario("persisted", made, options.rounds, modules))
    leftovers = [m.mount_point for m in read_mountinfo() if prefix in m.mount_point]
    if leftovers:
        print("LEFT BEHIND: %s" % leftovers, file=sys.stderr)
        return 1
    write_results("info", {"lsns": lsns_version, "count": options.count, "rounds": options.rounds,
                           "scenarios": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
