# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only stdout callback: one JSON line per task result, diff and warnings included.

ansible-core ships no JSON stdout callback (ansible.posix.json is a separate collection), and the
minimal callback drops `diff` and `warnings`, which the integration tests assert on.
"""

from __future__ import annotations

DOCUMENTATION = """
    name: lns_result
    type: stdout
    short_description: one JSON line per task result, for the integration tests
    description:
      - Prints C(LNS_RESULT) followed by a JSON object with the host, the status and the full result.
"""

import json

from ansible.plugins.callback import CallbackBase

MARKER = "LNS_RESULT "


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "lns_result"

    def _emit(self, status, result):
        record = {"host": result.host.get_name(), "status": status, "result": dict(result.result)}
        self._display.display(MARKER + json.dumps(record, default=str, sort_keys=True))

    def v2_runner_on_ok(self, result):
        self._emit("changed" if result.result.get("changed") else "ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._emit("failed", result)

    def v2_runner_on_unreachable(self, result):
        self._emit("unreachable", result)

    def v2_runner_on_skipped(self, result):
        self._emit("skipped", result)
