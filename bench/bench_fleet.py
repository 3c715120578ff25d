"""Cost of the fleet of SSH test hosts: build, `ansible all -m setup`, teardown, for 5 and 20 hosts.

Run as root from the repository root: `python3 -m bench.bench_fleet [--counts 5 20]`.
Prints wall times; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fleet import Fleet, random_prefix


def ansible_setup_seconds(fleet: Fleet, ansible: str, forks: int) -> float:
    started = time.monotonic()
    subprocess.run([ansible, "all", "-i", str(fleet.inventory_path), "-f", str(forks), "-m", "setup"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", type=int, nargs="+", default=[5, 20])
    args = parser.parse_args()
    beside_python = Path(sys.executable).with_name("ansible")
    ansible = str(beside_python) if beside_python.exists() else shutil.which("ansible")
    if ansible is None:
        sys.exit("ansible not found: make deps installs ansible-core")
    print(f"{'hosts':>5} {'build s':>8} {'setup -f 5':>11} {'setup -f N':>11} {'teardown s':>10}")
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as workdir:
        for count in args.counts:
            fleet = Fleet(random_prefix("lnsb"), count, Path(workdir))
            started = time.monotonic()
            fleet.start()
            try:
                built = time.monotonic() - started
                setup_5 = ansible_setup_seconds(fleet, ansible, 5)
                setup_n = ansible_setup_seconds(fleet, ansible, count)
            finally:
                started = time.monotonic()
                fleet.teardown()
                removed = time.monotonic() - started
            print(f"{count:>5} {built:>8.2f} {setup_5:>11.2f} {setup_n:>11.2f} {removed:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
