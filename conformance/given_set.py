"""The kit run on the host itself, with the collection's set made by the caller (the
linux.namespaces.conformance role does this: it ships the kit to each host and runs it there with
testinfra's local backend, so the host needs no ansible and checks cost no network round trips).

The caller, on the host:

    python3 -m conformance.given_set args --prefix P
        -> {"module_args": {...}, "kit_prefix": ..., "python": "3.11.2", "hostname": ...}
    (the caller makes the set: linux.namespaces.namespace with module_args, over its own connection)
    LNS_TEST_PREFIX=KIT_PREFIX python3 -m pytest conformance --hosts=local:// \\
        --lns-collection-set NAME --lns-collection-store STORE --lns-report-dir DIR
    (the caller removes the set: the module with state: absent)
    python3 -m conformance.given_set finish --prefix P --store STORE --hostname HOSTNAME --result DIR/local.json
        -> {"cleanup": {"removed": [...], "leftovers": [...], "errors": [...]}, "result": {...}};
           exit status 1 if anything is left

The kit's own run uses KIT_PREFIX, which the set's names do not contain, so its leak check does not
count the set the caller still holds; the last leak check, on P, covers the set and the kit's run.
"""

import argparse
import json
import os
import platform
import sys
from typing import Dict, List

from conformance.collection import CollectionSet
from conformance.hostrun import HostRun
from conformance.probes.lib.observe import uname_names
from conformance.probes.lib.subjects import SUBJECT_TYPES, TIME_OFFSET, supported_types


def kit_prefix(prefix: str) -> str:
    return prefix + "k"


def set_arguments(prefix: str) -> Dict:
    """What the caller needs to make the collection's set on this host, and this host's facts."""
    types = [t for t in SUBJECT_TYPES if t in supported_types()]
    collection = CollectionSet(None, "", "", prefix, types, TIME_OFFSET)
    return {"module_args": collection.module_args(), "kit_prefix": kit_prefix(prefix),
            "python": platform.python_version(), "hostname": uname_names()["hostname"]}


def finish(prefix: str, store: str, hostname: str, result_path: str) -> Dict:
    """After the caller removed the set: the kit's cleanup check for everything carrying prefix, and the
    run's JSON result (None if the kit wrote none) with that check added as `caller_cleanup`."""
    import testinfra  # here, not at the top: `args` and the kit's unit tests work without it

    cleanup = HostRun(testinfra.get_host("local://"), prefix, [], [], sys.executable, None).cleanup(store, hostname)
    result = None
    if os.path.exists(result_path):
        with open(result_path) as handle:
            result = dict(json.load(handle), caller_cleanup=cleanup)
    return {"cleanup": cleanup, "result": result}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m conformance.given_set", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    args_parser = commands.add_parser("args", help="the collection set's module arguments on this host")
    args_parser.add_argument("--prefix", required=True)
    finish_parser = commands.add_parser("finish", help="the leak check once the set is removed, and the result")
    finish_parser.add_argument("--prefix", required=True)
    finish_parser.add_argument("--store", required=True)
    finish_parser.add_argument("--hostname", required=True, help="the host's hostname before the run")
    finish_parser.add_argument("--result", required=True, help="the JSON result the kit wrote (--lns-report-dir)")
    options = parser.parse_args(argv)
    if options.command == "args":
        print(json.dumps(set_arguments(options.prefix)))
        return 0
    finished = finish(options.prefix, options.store, options.hostname, options.result)
    print(json.dumps(finished))
    return 1 if finished["cleanup"].get("leftovers") or finished["cleanup"].get("errors") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
