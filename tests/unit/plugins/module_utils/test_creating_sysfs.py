# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mount_sysfs keeps the cgroup mounts with open_tree, and hides them only on kernels without it."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import creating
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError, error_from


def _open_tree_failing(err: int):
    def open_tree_clone(path: str, recursive: bool = False) -> int:
        raise error_from("open_tree", err, target=path)
    return open_tree_clone


def test_copy_is_taken_recursively_when_cgroups_are_mounted(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(creating, "is_mount_point", lambda path: path == creating.CGROUP_MOUNT)
    monkeypatch.setattr(creating.mountapi, "open_tree_clone", lambda path, recursive=False: calls.append(
        (path, recursive)) or 42)
    assert creating._copy_of_cgroup_mounts() == 42
    assert calls == [(creating.CGROUP_MOUNT, True)]


def test_no_cgroup_mount_means_nothing_to_copy(monkeypatch) -> None:
    monkeypatch.setattr(creating, "is_mount_point", lambda path: False)
    monkeypatch.setattr(creating.mountapi, "open_tree_clone", _open_tree_failing(errno.EPERM))
    assert creating._copy_of_cgroup_mounts() is None


def test_kernel_without_open_tree_hides_the_cgroups(monkeypatch) -> None:
    monkeypatch.setattr(creating, "is_mount_point", lambda path: True)
    monkeypatch.setattr(creating.mountapi, "open_tree_clone", _open_tree_failing(errno.ENOSYS))
    assert creating._copy_of_cgroup_mounts() is None


def test_other_open_tree_errors_fail_the_set(monkeypatch) -> None:
    monkeypatch.setattr(creating, "is_mount_point", lambda path: True)
    monkeypatch.setattr(creating.mountapi, "open_tree_clone", _open_tree_failing(errno.EPERM))
    with pytest.raises(NamespaceError):
        creating._copy_of_cgroup_mounts()
