# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The user and group a command runs as: ids in range, names that exist, anything else refused by name.

Looked up in this machine's own databases, as a command entering no mount namespace would see them.
"""

from __future__ import annotations

import errno
import grp
import pwd

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import enter
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError

UNUSED_NAME = "lns-no-such-account"


def test_a_user_name_gives_its_uid_account_and_primary_group():
    root = pwd.getpwnam("root")
    assert enter._lookup_user("root") == (0, "root", root.pw_gid)


def test_a_uid_with_an_account_gives_that_account():
    assert enter._lookup_user("0")[:2] == (0, "root")


def test_the_largest_uid_is_accepted_without_an_account():
    assert enter._lookup_user(str(2 ** 32 - 2)) == (2 ** 32 - 2, None, None)


@pytest.mark.parametrize("kind, lookup", [("user", enter._lookup_user), ("group", enter._lookup_group)])
def test_the_id_that_means_no_change_is_refused_with_the_range(kind, lookup):
    with pytest.raises(NamespaceError) as raised:
        lookup("4294967295")
    assert raised.value.errno == errno.EINVAL
    assert "%s 4294967295 is out of range: ids go from 0 to 4294967294" % kind in str(raised.value)


@pytest.mark.parametrize("kind, lookup", [("user", enter._lookup_user), ("group", enter._lookup_group)])
def test_an_id_past_32_bits_is_refused(kind, lookup):
    with pytest.raises(NamespaceError, match="%s 99999999999 is out of range" % kind):
        lookup("99999999999")


@pytest.mark.parametrize("kind, lookup", [("user", enter._lookup_user), ("group", enter._lookup_group)])
@pytest.mark.parametrize("name", [UNUSED_NAME, "", "ro\x00ot", "\u0661"])  # \u0661: a digit, but not ASCII
def test_a_name_without_an_account_is_refused_by_name(kind, lookup, name):
    with pytest.raises(NamespaceError) as raised:
        lookup(name)
    assert raised.value.errno == errno.ENOENT
    assert str(raised.value).startswith("no %s %r inside the mount namespace entered" % (kind, name))


def test_a_group_name_gives_its_gid():
    assert enter._lookup_group(grp.getgrgid(0).gr_name) == 0


def test_a_gid_is_taken_as_is_up_to_the_largest():
    assert enter._lookup_group("0") == 0
    assert enter._lookup_group(str(2 ** 32 - 2)) == 2 ** 32 - 2
