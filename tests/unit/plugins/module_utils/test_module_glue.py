# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The glue the modules share: one NamespaceError to fail_json path, the store option, diff mode."""

from __future__ import annotations

import errno

from ansible_collections.linux.namespaces.plugins.module_utils._module import (
    fail_from_error, set_diff, store_argument_spec)
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError


class FakeModule:
    def __init__(self, diff: bool = False) -> None:
        self._diff = diff
        self.failed = None

    def fail_json(self, **result) -> None:
        self.failed = result


ERROR = NamespaceError("setns(net) failed: EPERM", call="setns", nstype="net", err=errno.EPERM)


def test_failure_keeps_call_nstype_and_errno() -> None:
    module = FakeModule()
    fail_from_error(module, ERROR)
    assert module.failed == {"msg": "setns(net) failed: EPERM", "call": "setns", "nstype": "net",
                             "errno": errno.EPERM}


def test_failure_keeps_the_result_and_prefixes_the_context() -> None:
    module = FakeModule()
    fail_from_error(module, ERROR, "cannot list namespaces", rc=None, entered=["uts"])
    assert module.failed["msg"] == "cannot list namespaces: setns(net) failed: EPERM"
    assert (module.failed["nstype"], module.failed["entered"], module.failed["rc"]) == ("net", ["uts"], None)


def test_store_option_is_a_fresh_path_whose_default_depends_on_the_user() -> None:
    first = store_argument_spec()
    first["store"]["default"] = "/elsewhere"
    assert store_argument_spec() == {"store": {"type": "path"}}


def test_diff_only_in_diff_mode() -> None:
    result: dict = {}
    set_diff(FakeModule(diff=False), result, {"a": 1}, {})
    assert "diff" not in result
    set_diff(FakeModule(diff=True), result, {"a": 1}, {})
    assert result["diff"] == {"before": {"a": 1}, "after": {}}
