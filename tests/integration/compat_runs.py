"""Running compat_report.yml and the kit, and what they leave on hosts and on this machine
(test_compat_report_playbook, test_compat_report_old_pythons)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import typing
from pathlib import Path

from tests.fleet import Fleet

REPOSITORY = Path(__file__).resolve().parents[2]
# On each host: its /tmp and /run, and everything that shows a name (mounts, processes, links, ns links).
HOST_TRACE = ("ls -A /tmp; echo --; ls -A /run; echo --; ls -A /run/netns 2>/dev/null; echo --; "
              "findmnt -rn -o TARGET,SOURCE; ps -eo comm=,args=; ip -o link")


def host_trace(fleet: Fleet, name: str, prefix: str) -> dict:
    tmp, run, netns, names = fleet.run(name, HOST_TRACE).stdout.split("--\n")
    return {"tmp": sorted(tmp.split()), "run": sorted(run.split()), "netns": sorted(netns.split()),
            "with prefix": [line for line in names.splitlines() if prefix in line]}


def machine_trace(prefix: str) -> list:
    """What on this machine carries the prefix: mounts, processes, interfaces, /tmp and /run/netns entries."""
    listings = [subprocess.run(argv, capture_output=True, text=True, check=True).stdout
                for argv in (["findmnt", "-rn", "-o", "TARGET,SOURCE"], ["ps", "-eo", "pid=,args="], ["ip", "-o", "link"])]
    found = [line for listing in listings for line in listing.splitlines() if prefix in line]
    found += ["%s/%s" % (directory, entry) for directory in ("/tmp", "/run/netns") if os.path.isdir(directory)
              for entry in os.listdir(directory) if entry.startswith(prefix)]
    return found


def ansible_env() -> dict:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="false")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPOSITORY / ".ansible" / "collections"))
    return env


def compat_report_playbook(inventories: list, extra_vars: dict,
                           env: typing.Optional[dict] = None) -> subprocess.CompletedProcess:
    inventory_args = [word for inventory in inventories for word in ("-i", str(inventory))]
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "linux.namespaces.compat_report", *inventory_args,
         "-e", json.dumps(extra_vars)],
        env=env or ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
        check=False, timeout=600)


def fails_here(prop_ids: set, prefix: str, attempts: int = 5) -> set:
    """Which of these kernel properties the kit finds failing when run on this machine itself (the fleet
    hosts' kernel), trying each up to `attempts` times: a kernel failure may depend on the CPUs' timing."""
    found: set = set()
    for attempt in range(attempts):
        wanted = prop_ids - found
        if not wanted:
            break
        report_dir = Path(tempfile.mkdtemp(prefix="lns-compat-local-"))
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "pytest", str(REPOSITORY / "conformance"), "--hosts=local://",
                 "--lns-subject=reference", "--lns-report-dir", str(report_dir), "-p", "no:cacheprovider", "-q",
                 "-k", " or ".join(sorted(wanted))],
                cwd=REPOSITORY, env=dict(os.environ, LNS_TEST_PREFIX="%sl%d" % (prefix, attempt)),
                capture_output=True, text=True, timeout=600, check=False)
            assert completed.returncode in (0, 1), completed.stdout[-3000:] + completed.stderr[-3000:]
            results = json.loads((report_dir / "local.json").read_text())["results"]
        finally:
            shutil.rmtree(report_dir)
        found |= {e["id"] for e in results if e["subject"] == "kernel" and e["result"] == "FAIL"}
    return found
