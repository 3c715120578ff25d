"""What isolate.yml makes on the machine for one test, found and removed by hand (test_isolate, test_packaging)."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Callable

from tests.integration.helpers import PlayRun, free_point_to_point, interface_names, queue_keys, remove_queue, run

HOLDER_COMM_PREFIX = "nsh:"


class Subject:
    """One isolated environment the play makes: its names and the extra vars that say them."""

    def __init__(self, prefix: str, suffix: str, queue_number: int, ipc_key: Callable[[int], int],
                 veth: bool = False) -> None:
        self.prefix = prefix
        self.name = f"{prefix}-{suffix}"
        self.store = Path(f"/run/{prefix}-store-{suffix}")
        self.queue_key = ipc_key(queue_number)
        self.veth = veth
        self.veth_name = f"{prefix}{suffix[0]}v"
        self.host_address, self.peer_address = free_point_to_point(prefix, queue_number)
        self.first_run: PlayRun | None = None

    @property
    def extra_vars(self) -> dict:
        variables = {
            "isolate_name": self.name,
            "isolate_store": str(self.store),
            "isolate_queue_key": "0x%08x" % self.queue_key,
            "isolate_veth": self.veth,
        }
        if self.veth:
            variables.update(isolate_veth_name=self.veth_name,
                             isolate_veth_address=str(self.host_address),
                             isolate_veth_peer_address=str(self.peer_address))
        return variables

    def file(self, nstype: str) -> str:
        return str(self.store / self.name / nstype)

    def holder_pid(self) -> int:
        """PID 1 of the set as the host sees it, found by its name in ps (not by the store's state)."""
        wanted = (HOLDER_COMM_PREFIX + self.name)[:15]
        pids = [int(pid) for pid, comm in ps_pid_comm() if comm == wanted]
        assert len(pids) == 1, f"expected one holder named {wanted}, ps shows {pids}"
        return pids[0]


def ps_pid_comm() -> list:
    """(pid, comm) of the live processes: a removed set's holder may stay a zombie until the host's init reaps it."""
    rows = [line.split(None, 2) for line in run(["ps", "-e", "-o", "pid=,stat=,comm="]).stdout.splitlines()]
    return [(pid, comm) for pid, stat, comm in rows if not stat.startswith("Z")]


# --- cleanup that trusts nothing the play did ---------------------------------------------------

def remove_leftovers(subject: Subject) -> None:
    """Remove by hand whatever of the subject is still on the machine."""
    for pid, comm in ps_pid_comm():
        if comm == (HOLDER_COMM_PREFIX + subject.name)[:15]:
            os.kill(int(pid), signal.SIGKILL)
    targets = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for target in reversed(targets):
        if target == str(subject.store) or target.startswith(f"{subject.store}/") \
                or target == f"/run/netns/{subject.name}":
            run(["umount", "-l", target], check=False)
    netns_entry = Path("/run/netns", subject.name)
    if netns_entry.exists():
        netns_entry.unlink()
    if subject.veth_name in interface_names():
        run(["ip", "link", "delete", subject.veth_name], check=False)
    remove_queue(subject.queue_key)
    if subject.store.is_dir():
        shutil.rmtree(subject.store)


def leftovers(subject: Subject) -> list:
    """What of the subject the machine still shows."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        target = line.split()[4]
        if target.startswith(str(subject.store)) or target == f"/run/netns/{subject.name}":
            found.append(f"mount {target}")
    found += [f"holder {pid}" for pid, comm in ps_pid_comm() if comm == (HOLDER_COMM_PREFIX + subject.name)[:15]]
    if Path("/run/netns", subject.name).exists():
        found.append(f"/run/netns/{subject.name}")
    found += [f"interface {name}" for name in interface_names() if name == subject.veth_name]
    if subject.queue_key in queue_keys():
        found.append("queue 0x%08x" % subject.queue_key)
    return found
