# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ansible glue the modules share: the store option, reporting a NamespaceError, diff mode.

Private to this collection's modules: its names may change without notice.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError


def store_argument_spec() -> Dict[str, Any]:
    """The argument spec of the option the doc fragment linux.namespaces.store documents (a fresh copy).

    No default here: the default depends on the user a task runs as (rootless.default_store)."""
    return {"store": {"type": "path"}}


def fail_from_error(module: Any, exc: NamespaceError, context: Optional[str] = None, **result: Any) -> None:
    """fail_json (which exits) with result, the error's message after context, and the call, nstype and
    errno the error carries."""
    message = str(exc) if context is None else "%s: %s" % (context, exc)
    result.update(msg=message, call=exc.call, nstype=exc.nstype, errno=exc.errno)
    module.fail_json(**result)


def set_diff(module: Any, result: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
    """Put before and after in result when diff mode is on."""
    if module._diff:
        result["diff"] = {"before": before, "after": after}
