# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of linux.namespaces.audit_report: write the fleet audit as JSON, Markdown and HTML."""

from __future__ import annotations

from typing import Any, Dict

from ansible_collections.linux.namespaces.plugins.plugin_utils.audit_report import (
    TEMPLATE_HELPERS, build_report, load_report, render_json)
from ansible_collections.linux.namespaces.plugins.plugin_utils.controller_action import ControllerAction
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import (
    REPORT_ARGUMENT_SPEC, failure_reason, values_by_host, write_report)


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = dict(REPORT_ARGUMENT_SPEC, basename={"type": "str", "default": "namespace-audit"})
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def act(self, args: Dict[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        def facts_or_failure(hostvars):
            return (hostvars.get("ansible_facts", {}).get("linux_namespaces")
                    or failure_reason(hostvars, args["failure_vars"]))

        text = render_json(build_report(values_by_host(task_vars, args["hosts"], facts_or_failure)))
        report, written = write_report(args, text, load_report, "audit_report", TEMPLATE_HELPERS, self._task.check_mode,
                                       self._task.diff)
        return dict(written, isolate=report["isolate"], counts=report["counts"], groups=len(report["groups"]))
