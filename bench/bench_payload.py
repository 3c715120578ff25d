"""What the collection ships to a managed host: each module's module_utils, and the become plugin's program.

Run as root from the repository root: `.venv/bin/python -m bench.bench_payload [--tree PATH ...] [--rounds 100]`.
Each --tree (default: this repository) is a checkout of the collection, e.g. a `git worktree` of an older
commit, so before and after are measured in one run. Per tree, in a process of its own (the collection
loader is set up once per process):

  modules          for each plugins/modules/*.py, the bytes of this collection's module_utils that
                   ansible-core's own module builder (module_common.recursive_finder) puts in its payload
  become program   the bytes of the become plugin's command line, and the median time to run it (enter a
                   set made with the tree's own namespace module, exec `true`) against a bare start of the
                   same Python, `python3 -c pass` (as Ansible starts a module's Python), and against
                   `python3 -I -S -c pass` (the start the program itself pays)

Prints a table, writes bench/results/payload-TIMESTAMP.json. Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Dict, List

from bench.common import REPO, ansible_env, write_results
from tests.fleet import run_prefix
from tests.fleet.ssh_hosts import unwind_on_signals

COLLECTION = "ansible_collections/linux/namespaces"
HOST_PYTHON = "/usr/bin/python3"


def collections_dir(workdir: str, tree: Path) -> str:
    link = Path(workdir, COLLECTION)
    link.parent.mkdir(parents=True)
    link.symlink_to(tree.resolve())
    return workdir


def module_payloads(tree: Path, collections: str) -> Dict[str, int]:
    """{module: bytes of this collection's module_utils in its payload}, as ansible-core builds it."""
    # pylint: disable=import-outside-toplevel  # the collection loader must see this tree's collections path
    from ansible.executor.module_common import recursive_finder
    from ansible._internal._ansiballz._builder import ExtensionManager
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[collections])._install()  # pylint: disable=protected-access
    sizes = {}
    for path in sorted((tree / "plugins" / "modules").glob("*.py")):
        fqn = "ansible_collections.linux.namespaces.plugins.modules." + path.stem
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            recursive_finder(path.stem, fqn, path.read_bytes(), archive, datetime.datetime(2000, 1, 1), ExtensionManager())
            sizes[path.stem] = sum(info.file_size for info in archive.infolist()
                                   if info.filename.startswith(COLLECTION + "/plugins/module_utils/"))
    return sizes


def seconds(argv: List[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def become_program(collections: str, rounds: int) -> dict:
    """The become program's size, and the medians of running it and of a bare interpreter, in turn."""
    sys.path.insert(0, collections)
    from ansible_collections.linux.namespaces.plugins.become.nsenter import entering_program  # pylint: disable=import-outside-toplevel
    program = entering_program()
    name, store = run_prefix() + "-payload", "/run/%s-payload" % run_prefix()
    adhoc = [str(Path(sys.executable).with_name("ansible")), "localhost", "-c", "local", "-e",
             "ansible_python_interpreter=" + HOST_PYTHON, "-m", "linux.namespaces.namespace", "-a"]
    env = ansible_env(ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="false",
                      ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    subprocess.run(adhoc + [json.dumps({"name": name, "store": store})], env=env, stdout=subprocess.DEVNULL, check=True)
    try:
        # 0.1.0's program takes no become success marker before the set's name; later ones take SET STORE,
        # then a JSON target (an enter_main that reads JSON); the quick program hands sys.argv[1:] on.
        marker = [""] if "main(sys.argv[2:])" in program or "main(sys.argv[1:], _full_program)" in program else []
        enter_main = Path(collections, COLLECTION, "plugins", "module_utils", "enter_main.py")
        target = ([json.dumps({"name": name, "store": store})] if "json.loads" in enter_main.read_text()
                  else [name, store])
        ways = {"become program": [HOST_PYTHON, "-I", "-S", "-c", program, *marker, *target, "true"],
                "python start": [HOST_PYTHON, "-c", "pass"],
                "python -I -S start": [HOST_PYTHON, "-I", "-S", "-c", "pass"]}
        samples: Dict[str, List[float]] = {way: [] for way in ways}
        for unused in range(rounds + 1):  # round 0 warms the caches up
            for way, argv in ways.items():
                samples[way].append(seconds(argv))
    finally:
        subprocess.run(adhoc + [json.dumps({"name": name, "store": store, "state": "absent"})], env=env,
                       stdout=subprocess.DEVNULL, check=True)  # the module removes the emptied store too
    medians = {way: statistics.median(values[1:]) for way, values in samples.items()}
    return {"command_line_bytes": len(program.encode()), "median_seconds": medians}


def measure(tree: Path, rounds: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=run_prefix() + "-payload-") as workdir:
        collections = collections_dir(workdir, tree)
        return {"tree": str(tree.resolve()), "module_utils_bytes": module_payloads(tree, collections),
                "become": become_program(collections, rounds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="append", type=Path, help="a checkout of the collection (repeatable)")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--measure-one", type=Path, help=argparse.SUPPRESS)  # the per-tree child process
    args = parser.parse_args()
    if args.measure_one:
        print(json.dumps(measure(args.measure_one, args.rounds)))
        return 0
    if os.geteuid() != 0:
        sys.exit("run as root: making and entering a set needs CAP_SYS_ADMIN")
    unwind_on_signals()
    trees = []
    for tree in args.tree or [REPO]:
        child = [sys.executable, "-m", "bench.bench_payload", "--measure-one", str(tree), "--rounds", str(args.rounds)]
        trees.append(json.loads(subprocess.run(child, cwd=REPO, stdout=subprocess.PIPE, text=True, check=True).stdout))
    modules = sorted({name for tree in trees for name in tree["module_utils_bytes"]})
    print("%-22s" % "bytes of module_utils" + "".join("%14s" % Path(t["tree"]).name for t in trees))
    for name in modules:
        print("%-22s" % name + "".join("%14s" % t["module_utils_bytes"].get(name, "-") for t in trees))
    print("%-22s" % "become command line" + "".join("%14d" % t["become"]["command_line_bytes"] for t in trees))
    for way in ("become program", "python start", "python -I -S start"):
        print("%-22s" % (way + " ms") + "".join("%14.2f" % (t["become"]["median_seconds"][way] * 1000) for t in trees))
    write_results("payload", {"rounds": args.rounds, "host_python": HOST_PYTHON, "trees": trees})
    return 0


if __name__ == "__main__":
    sys.exit(main())
