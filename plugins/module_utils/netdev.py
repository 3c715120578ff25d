# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network devices of the caller's network namespace: a link's up flag, and the ids of other namespaces."""

from __future__ import annotations

import errno
import fcntl
import socket
import struct
from typing import Optional

from ansible_collections.linux.namespaces.plugins.module_utils.errors import error_from

# Interface flags through the classic ioctls: no netlink needed to bring lo up.
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: ifr_name[IFNAMSIZ], then ifr_flags in the union


def _ifreq_flags(sock: socket.socket, ifname: str) -> int:
    request = struct.pack(_IFREQ, ifname.encode(), 0)
    try:
        reply = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request)
    except OSError as exc:
        raise error_from("ioctl", exc.errno or errno.EIO, "net", "SIOCGIFFLAGS " + ifname)
    return struct.unpack(_IFREQ, reply)[1]


def link_is_up(ifname: str) -> bool:
    """Whether the interface is administratively up in the caller's network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return bool(_ifreq_flags(sock, ifname) & IFF_UP)


def set_link_up(ifname: str, up: bool = True) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = _ifreq_flags(sock, ifname)
        flags = (flags | IFF_UP) if up else (flags & ~IFF_UP)
        try:
            fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack(_IFREQ, ifname.encode(), flags))
        except OSError as exc:
            raise error_from("ioctl", exc.errno or errno.EIO, "net", "SIOCSIFFLAGS " + ifname)


# rtnetlink (linux/netlink.h, linux/rtnetlink.h, linux/net_namespace.h): the id under which the caller's
# network namespace knows another one, what `ip netns list-id` and lsns's NETNSID show.
NETLINK_ROUTE = 0
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
RTM_NEWNSID = 88
RTM_GETNSID = 90
NETNSA_NSID = 1
NETNSA_FD = 3
_NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
_RTGENMSG = struct.Struct("=B3x")  # family, padded to the netlink alignment of 4
_NLATTR = struct.Struct("=HH")  # length, type


def open_rtnetlink() -> socket.socket:
    """A route netlink socket for netns_id; one serves many queries."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        sock.bind((0, 0))
    except OSError as exc:
        raise error_from("socket", exc.errno or errno.EIO, "net", "AF_NETLINK")
    return sock


def netns_id(sock: socket.socket, ns_fd: int, sequence: int = 1) -> Optional[int]:
    """The id of the network namespace behind ns_fd as seen from the caller's; None when unassigned.

    RTM_GETNSID only reads: it never assigns an id.
    """
    body = _RTGENMSG.pack(socket.AF_UNSPEC) + _NLATTR.pack(8, NETNSA_FD) + struct.pack("=I", ns_fd)
    request = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), RTM_GETNSID, NLM_F_REQUEST, sequence, 0) + body
    try:
        sock.send(request)
        while True:
            reply = sock.recv(65536)
            header = _NLMSGHDR.unpack_from(reply)
            length, kind, answered = header[0], header[1], header[3]
            if answered == sequence:
                break
    except OSError as exc:
        raise error_from("netlink", exc.errno or errno.EIO, "net", "RTM_GETNSID")
    if kind == NLMSG_ERROR:
        raise error_from("netlink", -struct.unpack_from("=i", reply, _NLMSGHDR.size)[0], "net", "RTM_GETNSID")
    offset = _NLMSGHDR.size + _RTGENMSG.size
    while offset + _NLATTR.size <= length:
        attr_length, attr_type = _NLATTR.unpack_from(reply, offset)
        if attr_type == NETNSA_NSID:
            nsid = struct.unpack_from("=i", reply, offset + _NLATTR.size)[0]
            return nsid if nsid >= 0 else None  # NETNSA_NSID_NOT_ASSIGNED is -1
        if attr_length < _NLATTR.size:
            break
        offset += (attr_length + 3) & ~3
    return None
