# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of linux.namespaces.compat_report: the kernel-version compatibility report as JSON,
Markdown and HTML, from each host's conformance kit result."""

from __future__ import annotations

from typing import Any, Dict

from ansible_collections.linux.namespaces.plugins.plugin_utils.compat_report import (
    build_report, render_html, render_json, render_markdown)
from ansible_collections.linux.namespaces.plugins.plugin_utils.controller_action import ControllerAction
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import (
    REPORT_ARGUMENT_SPEC, values_by_host, write_report_files)


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = dict(REPORT_ARGUMENT_SPEC, basename={"type": "str", "default": "compat-report"},
                         result_var={"type": "str", "default": "conformance_result"},
                         failure_var={"type": "str"})
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def act(self, args: Dict[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        def result_or_failure(hostvars):
            return hostvars.get(args["result_var"]) or (hostvars.get(args["failure_var"]) if args["failure_var"] else None)

        report = build_report(values_by_host(task_vars, args["hosts"], result_or_failure))
        texts = {".json": render_json(report), ".md": render_markdown(report), ".html": render_html(report)}
        written = write_report_files(args["dest"], args["basename"], texts, self._task.check_mode, self._task.diff)
        return dict(written, kernels=[kernel["kernel"] for kernel in report["kernels"]], totals=report["totals"],
                    findings=report["findings"], missing=report["missing"],
                    hosts=len(report["hosts"]) + len(report["missing"]))
