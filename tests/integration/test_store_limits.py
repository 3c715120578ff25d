# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store's limits and directories, on the real kernel, as root.

A full store: a create fails with a message that names the limit, and every step it made is undone (no
/run/netns link, no holder, no nsfs mount, no state file). A store mounted smaller grows. A directory given
as the store stays when its last set goes. A set is made again right after its removal, while the host's
init may not have reaped the old holder yet.

The limits are filled quickly through the store's own attributes (max_sets, tmpfs_size_kib), so these
tests call module_utils in this process as the module does, under the store's lock; observations go
through /proc, findmnt and namespace_info's inspection.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
from typing import Iterator, List, Sequence, Tuple

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import creating
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.inspect import inspect_host
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import SetOptions, SetState
from ansible_collections.linux.namespaces.plugins.module_utils.store import TMPFS_SIZE_KIB, Store
from namespace_sets import (
    HOLDER_COMM_PREFIX, NETNS_DIR, TestStore, holders_named, mounts_under, process_alive, store_at)

SMALL_TMPFS_KIB = 64  # 16 pages: a state.json takes one
_store_numbers = itertools.count(1)


@pytest.fixture
def limited(ansible, prefix) -> Iterator[TestStore]:
    """A store path of this test; whatever the test leaves there fails it."""
    with store_at(ansible, prefix, "lim%d" % next(_store_numbers)) as made:
        yield made


def create(store: Store, name: str, types: Sequence[str]) -> SetState:
    with store.locked():
        return creating.create_set(store, name, SetOptions(types=tuple(types)))


def remove(store: Store, name: str) -> bool:
    with store.locked():
        try:
            return creating.remove_set(store, name)
        finally:
            store.unmount_if_empty()


@contextlib.contextmanager
def removing_all(store: Store, names: List[str]) -> Iterator[None]:
    try:
        yield
    finally:
        for name in names:
            remove(store, name)


def tmpfs_bytes(path: str) -> int:
    info = os.statvfs(path)
    return info.f_blocks * info.f_frsize


def store_leaks(store: Store, prefix: str) -> list:
    """namespace_info's leaks of this run: in the store, or /run/netns entries with the prefix."""
    return [leak for leak in inspect_host(store_root=store.root)["leaks"]
            if leak["path"].startswith(store.root + "/") or (leak["name"] or "").startswith(prefix)]


def live_children() -> List[int]:
    with open("/proc/self/task/%d/children" % os.getpid()) as handle:
        return sorted(pid for pid in map(int, handle.read().split()) if process_alive(pid))


def fill(store: Store, limited: TestStore, types: Sequence[str], made: List[str]) -> Tuple[str, NamespaceError]:
    """Make sets until the store refuses one, adding each made to made: the refused name and its error."""
    for number in range(100):
        name = limited.name("f%02d" % number)
        limited.made.append(name)
        try:
            create(store, name, types)
        except NamespaceError as exc:
            return name, exc
        made.append(name)
    raise AssertionError("a store of %d KiB took 100 sets" % SMALL_TMPFS_KIB)


@pytest.mark.parametrize("types", [("uts", "net"), ("uts", "pid", "net")], ids=["netns_link", "holder"])
def test_a_full_store_fails_naming_its_limit_and_undoes_every_step_of_that_create(limited, prefix, types):
    store = Store(limited.path)
    store.tmpfs_size_kib = SMALL_TMPFS_KIB
    made: List[str] = []
    with removing_all(store, made):
        failed, failure = fill(store, limited, types, made)
        assert failure.errno == errno.ENOSPC, failure
        assert "store %s is full" % store.root in str(failure), failure
        assert "%d KiB" % SMALL_TMPFS_KIB in str(failure), failure
        assert made, "not even one set fitted: %s" % failure
        assert not os.path.lexists(store.set_path(failed)), os.listdir(store.set_path(failed))
        assert not os.path.lexists(os.path.join(NETNS_DIR, failed))
        assert [m["target"] for m in mounts_under(store.set_path(failed))] == []
        # This process started every holder: its live children are the made sets' holders, nothing of the
        # refused create.
        recorded = sorted(store.load(name).holder_pid for name in made if "pid" in types)
        assert live_children() == recorded
        assert sorted(holders_named(HOLDER_COMM_PREFIX + limited.name("f"))) == recorded
        listed = inspect_host(store_root=store.root)
        assert sorted(s["name"] for s in listed["sets"]) == made
        assert all(s["healthy"] for s in listed["sets"]), listed["sets"]
        assert store_leaks(store, prefix) == []
        # A full store cannot record that a set is being removed; it removes it all the same.
        assert remove(store, made.pop())
    assert not store.is_mounted()


def test_a_store_takes_no_more_sets_than_its_most_and_says_so(limited):
    store = Store(limited.path)
    store.max_sets = 2
    made: List[str] = []
    with removing_all(store, made):
        for tag in ("m1", "m2"):
            made.append(limited.name(tag))
            create(store, made[-1], ["uts"])
        with pytest.raises(NamespaceError) as refused:
            create(store, limited.name("m3"), ["uts"])
        assert refused.value.errno == errno.ENOSPC
        assert "store %s is full: it holds 2 sets" % store.root in str(refused.value)
        assert not os.path.lexists(store.set_path(limited.name("m3")))


def test_a_store_mounted_smaller_grows_to_this_versions_size(limited):
    small = Store(limited.path)
    small.tmpfs_size_kib = SMALL_TMPFS_KIB
    made = [limited.name("g1"), limited.name("g2")]
    with removing_all(small, made):
        create(small, made[0], ["uts"])
        assert tmpfs_bytes(small.root) == SMALL_TMPFS_KIB * 1024
        create(Store(limited.path), made[1], ["uts"])
        assert tmpfs_bytes(small.root) == TMPFS_SIZE_KIB * 1024
        assert small.names() == made


def test_a_directory_given_as_the_store_stays_when_its_last_set_goes(limited):
    os.mkdir(limited.path, 0o700)
    name = limited.name("given")
    limited.present(name, types=["uts", "net"])
    assert limited.mounted()
    assert limited.absent(name).changed
    assert not limited.mounted()
    assert os.path.isdir(limited.path) and os.listdir(limited.path) == []
    assert os.stat(limited.path).st_mode & 0o777 == 0o700, "not the directory that was given"


def test_a_set_with_a_holder_is_made_again_right_after_its_removal(limited, prefix):
    """No wait for the old holder to be reaped, and nothing of it in the way (no EBUSY, no false leak)."""
    store = Store(limited.path)
    name = limited.name("again")
    limited.made.append(name)
    holders = []
    with removing_all(store, [name]):
        for _round in range(5):
            state = create(store, name, ["uts", "pid", "net"])
            holders.append(state.holder_pid)
            assert store.problems(state) == []
            assert remove(store, name)
            assert not process_alive(holders[-1])  # gone, or a zombie until the host's init reaps it
            assert inspect_host(store_root=store.root, name=name)["sets"] == []
            assert store_leaks(store, prefix) == []
        assert holders_named(HOLDER_COMM_PREFIX + name[:11]) == []
