# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The program the become plugin runs on a managed host: enter a named set, then exec a command.

Arguments: SET STORE COMMAND [ARG...]. The become plugin ships this file and the module_utils it
imports inside the command line, so the host needs only Python 3.8+ and no copy of the collection.
"""

from __future__ import annotations

import sys
from typing import Sequence

from ansible_collections.linux.namespaces.plugins.module_utils.enter import Launch, exec_inside
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import validate_name, validate_store_path
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store
from ansible_collections.linux.namespaces.plugins.module_utils.targets import resolve_target

PROGRAM = "linux.namespaces.nsenter"


def main(argv: Sequence[str]) -> int:
    """Exec the command inside the set (never returns then); return an exit code when it cannot."""
    if len(argv) < 3:
        sys.stderr.write("%s: usage: SET STORE COMMAND [ARG...]\n" % PROGRAM)
        return 2
    name, root, command = argv[0], argv[1], argv[2:]
    try:
        validate_name(name)
        validate_store_path(root)
        target = resolve_target(name=name, store=Store(root))
    except (NamespaceError, ValueError) as exc:
        sys.stderr.write("%s: %s\n" % (PROGRAM, exc))
        return 1
    sys.stderr.flush()
    exec_inside(target, Launch(argv=command))
