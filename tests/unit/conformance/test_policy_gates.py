"""USER5, UTS4, MNT3 and the other user-namespace probes call a refusal "policy" only when a policy gate
(USER7's list) explains it; a refusal no closed gate explains is a failure of the property."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[3]
if str(REPOSITORY) not in sys.path:  # ansible-test runs units from a copy of the collection
    sys.path.insert(0, str(REPOSITORY))

from conformance.probes.lib import policy  # noqa: E402
from conformance.probes.lib.errors import ProbeError, Skip  # noqa: E402

OPEN_GATES = {"user.max_user_namespaces": "63000", "kernel.unprivileged_userns_clone": "1",
              "kernel.apparmor_restrict_unprivileged_userns": None}


def gates(**closed: str) -> dict:
    values = dict(OPEN_GATES)
    values.update((name.replace("__", "."), value) for name, value in closed.items())
    return values


def test_refusal_with_every_gate_open_is_a_failure(monkeypatch):
    monkeypatch.setattr(policy, "read_gates", gates)
    with pytest.raises(ProbeError, match="no policy gate is closed"):
        policy.refused_user_ns("EPERM", unprivileged=True)


def test_refusal_explained_by_a_closed_gate_is_a_policy_skip(monkeypatch):
    monkeypatch.setattr(policy, "read_gates", lambda: gates(kernel__unprivileged_userns_clone="0"))
    with pytest.raises(Skip, match="kernel.unprivileged_userns_clone=0"):
        policy.refused_user_ns("EPERM", unprivileged=True)


def test_unprivileged_only_gate_does_not_explain_a_refusal_to_root(monkeypatch):
    monkeypatch.setattr(policy, "read_gates", lambda: gates(kernel__apparmor_restrict_unprivileged_userns="1"))
    with pytest.raises(ProbeError):
        policy.refused_user_ns("EPERM", unprivileged=False)


def test_max_user_namespaces_zero_explains_a_refusal_to_root(monkeypatch):
    monkeypatch.setattr(policy, "read_gates", lambda: gates(user__max_user_namespaces="0"))
    with pytest.raises(Skip, match="user.max_user_namespaces=0"):
        policy.refused_user_ns("ENOSPC", unprivileged=False)
