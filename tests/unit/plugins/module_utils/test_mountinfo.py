# -*- coding: utf-8 -*-
"""The one mountinfo parser: escapes, fields, nsfs roots."""

from __future__ import annotations

import os

from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import (
    Mount, MountTable, NsfsMount, is_mount_point, mount_points, read_mount_table, read_mountinfo, topmost)

SAMPLE = (
    b"27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    b"42 27 0:39 / /run/my\\040store rw,nosuid shared:7 master:2 - tmpfs linux-namespaces rw,size=4096k\n"
    b"68 42 0:4 uts:[4026532178] /run/my\\040store/web/uts rw - nsfs nsfs rw\n"
    b"69 42 0:4 net:[4026532181] /run/netns/caf\xc3\xa9\\134x rw - nsfs nsfs rw\n"
    b"70 27 0:40 / /run/my\\040store rw - tmpfs other rw\n"
    b"71 27 8:2 / /srv/a\\040-\\040nsfs\\040b rw - ext4 /dev/sda2 rw\n"  # the type, spelled in a path
)


def test_fields_and_escapes(tmp_path) -> None:
    path = tmp_path / "mountinfo"
    path.write_bytes(SAMPLE)
    mounts = read_mountinfo(str(path))
    assert mounts[1] == Mount(42, 27, "/", "/run/my store", "tmpfs", "linux-namespaces", os.makedev(0, 39))
    assert mounts[3].mount_point == "/run/netns/caf\u00e9\\x"


def test_mount_table_gives_nsfs_mounts_as_the_namespaces_they_pin(tmp_path) -> None:
    path = tmp_path / "mountinfo"
    path.write_bytes(SAMPLE)
    table = read_mount_table(str(path))
    assert table == MountTable([m for m in read_mountinfo(str(path)) if m.fstype != "nsfs"],
                               [NsfsMount("/run/my store/web/uts", "uts", 4026532178, 68, 42),
                                NsfsMount("/run/netns/caf\u00e9\\x", "net", 4026532181, 69, 42)])
    assert [m.mount_id for m in table.mounts] == [27, 42, 70, 71]


def test_mount_points_keeps_the_topmost_and_filters_by_type(tmp_path) -> None:
    path = tmp_path / "mountinfo"
    path.write_bytes(SAMPLE)
    mounts = read_mountinfo(str(path))
    assert mount_points("tmpfs", mounts) == {"/run/my store": "tmpfs"}
    assert mount_points(None, mounts)["/run/netns/caf\u00e9\\x"] == "nsfs"


def test_topmost_is_the_last_mount_at_a_point(tmp_path) -> None:
    path = tmp_path / "mountinfo"
    path.write_bytes(SAMPLE)
    mounts = read_mountinfo(str(path))
    assert topmost("/run/my store", mounts).source == "other"
    assert topmost("/run/my store/web/uts", mounts).fstype == "nsfs"
    assert topmost("/run/nothing", mounts) is None


def test_reads_the_callers_mount_table() -> None:
    assert mount_points()["/proc"] == "proc"


def test_is_mount_point_tells_a_mount_from_a_plain_directory(tmp_path) -> None:
    assert is_mount_point("/proc")
    assert not is_mount_point(str(tmp_path))
    assert not is_mount_point(str(tmp_path / "missing"))
    assert not is_mount_point("/")
