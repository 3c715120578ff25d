# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each program ships, read from the module_utils import graph: only the files of its job.

Cycles, import directions and file lengths are checked repository-wide by tests/unit/test_import_graph.py.
"""

from __future__ import annotations

import ast
import pathlib
from typing import Dict, Set

import pytest

PLUGINS = pathlib.Path(__file__).resolve().parents[4] / "plugins"
PACKAGE = "ansible_collections.linux.namespaces.plugins."
CREATION = {"creating", "holder", "binds", "converge"}
INSPECTION = {"inspect", "procfs", "facts", "facts_analysis", "kernel_probes", "kernel_config", "userns_policy"}


def _imports(path: pathlib.Path) -> Set[str]:
    """The plugins modules a file imports, as 'module_utils.X', 'modules.X' or 'plugin_utils.X'."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            rest = node.module[len(PACKAGE):]
            if rest.count("."):
                found.add(rest)
            else:
                found.update("%s.%s" % (rest, alias.name) for alias in node.names)
    return found


def _graph() -> Dict[str, Set[str]]:
    return {"module_utils." + path.stem: _imports(path) for path in (PLUGINS / "module_utils").glob("*.py")}


def _closure(roots: Set[str], graph: Dict[str, Set[str]]) -> Set[str]:
    seen: Set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return {name.split(".", 1)[1] for name in seen if name.startswith("module_utils.")}


def test_entering_ships_no_creation_and_no_inspection() -> None:
    shipped = _closure({"module_utils.enter_main"}, _graph())
    assert "targets" in shipped and "store" in shipped
    assert not shipped & (CREATION | INSPECTION)


@pytest.mark.parametrize("module, forbidden", [
    ("namespace_facts", {"store", "creating", "holder", "binds", "converge", "enter", "inspect"}),
    ("namespace_info", CREATION),
    ("nsenter", CREATION | INSPECTION),
    ("veth", CREATION | INSPECTION),
])
def test_module_ships_only_its_job(module: str, forbidden: Set[str]) -> None:
    graph = _graph()
    shipped = _closure(_imports(PLUGINS / "modules" / (module + ".py")), graph)
    assert shipped and not shipped & forbidden, sorted(shipped & forbidden)
