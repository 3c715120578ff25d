# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The namespace type table agrees with the running kernel and its helpers are inverses."""

from __future__ import annotations

import fcntl
import itertools
import os

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import (
    NAMESPACE_TYPES,
    TYPE_NAMES,
    flags_for,
    names_in,
)

# linux/nsfs.h: _IO(0xb7, 0x3); the kernel answers with the namespace's CLONE_NEW* flag.
NS_GET_NSTYPE = 0xB703


@pytest.mark.parametrize('nstype', NAMESPACE_TYPES, ids=TYPE_NAMES)
def test_flag_is_what_the_kernel_reports(nstype) -> None:
    """Each type's flag is the one NS_GET_NSTYPE returns for its /proc/self/ns file."""
    fd = os.open('/proc/self/ns/' + nstype.proc_file, os.O_RDONLY)
    try:
        assert fcntl.ioctl(fd, NS_GET_NSTYPE) == nstype.flag
    finally:
        os.close(fd)


def test_flags_and_names_round_trip() -> None:
    """names_in(flags_for(names)) gives back every subset of the types, in table order."""
    for size in range(len(TYPE_NAMES) + 1):
        for names in itertools.combinations(TYPE_NAMES, size):
            assert names_in(flags_for(names)) == names
