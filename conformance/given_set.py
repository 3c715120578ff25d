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
    python3 -m conformance.given_set leak-check --prefix P --store STORE --hostname HOSTNAME
        -> {"removed": [...], "leftovers": [...], "errors": [...]}; exit status 1 if anything is left

The kit's own run uses KIT_PREFIX, which the set's names do not contain, so its leak check does not
count the set the caller still holds; the last leak check, on P, covers the set and the kit's run.
"""

import argparse
import json
import platform
import sys
from typing import Dict, List

import testinfra

from conformance.collection import CollectionSet
from conformance.hostrun import HostRun
from conformance.probes import lnsprobe


def kit_prefix(prefix: str) -> str:
    return prefix + "k"


def set_arguments(prefix: str) -> Dict:
    """What the caller needs to make the collection's set on this host, and this host's facts."""
    types = [t for t in lnsprobe.SUBJECT_TYPES if t in lnsprobe.supported_types()]
    collection = CollectionSet(None, "", "", prefix, types, lnsprobe.TIME_OFFSET)
    return {"module_args": collection.module_args(), "kit_prefix": kit_prefix(prefix),
            "python": platform.python_version(), "hostname": lnsprobe.uname_names()["hostname"]}


def leak_check(prefix: str, store: str, hostname: str) -> Dict:
    """After the caller removed the set: the kit's cleanup check for everything carrying prefix."""
    return HostRun(testinfra.get_host("local://"), prefix, [], [], sys.executable, None).cleanup(store, hostname)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m conformance.given_set", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    args_parser = commands.add_parser("args", help="the collection set's module arguments on this host")
    args_parser.add_argument("--prefix", required=True)
    check_parser = commands.add_parser("leak-check", help="nothing carrying the prefix is left on this host")
    check_parser.add_argument("--prefix", required=True)
    check_parser.add_argument("--store", required=True)
    check_parser.add_argument("--hostname", required=True, help="the host's hostname before the run")
    options = parser.parse_args(argv)
    if options.command == "args":
        print(json.dumps(set_arguments(options.prefix)))
        return 0
    result = leak_check(options.prefix, options.store, options.hostname)
    print(json.dumps(result))
    return 1 if result.get("leftovers") or result.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
