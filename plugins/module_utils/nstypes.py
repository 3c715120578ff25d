# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of Linux namespace types: name, CLONE_NEW* flag, /proc file, first kernel."""

from __future__ import annotations

from typing import Dict, Iterable, NamedTuple, Optional, Tuple


class NamespaceType(NamedTuple):
    name: str  # the /proc/PID/ns file name and the name users type
    flag: int  # CLONE_NEW* value; also what NS_GET_NSTYPE returns
    title: str
    first_kernel: str  # first mainline release that has the type (namespaces(7))
    for_children: Optional[str]  # /proc/PID/ns file of the namespace children will join
    kernel_config: Optional[str]  # CONFIG_* option that builds the type; None: always built

    @property
    def proc_file(self) -> str:
        return self.name

    @property
    def max_sysctl(self) -> str:
        """The sysctl that limits how many namespaces of this type one user may own (4.9+)."""
        return "user.max_%s_namespaces" % self.name


CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

NAMESPACE_TYPES: Tuple[NamespaceType, ...] = (
    NamespaceType("mnt", CLONE_NEWNS, "Mount namespaces", "2.4.19", None, None),
    NamespaceType("uts", CLONE_NEWUTS, "UTS namespaces", "2.6.19", None, "CONFIG_UTS_NS"),
    NamespaceType("ipc", CLONE_NEWIPC, "IPC namespaces", "2.6.19", None, "CONFIG_IPC_NS"),
    NamespaceType("pid", CLONE_NEWPID, "PID namespaces", "2.6.24", "pid_for_children", "CONFIG_PID_NS"),
    NamespaceType("net", CLONE_NEWNET, "Network namespaces", "2.6.29", None, "CONFIG_NET_NS"),
    NamespaceType("user", CLONE_NEWUSER, "User namespaces", "3.8", None, "CONFIG_USER_NS"),
    NamespaceType("cgroup", CLONE_NEWCGROUP, "Cgroup namespaces", "4.6", None, "CONFIG_CGROUPS"),
    NamespaceType("time", CLONE_NEWTIME, "Time namespaces", "5.6", "time_for_children", "CONFIG_TIME_NS"),
)

TYPE_NAMES: Tuple[str, ...] = tuple(t.name for t in NAMESPACE_TYPES)
TYPES_BY_NAME: Dict[str, NamespaceType] = {t.name: t for t in NAMESPACE_TYPES}
TYPES_BY_FLAG: Dict[int, NamespaceType] = {t.flag: t for t in NAMESPACE_TYPES}

# The six types of the seed tutorial's table (docs/SEED.md), the classic set.
SEED_TYPES: Tuple[str, ...] = ("mnt", "uts", "ipc", "pid", "net", "user")
DEFAULT_SET_TYPES: Tuple[str, ...] = ("mnt", "uts", "ipc", "pid", "net")

# util-linux nsenter's order: the user namespace first (it may grant the rights the others need),
# mnt late because joining it changes what paths resolve to.
ENTER_ORDER: Tuple[str, ...] = ("user", "cgroup", "ipc", "uts", "net", "pid", "mnt", "time")

# Types whose unshare/setns affects only children: the caller must fork afterwards (docs/PITFALLS.md, P3).
CHILDREN_ONLY_TYPES: Tuple[str, ...] = tuple(t.name for t in NAMESPACE_TYPES if t.for_children)


def flags_for(names: Iterable[str]) -> int:
    """The CLONE_NEW* mask for the given type names."""
    mask = 0
    for name in names:
        mask |= TYPES_BY_NAME[name].flag
    return mask


def names_in(mask: int) -> Tuple[str, ...]:
    """Type names whose flag is in mask, in table order."""
    return tuple(t.name for t in NAMESPACE_TYPES if mask & t.flag)


def in_enter_order(names: Iterable[str]) -> Tuple[str, ...]:
    wanted = set(names)
    return tuple(n for n in ENTER_ORDER if n in wanted)


def sorted_types(names: Iterable[str]) -> Tuple[str, ...]:
    """Type names in table order, without duplicates."""
    wanted = set(names)
    return tuple(n for n in TYPE_NAMES if n in wanted)
