# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unprivileged user namespaces: the sysctl gates, and a probe run as an unprivileged user."""

from __future__ import annotations

import errno
import os
from typing import Callable, Dict

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.child import run_in_child
from ansible_collections.linux.namespaces.plugins.module_utils.errors import (
    USERNS_GATES, NamespaceError, error_from, read_sysctl)
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import CLONE_NEWUSER, CLONE_NEWUTS
from ansible_collections.linux.namespaces.plugins.module_utils.verdicts import (
    FAIL, PASS, UNKNOWN, Facts, Verdict, errno_name, verdict)

NOBODY = 65534
# A name for the probe's own UTS namespace: set there only, never on the host.
PROBE_HOSTNAME = "lns-probe"


def _drop_to(uid: int, gid: int) -> None:
    for call, step in (("setgroups", lambda: os.setgroups([])), ("setresgid", lambda: os.setresgid(gid, gid, gid)),
                       ("setresuid", lambda: os.setresuid(uid, uid, uid))):
        try:
            step()
        except OSError as exc:
            raise error_from(call, exc.errno or errno.EIO, target="uid %d gid %d" % (uid, gid))


def _unprivileged_probe(uid: int, gid: int) -> Callable[[], Dict[str, Verdict]]:
    def probe() -> Dict[str, Verdict]:
        if os.geteuid() == 0:
            _drop_to(uid, gid)
        as_who = "uid %d" % os.geteuid()
        try:
            syscalls.unshare(CLONE_NEWUSER)
        except NamespaceError as exc:
            return {"create": verdict(FAIL, "as %s: %s" % (as_who, exc), errno=errno_name(exc.errno)),
                    "privileged_operation": verdict(UNKNOWN, "not tried: no user namespace")}
        created = verdict(PASS, "as %s: unshare(CLONE_NEWUSER) succeeded" % as_who)
        try:
            # sethostname only after our own UTS namespace exists: it can never reach the host's name.
            syscalls.unshare(CLONE_NEWUTS)
            syscalls.sethostname(PROBE_HOSTNAME)
        except NamespaceError as exc:
            return {"create": created,
                    "privileged_operation": verdict(FAIL, "inside the new user namespace: %s" % exc,
                                                    errno=errno_name(exc.errno))}
        return {"create": created,
                "privileged_operation": verdict(PASS, "inside the new user namespace, unshare(CLONE_NEWUTS) and "
                                                "sethostname() succeeded")}
    return probe


def probe_userns_policy(uid: int = NOBODY, gid: int = NOBODY) -> Facts:
    sysctls = {gate.sysctl: read_sysctl(gate.sysctl) for gate in USERNS_GATES}
    closed = [gate.sysctl for gate in USERNS_GATES if sysctls[gate.sysctl] == gate.closed_value]
    try:
        probed = run_in_child(_unprivileged_probe(uid, gid), "unprivileged user namespace probe")
    except NamespaceError as exc:
        probed = {"create": verdict(UNKNOWN, "the probe could not run as an unprivileged user: %s" % exc),
                  "privileged_operation": verdict(UNKNOWN, "not tried")}
    create, operation = probed["create"], probed["privileged_operation"]
    if create["status"] == PASS and operation["status"] == PASS:
        overall = verdict(PASS, "an unprivileged user can create a user namespace and use its capabilities")
    elif create["status"] == UNKNOWN:
        overall = verdict(UNKNOWN, create["reason"])
    elif create["status"] == FAIL:
        overall = verdict(FAIL, create["reason"])
    else:
        overall = verdict(FAIL, "user namespace created but without usable capabilities: %s" % operation["reason"])
    return {"sysctls": sysctls, "closed_gates": closed, "probe_uid": uid if os.geteuid() == 0 else os.geteuid(),
            "create": create, "privileged_operation": operation, "unprivileged": overall}
