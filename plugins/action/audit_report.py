# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of linux.namespaces.audit_report: write the fleet audit as JSON, Markdown and HTML."""

from __future__ import annotations

import os
import tempfile
from typing import Any, Dict, List, Optional

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.linux.namespaces.plugins.plugin_utils.audit_report import (
    build_report, render_html, render_json, render_markdown)

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "dest": {"type": "path", "required": True},
    "basename": {"type": "str", "default": "namespace-audit"},
}
# Files whose text a diff shows; the HTML page repeats the Markdown.
DIFFED_SUFFIXES = (".md", ".json")


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write_atomically(path: str, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=".audit-", dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def _facts_by_host(self, hosts: List[str], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        hostvars = task_vars["hostvars"]
        facts = {}
        for host in hosts:
            if host not in hostvars:
                raise AnsibleActionFail("host %s is not in the inventory" % host)
            gathered = hostvars[host].get("ansible_facts", {}).get("linux_namespaces")
            facts[host] = dict(gathered) if gathered else None
        return facts

    def run(self, tmp: Any = None, task_vars: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # not used: nothing runs on a target
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        report = build_report(self._facts_by_host(args["hosts"], task_vars or {}))
        dest = os.path.abspath(args["dest"])
        texts = {".json": render_json(report), ".md": render_markdown(report), ".html": render_html(report)}
        paths = {suffix: os.path.join(dest, args["basename"] + suffix) for suffix in texts}
        changed_paths = [paths[suffix] for suffix, text in texts.items() if _read(paths[suffix]) != text]
        if self._task.diff:
            result["diff"] = [{"before_header": paths[suffix], "after_header": paths[suffix],
                               "before": _read(paths[suffix]) or "", "after": texts[suffix]}
                              for suffix in DIFFED_SUFFIXES if paths[suffix] in changed_paths]
        if changed_paths and not self._task.check_mode:
            os.makedirs(dest, mode=0o755, exist_ok=True)
            for suffix, text in texts.items():
                if paths[suffix] in changed_paths:
                    _write_atomically(paths[suffix], text)
        result.update({
            "changed": bool(changed_paths),
            "json": paths[".json"], "markdown": paths[".md"], "html": paths[".html"],
            "isolate": report["isolate"],
            "hosts": len(report["hosts"]),
        })
        return result
