# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of linux.namespaces.audit_report: write the fleet audit as JSON, Markdown and HTML."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible.plugins.action import ActionBase

from ansible_collections.linux.namespaces.plugins.plugin_utils.audit_report import (
    build_report, render_html, render_json, render_markdown)
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import values_by_host, write_report_files

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "dest": {"type": "path", "required": True},
    "basename": {"type": "str", "default": "namespace-audit"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp: Any = None, task_vars: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # not used: nothing runs on a target
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        facts = values_by_host(task_vars or {}, args["hosts"],
                               lambda hostvars: hostvars.get("ansible_facts", {}).get("linux_namespaces"))
        report = build_report(facts)
        texts = {".json": render_json(report), ".md": render_markdown(report), ".html": render_html(report)}
        result.update(write_report_files(args["dest"], args["basename"], texts, self._task.check_mode,
                                         self._task.diff))
        result.update({"isolate": report["isolate"], "hosts": len(report["hosts"])})
        return result
