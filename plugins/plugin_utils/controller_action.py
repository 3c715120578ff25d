# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the collection's actions that work on the controller only (reports, the kit's bundle)."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible.plugins.action import ActionBase


class ControllerAction(ActionBase):
    """An action that works on the controller only: its arguments are checked against ARGUMENT_SPEC, then
    act() returns what to add to the task's result. Subclasses set ARGUMENT_SPEC and _VALID_ARGS."""

    TRANSFERS_FILES = False
    ARGUMENT_SPEC: Dict[str, Any] = {}

    def act(self, args: Dict[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        raise NotImplementedError

    def run(self, tmp: Any = None, task_vars: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # not used: nothing runs on a target
        args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)[1]
        result.update(self.act(args, task_vars or {}))
        return result
