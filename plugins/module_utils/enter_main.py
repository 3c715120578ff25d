# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The program the become plugin runs on a managed host: enter a target, then exec a command.

Arguments: TARGET COMMAND [ARG...], TARGET a JSON object with exactly one of "name" (a set of "store"),
"pid", "paths" ({type: nsfs file}) or "netns" (an `ip netns` name), and optionally "types". The become
plugin ships this file and the module_utils it imports inside the command line, so the host needs only
Python 3.8+ and no copy of the collection.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, Sequence

from ansible_collections.linux.namespaces.plugins.module_utils.enter import Launch, exec_inside
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import (
    NETNS_DIR, validate_name, validate_store_path)
from ansible_collections.linux.namespaces.plugins.module_utils.rootless import open_store
from ansible_collections.linux.namespaces.plugins.module_utils.targets import EnterTarget, resolve_target

PROGRAM = "linux.namespaces.nsenter"
TARGET_KEYS = ("name", "pid", "paths", "netns")


def _netns_paths(netns: str) -> Dict[str, str]:
    """The nsfs file of an `ip netns` name, as `ip netns exec` finds it."""
    if not isinstance(netns, str) or "/" in netns or netns in ("", ".", ".."):
        raise ValueError("netns %r is not an `ip netns` name" % (netns,))
    path = os.path.join(NETNS_DIR, netns)
    if not os.path.exists(path):
        names = sorted(os.listdir(NETNS_DIR)) if os.path.isdir(NETNS_DIR) else []
        raise ValueError("no network namespace named %r in %s (%s)"
                         % (netns, NETNS_DIR, "ip netns: " + ", ".join(names) if names else "it has none"))
    return {"net": path}


def target_from(spec: Dict[str, Any]) -> EnterTarget:
    """Check and pin the target a TARGET argument describes; raise ValueError or NamespaceError why not."""
    given = [key for key in TARGET_KEYS if spec.get(key) is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of %s (got: %s)" % (", ".join(TARGET_KEYS), ", ".join(given) or "none"))
    types = spec.get("types")
    if given == ["name"]:
        validate_name(spec["name"])
        if spec.get("store") is not None:  # else the default store of the user the task runs as
            validate_store_path(spec["store"])
        return resolve_target(name=spec["name"], types=types, store=open_store(spec.get("store")))
    if given == ["pid"]:
        return resolve_target(pid=int(spec["pid"]), types=types)
    paths = _netns_paths(spec["netns"]) if given == ["netns"] else spec["paths"]
    return resolve_target(paths=paths, types=types)


def main(argv: Sequence[str]) -> int:
    """Exec the command inside the target (never returns then); return an exit code when it cannot."""
    if len(argv) < 2:
        sys.stderr.write("%s: usage: TARGET COMMAND [ARG...]\n" % PROGRAM)
        return 2
    try:
        target = target_from(json.loads(argv[0]))
    except (NamespaceError, ValueError, TypeError, KeyError) as exc:
        sys.stderr.write("%s: %s\n" % (PROGRAM, exc))
        return 1
    sys.stderr.flush()
    exec_inside(target, Launch(argv=list(argv[1:])))
