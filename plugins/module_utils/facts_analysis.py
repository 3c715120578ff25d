# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conclusions drawn from gathered facts, as pure functions of them (unit-tested with fake facts):
where two sources disagree, and whether the host has what a playbook needs.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils.features import (
    FEATURES_BY_NAME, MAX_NAMESPACES_SYSCTLS_KERNEL, release_has)
from ansible_collections.linux.namespaces.plugins.module_utils.kernel_config import CONFIG_NAMESPACES
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import NAMESPACE_TYPES, NamespaceType
from ansible_collections.linux.namespaces.plugins.module_utils.verdicts import (
    FAIL, PASS, UNKNOWN, Facts, Verdict, verdict)


def _disagreement(subject: str, between: Tuple[str, str], observed: str, meaning: str) -> Facts:
    return {"subject": subject, "between": list(between), "observed": observed, "meaning": meaning}


def _type_enabled_by_config(facts: Facts, nstype: NamespaceType) -> Optional[bool]:
    """What the kernel config says about the type: True, False, or None when it cannot say."""
    options = facts["kernel_config"]["options"]
    state = facts["types"][nstype.name]["config"]
    if state == "builtin":
        return True
    if state == "unknown":
        return None
    return state in ("y", "m") and options.get(CONFIG_NAMESPACES) in ("y", "absent")


def _type_disagreements(facts: Facts, nstype: NamespaceType) -> List[Facts]:
    found = []
    name = nstype.name
    entry = facts["types"][name]
    option = nstype.kernel_config or CONFIG_NAMESPACES
    enabled = _type_enabled_by_config(facts, nstype)
    created = entry["creatable"]["status"]
    as_root = facts["probed_as"]["root"]
    stale = "the config file does not describe the running kernel (a stale /boot/config or another build)"
    if enabled is False and entry["present"]:
        found.append(_disagreement(name, ("config", "runtime"), "%s is %s but /proc/self/ns/%s exists" % (
            option, entry["config"], name), stale))
    if enabled is False and created == PASS:
        found.append(_disagreement(name, ("config", "probe"), "%s is %s but the probe created a %s namespace" % (
            option, entry["config"], name), stale))
    if enabled and not entry["present"]:
        found.append(_disagreement(name, ("config", "runtime"), "%s is %s but /proc/self/ns/%s is missing" % (
            option, entry["config"], name),
            "/proc is not this kernel's own procfs (a masked or restricted /proc in a container), or the kernel is "
            "older than the /proc/PID/ns file for this type"))
    if not entry["present"] and created == PASS:
        found.append(_disagreement(name, ("runtime", "probe"), "/proc/self/ns/%s is missing but the probe created "
                                   "a %s namespace" % (name, name),
                                   "the kernel predates the /proc/PID/ns file for this type (3.0 for ipc, net, uts; "
                                   "3.8 for mnt, pid, user), or /proc is restricted"))
    if entry["present"] and created == FAIL and as_root:
        found.append(_disagreement(name, ("runtime", "probe"), "/proc/self/ns/%s exists but root cannot create a %s "
                                   "namespace: %s" % (name, name, entry["creatable"]["reason"]),
                                   _creation_failure_meaning(entry["creatable"].get("errno"), nstype)))
    if entry["max"] == 0:
        if created == PASS:
            found.append(_disagreement(name, ("policy", "probe"), "%s is 0 but the probe created a %s namespace" % (
                nstype.max_sysctl, name),
                "the limit shown is not the one applied to the probe (limits are per user and per user namespace), "
                "or it changed during the audit"))
        if enabled:
            found.append(_disagreement(name, ("config", "policy"), "%s is %s but %s is 0" % (
                option, entry["config"], nstype.max_sysctl),
                "the kernel has %s namespaces but the sysctl forbids creating any" % name))
    return found


def _creation_failure_meaning(err: Optional[str], nstype: NamespaceType) -> str:
    if err == "ENOSPC":
        return "the %s limit is reached (0 disables the type)" % nstype.max_sysctl
    if err == "EPERM":
        return ("the kernel has the type but something denies creating it even to root: a seccomp filter, an LSM, "
                "or the audit ran without CAP_SYS_ADMIN in its user namespace")
    if err == "EINVAL":
        return "the kernel rejects the flag although /proc shows the type"
    return "creation failed for a reason the runtime view does not explain"


def _version_disagreements(facts: Facts) -> List[Facts]:
    found = []
    release = facts["kernel"]["release"]
    checked = [(name, FEATURES_BY_NAME[name].first_kernel, result["status"])
               for name, result in facts["features"].items()]
    # A type that fails to be created is already explained against its runtime presence: only a
    # type newer than the release is worth a version note.
    checked += [(name, entry["first_kernel"], entry["creatable"]["status"]) for name, entry in facts["types"].items()
                if entry["creatable"]["status"] == PASS]
    for name, first_kernel, status in checked:
        expected = release_has(release, first_kernel)
        if expected and status == FAIL:
            found.append(_disagreement(name, ("version", "probe"), "kernel %s is at least %s but the probe failed" % (
                release, first_kernel),
                "a seccomp filter or LSM hides it, a config option left it out, or the vendor kernel differs "
                "from mainline"))
        elif expected is False and status == PASS:
            found.append(_disagreement(name, ("version", "probe"), "kernel %s is older than %s but the probe passed" % (
                release, first_kernel), "the distribution backported it"))
    if release_has(release, MAX_NAMESPACES_SYSCTLS_KERNEL) and all(
            entry["max"] is None for entry in facts["types"].values()):
        found.append(_disagreement("user.max_*_namespaces", ("version", "runtime"),
                                   "kernel %s is at least %s but /proc/sys/user has no limits" % (
                                       release, MAX_NAMESPACES_SYSCTLS_KERNEL),
                                   "/proc/sys is masked or not this kernel's"))
    return found


def _userns_disagreements(facts: Facts) -> List[Facts]:
    found = []
    policy = facts["userns_policy"]
    create, operation = policy["create"]["status"], policy["privileged_operation"]["status"]
    closed = policy["closed_gates"]
    apparmor = policy["sysctls"].get("kernel.apparmor_restrict_unprivileged_userns") == "1"
    hard_closed = [name for name in closed if name != "kernel.apparmor_restrict_unprivileged_userns"]
    if not hard_closed and create == FAIL:
        found.append(_disagreement("unprivileged user namespaces", ("policy", "probe"),
                                   "no sysctl gate is closed but an unprivileged user cannot create a user namespace: "
                                   + policy["create"]["reason"],
                                   "a seccomp filter, an LSM (SELinux, an AppArmor profile) or a container runtime "
                                   "denies it"))
    if hard_closed and create == PASS:
        found.append(_disagreement("unprivileged user namespaces", ("policy", "probe"),
                                   "%s closed but an unprivileged user created a user namespace" % ", ".join(hard_closed),
                                   "the gate does not apply to the probing user, or it changed during the audit"))
    if create == PASS and operation == FAIL:
        found.append(_disagreement("unprivileged user namespaces", ("probe", "probe"),
                                   "an unprivileged user created a user namespace but could not use its capabilities: "
                                   + policy["privileged_operation"]["reason"],
                                   "AppArmor's restriction (kernel.apparmor_restrict_unprivileged_userns = 1, "
                                   "Ubuntu 23.10+) or another LSM strips the namespace's capabilities"
                                   if apparmor else
                                   "an LSM or seccomp filter denies privileged operations inside user namespaces"))
    if apparmor and operation == PASS:
        found.append(_disagreement("unprivileged user namespaces", ("policy", "probe"),
                                   "kernel.apparmor_restrict_unprivileged_userns is 1 but the capabilities worked",
                                   "AppArmor is not the active LSM, or the probe's profile allows user namespaces"))
    user_config = facts["types"]["user"]["config"]
    if user_config in ("y", "m") and policy["unprivileged"]["status"] == FAIL:
        found.append(_disagreement("unprivileged user namespaces", ("config", "policy"),
                                   "CONFIG_USER_NS is %s but unprivileged users cannot use user namespaces: %s" % (
                                       user_config, policy["unprivileged"]["reason"]),
                                   "built into the kernel, switched off or restricted at run time"))
    return found


def find_disagreements(facts: Facts) -> List[Facts]:
    """Every place where two sources (config, runtime presence, policy, probe, version) disagree, and what it means."""
    found: List[Facts] = []
    for nstype in NAMESPACE_TYPES:
        found.extend(_type_disagreements(facts, nstype))
    found.extend(_version_disagreements(facts))
    found.extend(_userns_disagreements(facts))
    return found


def readiness(facts: Facts, playbook: str, types: Sequence[str], features: Sequence[str]) -> Verdict:
    """Whether playbook can run here: root can create the namespace types it needs, and its features work."""
    if not facts["probed_as"]["root"]:
        return verdict(UNKNOWN, "the audit ran as uid %d, not root: %s needs root, so creation was not probed "
                       "with its rights (run the audit with become: true)" % (facts["probed_as"]["uid"], playbook),
                       blockers=[])
    blockers = ["%s namespace: %s" % (name, facts["types"][name]["creatable"]["reason"])
                for name in types if facts["types"][name]["creatable"]["status"] != PASS]
    blockers += ["%s: %s" % (name, facts["features"][name]["reason"])
                 for name in features if facts["features"][name]["status"] != PASS]
    if blockers:
        return verdict(FAIL, "%s cannot run: %s" % (playbook, "; ".join(blockers)), blockers=blockers)
    working = ", ".join("%s()" % name for name in features)
    return verdict(PASS, "root can create %s namespaces and %s %s" % (
        ", ".join(types), working, "works" if len(features) == 1 else "work"), blockers=[])
