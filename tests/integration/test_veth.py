"""The veth module on the real kernel: pairs checked with ip and nsenter, never with pyroute2. Needs root."""

from __future__ import annotations

import os

import pytest

from tests.fleet import run_prefix
from tests.integration.helpers import free_point_to_point, interface_names, run, run_module

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="veths and namespaces need root")

PREFIX = run_prefix()
# Free /30s of 10.254.0.0/16 for this run: on links into this test's own namespaces only.
HOST_ADDRESS, PEER_ADDRESS = (str(address) for address in free_point_to_point(PREFIX, 20))
OTHER_ADDRESS = str(free_point_to_point(PREFIX, 21)[0])
IPV6_ADDRESS = f"2001:db8:{PREFIX[-4:]}::1/64"  # documentation range (RFC 3849)


@pytest.fixture(scope="module")
def prefix() -> str:
    return PREFIX


@pytest.fixture
def target(prefix):
    """A set with a network namespace, made by the namespace module and always removed."""
    name, store = f"{prefix}-veth", f"/run/{prefix}-store-veth"
    veth = f"{prefix}vt"
    try:
        made = run_module("namespace", {"name": name, "store": store, "types": ["net"]})
        assert not made.failed, made.result
        yield {"name": name, "store": store, "veth": veth, "net": f"{store}/{name}/net"}
    finally:
        run(["ip", "link", "delete", veth], check=False)
        run_module("namespace", {"name": name, "store": store, "state": "absent"})
        if os.path.isdir(store):
            os.rmdir(store)


def pair_args(target, **overrides) -> dict:
    args = {"name": target["veth"], "namespace": target["name"], "store": target["store"],
            "address": HOST_ADDRESS, "peer_address": PEER_ADDRESS}
    args.update(overrides)
    return args


def addresses(argv_prefix, ifname) -> list:
    """IPv4 and global IPv6 addresses of ifname, as `ip -brief` shows them."""
    fields = run([*argv_prefix, "ip", "-br", "address", "show", "dev", ifname]).stdout.split()
    return [field for field in fields[2:] if not field.startswith("fe80:")]


def is_up(argv_prefix, ifname) -> bool:
    flags = run([*argv_prefix, "ip", "-o", "link", "show", "dev", ifname]).stdout.split("<", 1)[1].split(">")[0]
    return "UP" in flags.split(",")


def test_check_mode_predicts_and_makes_nothing(target):
    checked = run_module("veth", pair_args(target), check=True, diff=True)
    assert checked.changed and not checked.failed
    assert checked.result["diff"]["before"] == {}
    assert checked.result["diff"]["after"]["peer"] == {"name": "eth0", "addresses": [PEER_ADDRESS], "up": True}
    assert target["veth"] not in interface_names()
    assert interface_names(["nsenter", f"--net={target['net']}"]) == {"lo"}


def test_creates_the_pair_with_the_peer_inside_and_is_idempotent(target):
    inside = ["nsenter", f"--net={target['net']}"]
    made = run_module("veth", pair_args(target))
    assert made.changed and not made.failed, made.result
    assert target["veth"] in interface_names()
    assert interface_names(inside) == {"lo", "eth0"}
    assert addresses([], target["veth"]) == [HOST_ADDRESS]
    assert addresses(inside, "eth0") == [PEER_ADDRESS]
    assert is_up([], target["veth"]) and is_up(inside, "eth0")
    again = run_module("veth", pair_args(target), check=True)
    assert not again.changed
    again = run_module("veth", pair_args(target))
    assert not again.changed and not again.failed
    assert again.result["host"]["index"] == made.result["host"]["index"]


def test_addresses_converge_to_exactly_the_ones_given(target):
    inside = ["nsenter", f"--net={target['net']}"]
    run_module("veth", pair_args(target))
    changed = run_module("veth", pair_args(target, address=[OTHER_ADDRESS, IPV6_ADDRESS], peer_address=[]),
                         diff=True)
    assert changed.changed and not changed.failed, changed.result
    assert changed.result["diff"]["before"]["host"]["addresses"] == [HOST_ADDRESS]
    assert sorted(addresses([], target["veth"])) == sorted([OTHER_ADDRESS, IPV6_ADDRESS])
    assert addresses(inside, "eth0") == []


def test_works_with_a_netns_path(target):
    made = run_module("veth", {"name": target["veth"], "netns_path": target["net"], "peer_name": "uplink"})
    assert made.changed and not made.failed, made.result
    assert interface_names(["nsenter", f"--net={target['net']}"]) == {"lo", "uplink"}


def test_absent_removes_both_ends_and_is_idempotent(target):
    run_module("veth", pair_args(target))
    removed = run_module("veth", pair_args(target, state="absent"), diff=True)
    assert removed.changed and not removed.failed, removed.result
    assert removed.result["diff"]["after"] == {}
    assert target["veth"] not in interface_names()
    assert interface_names(["nsenter", f"--net={target['net']}"]) == {"lo"}
    assert not run_module("veth", pair_args(target, state="absent")).changed


def test_refuses_an_interface_that_is_not_its_veth(target):
    run(["ip", "link", "add", target["veth"], "type", "bridge"])
    refused = run_module("veth", pair_args(target))
    assert refused.failed and "is not a veth whose peer is in" in refused.result["msg"]
    assert run_module("veth", pair_args(target, state="absent")).failed
    assert " bridge " in run(["ip", "-d", "-o", "link", "show", "dev", target["veth"]]).stdout


def test_refuses_to_rename_the_peer(target):
    run_module("veth", pair_args(target))
    refused = run_module("veth", pair_args(target, peer_name="eth1"))
    assert refused.failed and "cannot be renamed in place" in refused.result["msg"]
    assert interface_names(["nsenter", f"--net={target['net']}"]) == {"lo", "eth0"}


@pytest.mark.parametrize("overrides, message", [
    ({"name": "x" * 16}, "is not a valid interface name"),
    ({"peer_name": "a/b"}, "is not a valid interface name"),
    ({"address": "10.254.0.1"}, "needs a prefix length"),
    ({"address": "10.254.0.300/30"}, "is not an address in CIDR form"),
    ({"address": PEER_ADDRESS}, "is given for both ends"),
    ({"namespace": "no-such-set"}, "no set no-such-set"),
])
def test_bad_input_fails_and_changes_nothing(target, overrides, message):
    refused = run_module("veth", pair_args(target, **overrides))
    assert refused.failed and message in refused.result["msg"], refused.result
    assert target["veth"] not in interface_names()


def test_a_pair_it_cannot_finish_is_rolled_back(target):
    # IPv6 off for new interfaces inside the target: the kernel then refuses the peer's IPv6 address, after the
    # pair was added.
    inside = ["nsenter", f"--net={target['net']}"]
    run([*inside, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"])
    failed = run_module("veth", pair_args(target, peer_address=IPV6_ADDRESS))
    assert failed.failed and "netlink request failed" in failed.result["msg"], failed.result
    assert target["veth"] not in interface_names()
    assert interface_names(inside) == {"lo"}
