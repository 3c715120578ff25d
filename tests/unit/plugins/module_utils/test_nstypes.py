# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The namespace type table agrees with the running kernel and the property catalogue; its helpers are inverses."""

from __future__ import annotations

import fcntl
import itertools
import os

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import nstypes, syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import (
    NAMESPACE_TYPES,
    TYPE_NAMES,
    flags_for,
    names_in,
)

# linux/nsfs.h: _IO(0xb7, 0x3); the kernel answers with the namespace's CLONE_NEW* flag.
NS_GET_NSTYPE = 0xB703

# The eight types, in the order namespaces(7) and issue 2 list them.
EIGHT = ("mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time")

# First kernel of each type, from the kernel-version table of shared/properties.md (and the seed's table).
FIRST_KERNEL = {"mnt": "2.4.19", "uts": "2.6.19", "ipc": "2.6.19", "pid": "2.6.24", "net": "2.6.29",
                "user": "3.8", "cgroup": "4.6", "time": "5.6"}


def kernel_nstype(path: str) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        return fcntl.ioctl(fd, NS_GET_NSTYPE)
    finally:
        os.close(fd)


def test_table_has_the_eight_types_in_canonical_order() -> None:
    assert TYPE_NAMES == EIGHT
    assert set(nstypes.TYPES_BY_NAME) == set(EIGHT)


@pytest.mark.parametrize('nstype', NAMESPACE_TYPES, ids=TYPE_NAMES)
def test_flag_is_what_the_kernel_reports(nstype) -> None:
    """Each type's flag is the one NS_GET_NSTYPE returns for its /proc/self/ns file, also through syscalls."""
    path = '/proc/self/ns/' + nstype.proc_file
    assert kernel_nstype(path) == nstype.flag
    fd = syscalls.open_namespace(path)
    try:
        assert syscalls.ns_get_nstype(fd) == nstype.flag
    finally:
        os.close(fd)


@pytest.mark.parametrize('name', EIGHT)
def test_first_kernel_matches_the_property_catalogue(name) -> None:
    assert nstypes.TYPES_BY_NAME[name].first_kernel == FIRST_KERNEL[name]


def test_flags_are_distinct_single_bits_and_index_the_table() -> None:
    flags = [t.flag for t in NAMESPACE_TYPES]
    assert len(set(flags)) == 8 and all(bin(f).count("1") == 1 for f in flags)
    assert {f: t.name for f, t in nstypes.TYPES_BY_FLAG.items()} == {t.flag: t.name for t in NAMESPACE_TYPES}


def test_only_pid_and_time_act_on_children_and_their_files_exist() -> None:
    for_children = {t.name: t.for_children for t in NAMESPACE_TYPES if t.for_children}
    assert for_children == {"pid": "pid_for_children", "time": "time_for_children"}
    assert nstypes.CHILDREN_ONLY_TYPES == ("pid", "time")
    for name, path in for_children.items():
        assert kernel_nstype("/proc/self/ns/" + path) == nstypes.TYPES_BY_NAME[name].flag


@pytest.mark.parametrize("name", EIGHT)
def test_max_sysctl_names_an_existing_limit(name) -> None:
    sysctl = nstypes.TYPES_BY_NAME[name].max_sysctl
    assert sysctl == "user.max_%s_namespaces" % name
    assert os.path.exists("/proc/sys/" + sysctl.replace(".", "/"))


def test_flags_and_names_round_trip() -> None:
    """names_in(flags_for(names)) gives back every subset of the types, in table order."""
    for size in range(len(TYPE_NAMES) + 1):
        for names in itertools.combinations(TYPE_NAMES, size):
            assert names_in(flags_for(names)) == names


def test_enter_order_is_a_permutation_with_user_first_and_mnt_after_the_others_it_would_hide() -> None:
    order = nstypes.ENTER_ORDER
    assert sorted(order) == sorted(EIGHT)
    assert order[0] == "user"
    assert order.index("mnt") > max(order.index(t) for t in ("cgroup", "ipc", "uts", "net", "pid"))
    assert nstypes.in_enter_order(["mnt", "user", "uts"]) == ("user", "uts", "mnt")


def test_defaults_and_sorting() -> None:
    assert nstypes.DEFAULT_SET_TYPES == ("mnt", "uts", "ipc", "pid", "net")
    assert nstypes.SEED_TYPES == ("mnt", "uts", "ipc", "pid", "net", "user")
    assert nstypes.sorted_types(["time", "mnt", "time", "user"]) == ("mnt", "user", "time")
