# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of linux.namespaces.conformance_bundle: pack the conformance kit and its pure-Python
requirements, for each host Python asked for, into one tarball on the controller."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict

from ansible.errors import AnsibleActionFail

from ansible_collections.linux.namespaces.plugins.plugin_utils.conformance_bundle import BundleError, build_bundle
from ansible_collections.linux.namespaces.plugins.plugin_utils.controller_action import ControllerAction

BUNDLE_NAME = "conformance-kit.tar.gz"


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = {
        "dest": {"type": "path", "required": True},
        "search_path": {"type": "list", "elements": "path"},
        "pythons": {"type": "list", "elements": "str", "default": []},
        "fetch": {"type": "bool", "default": True},
        "cache_dir": {"type": "path"},
    }
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def act(self, args: Dict[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        dest = os.path.abspath(args["dest"])
        if not os.path.isdir(dest):
            raise AnsibleActionFail("dest %s is not a directory on the controller" % dest)
        path = os.path.join(dest, BUNDLE_NAME)
        if self._task.check_mode:
            return {"changed": True, "path": path}
        try:
            built = build_bundle(path, args["search_path"], args["pythons"],
                                 Path(args["cache_dir"]) if args["cache_dir"] else None, args["fetch"])
        except BundleError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        return dict(built, changed=True)
