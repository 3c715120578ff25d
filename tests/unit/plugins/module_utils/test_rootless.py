# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which store a user gets, a rootless set's record, and the refusal of another user's store.

An ordinary user is played by patching os.geteuid: the store directories here belong to the test's own user.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import rootless
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import (
    DEFAULT_STORE, STATE_FILE, SetOptions, SetState, effective_options, state_from_json, state_to_json,
    validate_options)
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store


@pytest.fixture
def ordinary_user(monkeypatch):
    """The calling user seen as an ordinary one whose uid owns the test's files."""
    uid = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: uid if uid else 1000)
    return os.geteuid()


def _rootless_state(path: str) -> SetState:
    return SetState(name="web", path=path, status="ready", options=SetOptions(types=("user", "uts")),
                    inodes={"user": 4026532001, "uts": 4026532002}, holder_pid=4242, created=None, rootless=True)


def test_root_keeps_the_default_store(monkeypatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert rootless.default_store() == DEFAULT_STORE
    store = rootless.open_store(None)
    assert isinstance(store, Store) and not store.rootless and store.root == DEFAULT_STORE


def test_an_ordinary_users_store_is_in_its_runtime_directory(tmp_path, monkeypatch, ordinary_user) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir()
    if os.getuid() == 0:
        os.chown(str(runtime), ordinary_user, -1)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    store = rootless.open_store(None)
    assert isinstance(store, rootless.RootlessStore) and store.rootless
    assert store.root == os.path.join(os.path.realpath(str(runtime)), "linux-namespaces")


def test_without_a_runtime_directory_the_failure_names_the_ways_out(monkeypatch, ordinary_user) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    if os.path.isdir("/run/user/%d" % ordinary_user):
        pytest.skip("/run/user/UID exists here")
    with pytest.raises(NamespaceError, match="XDG_RUNTIME_DIR or give the option store"):
        rootless.default_store()


def test_another_users_store_is_refused_before_anything_is_read(tmp_path, monkeypatch) -> None:
    owner = os.stat(str(tmp_path)).st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    store = rootless.RootlessStore(str(tmp_path))
    with pytest.raises(NamespaceError, match="belong to another user .*permission denied"):
        store.load("web")
    with pytest.raises(NamespaceError, match="belong to another user"):
        store.names()


def test_a_rootless_set_is_recorded_with_its_holders_files(tmp_path) -> None:
    state = _rootless_state(str(tmp_path / "web"))
    assert state.files == {"user": "/proc/4242/ns/user", "uts": "/proc/4242/ns/uts"}
    document = state_to_json(state)
    assert document["rootless"] is True
    assert state_from_json("web", state.path, json.loads(json.dumps(document))) == state
    assert "rootless" not in state_to_json(state._replace(rootless=False))  # root's state.json is unchanged


def test_state_json_is_readable_by_its_owner_only(tmp_path) -> None:
    (tmp_path / "web").mkdir()
    Store(str(tmp_path)).save(_rootless_state(str(tmp_path / "web")))
    assert stat.S_IMODE((tmp_path / "web" / STATE_FILE).stat().st_mode) == 0o600


def test_a_dead_holder_is_a_problem_of_a_rootless_set(tmp_path, ordinary_user) -> None:
    state = _rootless_state(str(tmp_path / "web"))._replace(holder_pid=2 ** 22 + 1)  # above pid_max's limit
    assert not rootless.holder_holds(state)
    assert rootless.RootlessStore(str(tmp_path)).problems(state) == [
        "its holder (pid %d) has exited: the set's namespaces are gone" % (2 ** 22 + 1)]


def test_a_rootless_set_needs_a_user_namespace_and_denies_setgroups(ordinary_user) -> None:
    with pytest.raises(ValueError, match="needs 'user' in types"):
        validate_options(SetOptions(types=("uts",)))
    options = effective_options(SetOptions(types=("user", "uts")))
    assert (options.setgroups, options.netns_link) == ("deny", False)
    assert options.uid_map == ("0 %d 1" % ordinary_user,)


def test_load_all_gives_each_set_as_load_does_and_whether_its_state_file_exists(tmp_path, ordinary_user) -> None:
    if os.getuid() == 0:
        os.chown(str(tmp_path), ordinary_user, -1)
    store = rootless.RootlessStore(str(tmp_path))
    for name in ("ready", "unwritten", "torn", "big"):
        (tmp_path / name).mkdir()
    Store(str(tmp_path)).save(_rootless_state(str(tmp_path / "ready"))._replace(name="ready"))
    (tmp_path / "torn" / STATE_FILE).write_text('{"status": "ready", "opt')
    big = _rootless_state(str(tmp_path / "big"))._replace(name="big")
    big = big._replace(options=big.options._replace(uid_map=tuple("%d %d 1" % (n, n) for n in range(9000))))
    Store(str(tmp_path)).save(big)  # larger than one read
    assert (tmp_path / "big" / STATE_FILE).stat().st_size > 2 * 64 * 1024
    loaded = store.load_all()
    assert [(state.name, exists) for state, exists in loaded] == [
        ("big", True), ("ready", True), ("torn", True), ("unwritten", False)]
    states = [entry[0] for entry in loaded]
    assert states == [store.load(name) for name in ("big", "ready", "torn", "unwritten")]
    assert [(state.status, state.rootless) for state in states] == [
        ("ready", True), ("ready", True), ("creating", True), ("creating", True)]
    assert states[0].options.uid_map == big.options.uid_map
