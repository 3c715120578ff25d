"""A task of each of the collection's modules against Ansible's own floor and the util-linux command it replaces.

Run as root from the repository root: `.venv/bin/python -m bench.bench_tasks [--rounds 5]`.

Every way is one ad-hoc task on localhost with the local connection, the venv's Python on both sides, so
Ansible's start-up is in each alike. The units below are shuffled every round; a unit's steps run in order:

  ping              ansible.builtin.ping: Ansible's floor for a module task
  namespace         linux.namespaces.namespace, a set of [uts, ipc, net] made (state present), then removed
                    (state absent)
  unshare command   ansible.builtin.command: `unshare --uts=F --ipc=F --net=F true`, then `umount F F F`
  nsenter           linux.namespaces.nsenter: `true` in a set of [uts, ipc, net]
  nsenter command   ansible.builtin.command: `nsenter --uts=F --ipc=F --net=F true` on that set's files
  namespace_info    linux.namespaces.namespace_info of this run's store
  lsns command      ansible.builtin.command: `lsns -J`

bench_nsenter.py and bench_info.py measure the in-process side of nsenter and namespace_info.
Everything made carries the run's prefix and is removed on exit, also on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

from bench.bench_lifecycle import private_tmpfs
from bench.collection_api import Store, create_set, remove_set
from bench.common import ansible_env, benchmark_parser, start_as_root, write_results
from bench.measure import figure, interleave_steps, ratio

TYPES = ["uts", "ipc", "net"]
GOAL_PING = 1.3


def adhoc(module: str, module_args: Dict[str, Any]) -> Callable[[], None]:
    argv = [str(Path(sys.executable).with_name("ansible")), "localhost", "-c", "local",
            "-e", "ansible_python_interpreter=" + sys.executable, "-m", module]
    if module_args:
        argv += ["-a", json.dumps(module_args)]
    env = ansible_env(ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")

    def run() -> None:
        done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError("%s failed:\n%s" % (module, done.stdout[-2000:]))
    return run


def command(argv: List[str]) -> Callable[[], None]:
    return adhoc("ansible.builtin.command", {"argv": argv})


def main() -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    args, prefix = start_as_root(parser)
    store = Store("/run/%s-tkstore" % prefix)
    entered = prefix + "-tk-enter"
    made = prefix + "-tk-made"
    with private_tmpfs("/run/%s-tasks" % prefix) as work:
        files = [os.path.join(work, t) for t in TYPES]
        for path in files:
            open(path, "w").close()
        try:
            state = create_set(store, entered, TYPES, netns_link=False)
            namespace = {"name": made, "store": store.root, "types": TYPES}
            units = {
                "ping": {"task": adhoc("ansible.builtin.ping", {})},
                "namespace": {"create": adhoc("linux.namespaces.namespace", dict(namespace, state="present")),
                              "remove": adhoc("linux.namespaces.namespace", dict(namespace, state="absent"))},
                "unshare command": {"create": command(["unshare"] + ["--%s=%s" % pair for pair in zip(TYPES, files)]
                                                      + ["true"]),
                                    "remove": command(["umount"] + files)},
                "nsenter": {"task": adhoc("linux.namespaces.nsenter",
                                          {"name": entered, "store": store.root, "argv": ["true"]})},
                "nsenter command": {"task": command(["nsenter"] + ["--%s=%s" % (t, p) for t, p in state.files.items()]
                                                    + ["true"])},
                "namespace_info": {"task": adhoc("linux.namespaces.namespace_info", {"store": store.root})},
                "lsns command": {"task": command(["lsns", "-J"])},
            }
            samples = interleave_steps(units, args.rounds, args.warmup)
        finally:
            for name in store.names():
                remove_set(store, name)
            store.unmount_if_empty()
            for path in files:  # a failed round may have left one bound
                with contextlib.suppress(subprocess.CalledProcessError):
                    subprocess.run(["umount", path], check=True, stderr=subprocess.DEVNULL)
    figures = []
    for unit, steps in samples.items():
        for step, values in steps.items():
            figure_id = "tasks.%s.%s" % (unit.replace(" ", "-"), step)
            figures.append(figure(figure_id, "task: %s%s" % (unit, "" if step == "task" else ", " + step), values))
    ratios = []
    for mine, command_way in (("namespace.create", "unshare-command.create"),
                              ("namespace.remove", "unshare-command.remove"),
                              ("nsenter.task", "nsenter-command.task"), ("namespace_info.task", "lsns-command.task")):
        ratios.append(ratio("tasks.%s/ping" % mine, "task %s / ansible.builtin.ping" % mine.replace(".task", ""),
                            "tasks." + mine, "tasks.ping.task", GOAL_PING, "at most 1.3x a ping task"))
        ratios.append(ratio("tasks.%s/command" % mine, "task %s / %s" % (
            mine.replace(".task", ""), command_way.replace("-command", " through command").replace(".task", "")),
            "tasks." + mine, "tasks." + command_way, 1.0, "no slower than the util-linux command"))
    write_results("tasks", {"rounds": args.rounds, "figures": figures, "ratios": ratios, "findings": []})
    return 0


if __name__ == "__main__":
    sys.exit(main())
