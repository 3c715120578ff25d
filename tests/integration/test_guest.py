"""A qemu guest of tests/fleet/guest.py booting a Debian kernel other than this machine's: it answers ssh,
runs that kernel on this machine's root shared read-only over 9p, loads that kernel's modules, lets root
create user namespaces (a switch_root, not a chroot), takes the audit and a few properties of the
conformance kit through the playbooks, and its teardown leaves no qemu process, directory or mount behind.

The kernel (bookworm's 6.1, the quickest to boot here) is fetched into the default kernel cache on the
first run (tests/fleet/kernels.py); later runs use the cache. Needs root and qemu-system-x86 (make
compat-report installs it; without it the test is skipped)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from tests.fleet import next_fleet_prefix
from tests.fleet.guest import Guests
from tests.fleet.kernels import KernelCache

REPOSITORY = Path(__file__).resolve().parents[2]
KERNEL_CHOICE = "bookworm:6.1"
# A few properties: the full kit runs in make compat-report.
KIT_SELECTION = "UTS or IPC1 or USER1"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="guests mount the machine's root and run qemu as root"),
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86 not installed"),
]


class GuestRun(typing.NamedTuple):
    guests: Guests
    prefix: str
    report_dir: Path


def playbook(playbook_path: str, inventory: Path, extra_vars: dict) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPOSITORY / ".ansible" / "collections"))
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(REPOSITORY / playbook_path), "-i", str(inventory),
         "-e", json.dumps(extra_vars)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, timeout=600,
    )


def machine_trace(prefix: str) -> list:
    """What on this machine carries the prefix: processes, mounts, interfaces, /tmp entries."""
    listings = [subprocess.run(argv, capture_output=True, text=True, check=True).stdout
                for argv in (["ps", "-eo", "pid=,args="], ["findmnt", "-rn", "-o", "TARGET,SOURCE"], ["ip", "-o", "link"])]
    found = [line for listing in listings for line in listing.splitlines() if prefix in line]
    found += ["/tmp/" + entry for entry in os.listdir("/tmp") if entry.startswith(prefix)]
    return found


@pytest.fixture(scope="module")
def guest_run(tmp_path_factory) -> typing.Iterator[GuestRun]:
    cache = KernelCache()
    kernel = cache.kernel(KERNEL_CHOICE)
    prefix = next_fleet_prefix()
    guests = Guests(prefix, [kernel], tmp_path_factory.mktemp("guests"), busybox=cache.busybox(), progress=lambda line: None)
    with guests:
        assert not guests.failed, guests.failed
        yield GuestRun(guests, prefix, tmp_path_factory.mktemp("reports"))


def test_guest_runs_its_own_kernel_on_the_machines_root(guest_run):
    guests = guest_run.guests
    host = guests.hosts[0]
    lines = guests.run(host, "uname -r; hostname; findmnt -n -o FSTYPE,OPTIONS /").stdout.splitlines()
    assert lines[0] == host.kernel.release != os.uname().release
    assert lines[1] == host.name
    fstype, options = lines[2].split()
    assert fstype == "9p" and "ro" in options.split(",")


def test_guest_loads_modules_of_its_own_kernel(guest_run):
    # veth is a module in Debian's kernels; the machine's root has none of the guest kernel's.
    guests, link = guest_run.guests, guest_run.prefix + "v"
    result = guests.run(guests.hosts[0], f"ip link add {link}a type veth peer name {link}b && ip link delete {link}a",
                        check=False)
    assert result.returncode == 0, result.stderr


def test_root_in_the_guest_creates_user_namespaces(guest_run):
    # A chroot would make the kernel refuse CLONE_NEWUSER with EPERM.
    result = guest_run.guests.run(guest_run.guests.hosts[0], "unshare --user --map-root-user id -u", check=False)
    assert (result.returncode, result.stdout.strip()) == (0, "0"), result.stderr


def test_audit_reports_the_guests_kernel(guest_run):
    guests = guest_run.guests
    completed = playbook("playbooks/audit.yml", guests.inventory_path, {"audit_report_dir": str(guest_run.report_dir)})
    assert completed.returncode == 0, completed.stdout[-3000:]
    audit = json.loads((guest_run.report_dir / "namespace-audit.json").read_text())
    host = guests.hosts[0]
    facts = audit["hosts"][host.name]["facts"]
    assert facts["kernel"]["release"] == host.kernel.release
    # 6.1 predates listmount (6.8): the audit sees the guest's kernel, not this machine's.
    assert facts["features"]["listmount"]["status"] == "fail"


def test_kit_properties_pass_on_the_guests_kernel(guest_run):
    guests = guest_run.guests
    completed = playbook("playbooks/compat_report.yml", guests.inventory_path, {
        "conformance_report_dir": str(guest_run.report_dir), "conformance_select": KIT_SELECTION})
    assert completed.returncode == 0, completed.stdout[-3000:]
    report = json.loads((guest_run.report_dir / "compat-report.json").read_text())
    host = guests.hosts[0]
    assert [(column["key"], column["releases"]) for column in report["columns"]] == [("6.1", [host.kernel.release])]
    assert report["hosts"][host.name]["left_as_found"] is True
    counts = report["counts"]
    assert counts["FAIL"] == 0 and counts["PASS"] > 0 and counts["without_result"] == 0, counts


def test_teardown_leaves_nothing(guest_run):
    guests = guest_run.guests
    qemu_pids = guests.qemu_pids
    assert qemu_pids and all(Path(f"/proc/{pid}").exists() for pid in qemu_pids)
    guests.teardown()
    assert guests.leftovers() == []
    assert not any(Path(f"/proc/{pid}").exists() for pid in qemu_pids)
    assert not guests.root.exists()
    assert machine_trace(guest_run.prefix) == []
