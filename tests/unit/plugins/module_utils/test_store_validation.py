# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation done before anything is touched: names, id maps, options, store paths."""

from __future__ import annotations

import os

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import Mount
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import (
    KTIME_SEC_MAX, MAX_MAP_LINES, SetOptions, parse_id_map, validate_name, validate_options, validate_store_path,
    validate_time_offset)
from ansible_collections.linux.namespaces.plugins.module_utils.store import STORE_FSNAME, Store


@pytest.mark.parametrize("name", ["a", "web-1", "A.b_c-9", "x" * 64, ".hidden", "..x", "x..", "..."])
def test_valid_names_pass(name):
    validate_name(name)


@pytest.mark.parametrize("name, why", [
    ("a/b", "slash"), ("/", "slash alone"), ("..", "parent"), (".", "self"), ("a\x00b", "NUL"),
    ("x" * 65, "65 characters"), ("", "empty"), ("a b", "space"), ("name\n", "trailing newline"),
    ("\nname", "leading newline"), ("caf\u00e9", "non-ASCII letter"),
])
def test_invalid_names_are_rejected(name, why):
    with pytest.raises(ValueError) as raised:
        validate_name(name)
    assert "name" in str(raised.value), why


def test_nul_in_a_name_is_named_in_the_message():
    with pytest.raises(ValueError, match="NUL"):
        validate_name("a\x00b")


def test_a_long_name_message_gives_the_limit():
    with pytest.raises(ValueError, match="64"):
        validate_name("x" * 65)


@pytest.mark.parametrize("lines, expected", [
    (["0 100000 65536"], [(0, 100000, 65536)]),
    (["0 1000 1", "1 100000 65535"], [(0, 1000, 1), (1, 100000, 65535)]),
    (["0 1000 10", "10 1010 10"], [(0, 1000, 10), (10, 1010, 10)]),  # adjacent, not overlapping
    (["  0   1000   1  "], [(0, 1000, 1)]),
    (["4294967294 0 1"], [(4294967294, 0, 1)]),  # the largest valid id
    ([], []),
])
def test_well_formed_maps_parse(lines, expected):
    assert parse_id_map(lines, "uid_map") == expected


@pytest.mark.parametrize("line", ["0 1000", "0 1000 1 1", "a 1000 1", "0 -1 1", "0 1000 1.5", "0x0 1000 1",
                                  "", "0,1000,1", "\u0663 1000 1", "\u00b2 1000 1", "0 1000 1\n1 2000 1"])
def test_malformed_map_lines_are_rejected_with_the_line_and_the_format(line):
    with pytest.raises(ValueError) as raised:
        parse_id_map([line], "gid_map")
    assert "gid_map" in str(raised.value) and "INSIDE OUTSIDE COUNT" in str(raised.value)


def test_count_zero_is_rejected():
    with pytest.raises(ValueError, match="COUNT is 0"):
        parse_id_map(["0 1000 0"], "uid_map")


@pytest.mark.parametrize("lines, side", [
    (["0 100000 10", "5 200000 10"], "inside"),
    (["0 100000 10", "100 100005 10"], "outside"),
    (["0 100000 1000", "10 300000 1", "500 400000 1"], "inside"),  # one range holding two others
    (["0 1000 1", "0 2000 1"], "inside"),
])
def test_overlapping_ranges_are_rejected_naming_the_side(lines, side):
    with pytest.raises(ValueError, match="overlapping ranges on the %s side" % side):
        parse_id_map(lines, "uid_map")


def test_ranges_beyond_the_largest_id_are_rejected():
    with pytest.raises(ValueError, match="4294967294"):
        parse_id_map(["4294967294 0 2"], "uid_map")


def test_the_kernels_line_limit_is_enforced():
    lines = ["%d %d 1" % (i, 100000 + i) for i in range(MAX_MAP_LINES + 1)]
    parse_id_map(lines[:MAX_MAP_LINES], "uid_map")
    with pytest.raises(ValueError, match="at most %d" % MAX_MAP_LINES):
        parse_id_map(lines, "uid_map")


@pytest.mark.parametrize("options, message", [
    (SetOptions(types=("mnt", "bogus")), "unknown namespace type(s): bogus"),
    (SetOptions(types=()), "at least one"),
    (SetOptions(types=("mnt", "uts"), mount_proc=True), "mount_proc"),
    (SetOptions(types=("pid",), mount_proc=True), "mount_proc"),
    (SetOptions(types=("mnt", "uts"), mount_sysfs=True), "mount_sysfs needs both 'mnt' and 'net'"),
    (SetOptions(types=("net",), mount_sysfs=True), "mount_sysfs needs both 'mnt' and 'net'"),
    (SetOptions(types=("mnt",), monotonic_offset=5), "need 'time'"),
    (SetOptions(types=("mnt",), boottime_offset=-5), "need 'time'"),
    (SetOptions(types=("mnt",), uid_map=("0 1000 1",)), "need 'user'"),
    (SetOptions(types=("mnt",), gid_map=("0 1000 1",)), "need 'user'"),
    (SetOptions(types=("mnt",), hostname="h"), "need 'uts'"),
    (SetOptions(types=("mnt",), domainname="d"), "need 'uts'"),
    (SetOptions(types=("uts",), hostname="h" * 65), "hostname must be 1 to 64 bytes"),
    (SetOptions(types=("uts",), hostname=""), "hostname must be 1 to 64 bytes"),
    (SetOptions(types=("uts",), domainname="a\x00b"), "domainname"),
    (SetOptions(types=("user",), uid_map=("0 1000",)), "uid_map"),
    (SetOptions(types=("user",), gid_map=("0 1000 1", "0 2000 1")), "gid_map has overlapping"),
    (SetOptions(types=("user",), setgroups="maybe"), "setgroups"),
    (SetOptions(types=("mnt",), propagation="unbindable"), "propagation"),
])
def test_option_combinations_that_cannot_work_are_rejected(options, message):
    with pytest.raises(ValueError) as raised:
        validate_options(options)
    assert message in str(raised.value)


@pytest.mark.parametrize("options", [
    SetOptions(types=("mnt", "uts", "ipc", "pid", "net")),
    SetOptions(types=("mnt", "pid"), mount_proc=True),
    SetOptions(types=("mnt", "net"), mount_sysfs=True),
    SetOptions(types=("time",), monotonic_offset=86400, boottime_offset=-10),
    SetOptions(types=("user", "mnt"), uid_map=("0 100000 65536",), gid_map=("0 100000 65536",), setgroups="deny"),
    SetOptions(types=("uts",), hostname="h" * 64, domainname="example"),
    SetOptions(types=("mnt",), propagation="unchanged"),
])
def test_workable_options_pass(options):
    validate_options(options)


@pytest.mark.parametrize("offset, message", [
    (2 ** 64, "out of the kernel's range"), (-2 ** 64, "out of the kernel's range"),
    (KTIME_SEC_MAX + 1, "out of the kernel's range"), (-KTIME_SEC_MAX - 1, "out of the kernel's range"),
    (-1001, "within 0"), (KTIME_SEC_MAX // 2 - 999, "within 0"),
])
def test_time_offsets_the_kernel_refuses_are_rejected(offset, message):
    with pytest.raises(ValueError, match=message):
        validate_time_offset("monotonic_offset", offset, 1000)


@pytest.mark.parametrize("offset", [0, -1000, KTIME_SEC_MAX // 2 - 1000, 86400, -1])
def test_time_offsets_that_keep_the_clock_in_range_pass(offset):
    validate_time_offset("boottime_offset", offset, 1000)


def test_a_time_offset_of_2_to_the_64_is_rejected_by_option_validation():
    with pytest.raises(ValueError, match="monotonic_offset"):
        validate_options(SetOptions(types=("time",), monotonic_offset=2 ** 64))


@pytest.mark.parametrize("path, message", [
    ("/run/a\x00b", "NUL"),
    ("/run/" + "/".join(["d" * 200] * 21), "at most 4095"),
    ("/run/" + "x" * 256, "longer than 255"),
    ("/run" + "/d" * 100, "deep"),
    ("/run" + "/d" * 2500, "at most 4095"),
])
def test_store_paths_the_kernel_or_the_store_cannot_take_are_rejected(path, message):
    with pytest.raises(ValueError, match=message):
        validate_store_path(path)


def test_store_must_be_absolute():
    with pytest.raises(ValueError, match="absolute"):
        validate_store_path("run/store")


def test_store_must_not_be_a_symlink(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    for given in (str(tmp_path / "link"), str(tmp_path / "link") + "/", str(tmp_path / "link") + "/."):
        with pytest.raises(ValueError, match="symbolic link"):
            validate_store_path(given)


def test_store_must_not_be_a_dangling_symlink(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="symbolic link"):
        validate_store_path(str(tmp_path / "link"))


def test_store_must_be_a_directory(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        validate_store_path(str(tmp_path / "file"))


def test_existing_or_missing_absolute_directories_pass(tmp_path):
    validate_store_path(str(tmp_path))
    validate_store_path(str(tmp_path / "not-yet"))
    validate_store_path(os.path.join(str(tmp_path), "a", "..", "b"))


def test_store_root_is_named_as_the_kernel_names_its_mount_point(tmp_path):
    """A store below a symlinked directory (Debian's /var/run -> /run) is found in mountinfo by its real path."""
    (tmp_path / "real").mkdir()
    (tmp_path / "via").symlink_to(tmp_path / "real")
    assert Store(str(tmp_path / "via" / "store")).root == str(tmp_path / "real" / "store")
    assert Store(str(tmp_path / "real" / "store") + "/").root == str(tmp_path / "real" / "store")


def _mount(point: str, fstype: str, source: str) -> Mount:
    return Mount(1, 0, "/", point, fstype, source, 42)


def test_only_the_stores_own_tmpfs_on_top_is_a_store():
    """Given store: /dev/shm, the module must neither fill nor unmount that tmpfs."""
    ours = _mount("/run/s", "tmpfs", STORE_FSNAME)
    assert Store("/run/s", [ours]).is_mounted()
    assert not Store("/run/s", [_mount("/run/s", "tmpfs", "tmpfs")]).is_mounted()
    assert not Store("/run/s", [ours, _mount("/run/s", "tmpfs", "other")]).is_mounted()
    assert not Store("/run/s", [_mount("/run", "tmpfs", STORE_FSNAME)]).is_mounted()
