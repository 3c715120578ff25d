"""NET: interfaces, addresses, routes, ports, veth pairs and network sysctls."""

import os
import socket
import time

from conformance.probes.declare import prop
from conformance.probes.lib.child import Child, in_child
from conformance.probes.lib.observe import (
    ip_link_flags, ip_link_names, need_root, nsenter, read_text, run, wait_for, write_text)
from conformance.probes.lib.syscalls import (
    CLONE_NEWNET, CLONE_NEWNS, MS_PRIVATE, MS_REC, mount, outcome, setns, unshare)


@prop("NET1", "A new network namespace has only lo, down", needs=("net_ns",))
def probe_net1(probe_run):
    """A child unshares its network namespace and lists its links with `ip`. It fails unless the only link
    is lo and it is down. Needs network namespaces."""
    need_root()
    text = run(["unshare", "--net", "ip", "-o", "link", "show"])
    return {"links": ip_link_names(text), "flags": ip_link_flags(text)}


def _ip_addrs(text):
    addrs = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[2] in ("inet", "inet6"):
            addrs.append(fields[3].split("/")[0])
    return addrs


@prop("NET2", "Links, addresses, routes and ports are per namespace", needs=("net_ns", "setns"), setup=True)
def probe_net2(probe_run, subject):
    """The set's links, addresses and routes are listed with `ip` and compared with the host's, and the same
    TCP port is bound on the host and inside. It fails if host links, addresses or routes show inside or
    either bind is refused. Needs network namespaces and setns."""
    path = subject.private("net")
    paths = {"net": path}
    host_links = ip_link_names(run(["ip", "-o", "link", "show"]))
    inside_links = ip_link_names(nsenter(paths, ["ip", "-o", "link", "show"]))
    host_addrs = _ip_addrs(run(["ip", "-o", "addr", "show"]))
    inside_addrs = _ip_addrs(nsenter(paths, ["ip", "-o", "addr", "show"]))
    host_routes = run(["ip", "route", "show", "table", "all"]).splitlines()
    inside_routes = nsenter(paths, ["ip", "route", "show", "table", "all"]).splitlines()

    def proc_and_sys():
        setns(os.open(path, os.O_RDONLY), CLONE_NEWNET)
        proc_net = [line.split(":")[0].strip() for line in read_text("/proc/self/net/dev").splitlines()[2:]]
        unshare(CLONE_NEWNS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount("sysfs", "/sys", "sysfs")  # a sysfs shows the mounting process's network namespace
        return {"proc_net_dev": sorted(proc_net), "sys_class_net": sorted(os.listdir("/sys/class/net"))}

    views = in_child(proc_and_sys)
    host_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        host_socket.bind(("127.0.0.1", 0))
        port = host_socket.getsockname()[1]
        same_port_on_host = outcome(socket.socket().bind, ("0.0.0.0", port))

        def bind_inside():
            setns(os.open(path, os.O_RDONLY), CLONE_NEWNET)
            return outcome(socket.socket().bind, ("0.0.0.0", port))

        same_port_inside = in_child(bind_inside)
    finally:
        host_socket.close()
    return {"host_links": host_links, "inside_links": inside_links, "host_addrs": host_addrs,
            "inside_addrs": inside_addrs, "host_routes": host_routes, "inside_routes": inside_routes,
            "inside_proc_net_dev": views["proc_net_dev"], "inside_sys_class_net": views["sys_class_net"],
            "port": port, "bind_same_port_on_host": same_port_on_host,
            "bind_same_port_inside": same_port_inside}


def _holding(path=None, flags=0):
    """A child that sits in the network namespace at path (or a new one): ip can name it by pid."""

    def body(channel):
        if path:
            setns(os.open(path, os.O_RDONLY), CLONE_NEWNET)
        if flags:
            unshare(flags)
        channel.send("ready")
        channel.recv()

    holder = Child(body)
    holder.recv()
    return holder


def _release(holder):
    if not holder.reaped:
        holder.send("release")
        holder.wait()


def _ip_in(netns_path, args):
    """`ip ARGS` in the network namespace at netns_path (None: the host's); never raises on exit status."""
    argv = ["ip"] + args
    return nsenter({"net": netns_path}, argv, check=False) if netns_path else run(argv, check=False)


def _link_exists(name, netns_path=None):
    return name in ip_link_names(_ip_in(netns_path, ["-o", "link", "show", "dev", name]))


@prop("NET3", "A veth pair connects two namespaces", needs=("net_ns", "setns"), setup=True)
def probe_net3(probe_run, subject):
    """A veth pair is made, one end moved into the set, the ends addressed, and a TCP message sent across. It
    fails if the moved end stays on the host or the message does not arrive from the expected peer. Needs
    network namespaces and setns."""
    path = subject.private("net")
    end_sibling, end_subject = probe_run.ifname("n3a"), probe_run.ifname("n3b")
    net = probe_run.subnet()
    sibling = _holding(flags=CLONE_NEWNET)
    in_subject = _holding(path=path)
    sibling_ns = "/proc/%d/ns/net" % sibling.pid
    try:
        run(["ip", "link", "add", end_sibling, "type", "veth", "peer", "name", end_subject])
        run(["ip", "link", "set", "dev", end_sibling, "netns", str(sibling.pid)])
        run(["ip", "link", "set", "dev", end_subject, "netns", str(in_subject.pid)])
        host_after_move = [_link_exists(end_sibling), _link_exists(end_subject)]
        nsenter({"net": sibling_ns}, ["ip", "addr", "add", net + ".1/30", "dev", end_sibling])
        nsenter({"net": sibling_ns}, ["ip", "link", "set", "dev", end_sibling, "up"])
        nsenter({"net": path}, ["ip", "addr", "add", net + ".2/30", "dev", end_subject])
        nsenter({"net": path}, ["ip", "link", "set", "dev", end_subject, "up"])

        def serve(channel):
            setns(os.open(path, os.O_RDONLY), CLONE_NEWNET)
            server = socket.socket()
            server.bind((net + ".2", 0))
            server.listen(1)
            server.settimeout(10)
            channel.send(server.getsockname()[1])
            conn, peer = server.accept()
            return {"peer": peer[0], "data": conn.recv(64).decode()}

        server = Child(serve)
        port = server.recv()

        def connect():
            setns(os.open(sibling_ns, os.O_RDONLY), CLONE_NEWNET)
            deadline = time.monotonic() + 5
            while True:
                try:
                    client = socket.create_connection((net + ".2", port), timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            client.sendall(probe_run.prefix.encode())
            return "sent"

        sent = in_child(connect)
        served = server.result()
        inside_subject = _link_exists(end_subject, path)
        in_sibling = _link_exists(end_sibling, sibling_ns)
    finally:
        for where in (None, path, sibling_ns):
            for name in (end_sibling, end_subject):
                if _link_exists(name, where):
                    _ip_in(where, ["link", "del", "dev", name])
        _release(in_subject)
        _release(sibling)
    return {"host_has_ends_after_move": host_after_move, "subject_has_its_end": inside_subject,
            "sibling_has_its_end": in_sibling, "client": sent, "server": served,
            "expected_peer": net + ".1", "expected_data": probe_run.prefix}


@prop("NET4", "Network sysctls start from defaults", needs=("net_ns",))
def probe_net4(probe_run):
    """In a scratch network namespace net.ipv4.ip_default_ttl is set to 77, then a second network namespace
    is made from it. It fails if the change cannot be made or the new namespace inherits 77 instead of
    starting from the kernel's default. Needs network namespaces."""
    need_root()
    sysctl = "/proc/sys/net/ipv4/ip_default_ttl"

    def experiment():
        unshare(CLONE_NEWNET)
        write_text(sysctl, "77")
        first = read_text(sysctl).strip()
        unshare(CLONE_NEWNET)  # made from a namespace whose value is 77
        return {"creator_value": first, "new_value": read_text(sysctl).strip()}

    observed = in_child(experiment)
    observed.update(sysctl="net.ipv4.ip_default_ttl", kernel_default="64", host=read_text(sysctl).strip())
    return observed


@prop("NET5", "A veth end dies with its namespace", needs=("net_ns",))
def probe_net5(probe_run):
    """A veth end is moved into a namespace held only by a child; once the child exits, the host's end must
    be gone. It fails if it remains. Needs network namespaces."""
    need_root()
    host_end, moved_end = probe_run.ifname("n5a"), probe_run.ifname("n5b")
    holder = _holding(flags=CLONE_NEWNET)
    try:
        run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", moved_end])
        run(["ip", "link", "set", "dev", moved_end, "netns", str(holder.pid)])
        before = _link_exists(host_end)
        holder.kill()  # the namespace's last process: the namespace dies, and its veth end with it
        gone = wait_for(lambda: not _link_exists(host_end), timeout=10, interval=0.05)
    finally:
        _release(holder)
        if _link_exists(host_end):
            run(["ip", "link", "del", "dev", host_end], check=False)
    return {"host_end_before": before, "host_end_gone_after_ns_death": bool(gone)}
