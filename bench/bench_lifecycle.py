"""Creating and removing a set: the collection in this process against the C floor, util-linux and iproute2.

Run as root from the repository root: `.venv/bin/python -m bench.bench_lifecycle [--rounds 30]`.

For each set of types below, every round creates and then removes one set with each way, the ways in a
fresh random order each round:

  collection   Store.create / Store.remove in this process (bench/collection_api.py), with the loopback left
               down and no /run/netns link: the work the floor does
  floor        bench/floor/lnsfloor.c, built here with cc: the same syscalls, nothing else
  unshare      util-linux: `unshare --TYPE=FILE... true` (with a pid namespace `--fork`), `umount FILE...`
  ip netns     iproute2: `ip netns add NAME`, `ip netns del NAME` (net only)
  pyroute2     pyroute2's netns.create / netns.remove, in this process (net only)

The set [mnt, uts, ipc, net] is the default set without its PID namespace: removing the default set against
removing it shows what the holder costs. The two are measured in the same rounds (one phase, every way of
both in one shuffled order), so their ratio compares removals made beside the same neighbours. Entering a
set is measured by bench/bench_nsenter.py.
Everything made carries the run's prefix and is removed on exit, also on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

from bench.collection_api import NamespaceError, Store, create_set, remove_set
from bench.common import benchmark_parser, start_as_root, write_results
from bench.measure import build_floor, figure, interleave_steps, ratio

TypeSet = Tuple[str, Tuple[str, ...], Tuple[str, ...]]  # label, types, anchors besides the collection and the floor
# Each phase's type sets are measured in the same rounds.
PHASES: Tuple[Tuple[TypeSet, ...], ...] = (
    (("net", ("net",), ("unshare", "ip netns", "pyroute2")),),
    (("uts-ipc-net", ("uts", "ipc", "net"), ("unshare",)),),
    (("default", ("mnt", "uts", "ipc", "pid", "net"), ("unshare",)),
     ("default-without-pid", ("mnt", "uts", "ipc", "net"), ())),
)
UNSHARE_OPTION = {"mnt": "--mount", "uts": "--uts", "ipc": "--ipc", "pid": "--pid", "net": "--net"}
GOAL_FLOOR = 2.0
GOAL_PID = 2.0

Step = Dict[str, Callable[[], object]]  # "create", then "remove"


def run(argv: Sequence[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextlib.contextmanager
def private_tmpfs(path: str) -> Iterator[str]:
    """A small private tmpfs at path: nsfs files must not be bound on a shared mount."""
    os.mkdir(path, 0o700)
    try:
        run(["mount", "-t", "tmpfs", "-o", "mode=0700,size=4m", "lns-bench", path])
        try:
            run(["mount", "--make-private", path])
            yield path
        finally:
            run(["umount", "--lazy", path])  # with every nsfs mount left beneath it
    finally:
        os.rmdir(path)


class Ways:
    """The create and remove steps of every way, for one run's names and directories."""

    def __init__(self, prefix: str, work: str, store: Store, floor: Path) -> None:
        self.prefix, self.work, self.store, self.floor = prefix, work, store, floor
        self.pyroute2: Any = None

    def collection(self, label: str, types: Sequence[str]) -> Step:
        name = "%s-lc-%s" % (self.prefix, label)
        return {"create": lambda: create_set(self.store, name, types, loopback=False, netns_link=False),
                "remove": lambda: remove_set(self.store, name)}

    def floor_way(self, label: str, types: Sequence[str]) -> Step:
        directory = os.path.join(self.work, "floor-" + label)
        os.makedirs(directory, exist_ok=True)
        return {"create": lambda: run([str(self.floor), "create", directory, *types]),
                "remove": lambda: run([str(self.floor), "remove", directory])}

    def unshare(self, label: str, types: Sequence[str]) -> Step:
        files = {t: os.path.join(self.work, "unshare-%s-%s" % (label, t)) for t in types}
        for path in files.values():
            open(path, "w").close()
        create = ["unshare"] + ["%s=%s" % (UNSHARE_OPTION[t], path) for t, path in files.items()]
        create += ["--fork", "true"] if "pid" in types else ["true"]
        return {"create": lambda: run(create), "remove": lambda: run(["umount", *files.values()])}

    def ip_netns(self, label: str) -> Step:
        name = "%s-ip-%s" % (self.prefix, label)
        return {"create": lambda: run(["ip", "netns", "add", name]), "remove": lambda: run(["ip", "netns", "del", name])}

    def pyroute2_way(self, label: str) -> Step:
        if self.pyroute2 is None:
            from pyroute2 import netns  # 150 ms to import: only when measured
            self.pyroute2 = netns
        name = "%s-pr-%s" % (self.prefix, label)
        return {"create": lambda: self.pyroute2.create(name), "remove": lambda: self.pyroute2.remove(name)}

    def steps(self, label: str, types: Sequence[str], anchors: Sequence[str]) -> Dict[str, Step]:
        steps = {"collection": self.collection(label, types), "floor": self.floor_way(label, types)}
        makers = {"unshare": lambda: self.unshare(label, types), "ip netns": lambda: self.ip_netns(label),
                  "pyroute2": lambda: self.pyroute2_way(label)}
        for anchor in anchors:
            steps[anchor] = makers[anchor]()
        return steps


def results_for(label: str, types: Sequence[str], samples: Dict[str, Dict[str, List[float]]]) -> Tuple[list, list]:
    figures, ratios = [], []
    for way, steps in samples.items():
        cycle = [a + b for a, b in zip(steps["create"], steps["remove"])]
        for step, values in (("create", steps["create"]), ("remove", steps["remove"]), ("cycle", cycle)):
            figures.append(figure("lifecycle.%s.%s.%s" % (label, step, way),
                                  "%s [%s], %s" % (step if step != "cycle" else "create + remove",
                                                   ", ".join(types), way), values))
    for step in ("create", "remove", "cycle"):
        mine = "lifecycle.%s.%s.collection" % (label, step)
        what = "%s [%s]" % ("create + remove" if step == "cycle" else step, ", ".join(types))
        ratios.append(ratio("lifecycle.%s.%s.collection/floor" % (label, step),
                            "%s: collection / C floor" % what, mine,
                            "lifecycle.%s.%s.floor" % (label, step), GOAL_FLOOR, "at most 2x the C floor"))
        for anchor in samples:
            if anchor in ("collection", "floor"):
                continue
            goal = 1.0 if anchor in ("unshare", "ip netns") else None
            ratios.append(ratio("lifecycle.%s.%s.collection/%s" % (label, step, anchor),
                                "%s: collection / %s" % (what, anchor), mine,
                                "lifecycle.%s.%s.%s" % (label, step, anchor), goal,
                                "faster than %s" % anchor if goal else ""))
    return figures, ratios


def main() -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    args, prefix = start_as_root(parser)
    store = Store("/run/%s-lcstore" % prefix)
    figures: List[Dict[str, Any]] = []
    ratios: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix=prefix + "-floor-") as build, \
            private_tmpfs("/run/%s-lifecycle" % prefix) as work:
        ways = Ways(prefix, work, store, build_floor(Path(build)))
        try:
            for phase in PHASES:
                units = dict(((label, way), steps) for label, types, anchors in phase
                             for way, steps in ways.steps(label, types, anchors).items())
                measured = interleave_steps(units, args.rounds)
                for label, types, _anchors in phase:
                    samples = dict((way, s) for (of, way), s in measured.items() if of == label)
                    made, compared = results_for(label, types, samples)
                    figures += made
                    ratios += compared
                    print("%-20s %s" % (label, "  ".join("%s %.2f/%.2f ms" % (
                        way, statistics.median(s["create"]) * 1e3, statistics.median(s["remove"]) * 1e3)
                        for way, s in samples.items())), flush=True)
        finally:
            for name in store.names():
                with contextlib.suppress(NamespaceError, OSError):
                    remove_set(store, name)
            store.unmount_if_empty()
    for way in ("collection", "floor"):
        ratios.append(ratio("lifecycle.remove-pid/without.%s" % way,
                            "remove [mnt, uts, ipc, pid, net] / remove [mnt, uts, ipc, net], %s" % way,
                            "lifecycle.default.remove.%s" % way, "lifecycle.default-without-pid.remove.%s" % way,
                            GOAL_PID if way == "collection" else None,
                            "a PID namespace at most doubles removal" if way == "collection" else ""))
    write_results("lifecycle", {"rounds": args.rounds, "figures": figures, "ratios": ratios, "findings": []})
    return 0


if __name__ == "__main__":
    sys.exit(main())
