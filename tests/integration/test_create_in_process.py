# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A set without a user namespace is made by the calling process itself (creating._populate_here), which forks
only the holder of a PID namespace: afterwards that process is in its own namespaces, root and working
directory again, whether the create succeeded or failed halfway, and a failed create leaves nothing, not even a
zombie holder. As root, in this process, under the store's lock as the module does; what the set holds is
observed with util-linux nsenter."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
from typing import Dict, Iterator, List

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import creating, mountapi
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import SetOptions
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store
from namespace_sets import TestStore, mounts_under, store_at

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and mounts need root")

TYPES = ("mnt", "uts", "ipc", "net", "cgroup", "time")
WITH_PID = TYPES + ("pid",)


@pytest.fixture
def test_store(ansible, prefix) -> Iterator[TestStore]:
    with store_at(ansible, prefix, "inproc") as made:
        yield made


def own_state() -> Dict[str, object]:
    return {"namespaces": {t: os.stat("/proc/self/ns/" + t).st_ino for t in sorted(os.listdir("/proc/self/ns"))},
            "root": os.stat("/")[:2], "cwd": os.getcwd()}


def test_a_set_made_in_process_is_its_own_and_the_caller_is_back_in_its_namespaces(test_store):
    store, name = Store(test_store.path), test_store.name("ok")
    test_store.made.append(name)
    before = own_state()
    with store.locked():
        state = creating.create_set(store, name, SetOptions(types=TYPES, hostname=name[:20], boottime_offset=86400))
    try:
        assert own_state() == before
        assert all(state.inodes[t] != before["namespaces"][t] for t in TYPES if t != "time")
        assert state.inodes["time"] != before["namespaces"]["time_for_children"]
        inside = subprocess.run(["nsenter", "--uts=" + state.files["uts"], "--time=" + state.files["time"],
                                 "sh", "-c", "hostname; cut -d. -f1 /proc/uptime"],
                                capture_output=True, text=True, check=True).stdout.split()
        assert inside[0] == name[:20] and int(inside[1]) >= 86400
    finally:
        with store.locked():
            creating.remove_set(store, name)
            store.unmount_if_empty()


def test_a_set_with_a_pid_namespace_made_in_process_has_its_holder_as_pid_1(test_store):
    store, name = Store(test_store.path), test_store.name("pid")
    test_store.made.append(name)
    before = own_state()
    with store.locked():
        state = creating.create_set(store, name, SetOptions(types=WITH_PID, mount_proc=True))
    try:
        assert own_state() == before
        assert state.inodes["pid"] != before["namespaces"]["pid_for_children"]
        assert os.readlink("/proc/%d/ns/pid" % state.holder_pid) == "pid:[%d]" % state.inodes["pid"]

        # The pause program with SIGCHLD ignored (the kernel reaps its children), not a fork of this process
        # sharing its memory (holder.py); named after the link it was run through.
        assert os.path.basename(os.readlink("/proc/%d/exe" % state.holder_pid)) == "sleep"
        with open("/proc/%d/status" % state.holder_pid) as handle:
            ignored = int([line for line in handle if line.startswith("SigIgn:")][0].split()[1], 16)
        assert ignored & (1 << (signal.SIGCHLD - 1))

        inside = subprocess.run(["nsenter", "--mount=" + state.files["mnt"], "--pid=" + state.files["pid"],
                                 "cat", "/proc/1/comm"], capture_output=True, text=True, check=True).stdout
        assert inside.strip() == ("nsh:" + name)[:15]
    finally:
        with store.locked():
            creating.remove_set(store, name)
            store.unmount_if_empty()
    assert not _own_child_left(state.holder_pid)


def _own_child_left(pid: int) -> bool:
    """Whether pid is still a child of this process, alive or a zombie nobody reaped."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1]) == os.getpid()
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("failing", ["setup-here", "proc-by-a-member", "proc-here"])
def test_a_create_that_fails_inside_leaves_nothing_and_the_caller_in_its_namespaces(test_store, monkeypatch, failing):
    store, name = Store(test_store.path), test_store.name("fail")
    test_store.made.append(name)
    before = own_state()
    children_before = _children()

    def failing_setup(options):
        os.chdir("/")  # as a mount namespace's setup may leave it
        raise OSError(5, "set-up failed on purpose")

    def procfs_refusing(err):
        def refused(pid_namespace_fd):
            raise NamespaceError("procfs refused on purpose", call="fsconfig", err=err)
        return refused

    types = TYPES if failing == "setup-here" else WITH_PID
    if failing == "setup-here":
        monkeypatch.setattr(creating, "_setup_inside", failing_setup)
    elif failing == "proc-by-a-member":  # as on a kernel whose procfs has no pidns option
        monkeypatch.setattr(mountapi, "procfs_of", procfs_refusing(errno.EINVAL))
        monkeypatch.setattr(creating, "_mount_proc_as_member", lambda: failing_setup(None))
    else:
        monkeypatch.setattr(mountapi, "procfs_of", procfs_refusing(errno.EIO))
    with store.locked():
        with pytest.raises((OSError, NamespaceError), match="on purpose"):
            creating.create_set(store, name, SetOptions(types=types, mount_proc="pid" in types))
        assert own_state() == before
        assert _children() == children_before
        assert not os.path.exists(store.set_path(name))
        # Only the store's own tmpfs stays mounted, until its last set is gone.
        assert [m["target"] for m in mounts_under(store.root)] == [os.path.realpath(store.root)]
        store.unmount_if_empty()


def _children() -> List[int]:
    """This process's children, zombies included."""
    with open("/proc/self/task/%d/children" % os.getpid()) as handle:
        return sorted(int(pid) for pid in handle.read().split())
