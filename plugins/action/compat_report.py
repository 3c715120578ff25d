# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of linux.namespaces.compat_report: the kernel-version compatibility report as JSON,
Markdown and HTML, from each host's conformance kit result."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible.plugins.action import ActionBase

from ansible_collections.linux.namespaces.plugins.plugin_utils.compat_report import (
    build_report, render_html, render_json, render_markdown)
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import values_by_host, write_report_files

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "dest": {"type": "path", "required": True},
    "basename": {"type": "str", "default": "compat-report"},
    "result_var": {"type": "str", "default": "conformance_result"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp: Any = None, task_vars: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # not used: nothing runs on a target
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        results = values_by_host(task_vars or {}, args["hosts"], lambda hostvars: hostvars.get(args["result_var"]))
        report = build_report(results)
        texts = {".json": render_json(report), ".md": render_markdown(report), ".html": render_html(report)}
        result.update(write_report_files(args["dest"], args["basename"], texts, self._task.check_mode,
                                         self._task.diff))
        result.update({"kernels": [kernel["kernel"] for kernel in report["kernels"]], "totals": report["totals"],
                       "findings": report["findings"], "missing": report["missing"],
                       "hosts": len(report["hosts"]) + len(report["missing"])})
        return result
