#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: veth
short_description: Link a network namespace to the host with a veth pair
version_added: "0.1.0"
description:
  - Creates or removes a veth pair whose one end stays in the host's network namespace and whose peer
    lives in another network namespace, given as a set made by M(linux.namespaces.namespace) or as the
    path of a network namespace file (C(/run/netns/NAME), C(/proc/PID/ns/net)).
  - The pair is created with the peer already inside the target namespace, in one netlink request, so no
    run leaves a half-moved pair behind.
  - Converges the addresses of both ends to exactly the ones given (IPv6 link-local addresses, which the
    kernel adds by itself, are left alone) and brings both ends up.
  - Adds no route besides the kernel's connected route of each address, and never touches forwarding, so
    the namespace reaches the host's end of the pair and nothing else.
  - An interface of that name that is not a veth into the target namespace, or whose peer has another
    name, makes the task fail; it is never replaced silently.
requirements:
  - pyroute2 0.7 or later on the target (0.9 needs Python 3.9 or later; on Python 3.8 install 0.7.x)
author:
  - linux.namespaces maintainers (@linux-namespaces)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - linux.namespaces.attributes
  - linux.namespaces.store
options:
  name:
    description:
      - Name of the end that stays in the host's network namespace. 1 to 15 characters, no C(/), C(:),
        NUL or white space.
    type: str
    required: true
  peer_name:
    description:
      - Name of the end inside the target network namespace, with the rules of O(name).
    type: str
    default: eth0
  namespace:
    description:
      - Name of a set made by M(linux.namespaces.namespace) that has a network namespace; the peer goes
        into it.
      - Exactly one of O(namespace) and O(netns_path) is required.
    type: str
  netns_path:
    description:
      - Path of a network namespace file, such as C(/run/netns/NAME) or C(/proc/PID/ns/net); the peer goes
        into that namespace.
    type: path
  addresses:
    description:
      - Addresses of the host's end, in CIDR form (V(10.0.0.1/30), V(fd00::1/64)). Exactly these are kept.
    type: list
    elements: str
    default: []
    aliases: [address]
  peer_addresses:
    description:
      - Addresses of the peer, in CIDR form. Exactly these are kept.
    type: list
    elements: str
    default: []
    aliases: [peer_address]
  state:
    description:
      - V(present) creates the pair and converges its addresses and link state; V(absent) deletes it (deleting
        one end deletes both).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Needs root (CAP_NET_ADMIN in both network namespaces).
  - A veth end is destroyed with its network namespace, so removing the set also removes the pair.
seealso:
  - module: linux.namespaces.namespace
  - name: veth(4)
    description: Virtual Ethernet device.
    link: https://man7.org/linux/man-pages/man4/veth.4.html
"""

EXAMPLES = r"""
- name: A set with its own network namespace
  linux.namespaces.namespace:
    name: isolated

- name: Link it to the host over a /30 (no default route inside, so it reaches the host only)
  linux.namespaces.veth:
    name: veth-isolated
    peer_name: eth0
    namespace: isolated
    address: 10.250.0.1/30
    peer_address: 10.250.0.2/30

- name: A veth into a namespace made by ip netns add
  linux.namespaces.veth:
    name: veth-blue
    netns_path: /run/netns/blue
    addresses: [192.0.2.1/30]
    peer_addresses: [192.0.2.2/30]

- name: Remove the pair
  linux.namespaces.veth:
    name: veth-isolated
    namespace: isolated
    state: absent
"""

RETURN = r"""
netns:
  description: The network namespace file the peer is in.
  returned: always
  type: str
  sample: /run/linux-namespaces/isolated/net
host:
  description: The host's end after the task (as predicted in check mode, where index and mac are null for a new pair).
  returned: state is present
  type: dict
  contains:
    name:
      description: Interface name.
      type: str
      sample: veth-isolated
    index:
      description: Interface index in the host's network namespace.
      type: int
      sample: 42
    mac:
      description: Hardware address.
      type: str
      sample: "5e:0b:7c:1d:22:9a"
    up:
      description: Whether the interface is administratively up.
      type: bool
      sample: true
    addresses:
      description: Managed addresses (all but IPv6 link-local), in CIDR form.
      type: list
      elements: str
      sample: ["10.250.0.1/30"]
peer:
  description: The end inside the target namespace, with the same keys as RV(host).
  returned: state is present
  type: dict
  sample: {"name": "eth0", "index": 2, "mac": "a6:41:0f:3e:71:05", "up": true, "addresses": ["10.250.0.2/30"]}
"""

import errno
import ipaddress
import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils._module import (
    fail_from_error, set_diff, store_argument_spec)
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import CLONE_NEWNET
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import validate_name
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store

try:
    from pyroute2 import IPRoute, NetlinkError, NetNS
except Exception:  # pyroute2 0.9.x raises more than ImportError on Python 3.8
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()
else:
    PYROUTE2_IMPORT_ERROR = None

IFNAMSIZ = 16
IFF_UP = 0x1


def validate_ifname(name, option):
    """The kernel's dev_valid_name rules, so a bad name fails before anything changes."""
    try:
        size = len(name.encode())
    except UnicodeEncodeError:  # a lone surrogate: no bytes the kernel could take as a name
        size = IFNAMSIZ
    if not name or size >= IFNAMSIZ or name in (".", "..") or any(
            c in "/:\x00" or c.isspace() for c in name):
        raise ValueError("%s %r is not a valid interface name: 1 to %d characters, not '.' or '..', "
                         "without '/', ':', NUL or white space" % (option, name, IFNAMSIZ - 1))


def normalized_addresses(values, option):
    """CIDR strings in canonical form, in the order given, without duplicates."""
    result = []
    for value in values:
        if "/" not in value:
            raise ValueError("%s %r needs a prefix length, such as %s/30" % (option, value, value))
        try:
            interface = ipaddress.ip_interface(value)
        except ValueError as exc:
            raise ValueError("%s %r is not an address in CIDR form: %s" % (option, value, exc))
        text = str(interface)
        if text not in result:
            result.append(text)
    return result


def is_link_local_v6(cidr):
    interface = ipaddress.ip_interface(cidr)
    return interface.version == 6 and interface.ip.is_link_local


class Link:
    """One end of the pair as the kernel reports it."""

    def __init__(self, message, addresses):
        self.index = message["index"]
        self.name = message.get_attr("IFLA_IFNAME")
        self.mac = message.get_attr("IFLA_ADDRESS")
        self.up = bool(message["flags"] & IFF_UP)
        info = message.get_attr("IFLA_LINKINFO")
        self.kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
        self.peer_index = message.get_attr("IFLA_LINK")
        self.peer_netnsid = message.get_attr("IFLA_LINK_NETNSID")
        self.addresses = addresses

    def describe(self):
        return {"name": self.name, "index": self.index, "mac": self.mac, "up": self.up,
                "addresses": list(self.addresses)}


def read_link(ipr, name=None, index=None):
    """The link with that name or index in ipr's namespace, or None."""
    try:
        messages = ipr.get_links(index) if index is not None else ipr.get_links(ifname=name)
    except NetlinkError as exc:
        if exc.code == errno.ENODEV:
            return None
        raise
    if not messages:
        return None
    message = messages[0]
    addresses = []
    for entry in ipr.get_addr(index=message["index"]):
        cidr = str(ipaddress.ip_interface("%s/%d" % (entry.get_attr("IFA_ADDRESS"), entry["prefixlen"])))
        if not is_link_local_v6(cidr):
            addresses.append(cidr)
    return Link(message, sorted(addresses))


def shown(name, addresses, up):
    """What diff mode shows of one end: the parts the task manages."""
    return {"name": name, "addresses": sorted(addresses), "up": up}


class VethModule:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = self.params["name"]
        self.peer_name = self.params["peer_name"]
        self.apply = not module.check_mode
        self.result = {"changed": False}

    def netns_path(self):
        """The network namespace file of the target, checked to exist and to be one."""
        if self.params["netns_path"]:
            path = self.params["netns_path"]
            return path if os.path.exists(path) else None
        store = Store(self.params["store"])
        state = store.load(self.params["namespace"])
        if state is None:
            return None
        problems = store.problems(state)
        if problems:
            self.module.fail_json(msg="set %s is broken: %s" % (state.name, "; ".join(problems)), problems=problems)
        if "net" not in state.types:
            self.module.fail_json(msg="set %s has no network namespace (its types are %s)"
                                  % (state.name, ", ".join(state.types)))
        return state.files["net"]

    def run(self):
        path = self.netns_path()
        self.result["netns"] = path
        present = self.params["state"] == "present"
        if path is None:
            if present:
                self.module.fail_json(msg="%s does not exist" % self.params["netns_path"] if self.params["netns_path"]
                                      else "no set %s in store %s: create it with linux.namespaces.namespace first"
                                      % (self.params["namespace"], self.params["store"]))
            # The peer lived in that namespace, and a veth dies with its namespace.
            set_diff(self.module, self.result, {}, {})
            return self.result
        nsfd = syscalls.open_namespace(path)
        try:
            if self._nstype(nsfd) != CLONE_NEWNET:
                self.module.fail_json(msg="%s is not a network namespace file" % path)
            # NetNS, not IPRoute(netns=...): the one way both pyroute2 0.7 and 0.9 open a namespace by path.
            with IPRoute() as host, NetNS(path, flags=0) as inside:
                pair = self._find_pair(host, inside, nsfd, path)
                if present:
                    self._present(host, inside, nsfd, pair)
                else:
                    self._absent(host, pair)
        finally:
            os.close(nsfd)
        return self.result

    @staticmethod
    def _nstype(fd):
        try:
            return syscalls.ns_get_nstype(fd)
        except NamespaceError as exc:
            if exc.errno == errno.ENOTTY:  # not an nsfs file at all
                return None
            raise

    def _find_pair(self, host, inside, nsfd, path):
        """(host end, peer) of an existing pair, (None, None) if there is none; fail on a foreign link."""
        host_end = read_link(host, name=self.name)
        if host_end is None:
            if self.params["state"] == "present" and read_link(inside, name=self.peer_name) is not None:
                self.module.fail_json(msg="an interface %s already exists in %s; choose another peer_name"
                                      % (self.peer_name, path))
            return None, None
        target_nsid = host.get_netnsid(fd=nsfd).get("nsid")
        if host_end.kind != "veth" or host_end.peer_netnsid is None or host_end.peer_netnsid != target_nsid:
            self.module.fail_json(msg="interface %s exists and is not a veth whose peer is in %s; remove it or "
                                      "choose another name" % (self.name, path))
        peer = read_link(inside, index=host_end.peer_index)
        if peer is None or peer.peer_index != host_end.index:
            self.module.fail_json(msg="the peer of %s is not in %s" % (self.name, path))
        if peer.name != self.peer_name:
            self.module.fail_json(msg="the peer of %s in %s is named %s, not %s; it cannot be renamed in place: "
                                      "remove the pair with state=absent first"
                                      % (self.name, path, peer.name, self.peer_name))
        return host_end, peer

    def _present(self, host, inside, nsfd, pair):
        host_end, peer = pair
        wanted_host = normalized_addresses(self.params["addresses"], "addresses")
        wanted_peer = normalized_addresses(self.params["peer_addresses"], "peer_addresses")
        before = {}
        if host_end is not None:
            before = {"host": shown(host_end.name, host_end.addresses, host_end.up),
                      "peer": shown(peer.name, peer.addresses, peer.up)}
        after = {"host": shown(self.name, wanted_host, True), "peer": shown(self.peer_name, wanted_peer, True)}
        self.result["changed"] = before != after
        if self.apply and self.result["changed"]:
            if host_end is None:
                host.link("add", ifname=self.name, kind="veth", peer={"ifname": self.peer_name, "net_ns_fd": nsfd})
                try:
                    host_end, peer = self._apply(host, inside, read_link(host, name=self.name), None,
                                                 wanted_host, wanted_peer)
                except BaseException:
                    # A pair this run made but could not finish is not left behind (deleting one end deletes both).
                    host.link("del", ifname=self.name)
                    raise
            else:
                host_end, peer = self._apply(host, inside, host_end, peer, wanted_host, wanted_peer)
        if host_end is None:  # check mode, new pair
            self.result["host"] = dict(after["host"], index=None, mac=None)
            self.result["peer"] = dict(after["peer"], index=None, mac=None)
        else:
            self.result["host"], self.result["peer"] = host_end.describe(), peer.describe()
            if not self.apply:
                self.result["host"].update(addresses=wanted_host, up=True)
                self.result["peer"].update(addresses=wanted_peer, up=True)
        set_diff(self.module, self.result, before, after)

    def _apply(self, host, inside, host_end, peer, wanted_host, wanted_peer):
        """Converge both ends' addresses and link state; the (host end, peer) read back afterwards."""
        if host_end is None:
            raise NamespaceError("the veth %s was added but cannot be read back" % self.name)
        if peer is None:
            peer = read_link(inside, index=host_end.peer_index)
            if peer is None:
                raise NamespaceError("the peer of the new veth %s is not in the target namespace" % self.name)
        self._converge(host, host_end, wanted_host)
        self._converge(inside, peer, wanted_peer)
        return read_link(host, index=host_end.index), read_link(inside, index=peer.index)

    @staticmethod
    def _converge(ipr, link, wanted):
        for cidr in link.addresses:
            if cidr not in wanted:
                interface = ipaddress.ip_interface(cidr)
                ipr.addr("del", index=link.index, address=str(interface.ip), prefixlen=interface.network.prefixlen)
        for cidr in wanted:
            if cidr not in link.addresses:
                interface = ipaddress.ip_interface(cidr)
                ipr.addr("add", index=link.index, address=str(interface.ip), prefixlen=interface.network.prefixlen)
        if not link.up:
            ipr.link("set", index=link.index, state="up")

    def _absent(self, host, pair):
        host_end, peer = pair
        if host_end is None:
            set_diff(self.module, self.result, {}, {})
            return
        self.result["changed"] = True
        if self.apply:
            host.link("del", index=host_end.index)
        set_diff(self.module, self.result, {"host": shown(host_end.name, host_end.addresses, host_end.up),
                                            "peer": shown(peer.name, peer.addresses, peer.up)}, {})


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            peer_name=dict(type="str", default="eth0"),
            namespace=dict(type="str"),
            netns_path=dict(type="path"),
            addresses=dict(type="list", elements="str", default=[], aliases=["address"]),
            peer_addresses=dict(type="list", elements="str", default=[], aliases=["peer_address"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            **store_argument_spec()
        ),
        mutually_exclusive=[("namespace", "netns_path")],
        required_one_of=[("namespace", "netns_path")],
        supports_check_mode=True,
    )
    if PYROUTE2_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=PYROUTE2_IMPORT_ERROR)
    params = module.params
    try:
        validate_ifname(params["name"], "name")
        validate_ifname(params["peer_name"], "peer_name")
        if params["namespace"] is not None:
            validate_name(params["namespace"])
        host_addresses = normalized_addresses(params["addresses"], "addresses")
        peer_addresses = normalized_addresses(params["peer_addresses"], "peer_addresses")
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    shared = sorted({str(ipaddress.ip_interface(a).ip) for a in host_addresses}
                    & {str(ipaddress.ip_interface(a).ip) for a in peer_addresses})
    if shared:
        module.fail_json(msg="address %s is given for both ends" % ", ".join(shared))
    try:
        result = VethModule(module).run()
    except NamespaceError as exc:
        fail_from_error(module, exc)
    except NetlinkError as exc:
        module.fail_json(msg="netlink request failed: %s" % os.strerror(exc.code), errno=exc.code)
    except OSError as exc:
        module.fail_json(msg="%s: %s" % (exc.filename or "veth", exc.strerror or exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
