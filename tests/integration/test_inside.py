# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""inside.call_inside runs a function in a set's namespaces: in the calling process where it may leave its own
(then it is back in them afterwards, also when the function fails), in a forked child otherwise, with the same
outcome either way. As root, in this process, on a set made as the namespace module makes it."""

from __future__ import annotations

import errno
import os
import threading
from typing import Dict, Iterator

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import creating, inside
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import SetOptions, SetState
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store
from namespace_sets import store_at

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and mounts need root")


@pytest.fixture
def made_set(ansible, prefix) -> Iterator[SetState]:
    with store_at(ansible, prefix, "inside") as test_store:
        store, name = Store(test_store.path), test_store.name("set")
        test_store.made.append(name)
        with store.locked():
            state = creating.create_set(store, name, SetOptions(types=("uts", "net"), hostname=name[:20]))
        try:
            yield state
        finally:
            with store.locked():
                creating.remove_set(store, name)
                store.unmount_if_empty()


def own_namespaces() -> Dict[str, int]:
    return {t: os.stat("/proc/self/ns/" + t).st_ino for t in sorted(os.listdir("/proc/self/ns"))}


def look_around() -> Dict[str, object]:
    return {"pid": os.getpid(), "hostname": os.uname().nodename,
            "uts": os.stat("/proc/self/ns/uts").st_ino, "net": os.stat("/proc/self/ns/net").st_ino}


def test_a_function_called_inside_runs_here_in_the_sets_namespaces_and_the_caller_comes_back(made_set):
    before = own_namespaces()
    seen = inside.call_inside(made_set.files, look_around, "looking around")
    assert own_namespaces() == before
    assert seen == {"pid": os.getpid(), "hostname": made_set.name[:20],
                    "uts": made_set.inodes["uts"], "net": made_set.inodes["net"]}


def test_a_second_thread_makes_it_run_in_a_child_with_the_same_answer(made_set):
    here = inside.call_inside(made_set.files, look_around)
    release = threading.Event()
    waiting = threading.Thread(target=release.wait)
    waiting.start()
    try:
        in_child = inside.call_inside(made_set.files, look_around)
    finally:
        release.set()
        waiting.join()
    assert in_child["pid"] != os.getpid()
    assert dict(in_child, pid=None) == dict(here, pid=None)


def fail_with_oserror() -> None:
    raise OSError(errno.EIO, "failed on purpose")


def fail_with_namespace_error() -> None:
    raise NamespaceError("failed on purpose", call="sethostname", nstype="uts", err=errno.EPERM)


@pytest.mark.parametrize("func", [fail_with_oserror, fail_with_namespace_error])
def test_a_failure_inside_is_the_childs_namespace_error_and_the_caller_comes_back(made_set, func):
    before = own_namespaces()
    with pytest.raises(NamespaceError) as here:
        inside.call_inside(made_set.files, func, "failing")
    assert own_namespaces() == before
    release = threading.Event()
    waiting = threading.Thread(target=release.wait)
    waiting.start()
    try:
        with pytest.raises(NamespaceError) as in_child:
            inside.call_inside(made_set.files, func, "failing")
    finally:
        release.set()
        waiting.join()
    assert "on purpose" in str(here.value)
    assert (str(here.value), here.value.call, here.value.nstype, here.value.errno) == (
        str(in_child.value), in_child.value.call, in_child.value.nstype, in_child.value.errno)


def test_a_namespace_file_that_cannot_be_joined_fails_and_the_caller_stays_home(made_set, tmp_path):
    before = own_namespaces()
    not_a_namespace = tmp_path / "plain"
    not_a_namespace.write_text("")
    files = dict(made_set.files, net=str(not_a_namespace))
    with pytest.raises(NamespaceError):
        inside.call_inside(files, look_around)
    assert own_namespaces() == before
