# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""errno translation: each message names the call, the type and the real cause."""

from __future__ import annotations

import errno
import os

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import errors, syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError, error_from, explain
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import CLONE_NEWNET


@pytest.fixture
def sysctls(monkeypatch):
    """Fake sysctl values: the test fills the dict; anything absent reads as missing."""
    values = {}
    monkeypatch.setattr(errors, "read_sysctl", values.get)
    return values


def test_enospc_names_the_types_limit_and_its_value(sysctls):
    sysctls["user.max_user_namespaces"] = "15"
    message = error_from("unshare", errno.ENOSPC, "user").args[0]
    assert message.startswith("cannot create a user namespace: ")
    assert "user.max_user_namespaces" in message and "15" in message


def test_enospc_for_several_types_names_the_limit_that_is_zero(sysctls):
    sysctls.update({"user.max_mnt_namespaces": "100", "user.max_user_namespaces": "0"})
    message = error_from("unshare", errno.ENOSPC, "mnt+user").args[0]
    assert "user.max_user_namespaces is 0" in message, message
    assert "max_mnt+user" not in message


def test_enospc_for_several_types_names_every_limit_when_none_is_zero(sysctls):
    sysctls.update({"user.max_mnt_namespaces": "100", "user.max_net_namespaces": "200"})
    message = explain("unshare", errno.ENOSPC, "mnt+net")
    assert "user.max_mnt_namespaces (100)" in message and "user.max_net_namespaces (200)" in message
    assert "None" not in message


def test_eperm_for_user_when_max_user_namespaces_is_0(sysctls):
    sysctls["user.max_user_namespaces"] = "0"
    exc = error_from("unshare", errno.EPERM, "user")
    assert str(exc).startswith("cannot create a user namespace: user.max_user_namespaces is 0 on this host"), exc
    assert (exc.call, exc.nstype, exc.errno) == ("unshare", "user", errno.EPERM)


def test_eperm_for_a_set_with_user_names_the_user_namespace_gate(sysctls):
    sysctls["user.max_user_namespaces"] = "0"
    message = str(error_from("unshare", errno.EPERM, "mnt+uts+user"))
    assert message.startswith(
        "cannot create the mnt, uts, user namespaces: user.max_user_namespaces is 0 on this host"), message


def test_eperm_unprivileged_names_debians_sysctl(sysctls, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    sysctls.update({"user.max_user_namespaces": "100", "kernel.unprivileged_userns_clone": "0"})
    assert "kernel.unprivileged_userns_clone is 0" in explain("unshare", errno.EPERM, "user")


def test_eperm_unprivileged_names_ubuntus_apparmor_sysctl(sysctls, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    sysctls.update({"user.max_user_namespaces": "100", "kernel.apparmor_restrict_unprivileged_userns": "1"})
    assert "kernel.apparmor_restrict_unprivileged_userns is 1" in explain("unshare", errno.EPERM, "user")


def test_eperm_without_a_gate_says_root_is_needed(sysctls):
    sysctls["user.max_user_namespaces"] = "100"
    message = str(error_from("unshare", errno.EPERM, "uts"))
    assert message.startswith("cannot create a uts namespace: ") and "CAP_SYS_ADMIN" in message


def test_enosys_names_the_call_and_the_running_kernel():
    message = explain("pidfd_open", errno.ENOSYS)
    assert "pidfd_open" in message and os.uname().release in message


def test_unknown_errno_falls_back_to_strerror():
    assert explain("mount", errno.EXDEV) == os.strerror(errno.EXDEV)


def test_target_and_verb_are_in_the_message():
    message = str(error_from("setns", errno.EINVAL, "net", "/run/x/net"))
    assert message.startswith("cannot enter a net namespace (/run/x/net): ")
    assert str(error_from("mount", errno.EINVAL, target="/run/x")).startswith("mount failed (/run/x): ")
    assert str(error_from("ioctl", errno.ENOTTY, "uts")).startswith("ioctl failed for the uts namespace: ")


def test_read_sysctl_reads_a_real_value_and_none_for_a_missing_one():
    with open("/proc/sys/kernel/ostype") as handle:
        assert errors.read_sysctl("kernel.ostype") == handle.read().strip()
    assert errors.read_sysctl("kernel.no_such_sysctl_here") is None


def test_the_syscall_layer_raises_translated_errors_from_the_real_kernel():
    """setns with a uts file but the net type fails with EINVAL before anything changes."""
    fd = syscalls.open_namespace("/proc/self/ns/uts")
    try:
        with pytest.raises(NamespaceError) as raised:
            syscalls.setns(fd, CLONE_NEWNET, target="/proc/self/ns/uts")
    finally:
        os.close(fd)
    assert raised.value.errno == errno.EINVAL and raised.value.call == "setns"
    assert str(raised.value).startswith("cannot enter a net namespace (/proc/self/ns/uts): ")
    with open("/proc/self/status") as plain, pytest.raises(NamespaceError) as not_nsfs:
        syscalls.ns_get_nstype(plain.fileno())
    assert not_nsfs.value.errno == errno.ENOTTY and "not a namespace file" in str(not_nsfs.value)


def test_erange_writing_time_offsets_says_the_offset_is_out_of_range():
    message = str(error_from("write timens_offsets", errno.ERANGE, nstype="time"))
    assert "time namespace" in message and "out of the kernel's range" in message, message
