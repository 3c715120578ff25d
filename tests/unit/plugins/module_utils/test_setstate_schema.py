# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""state.json: every file written names its schema; files of 0.1.0 (no schema) still load; others are refused."""

from __future__ import annotations

import json

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import (
    STATE_FILE, STATE_SCHEMA, SetOptions, SetState, state_from_json)
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store

# A state.json as 0.1.0 wrote it: the same fields, no schema.
LEGACY = {"name": "web", "status": "ready", "types": ["uts", "pid"],
          "inodes": {"uts": "4026532001", "pid": 4026532002}, "holder_pid": 4242, "created": "2026-01-02T03:04:05Z",
          "options": {"types": ["uts", "pid"], "hostname": "web", "domainname": None, "uid_map": [], "gid_map": [],
                      "setgroups": "allow", "monotonic_offset": 0, "boottime_offset": 0, "mount_proc": False,
                      "mount_sysfs": False, "propagation": "private", "loopback": True, "netns_link": True}}


def _state(path: str) -> SetState:
    return SetState(name="web", path=path, status="ready", options=SetOptions(types=("uts", "pid"), hostname="web"),
                    inodes={"uts": 4026532001, "pid": 4026532002}, holder_pid=4242, created="2026-01-02T03:04:05Z")


def _written(tmp_path, state: SetState) -> dict:
    Store(str(tmp_path)).save(state)
    return json.loads((tmp_path / "web" / STATE_FILE).read_text())


def test_written_state_names_the_schema(tmp_path) -> None:
    (tmp_path / "web").mkdir()
    assert _written(tmp_path, _state(str(tmp_path / "web")))["schema"] == STATE_SCHEMA == "linux.namespaces/set-state/1"


def test_written_state_reads_back_the_same(tmp_path) -> None:
    (tmp_path / "web").mkdir()
    state = _state(str(tmp_path / "web"))
    assert state_from_json("web", state.path, _written(tmp_path, state)) == state


def test_state_without_schema_from_0_1_0_loads(tmp_path) -> None:
    assert state_from_json("web", str(tmp_path / "web"), dict(LEGACY)) == _state(str(tmp_path / "web"))


def test_options_missing_take_their_defaults_and_unknown_ones_are_ignored() -> None:
    recorded = {"types": ["net"], "uid_map": None, "loopback": False, "added_by_a_later_version": 1}
    assert SetOptions.from_json(recorded) == SetOptions(types=("net",), loopback=False)
    assert SetOptions.from_json({}) == SetOptions(types=())


def test_unknown_schema_is_refused_with_its_name() -> None:
    with pytest.raises(NamespaceError, match="linux.namespaces/set-state/2.*reads only 'linux.namespaces/set-state/1'"):
        state_from_json("web", "/run/x/web", dict(LEGACY, schema="linux.namespaces/set-state/2"))


def test_store_refuses_an_unknown_schema_rather_than_calling_the_set_half_made(tmp_path, monkeypatch) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / STATE_FILE).write_text(json.dumps(dict(LEGACY, schema="other/9")))
    monkeypatch.setattr(Store, "is_mounted", lambda self: True)
    with pytest.raises(NamespaceError, match="other/9"):
        Store(str(tmp_path)).load("web")


def test_store_calls_an_unreadable_state_half_made(tmp_path, monkeypatch) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / STATE_FILE).write_text("[1, 2")
    monkeypatch.setattr(Store, "is_mounted", lambda self: True)
    state = Store(str(tmp_path)).load("web")
    assert state is not None and state.status == "creating"
