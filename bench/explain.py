"""Why a goal is not met, in the figures of the run that missed it: for each kind of ratio, the medians of
the same run that show where the time goes (the steps of the same work, the floor doing the same syscalls,
the anchor that pays the same start-up). bench/results_md.py asks only for the goals a run did not meet, so
no explanation outlives the figures it is made of.

An explanation is (pattern on the ratio id, function of the ratio's entry, its regular-expression match and
the run's statistics by figure id); the first pattern that matches the id is used.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, Optional, Tuple

Stats = Dict[str, Dict[str, float]]


def _ms(stats: Stats, figure_id: str) -> Optional[float]:
    found = stats.get(figure_id)
    return None if found is None else found["median"] * 1e3


def _show(value: Optional[float]) -> str:
    if value is None:
        return "not measured"
    return "%.0f ms" % value if value >= 100 else "%.2f ms" % value


def _times(mine: Optional[float], anchor: Optional[float]) -> str:
    return "%.1fx" % (mine / anchor) if mine is not None and anchor else "-"


def _lifecycle(entry: Dict[str, Any], match: re.Match, stats: Stats) -> str:
    label, anchor = match.group(1), match.group(3)
    parts = []
    for step in ("create", "remove"):
        mine = _ms(stats, "lifecycle.%s.%s.collection" % (label, step))
        theirs = _ms(stats, "lifecycle.%s.%s.%s" % (label, step, anchor))
        parts.append("%s %s against %s (%s)" % (step, _show(mine), _show(theirs), _times(mine, theirs)))
    floor = {"floor": "The C floor makes the same syscalls from one small C process", "unshare": "unshare is one "
             "util-linux process", "ip netns": "ip netns is one iproute2 process"}.get(anchor, anchor + " is the anchor")
    how = ("the module's own process unshares and starts the holder (PID 1 of the set, the system's sleep) with "
           "vfork and exec; the C floor forks its own small C process" if label == "default" else
           "the collection works from a Python process and records the set in its store (state.json, bind mounts)")
    return "Medians of this run, collection against %s: %s. %s; %s." % (anchor, "; ".join(parts), floor, how)


def _remove_pid(entry: Dict[str, Any], match: re.Match, stats: Stats) -> str:
    values = dict((way, (_ms(stats, "lifecycle.default.remove.%s" % way),
                         _ms(stats, "lifecycle.default-without-pid.remove.%s" % way))) for way in ("collection", "floor"))
    return ("Medians of this run, in the same rounds, removing a set with a PID namespace against one without: "
            "collection %s against %s, C floor %s against %s. What the PID namespace adds is stopping the set's "
            "holder, PID 1 there: a pidfd, SIGKILL, and the wait on the pidfd until it has exited (not until init "
            "reaps it; the set's files are unmounted meanwhile), and the unmount of one more file. Its holder is the "
            "system's sleep (holder.py), whose start-up the creation pays; the floor's is a small C process of its "
            "own. What is left is the kernel ending the PID namespace and its PID 1. The ratio is against the "
            "collection's own removal without one, which is faster than the floor's (%s); with a PID namespace the "
            "collection's removal is %s the C floor's."
            % (_show(values["collection"][0]), _show(values["collection"][1]),
               _show(values["floor"][0]), _show(values["floor"][1]),
               _times(values["collection"][1], values["floor"][1]), _times(values["collection"][0], values["floor"][0])))


def _enter(entry: Dict[str, Any], match: re.Match, stats: Stats) -> str:
    ways = ("module_utils", "C-floor", "nsenter--a", "ip-netns-exec", "python-start", "python--I--S-start",
            "become-program")
    medians = dict((way, _ms(stats, "enter." + way)) for way in ways)
    if match.group(1) == "become-program":
        return ("Medians of this run: the become program %s; the Python start it pays, `-I -S`, %s; a bare Python "
                "start (the goal's anchor) %s; nsenter -a %s. Beyond its Python start the program imports ctypes, "
                "forks for the pid and time namespaces and execs the command." % (
                    _show(medians["become-program"]), _show(medians["python--I--S-start"]),
                    _show(medians["python-start"]), _show(medians["nsenter--a"])))
    return ("Medians of this run: in-process (module_utils) %s, nsenter -a %s, ip netns exec %s, the C floor %s (fork, "
            "setns into each namespace and exec from a small C process). The in-process way starts the command with "
            "vfork and exec as nsenter does; what it adds is Python's own work: reading the set's state, opening "
            "and checking each namespace file, joining each and its own again." % (
                _show(medians["module_utils"]), _show(medians["nsenter--a"]), _show(medians["ip-netns-exec"]),
                _show(medians["C-floor"])))


def _task(entry: Dict[str, Any], match: re.Match, stats: Stats) -> str:
    mine, anchor = _ms(stats, entry["numerator"]), _ms(stats, entry["denominator"])
    ping = _ms(stats, "tasks.ping.task")
    more = "-" if mine is None or anchor is None else "%.0f ms" % (mine - anchor)
    return ("Medians of this run: the task %s, its anchor %s (%s more); an ansible.builtin.ping task %s. Every task "
            "pays Ansible's start-up and a Python start on the target; what a module task pays beyond ping is its "
            "payload (the collection's module_utils it carries) and its work. The payload is paid twice: the "
            "controller parses every file it ships into a syntax tree to find its imports (ansible-core's "
            "module_common.recursive_finder), and the target compiles every file it imports from the zip "
            "(zipimport keeps no .pyc). ansible.builtin.command ships ansible-core's files as every module does, "
            "its own file of about 800 syntax-tree nodes, and its work is one fork and exec of a C program; a "
            "module of this collection ships 11 to 17 module_utils files of 13,800 to 16,000 nodes "
            "(bench/bench_payload.py gives their bytes)." % (_show(mine), _show(anchor), more, _show(ping)))


def _scale_flat(entry: Dict[str, Any], match: re.Match, stats: Stats) -> str:
    step = match.group(1)
    first, last = _ms(stats, "scale.%s.first" % step), _ms(stats, "scale.%s.last" % step)
    first_one, last_one = _ms(stats, "scale.%s.first.one-set" % step), _ms(stats, "scale.%s.last.one-set" % step)
    trend = "grows" if first is not None and last is not None and last > first else "shrinks"
    return ("Medians of this run: %s one set costs %s among the first hundred sets and %s among the last; the same "
            "step on a store of one set, timed beside each, %s and %s. Against the one-set store the cost %s with the "
            "number of sets on the host (the per-hundred medians are under Findings). No create, enter or remove "
            "reads /proc/self/mountinfo; when this was analysed, sets of [uts] or [ipc] alone cost the same with "
            "1,000 present, and what grew was the kernel's creation of a network namespace (fork + "
            "unshare(CLONE_NEWNET) + exit alone) with 1,000 of them present." % (
                step, _show(first), _show(last), _show(first_one), _show(last_one), trend))


def _scale_list(entry: Dict[str, Any], match: re.Match, stats: Stats) -> str:
    mine, lsns = _ms(stats, "scale.list.namespace_info"), _ms(stats, "scale.list.lsns")
    mountinfo, states = _ms(stats, "scale.list.floor.mountinfo"), _ms(stats, "scale.list.floor.states")
    floor = None if mountinfo is None or states is None else mountinfo + states
    return ("Medians of this run: namespace_info over the sets %s, lsns -J %s. lsns walks /proc and does not see "
            "sets that are only bind-mounted. namespace_info walks /proc too, and must read what it reports: the mount "
            "table (a line per namespace file on the host, which gives each set's health) %s, and every set's state "
            "file, read and JSON-parsed, %s; that floor alone is %s (%s lsns -J). The rest is building the reports of "
            "the sets and the namespaces in Python."
            % (_show(mine), _show(lsns), _show(mountinfo), _show(states), _show(floor), _times(floor, lsns)))


def _audit(entry: Dict[str, Any], match: re.Match, stats: Stats) -> str:
    hosts = int(match.group(1))
    audit, setup = _ms(stats, "audit.%d.audit" % hosts), _ms(stats, "audit.%d.setup" % hosts)
    per_host = "-" if audit is None or setup is None else "%.0f ms" % ((audit - setup) / hosts)
    return ("Medians of this run over %d hosts: audit.yml %s, ansible -m setup %s: %s more per host. audit.yml runs "
            "its probes on each host beside the facts and writes the report on the controller; all hosts share this "
            "machine's CPUs." % (hosts, _show(audit), _show(setup), per_host))


Explanation = Callable[[Dict[str, Any], re.Match, Stats], str]
EXPLANATIONS: Tuple[Tuple[str, Explanation], ...] = (
    (r"^lifecycle\.remove-pid/", _remove_pid),
    (r"^lifecycle\.([\w-]+)\.(create|remove|cycle)\.collection/(.+)$", _lifecycle),
    (r"^enter\.(module_utils|become-program)/", _enter),
    (r"^tasks\.", _task),
    (r"^scale\.(create|enter|remove)\.last/first$", _scale_flat),
    (r"^scale\.list\.", _scale_list),
    (r"^audit\.(\d+)$", _audit),
)


def why(entry: Dict[str, Any], stats: Stats) -> str:
    """Why the goal of this ratio is not met, in this run's figures."""
    for pattern, explain in EXPLANATIONS:
        match = re.search(pattern, entry["id"])
        if match:
            return explain(entry, match, stats)
    return "Not analysed yet: the ratio's figures are under \"Every figure\"."
