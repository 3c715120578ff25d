# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Store.locked() against runs that unmount the store meanwhile, on the real kernel.

Through Ansible a run costs about a second, too slow to hit the window between mounting the store
and taking its lock; forked processes calling module_utils directly hit it in milliseconds.
"""

from __future__ import annotations

import os
import subprocess
import traceback
from typing import Iterator

import pytest

from namespace_sets import mounts_under

WORKERS = 6
ROUNDS = 150


@pytest.fixture
def race_root(prefix) -> Iterator[str]:
    root = "/run/%s-lockrace" % prefix
    yield root
    for mount in sorted(mounts_under(root), key=lambda m: -len(m["target"])):
        subprocess.run(["umount", "-l", mount["target"]], check=False)
    subprocess.run(["rm", "-rf", "--one-file-system", root], check=False)


def _worker(root: str) -> int:
    """Take the lock, insist the store is mounted under it, unmount it when empty; an exit code."""
    from ansible_collections.linux.namespaces.plugins.module_utils.store import Store

    store = Store(root)
    try:
        for _round in range(ROUNDS):
            with store.locked():
                if not store.is_mounted():
                    return 3
                store.unmount_if_empty()
    except Exception:  # reported as the exit code; the parent asserts on it
        traceback.print_exc()
        return 4
    return 0


def test_lock_holders_always_see_a_mounted_store_while_others_unmount_it(race_root):
    children = []
    for _worker_number in range(WORKERS):
        pid = os.fork()
        if pid == 0:
            os._exit(_worker(race_root))
        children.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    assert codes == [0] * WORKERS, "3: lock held on an unmounted store; 4: a run failed"
    assert mounts_under(race_root) == []
    # The last run removes the directory: a stray lock file under the mount point would keep it.
    assert not os.path.lexists(race_root), os.listdir(race_root)
