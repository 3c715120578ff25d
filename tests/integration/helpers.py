"""What the integration tests of isolate, veth and sysv_queue share.

- Running playbooks with this repository as linux.namespaces (results from the recap), and single
  modules the way Ansible runs them on a target (results from their JSON, diff included).
- Running the independent tools that check what the modules did.

The run's SysV IPC keys come from tests/conftest.py's `ipc_key` fixture.
"""

from __future__ import annotations

import ctypes
import dataclasses
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS_PATH = REPO / ".ansible" / "collections"  # where `make collection` links the repository
RECAP_LINE = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def run(argv, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a tool; with check, fail the test with its output when it exits non-zero."""
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, **kwargs)
    if check and completed.returncode != 0:
        raise AssertionError(f"{argv} exited {completed.returncode}: {completed.stdout}{completed.stderr}")
    return completed


def queue_keys(argv_prefix=()) -> set:
    """Keys of the SysV message queues `ipcs -q` lists (inside namespaces with an nsenter prefix)."""
    output = run([*argv_prefix, "ipcs", "-q"]).stdout
    return {int(line.split()[0], 16) for line in output.splitlines() if line.startswith("0x")}


def interface_names(argv_prefix=()) -> set:
    """Interfaces `ip link` lists (inside namespaces with an nsenter prefix), without their @peer."""
    output = run([*argv_prefix, "ip", "-o", "link", "show"]).stdout
    return {line.split(":", 2)[1].strip().split("@", 1)[0] for line in output.splitlines()}


_libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000


def make_queue(key: int) -> None:
    """A message queue with that key in the caller's IPC namespace (ipcmk cannot choose the key)."""
    if _libc.msgget(ctypes.c_int32(key).value, IPC_CREAT | 0o600) == -1:
        raise OSError(ctypes.get_errno(), "msgget 0x%08x" % key)


def remove_queue(key: int) -> None:
    run(["ipcrm", "-Q", "0x%08x" % key], check=False)


def free_point_to_point(prefix: str, number: int) -> tuple:
    """A /30 in 10.254.0.0/16 for this run that no address or route of the machine overlaps."""
    used = []
    for line in run(["ip", "-4", "-o", "address", "show"]).stdout.splitlines():
        used.append(ipaddress.ip_network(line.split()[3], strict=False))
    for line in run(["ip", "-4", "route", "show", "table", "all"]).stdout.splitlines():
        destination = line.split()[0]
        if destination != "default" and re.match(r"^[\d./]+$", destination):
            used.append(ipaddress.ip_network(destination, strict=False))
    base = int(ipaddress.IPv4Address("10.254.0.0"))
    start = int(prefix[-4:], 16) * 16 + number * 4
    for step in range(0, 65536, 4):
        network = ipaddress.ip_network((base + (start + step) % 65536, 30))
        if not any(network.overlaps(other) for other in used):
            hosts = list(network.hosts())
            return ipaddress.ip_interface(f"{hosts[0]}/30"), ipaddress.ip_interface(f"{hosts[1]}/30")
    raise RuntimeError("no free /30 in 10.254.0.0/16")


# --- running things -----------------------------------------------------------------------------


def ansible_environment() -> dict:
    environment = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="false",
                       ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_RETRY_FILES_ENABLED="false",
                       ANSIBLE_DEPRECATION_WARNINGS="false")
    environment.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_PATH))
    return environment


def ansible_program(name: str) -> str:
    """The Ansible command beside the Python running the tests (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


@dataclasses.dataclass
class PlayRun:
    """An ansible-playbook run: the process, and the recap's counts per host."""

    completed: subprocess.CompletedProcess
    recap: dict


def ansible_playbook(playbook, extra_vars: dict, inventory=None, options=()) -> PlayRun:
    """Run PLAYBOOK with EXTRA_VARS; OPTIONS are more ansible-playbook arguments, such as --check."""
    argv = [ansible_program("ansible-playbook"), str(playbook), "-e", json.dumps(extra_vars), *options]
    if inventory is not None:
        argv += ["-i", str(inventory)]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=ansible_environment(),
                               cwd=REPO, check=False)
    recap = {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)), "unreachable": int(m.group(4)),
                          "failed": int(m.group(5))}
             for m in RECAP_LINE.finditer(completed.stdout.rpartition("PLAY RECAP")[2])}
    return PlayRun(completed, recap)


@dataclasses.dataclass
class ModuleRun:
    """One run of a module: its JSON result (with diff, which Ansible's callbacks hide)."""

    result: dict

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed"))

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))


def run_module(module: str, args: dict, check: bool = False, diff: bool = False) -> ModuleRun:
    """Run linux.namespaces.MODULE in this Python (the venv's), as Ansible runs it on a target."""
    module_args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as args_file:
        json.dump({"ANSIBLE_MODULE_ARGS": module_args}, args_file)
        args_file.flush()
        completed = subprocess.run(
            [sys.executable, "-m", f"ansible_collections.linux.namespaces.plugins.modules.{module}", args_file.name],
            capture_output=True, text=True, timeout=300, check=False,
            env=dict(os.environ, PYTHONPATH=ansible_environment()["ANSIBLE_COLLECTIONS_PATH"].split(":")[0]))
    try:
        return ModuleRun(json.loads(completed.stdout))
    except ValueError:
        raise AssertionError(f"{module} printed no JSON result: {completed.stdout}{completed.stderr}") from None
