"""The become plugin linux.namespaces.nsenter entering a PID, nsfs paths or an `ip netns` name over SSH.

As the fleet host's user who is not root, through sudo (tests/fleet). The set comes from
the `remote_set` fixture (conftest.py); an `ip netns` name is made inside the fleet host and removed afterwards.
"""

from __future__ import annotations

import json
from typing import Iterator, List, Tuple

import pytest

from tests.integration.adhoc import ansible_adhoc

pytest_plugins = ("tests.fleet.pytest_plugin",)


def entering(fleet, **target) -> List[str]:
    """Options for a task that enters target (plugin option -> value) as the fleet's user through sudo."""
    variables = {"ansible_user": fleet.user, "ansible_nsenter_sudo": True}
    variables.update(("ansible_nsenter_" + option, value) for option, value in target.items())
    return ["--become", "--become-method", "linux.namespaces.nsenter", "-e", json.dumps(variables)]


def task_inodes(fleet, host, read: Tuple[str, ...], **target) -> List[int]:
    """The inodes of the namespaces (of the types in read) a task entering target runs in: its /proc/self/ns links, as
    `readlink` shows them (TYPE:[INODE]), which the stat module returns as lnk_target."""
    inodes = []
    for nstype in read:
        status, result = ansible_adhoc("stat", {"path": "/proc/self/ns/" + nstype},
                                       *entering(fleet, **target), inventory=str(fleet.inventory_path))[host.name]
        assert status == "SUCCESS", result
        link = result["stat"]["lnk_target"]
        assert link.startswith(nstype + ":["), link
        inodes.append(int(link[len(nstype) + 2:-1]))
    return inodes


def inodes_on_host(fleet, host, *paths: str) -> List[int]:
    return [int(line) for line in fleet.run(host, ["stat", "-L", "-c", "%i", *paths]).stdout.split()]


@pytest.fixture
def remote_netns(fleet_factory, prefix: str) -> Iterator[Tuple[object, object, str]]:
    """(fleet, host, name): a one-host fleet with a network namespace made by `ip netns add name` on the host."""
    fleet = fleet_factory(1)
    host = fleet.hosts[0]
    name = prefix + "-ipns"
    fleet.run(host, "ip netns add " + name)
    try:
        yield fleet, host, name
    finally:
        fleet.run(host, "ip netns delete " + name, check=False)


def test_a_task_enters_the_namespaces_of_a_pid(remote_set):
    fleet, host, name = remote_set
    state = json.loads(fleet.run(host, "cat /run/linux-namespaces/%s/state.json" % name).stdout)
    store = "/run/linux-namespaces/" + name
    assert task_inodes(fleet, host, ("uts", "net"), pid=state["holder_pid"]) == inodes_on_host(
        fleet, host, store + "/uts", store + "/net")


def test_a_task_enters_nsfs_paths_and_only_their_types(remote_set):
    fleet, host, name = remote_set
    store = "/run/linux-namespaces/" + name
    paths = {"uts": store + "/uts", "net": store + "/net", "ipc": store + "/ipc"}
    # ipc is given but not among types: the task stays in the host's IPC namespace.
    assert task_inodes(fleet, host, ("uts", "net", "ipc"), paths=paths, types=["uts", "net"]) == inodes_on_host(
        fleet, host, store + "/uts", store + "/net", "/proc/self/ns/ipc")


def test_a_task_enters_an_ip_netns_name(remote_netns):
    fleet, host, name = remote_netns
    entered = task_inodes(fleet, host, ("net", "uts"), netns=name)
    # Only the network namespace is entered, as `ip netns exec` does.
    assert entered == inodes_on_host(fleet, host, "/run/netns/" + name, "/proc/self/ns/uts")
    assert entered[0] not in inodes_on_host(fleet, host, "/proc/self/ns/net")


@pytest.mark.parametrize("target, reason", [
    ({"pid": 4194305}, "no process with pid 4194305"),  # above the largest pid_max the kernel allows
    ({"paths": {"net": "/run/netns/{prefix}-missing"}}, "open failed (/run/netns/{prefix}-missing): no such file"),
    ({"netns": "{prefix}-missing"}, "no network namespace named '{prefix}-missing' in /run/netns"),
], ids=["pid", "paths", "netns"])
def test_a_wrong_target_fails_the_task_with_the_reason(remote_netns, prefix: str, target: dict, reason: str):
    fleet, host, unused = remote_netns
    target = json.loads(json.dumps(target).replace("{prefix}", prefix))
    status, result = ansible_adhoc("ping", "", *entering(fleet, **target), inventory=str(fleet.inventory_path))[host.name]
    assert status == "FAILED"
    assert result["msg"].startswith("linux.namespaces.nsenter: " + reason.replace("{prefix}", prefix)), result
