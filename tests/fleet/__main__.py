"""`python3 -m tests.fleet up|down`: a fleet that outlives the command, for benchmarks and manual use.

up   builds the fleet and prints its inventory, ssh_config and hosts as JSON; the state file in
     WORKDIR/fleet-PREFIX lets `down` find every host's PID 1 later.
down removes it: PID 1 of each host (by pid, checked against its start time), bridge, veths, files.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from tests.fleet.fleet import Fleet, FleetError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.fleet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True)
    up = actions.add_parser("up", help="build a fleet and leave it running")
    up.add_argument("--prefix", required=True, help="names everything: PREFIX-hN, PREFIXbr, PREFIXhN")
    up.add_argument("--count", required=True, type=int)
    up.add_argument("--workdir", required=True, type=Path)
    up.add_argument("--python", help="ansible_python_interpreter of the hosts (default /usr/bin/python3)")
    down = actions.add_parser("down", help="remove a fleet made by up")
    down.add_argument("--prefix", required=True)
    down.add_argument("--workdir", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        if args.action == "up":
            fleet = Fleet(args.prefix, args.count, args.workdir, python=args.python, bound_to_caller=False)
            fleet.start()
            print(json.dumps({
                "inventory": str(fleet.inventory_path),
                "ssh_config": str(fleet.ssh_config_path),
                "control_dir": str(fleet.control_dir),
                "hosts": [asdict(host) for host in fleet.hosts],
            }, indent=2))
        else:
            Fleet.from_state(args.prefix, args.workdir).teardown()
    except FleetError as error:
        print(f"fleet: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
