# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of linux.namespaces.audit_report: write the fleet audit as JSON, Markdown and HTML."""

from __future__ import annotations

from typing import Any, Dict

from ansible_collections.linux.namespaces.plugins.plugin_utils.audit_report import (
    build_report, render_html, render_json, render_markdown)
from ansible_collections.linux.namespaces.plugins.plugin_utils.controller_action import ControllerAction
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import (
    REPORT_ARGUMENT_SPEC, values_by_host, write_report_files)


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = dict(REPORT_ARGUMENT_SPEC, basename={"type": "str", "default": "namespace-audit"})
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def act(self, args: Dict[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        facts = values_by_host(task_vars, args["hosts"],
                               lambda hostvars: hostvars.get("ansible_facts", {}).get("linux_namespaces"))
        report = build_report(facts)
        texts = {".json": render_json(report), ".md": render_markdown(report), ".html": render_html(report)}
        written = write_report_files(args["dest"], args["basename"], texts, self._task.check_mode, self._task.diff)
        return dict(written, isolate=report["isolate"], hosts=len(report["hosts"]))
