# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of linux.namespaces.conformance_bundle: pack the conformance kit and its pure-Python
requirements into one tarball on the controller."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.linux.namespaces.plugins.plugin_utils.conformance_bundle import BundleError, build_bundle

ARGUMENT_SPEC = {
    "dest": {"type": "path", "required": True},
    "search_path": {"type": "list", "elements": "path"},
}
BUNDLE_NAME = "conformance-kit.tar.gz"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp: Any = None, task_vars: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # not used: nothing runs on a target
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        dest = os.path.abspath(args["dest"])
        if not os.path.isdir(dest):
            raise AnsibleActionFail("dest %s is not a directory on the controller" % dest)
        path = os.path.join(dest, BUNDLE_NAME)
        if self._task.check_mode:
            result.update(changed=True, path=path)
            return result
        try:
            result.update(build_bundle(path, args["search_path"]))
        except BundleError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        result["changed"] = True
        return result
