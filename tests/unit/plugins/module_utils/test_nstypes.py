# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The type table against the running kernel and the project's property catalogue."""

from __future__ import annotations

import fcntl
import os

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import nstypes, syscalls

# The eight types, in the order namespaces(7) and the issue list them.
EIGHT = ("mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time")

# First kernel of each type, from the kernel-version table of shared/properties.md (and the seed's table).
FIRST_KERNEL = {"mnt": "2.4.19", "uts": "2.6.19", "ipc": "2.6.19", "pid": "2.6.24", "net": "2.6.29",
                "user": "3.8", "cgroup": "4.6", "time": "5.6"}


def kernel_ns_get_nstype(path: str) -> int:
    """NS_GET_NSTYPE computed here from linux/nsfs.h, not taken from the code under test: _IO(0xb7, 0x3)."""
    io_none = (1 << 29) if os.uname().machine.startswith(("ppc", "mips", "sparc")) else 0
    fd = os.open(path, os.O_RDONLY)
    try:
        return fcntl.ioctl(fd, io_none | (0xB7 << 8) | 0x3)
    finally:
        os.close(fd)


def test_table_has_the_eight_types_in_canonical_order():
    assert nstypes.TYPE_NAMES == EIGHT
    assert [t.name for t in nstypes.NAMESPACE_TYPES] == list(EIGHT)
    assert set(nstypes.TYPES_BY_NAME) == set(EIGHT)


@pytest.mark.parametrize("name", EIGHT)
def test_flag_equals_the_kernels_ns_get_nstype_of_this_hosts_proc_file(name):
    nstype = nstypes.TYPES_BY_NAME[name]
    path = "/proc/self/ns/" + nstype.proc_file
    assert nstype.flag == kernel_ns_get_nstype(path)
    fd = syscalls.open_namespace(path)
    try:
        assert syscalls.ns_get_nstype(fd) == nstype.flag
    finally:
        os.close(fd)


@pytest.mark.parametrize("name", EIGHT)
def test_first_kernel_matches_the_property_catalogue(name):
    assert nstypes.TYPES_BY_NAME[name].first_kernel == FIRST_KERNEL[name]


def test_flags_are_distinct_and_index_the_table():
    flags = [t.flag for t in nstypes.NAMESPACE_TYPES]
    assert len(set(flags)) == 8 and all(bin(f).count("1") == 1 for f in flags)
    assert {f: t.name for f, t in nstypes.TYPES_BY_FLAG.items()} == {t.flag: t.name for t in nstypes.NAMESPACE_TYPES}


def test_only_pid_and_time_act_on_children_and_their_files_exist():
    for_children = {t.name: t.for_children for t in nstypes.NAMESPACE_TYPES if t.for_children}
    assert for_children == {"pid": "pid_for_children", "time": "time_for_children"}
    assert nstypes.CHILDREN_ONLY_TYPES == ("pid", "time")
    for name, path in for_children.items():
        assert kernel_ns_get_nstype("/proc/self/ns/" + path) == nstypes.TYPES_BY_NAME[name].flag


@pytest.mark.parametrize("name", EIGHT)
def test_max_sysctl_names_an_existing_limit(name):
    sysctl = nstypes.TYPES_BY_NAME[name].max_sysctl
    assert sysctl == "user.max_%s_namespaces" % name
    assert os.path.exists("/proc/sys/" + sysctl.replace(".", "/"))


def test_flags_for_and_names_in_are_inverse():
    assert nstypes.flags_for(()) == 0
    for count in range(1, 9):
        names = EIGHT[:count]
        assert nstypes.names_in(nstypes.flags_for(names)) == names
    assert nstypes.flags_for(["uts", "uts"]) == nstypes.TYPES_BY_NAME["uts"].flag


def test_enter_order_is_a_permutation_with_user_first_and_mnt_after_the_others_it_would_hide():
    order = nstypes.ENTER_ORDER
    assert sorted(order) == sorted(EIGHT)
    assert order[0] == "user"
    assert order.index("mnt") > max(order.index(t) for t in ("cgroup", "ipc", "uts", "net", "pid"))
    assert nstypes.in_enter_order(["mnt", "user", "uts"]) == ("user", "uts", "mnt")


def test_defaults_and_sorting():
    assert nstypes.DEFAULT_SET_TYPES == ("mnt", "uts", "ipc", "pid", "net")
    assert nstypes.SEED_TYPES == ("mnt", "uts", "ipc", "pid", "net", "user")
    assert nstypes.sorted_types(["time", "mnt", "time", "user"]) == ("mnt", "user", "time")
