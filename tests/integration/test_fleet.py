"""The fleet of SSH test hosts (tests/fleet): each host is its own machine as seen over SSH, by
Ansible and by testinfra, and nothing of it stays behind. Needs root and openssh-server."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fleet.fleet import Fleet, FleetError, FleetHost, next_fleet_prefix

pytest_plugins = ("tests.fleet.pytest_plugin",)

REPOSITORY = Path(__file__).resolve().parents[2]
NAMESPACE_TYPES_OF_A_HOST = ("net", "uts", "mnt", "pid")


def ansible_command(name: str) -> str:
    beside_python = Path(sys.executable).with_name(name)
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not installed (make deps installs ansible-core)")
    return found


def ansible_adhoc(fleet: Fleet, module: str, arguments: str = "") -> dict[str, tuple[str, dict]]:
    """Run an ad-hoc module on all hosts; per host: (status, result) from the minimal callback."""
    argv = [ansible_command("ansible"), "all", "-i", str(fleet.inventory_path), "-m", module]
    if arguments:
        argv += ["-a", arguments]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    results = {}
    decoder = json.JSONDecoder()
    for header in re.finditer(r"^(\S+) \| (\w+)(?:!)? => ", completed.stdout, re.MULTILINE):
        result, unused = decoder.raw_decode(completed.stdout, header.end())
        results[header.group(1)] = (header.group(2), result)
    assert results, f"no result from ansible (rc {completed.returncode}): {completed.stdout}{completed.stderr}"
    return results


def namespace_inode(path: str) -> int:
    return os.stat(path).st_ino


def leftovers_seen_by_the_machine(prefix: str, paths: list[Path], pids: list[int]) -> list[str]:
    """What the machine still shows of a fleet, observed with ip, ps, findmnt and /proc."""
    ours = re.compile(rf"{prefix}(?![0-9])|" + "|".join(re.escape(str(path)) for path in paths))
    found = []
    for line in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout.splitlines():
        interface = line.split(":")[1].strip().split("@")[0]
        if re.fullmatch(rf"{prefix}(br|h\d+)", interface):
            found.append(f"interface {interface}")
    processes = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    found += [f"process {line.strip()}" for line in processes.splitlines() if ours.search(line)]
    found += [f"pid {pid}" for pid in pids if Path(f"/proc/{pid}").exists()]
    mounts = subprocess.run(["findmnt", "-rn", "-o", "TARGET,SOURCE"], capture_output=True, text=True, check=False).stdout
    found += [f"mount {line}" for line in mounts.splitlines() if ours.search(line)]
    found += [f"path {path}" for path in paths if path.exists()]
    return found


def machine_identity() -> dict[str, object]:
    """The machine's own hostname files and root's ~/.ssh, to show the fleet leaves them alone."""
    identity: dict[str, object] = {"hostname": socket.gethostname()}
    for path in ("/etc/hostname", "/etc/hosts", "/etc/machine-id", "/var/lib/dbus/machine-id"):
        identity[path] = Path(path).read_bytes() if Path(path).exists() else None
    root_ssh = Path("/root/.ssh")
    identity["/root/.ssh"] = (
        sorted((str(path), hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir")
               for path in root_ssh.rglob("*"))
        if root_ssh.exists() else None
    )
    return identity


def test_each_host_answers_with_its_own_name(fleet_factory):
    fleet = fleet_factory(3)
    assert [host.name for host in fleet.hosts] == [f"{fleet.prefix}-h{number}" for number in (1, 2, 3)]
    machine_ids = set()
    for host in fleet.hosts:
        hostname, etc_hostname, machine_id, dbus_machine_id = fleet.run(
            host, "hostname; cat /etc/hostname /etc/machine-id /var/lib/dbus/machine-id").stdout.split()
        assert hostname == etc_hostname == host.name
        assert machine_id == dbus_machine_id
        machine_ids.add(machine_id)
    assert len(machine_ids) == 3
    assert Path("/etc/machine-id").read_text().strip() not in machine_ids


def test_pid_1_of_each_host_is_its_sshd(fleet_factory):
    fleet = fleet_factory(3)
    for host in fleet.hosts:
        assert Path(f"/proc/{host.pid}/comm").read_text().strip() == "sshd"
        status = Path(f"/proc/{host.pid}/status").read_text()
        assert re.search(r"^NSpid:\s+(\d+)\s+(\d+)$", status, re.MULTILINE).groups() == (str(host.pid), "1")
        assert fleet.run(host, "cat /proc/1/comm").stdout.strip() == "sshd"
        # Its /proc shows only its own processes: the sshd, this session's sshd and shell, ps.
        inside = fleet.run(host, "ps -eo comm=").stdout.split()
        assert set(inside) <= {"sshd", "bash", "sh", "ps"}, inside


def test_each_host_has_its_own_namespaces(fleet_factory):
    fleet = fleet_factory(3)
    for nstype in NAMESPACE_TYPES_OF_A_HOST:
        inodes = {namespace_inode(f"/proc/{host.pid}/ns/{nstype}") for host in fleet.hosts}
        assert len(inodes) == 3, nstype
        assert namespace_inode(f"/proc/self/ns/{nstype}") not in inodes, nstype
    for host in fleet.hosts:
        seen_inside = fleet.run(host, "readlink /proc/self/ns/net /proc/self/ns/uts").stdout.split()
        assert seen_inside == [os.readlink(f"/proc/{host.pid}/ns/net"), os.readlink(f"/proc/{host.pid}/ns/uts")]


def test_interfaces_and_routes_of_a_host_are_its_own(fleet_factory):
    fleet = fleet_factory(2)
    for host in fleet.hosts:
        links = json.loads(fleet.run(host, "ip -j link show").stdout)
        assert sorted(link["ifname"] for link in links) == ["eth0", "lo"]
        assert fleet.run(host, "ls /sys/class/net").stdout.split() == ["eth0", "lo"]
        routes = fleet.run(host, "ip route show default").stdout.split()
        assert routes[:3] == ["default", "via", fleet.unowned_gateway]
        addresses = json.loads(fleet.run(host, "ip -j -4 address show").stdout)
        assert sorted(info["local"] for entry in addresses for info in entry["addr_info"]) == [host.address, "127.0.0.1"]
    # The gateway is owned by nobody, the machine included: nothing can leave the fleet.
    machine_addresses = subprocess.run(["ip", "-o", "address"], capture_output=True, text=True, check=True).stdout
    assert f" {fleet.unowned_gateway}/" not in machine_addresses
    assert f" {fleet.controller_address}/" in machine_addresses
    first, second = fleet.hosts
    fleet.run(first, f"bash -c 'exec 3<>/dev/tcp/{second.address}/22'")


def test_mounts_stay_inside_each_host(fleet_factory):
    fleet = fleet_factory(2)
    first, second = fleet.hosts
    probe = f"{fleet.prefix}-probe"
    fleet.run(first, f"mount -t tmpfs {probe} /mnt && touch /root/{probe} /root/.ssh/{probe} /tmp/{probe}")
    assert probe in fleet.run(first, "cat /proc/self/mountinfo").stdout
    assert probe not in Path("/proc/self/mountinfo").read_text()
    assert probe not in fleet.run(second, "cat /proc/self/mountinfo").stdout
    for path in (f"/root/{probe}", f"/root/.ssh/{probe}", f"/tmp/{probe}"):
        assert not Path(path).exists()
        assert fleet.run(second, f"test -e {path}", check=False).returncode == 1
    machine_marker = Path(f"/run/{fleet.prefix}-marker")
    machine_marker.touch()
    try:
        run_inside = fleet.run(first, "ls -A /run").stdout.split()
        assert machine_marker.name not in run_inside
        assert {"netns", "linux-namespaces"}.isdisjoint(run_inside)
        assert "sshd" in run_inside
    finally:
        machine_marker.unlink()


def test_a_host_makes_namespaces_of_its_own_that_stay_inside(fleet_factory):
    fleet = fleet_factory(2)
    first, second = fleet.hosts
    all_types = "--user --map-root-user --uts --ipc --net --mount --pid --cgroup --time --fork --mount-proc"
    inner = fleet.run(first, f"unshare {all_types} sh -c 'hostname inner && hostname && echo $$'").stdout.split()
    assert inner == ["inner", "1"]
    assert fleet.run(first, "hostname").stdout.strip() == first.name
    assert fleet.run(first, "python3 -c 'import ctypes; ctypes.CDLL(None).getpid'", check=False).returncode == 0
    # A bind-mounted namespace made inside a host (ip netns) is seen there, not on the machine or next door.
    netns = f"{fleet.prefix}-inner"
    fleet.run(first, f"ip netns add {netns}")
    assert netns in fleet.run(first, "ip netns list").stdout
    assert netns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    assert netns not in Path("/proc/self/mountinfo").read_text()
    assert netns not in fleet.run(second, "ip netns list; cat /proc/self/mountinfo").stdout


def test_ansible_ping_reaches_every_host(fleet_factory):
    fleet = fleet_factory(3)
    results = ansible_adhoc(fleet, "ping")
    assert {name: status for name, (status, _result) in results.items()} == {host.name: "SUCCESS" for host in fleet.hosts}
    assert all(result["ping"] == "pong" for _status, result in results.values())


def test_ansible_setup_reports_each_hosts_identity(fleet_factory):
    fleet = fleet_factory(3)
    results = ansible_adhoc(
        fleet, "setup", "filter=ansible_hostname,ansible_default_ipv4,ansible_machine_id,ansible_interfaces")
    for host in fleet.hosts:
        status, result = results[host.name]
        assert status == "SUCCESS"
        facts = result["ansible_facts"]
        assert facts["ansible_hostname"] == host.name
        assert facts["ansible_default_ipv4"]["address"] == host.address
        assert facts["ansible_default_ipv4"]["gateway"] == fleet.unowned_gateway
        assert sorted(facts["ansible_interfaces"]) == ["eth0", "lo"]
        assert facts["ansible_machine_id"] == fleet.run(host, "cat /etc/machine-id").stdout.strip()


def test_testinfra_reaches_hosts_through_the_ssh_config(fleet_factory, tmp_path):
    fleet = fleet_factory(3)
    suite = tmp_path / "test_hostname.py"
    suite.write_text(
        "def test_the_host_is_the_named_one(host):\n"
        "    assert host.check_output('hostname') == host.backend.get_hostname()\n"
    )
    hosts = ",".join(f"ssh://{host.name}" for host in fleet.hosts)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--hosts={hosts}",
         f"--ssh-config={fleet.ssh_config_path}", str(suite)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "3 passed" in completed.stdout


def test_the_machine_keeps_its_hostname_and_root_ssh(tmp_path):
    before = machine_identity()
    with Fleet(next_fleet_prefix(), 2, tmp_path) as fleet:
        for host in fleet.hosts:
            fleet.run(host, "echo changed > /etc/hostname; hostname changed; touch /root/.ssh/known_hosts")
        assert machine_identity() == before
    assert machine_identity() == before


def built_and_used(fleet: Fleet) -> tuple[list[Path], list[int]]:
    """Use every part of a fleet (ssh control masters included); what must vanish on teardown."""
    for host in fleet.hosts:
        fleet.run(host, "true")
    return [fleet.root, fleet.control_dir], [host.pid for host in fleet.hosts]


def test_teardown_removes_everything_and_can_run_again(tmp_path):
    fleet = Fleet(next_fleet_prefix(), 3, tmp_path)
    fleet.start()
    try:
        paths, pids = built_and_used(fleet)
        assert len(leftovers_seen_by_the_machine(fleet.prefix, paths, pids)) >= 3 + 1 + 3 + 2
    finally:
        fleet.teardown()
    assert leftovers_seen_by_the_machine(fleet.prefix, paths, pids) == []
    fleet.teardown()
    assert leftovers_seen_by_the_machine(fleet.prefix, paths, pids) == []


def test_a_failed_start_leaves_nothing(tmp_path):
    fleet = Fleet(next_fleet_prefix(), 3, tmp_path, sshd="/bin/false")
    with pytest.raises(FleetError, match="exited"):
        fleet.start()
    assert fleet.hosts, "the start failed before any host existed: nothing partial was tested"
    paths, pids = [fleet.root, fleet.control_dir], [host.pid for host in fleet.hosts]
    assert leftovers_seen_by_the_machine(fleet.prefix, paths, pids) == []


def test_cli_up_then_down(tmp_path):
    prefix = next_fleet_prefix()
    cli = [sys.executable, "-m", "tests.fleet"]
    up = subprocess.run([*cli, "up", "--prefix", prefix, "--count", "2", "--workdir", str(tmp_path)],
                        cwd=REPOSITORY, capture_output=True, text=True, timeout=120, check=False)
    try:
        assert up.returncode == 0, up.stderr
        made = json.loads(up.stdout)
        hosts = [FleetHost(**host) for host in made["hosts"]]
        for host in hosts:
            answer = subprocess.run(["ssh", "-F", made["ssh_config"], host.name, "hostname"],
                                    capture_output=True, text=True, timeout=60, check=False)
            assert answer.stdout.strip() == host.name
    finally:
        down = subprocess.run([*cli, "down", "--prefix", prefix, "--workdir", str(tmp_path)],
                              cwd=REPOSITORY, capture_output=True, text=True, timeout=120, check=False)
    assert down.returncode == 0, down.stderr
    paths = [tmp_path / f"fleet-{prefix}", Path(made["control_dir"])]
    assert leftovers_seen_by_the_machine(prefix, paths, [host.pid for host in hosts]) == []
