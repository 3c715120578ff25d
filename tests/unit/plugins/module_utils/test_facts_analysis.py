"""The conclusions namespace_facts draws from its observations: disagreements and the isolate.yml verdict."""

from __future__ import annotations

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import facts_analysis, kernel_config
from ansible_collections.linux.namespaces.plugins.modules.namespace_facts import isolate_verdict
from ansible_collections.linux.namespaces.plugins.module_utils.features import release_has, version_tuple


def between(disagreements, subject):
    """{(first source, second source), ...} of the disagreements about subject."""
    return {tuple(d["between"]) for d in disagreements if d["subject"] == subject}


def failed(reason, err):
    return {"status": "fail", "reason": reason, "errno": err}


def test_healthy_host_has_no_disagreement_and_can_run_isolate(make_facts):
    facts = make_facts()
    assert facts_analysis.find_disagreements(facts) == []
    assert isolate_verdict(facts)["status"] == "pass"


def test_stale_config_disagrees_with_runtime_and_probe(make_facts):
    facts = make_facts()
    facts["kernel_config"]["options"]["CONFIG_TIME_NS"] = "absent"
    facts["types"]["time"]["config"] = "absent"
    found = facts_analysis.find_disagreements(facts)
    assert between(found, "time") == {("config", "runtime"), ("config", "probe")}
    assert all("does not describe the running kernel" in d["meaning"] for d in found if d["subject"] == "time")


def test_config_namespaces_off_turns_every_configured_type_off(make_facts):
    facts = make_facts()
    facts["kernel_config"]["options"]["CONFIG_NAMESPACES"] = "n"
    found = facts_analysis.find_disagreements(facts)
    assert ("config", "runtime") in between(found, "uts")
    assert between(found, "mnt") == set()  # no option builds mnt namespaces: always there


def test_built_in_type_missing_from_proc(make_facts):
    facts = make_facts()
    facts["types"]["net"]["present"] = False
    found = facts_analysis.find_disagreements(facts)
    assert between(found, "net") == {("config", "runtime"), ("runtime", "probe")}


def test_max_sysctl_zero_disables_a_built_in_type(make_facts):
    facts = make_facts()
    facts["types"]["ipc"]["max"] = 0
    facts["types"]["ipc"]["creatable"] = failed("cannot create an ipc namespace: limit", "ENOSPC")
    found = facts_analysis.find_disagreements(facts)
    assert between(found, "ipc") == {("config", "policy"), ("runtime", "probe")}
    runtime = [d for d in found if d["subject"] == "ipc" and d["between"] == ["runtime", "probe"]][0]
    assert "user.max_ipc_namespaces limit is reached" in runtime["meaning"]
    summary = isolate_verdict(facts)
    assert summary["status"] == "fail"
    assert summary["blockers"] == ["ipc namespace: cannot create an ipc namespace: limit"]


def test_max_sysctl_zero_yet_created(make_facts):
    facts = make_facts()
    facts["types"]["uts"]["max"] = 0
    assert ("policy", "probe") in between(facts_analysis.find_disagreements(facts), "uts")


def test_root_denied_by_seccomp_blocks_isolate(make_facts):
    facts = make_facts()
    facts["types"]["net"]["creatable"] = failed("cannot create a net namespace: permission denied", "EPERM")
    found = facts_analysis.find_disagreements(facts)
    runtime = [d for d in found if d["subject"] == "net" and d["between"] == ["runtime", "probe"]]
    assert runtime and "seccomp" in runtime[0]["meaning"]
    assert isolate_verdict(facts)["status"] == "fail"


def test_isolate_needs_pidfd_open(make_facts):
    facts = make_facts("5.2.0")
    facts["features"]["pidfd_open"] = failed("no pidfd_open", "ENOSYS")
    summary = isolate_verdict(facts)
    assert summary["status"] == "fail"
    assert summary["blockers"] == ["pidfd_open: no pidfd_open"]


def test_unprivileged_audit_cannot_judge_isolate_and_reports_no_permission_disagreement(make_facts):
    facts = make_facts()
    facts["probed_as"] = {"uid": 1000, "root": False}
    for name in ("mnt", "uts", "ipc", "pid", "net", "cgroup", "time"):
        facts["types"][name]["creatable"] = {"status": "unknown", "reason": "needs CAP_SYS_ADMIN", "errno": "EPERM"}
    assert isolate_verdict(facts)["status"] == "unknown"
    assert facts_analysis.find_disagreements(facts) == []


def test_no_kernel_config_means_unknown_not_disagreement(make_facts):
    facts = make_facts()
    facts["kernel_config"] = {"source": None, "options": {name: "unknown" for name in facts["kernel_config"]["options"]}}
    for entry in facts["types"].values():
        entry["config"] = "builtin" if entry["kernel_config"] is None else "unknown"
    facts["types"]["pid"]["present"] = False
    found = facts_analysis.find_disagreements(facts)
    assert between(found, "pid") == {("runtime", "probe")}


def test_feature_newer_than_release_is_a_backport(make_facts):
    facts = make_facts("5.10.0")
    for name in ("listmount", "statmount", "ns_get_id"):
        facts["features"][name] = failed("ENOSYS", "ENOSYS")
    found = facts_analysis.find_disagreements(facts)
    backports = {d["subject"] for d in found if d["meaning"] == "the distribution backported it"}
    assert backports == {"mount_setattr", "idmapped_mounts"}
    assert between(found, "listmount") == set()


def test_feature_missing_on_a_new_enough_kernel(make_facts):
    facts = make_facts()
    facts["features"]["clone3"] = failed("the running kernel does not have the clone3 system call", "ENOSYS")
    found = facts_analysis.find_disagreements(facts)
    assert between(found, "clone3") == {("version", "probe")}
    assert "seccomp" in [d for d in found if d["subject"] == "clone3"][0]["meaning"]


def test_unknown_feature_is_no_disagreement(make_facts):
    facts = make_facts()
    facts["features"]["setns_pidfd"] = {"status": "unknown", "reason": "denied", "errno": "EPERM"}
    assert facts_analysis.find_disagreements(facts) == []


def test_missing_max_sysctls_on_a_49_kernel(make_facts):
    facts = make_facts()
    for entry in facts["types"].values():
        entry["max"] = None
    assert between(facts_analysis.find_disagreements(facts), "user.max_*_namespaces") == {("version", "runtime")}


USERNS = "unprivileged user namespaces"


def set_userns(facts, create, operation, **sysctls):
    policy = facts["userns_policy"]
    policy["sysctls"].update(sysctls)
    policy["closed_gates"] = [name for name, value in sysctls.items()
                              if (name, value) in (("user.max_user_namespaces", "0"),
                                                   ("kernel.unprivileged_userns_clone", "0"),
                                                   ("kernel.apparmor_restrict_unprivileged_userns", "1"))]
    policy["create"] = {"status": create, "reason": "create: " + create}
    policy["privileged_operation"] = {"status": operation, "reason": "operation: " + operation}
    overall = "pass" if (create, operation) == ("pass", "pass") else "fail"
    policy["unprivileged"] = {"status": overall, "reason": "overall " + overall}


def test_ubuntu_apparmor_restriction(make_facts):
    facts = make_facts()
    set_userns(facts, "pass", "fail", **{"kernel.apparmor_restrict_unprivileged_userns": "1"})
    found = facts_analysis.find_disagreements(facts)
    assert between(found, USERNS) == {("probe", "probe"), ("config", "policy")}
    capabilities = [d for d in found if d["between"] == ["probe", "probe"]][0]
    assert "AppArmor" in capabilities["meaning"]


def test_capabilities_denied_without_apparmor_gate_names_another_cause(make_facts):
    facts = make_facts()
    set_userns(facts, "pass", "fail")
    capabilities = [d for d in facts_analysis.find_disagreements(facts) if d["between"] == ["probe", "probe"]][0]
    assert "AppArmor's restriction" not in capabilities["meaning"]


def test_apparmor_gate_set_but_not_applied(make_facts):
    facts = make_facts()
    set_userns(facts, "pass", "pass", **{"kernel.apparmor_restrict_unprivileged_userns": "1"})
    assert between(facts_analysis.find_disagreements(facts), USERNS) == {("policy", "probe")}


def test_debian_switch_off_agrees_with_probe(make_facts):
    facts = make_facts()
    set_userns(facts, "fail", "unknown", **{"kernel.unprivileged_userns_clone": "0"})
    # The gate explains the refusal: only the built-in-but-off disagreement remains.
    assert between(facts_analysis.find_disagreements(facts), USERNS) == {("config", "policy")}


def test_no_gate_closed_but_creation_refused(make_facts):
    facts = make_facts()
    set_userns(facts, "fail", "unknown")
    found = [d for d in facts_analysis.find_disagreements(facts) if d["between"] == ["policy", "probe"]]
    assert len(found) == 1 and "seccomp" in found[0]["meaning"]


def test_gate_closed_yet_creation_worked(make_facts):
    facts = make_facts()
    set_userns(facts, "pass", "pass", **{"user.max_user_namespaces": "0"})
    found = facts_analysis.find_disagreements(facts)
    assert ("policy", "probe") in between(found, USERNS)


@pytest.mark.parametrize("text, option, state", [
    ("CONFIG_USER_NS=y\n", "CONFIG_USER_NS", "y"),
    ("# CONFIG_USER_NS is not set\n", "CONFIG_USER_NS", "n"),
    ("CONFIG_NET_NS=y\n", "CONFIG_TIME_NS", "absent"),
    ("", "CONFIG_TIME_NS", "unknown"),
    ("CONFIG_NET_NS=y\n", None, "builtin"),
])
def test_config_state(text, option, state):
    assert kernel_config.config_state(kernel_config.parse_kernel_config(text), option) == state


def test_parse_kernel_config_keeps_values():
    parsed = kernel_config.parse_kernel_config('# comment\nCONFIG_LOCALVERSION="-fc"\nCONFIG_IPC_NS=m\n')
    assert parsed == {"CONFIG_LOCALVERSION": "-fc", "CONFIG_IPC_NS": "m"}


@pytest.mark.parametrize("release, first, expected", [
    ("6.18.44-fc-v669", "6.18", True),
    ("6.8.0-45-generic", "6.18", False),
    ("5.10.0", "5.12", False),
    ("5.12", "5.12", True),
    ("2.6.32-754.el6", "2.6.29", True),
    ("garbage", "5.3", None),
])
def test_release_has(release, first, expected):
    assert release_has(release, first) is expected


def test_version_tuple_pads_patch():
    assert version_tuple("6.8") == (6, 8, 0)


def test_type_newer_than_release_is_a_backport(make_facts):
    facts = make_facts("5.4.0")
    found = facts_analysis.find_disagreements(facts)
    assert between(found, "time") == {("version", "probe")}
