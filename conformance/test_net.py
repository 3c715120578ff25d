"""Network namespaces."""


def test_NET1_new_net_ns_has_only_lo_down(observed):
    assert observed["links"] == ["lo"], "a new network namespace has %s" % observed["links"]
    assert "UP" not in observed["flags"]["lo"], "lo is up: %s" % observed["flags"]["lo"]


def test_NET2_interfaces_addresses_routes_ports_per_ns(observed):
    host_only = set(observed["host_links"]) - {"lo"}
    assert not host_only & set(observed["inside_links"]), "host interfaces inside: %s" % (
        host_only & set(observed["inside_links"]))
    host_addrs = set(observed["host_addrs"]) - {"127.0.0.1", "::1"}
    assert not host_addrs & set(observed["inside_addrs"]), "host addresses inside: %s" % (
        host_addrs & set(observed["inside_addrs"]))
    leaked = [r for r in observed["inside_routes"] if r in observed["host_routes"] and " lo " not in r]
    assert not leaked, "host routes inside: %s" % leaked
    assert observed["inside_proc_net_dev"] == sorted(observed["inside_links"]), \
        "/proc/net/dev inside lists %s" % observed["inside_proc_net_dev"]
    assert observed["inside_sys_class_net"] == sorted(observed["inside_links"]), \
        "/sys/class/net inside lists %s" % observed["inside_sys_class_net"]
    assert observed["bind_same_port_on_host"] == "EADDRINUSE", "the port check is void: a second bind on the host gave %s" % (
        observed["bind_same_port_on_host"])
    assert observed["bind_same_port_inside"] == "OK", "binding port %d inside gave %s" % (
        observed["port"], observed["bind_same_port_inside"])


def test_NET3_veth_connects_namespaces(observed):
    assert observed["host_has_ends_after_move"] == [False, False], "moved veth ends are still on the host"
    assert observed["subject_has_its_end"] and observed["sibling_has_its_end"], "a veth end is missing in its namespace"
    assert observed["server"] == {"peer": observed["expected_peer"], "data": observed["expected_data"]}, \
        "over the veth the set received %s" % observed["server"]


def test_NET4_sysctls_start_from_defaults(observed):
    assert observed["creator_value"] == "77", "the creator's namespace could not set %s" % observed["sysctl"]
    assert observed["new_value"] == observed["kernel_default"], "a namespace made from one with %s=77 starts with %s" % (
        observed["sysctl"], observed["new_value"])


def test_NET5_veth_destroyed_with_namespace(observed):
    assert observed["host_end_before"], "the veth was not made"
    assert observed["host_end_gone_after_ns_death"], "the host end of the veth outlived its peer's namespace"
