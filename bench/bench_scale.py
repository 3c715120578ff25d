"""1,000 sets of types [uts, ipc, net] on one host: created, listed, entered and removed, hundred by hundred.

Run as root from the repository root: `.venv/bin/python -m bench.bench_scale [--count 1000] [--list-rounds 5]`.

The sets live in a private store of this run (/run/PREFIX-scale), each named with the run's prefix, and are
made, entered and removed in this process through bench/collection_api.py. Each step on a set is timed beside
the same step on a store that holds one set (/run/PREFIX-scale-one), the two in a random order: the first and
the last hundred are a minute apart, and the machine drifts meanwhile; the one-set store drifts alike. Reported:
the cost per set of each hundred (flat when the last hundred, against the one-set store beside it, is within
20% of the first against its own; the bare last/first too), namespace_info over all the sets
against `lsns -J` (which does not list namespaces that only a bind mount holds), the memory of the holders
(sets of these types have none) and of the store's tmpfs, the drop in the host's available memory, and a
check that nothing of the run is left. A step that fails stops that step and is reported as a finding.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
from typing import Any, Callable, Dict, List, Sequence, Tuple

from bench.collection_api import NamespaceError, Store, create_set, list_namespaces, remove_set, run_in_set
from bench.common import benchmark_parser, start_as_root, write_results
from bench.measure import figure, interleave, ratio, seconds

TYPES = ("uts", "ipc", "net")
GOAL_FLAT = 1.2


def meminfo_kib(field: str) -> int:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def rss_kib(pid: int) -> int:
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tmpfs_used(path: str) -> Dict[str, int]:
    stat = os.statvfs(path)
    return {"bytes_used": (stat.f_blocks - stat.f_bfree) * stat.f_frsize, "bytes_total": stat.f_blocks * stat.f_frsize,
            "inodes_used": stat.f_files - stat.f_ffree}


class OneSetStore:
    """The steps of the benchmark on a store that holds at most one set, each returning the seconds of the step
    alone (making or removing the set around it is not timed)."""

    def __init__(self, prefix: str) -> None:
        self.store = Store("/run/%s-scale-one" % prefix)
        self.name = "%s-scone" % prefix

    def make(self) -> None:
        create_set(self.store, self.name, TYPES, netns_link=False)

    def unmake(self) -> None:
        remove_set(self.store, self.name)

    def create(self) -> float:
        taken = seconds(self.make)
        self.unmake()
        return taken

    def enter(self) -> float:  # between make() and unmake()
        return seconds(lambda: run_in_set(self.store, self.name, ["true"]))

    def remove(self) -> float:
        self.make()
        return seconds(self.unmake)

    def clean(self) -> None:
        for name in self.store.names():
            remove_set(self.store, name)
        self.store.unmount_if_empty()


def each(names: Sequence[str], step: Callable[[str], object], beside: Callable[[], float], what: str,
         findings: List[str]) -> Tuple[List[float], List[float]]:
    """step timed for each name, in order, and beside it the seconds of one call of beside, the two in a random
    order; the first failure ends the step and becomes a finding."""
    times: List[float] = []
    besides: List[float] = []
    for number, name in enumerate(names, 1):
        try:
            if random.random() < 0.5:
                taken = seconds(lambda: step(name))
                alongside = beside()
            else:
                alongside = beside()
                taken = seconds(lambda: step(name))
        except (NamespaceError, OSError) as exc:
            findings.append("goal not reached: %s stopped at set %d of %d: %s" % (what, number, len(names), exc))
            break
        times.append(taken)
        besides.append(alongside)
    return times, besides


def per_chunk(times: Sequence[float], chunk: int) -> List[float]:
    """The median seconds per set of each chunk of sets."""
    return [statistics.median(times[start:start + chunk]) for start in range(0, len(times), chunk)
            if len(times[start:start + chunk]) == chunk]


def read_mountinfo() -> bytes:
    """The least any listing of bind-mounted namespaces reads: the mount table, a line per namespace file."""
    with open("/proc/self/mountinfo", "rb") as handle:
        return handle.read()


def read_state_files(root: str) -> int:
    """The least any listing of the sets' options does: read and parse every set's state.json."""
    parsed = 0
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.is_dir():
                fd = os.open(os.path.join(entry.path, "state.json"), os.O_RDONLY | os.O_CLOEXEC)
                try:
                    json.loads(os.read(fd, 1 << 16))  # a state file is a page or two
                finally:
                    os.close(fd)
                parsed += 1
    return parsed


def leftovers(prefix: str) -> List[str]:
    found = []
    with open("/proc/self/mountinfo") as handle:
        found += [line.split()[4] for line in handle if prefix + "-scale" in line.split()[4]]
    found += [entry for entry in os.listdir("/run") if entry.startswith(prefix + "-scale")]
    if os.path.isdir("/run/netns"):
        found += ["/run/netns/" + e for e in os.listdir("/run/netns") if e.startswith(prefix + "-sc")]
    return found


def main() -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--list-rounds", type=int, default=5)
    args, prefix = start_as_root(parser)
    chunk = max(1, args.count // 10)
    store = Store("/run/%s-scale" % prefix)
    one = OneSetStore(prefix)
    names = ["%s-sc%04d" % (prefix, number) for number in range(args.count)]
    findings: List[str] = []
    figures: List[Dict[str, Any]] = []
    ratios: List[Dict[str, Any]] = []
    memory: Dict[str, Any] = {}
    available_before = meminfo_kib("MemAvailable")
    try:
        created, created_one = each(names, lambda name: create_set(store, name, TYPES, netns_link=False), one.create,
                                    "creation", findings)
        made = names[:len(created)]
        holders = [state.holder_pid for state in map(store.load, made) if state and state.holder_pid]
        memory = {"sets": len(made), "holders": len(holders), "holders_rss_kib": sum(map(rss_kib, holders)),
                  "store_tmpfs": tmpfs_used(store.root) if store.is_mounted() else None,
                  "host_available_drop_kib": available_before - meminfo_kib("MemAvailable")}
        listed = list_namespaces(store)
        seen = sum(1 for s in listed["sets"] if s["name"] in set(made))
        lsns = json.loads(subprocess.run(["lsns", "-J"], check=True, capture_output=True, text=True).stdout)
        made_inodes = {state.inodes["uts"] for state in map(store.load, made) if state}
        lsns_seen = sum(1 for ns in lsns["namespaces"] if ns["ns"] in made_inodes)
        listing = interleave({"namespace_info": lambda: list_namespaces(store),
                              "lsns -J": lambda: subprocess.run(["lsns", "-J"], check=True, stdout=subprocess.PIPE),
                              "mountinfo": read_mountinfo, "state files": lambda: read_state_files(store.root)},
                             args.list_rounds)
        one.make()
        entered, entered_one = each(made, lambda name: run_in_set(store, name, ["true"]), one.enter, "entering",
                                    findings)
        one.unmake()
        removed, removed_one = each(made, lambda name: remove_set(store, name), one.remove, "removal", findings)
    finally:
        for name in store.names():
            try:
                remove_set(store, name)
            except (NamespaceError, OSError) as exc:
                findings.append("cleanup failed for %s: %s" % (name, exc))
        store.unmount_if_empty()
        try:
            one.clean()
        except (NamespaceError, OSError) as exc:
            findings.append("cleanup failed for the one-set store: %s" % exc)
    left = leftovers(prefix)
    findings.append("nothing left at the end: %s" % ("yes" if not left else "NO, left: %s" % ", ".join(left)))
    findings.append("sets made %d of %d; namespace_info lists %d of them, lsns -J %d" % (
        len(made), args.count, seen, lsns_seen))
    figures.append(figure("scale.list.namespace_info", "list %d sets: namespace_info in-process" % len(made),
                          listing["namespace_info"]))
    figures.append(figure("scale.list.lsns", "list %d sets: lsns -J (does not see them)" % len(made),
                          listing["lsns -J"]))
    figures.append(figure("scale.list.floor.mountinfo", "list %d sets, floor: read /proc/self/mountinfo" % len(made),
                          listing["mountinfo"]))
    figures.append(figure("scale.list.floor.states", "list %d sets, floor: read and parse every state.json" % len(made),
                          listing["state files"]))
    ratios.append(ratio("scale.list.namespace_info/lsns", "list with %d sets: namespace_info / lsns -J" % len(made),
                        "scale.list.namespace_info", "scale.list.lsns", 1.0, "faster than lsns -J"))
    per_hundred = {}
    for step, times, besides in (("create", created, created_one), ("enter", entered, entered_one),
                                 ("remove", removed, removed_one)):
        chunks = per_chunk(times, chunk)
        per_hundred[step] = chunks
        if len(chunks) < 2:
            findings.append("goal not reached: %s has fewer than two full chunks of %d sets" % (step, chunk))
            continue
        last_start, last_end = (len(chunks) - 1) * chunk, len(chunks) * chunk
        figures.append(figure("scale.%s.first" % step, "%s one set, first %d sets" % (step, chunk), times[:chunk]))
        figures.append(figure("scale.%s.last" % step, "%s one set, sets %d-%d" % (step, last_start + 1, last_end),
                              times[last_start:last_end]))
        figures.append(figure("scale.%s.first.one-set" % step, "%s, one-set store, beside the first %d sets" % (
            step, chunk), besides[:chunk]))
        figures.append(figure("scale.%s.last.one-set" % step, "%s, one-set store, beside sets %d-%d" % (
            step, last_start + 1, last_end), besides[last_start:last_end]))
        ratios.append(ratio("scale.%s.last/first" % step, "%s: last %d sets / first %d, each against the one-set "
                            "store beside it" % (step, chunk, chunk), "scale.%s.last" % step, "scale.%s.first" % step,
                            GOAL_FLAT, "flat: within 20%",
                            per=("scale.%s.last.one-set" % step, "scale.%s.first.one-set" % step)))
        ratios.append(ratio("scale.%s.last/first.bare" % step, "%s: last %d sets / first %d, a minute apart" % (
            step, chunk, chunk), "scale.%s.last" % step, "scale.%s.first" % step))
        findings.append("%s, median ms per set of each %d: %s; the one-set store beside them: %s" % (
            step, chunk, " ".join("%.2f" % (value * 1e3) for value in chunks),
            " ".join("%.2f" % (value * 1e3) for value in per_chunk(besides, chunk))))
    if memory:
        tmpfs = memory["store_tmpfs"] or {}
        findings.append("memory with %d sets: %d holders (%d KiB RSS); store tmpfs %d KiB used of %d KiB, %d inodes; "
                        "host MemAvailable dropped by %d KiB (noisy: other work runs)" % (
                            memory["sets"], memory["holders"], memory["holders_rss_kib"],
                            tmpfs.get("bytes_used", 0) // 1024, tmpfs.get("bytes_total", 0) // 1024,
                            tmpfs.get("inodes_used", 0), memory["host_available_drop_kib"]))
    for line in findings:
        print(line, flush=True)
    write_results("scale", {"count": args.count, "chunk": chunk, "types": list(TYPES), "memory": memory,
                            "per_chunk_seconds": per_hundred, "figures": figures, "ratios": ratios,
                            "findings": findings})
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
