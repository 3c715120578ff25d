"""The repository's import graph, read from the syntax tree: no cycle, imports only in allowed directions, and
no file of plugins/ or conformance/ over 500 lines.

Rules (issue 10): module_utils imports no other plugin type; conformance/ never imports the collection;
plugins/ and conformance/ never import tests/; tests/ never imports bench/ (bench/ may import tests.fleet); no file
imports a test file.
Imports under `if TYPE_CHECKING:` count: a cycle for type hints is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = "ansible_collections.linux.namespaces"
MODULE_UTILS = COLLECTION + ".plugins.module_utils"
WALKED = ("plugins", "conformance", "tests", "bench")

MAX_LINES = 500  # one job per file: a file past this has more than one


def module_name(root: Path, path: Path) -> str:
    """The dotted name path is imported by: plugins/ under the collection's name, other top folders as is."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    name = ".".join(parts)
    return COLLECTION + "." + name if parts[0] == "plugins" else name


def imported_names(module: str, is_package: bool, tree: ast.AST) -> Set[str]:
    """Every module name an Import or ImportFrom node names (for `from X import y`, both X and X.y)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                parent = ".".join(parts[:len(parts) - node.level + 1])
                base = parent + ("." + base if base else "")
            names.add(base)
            names.update(base + "." + alias.name for alias in node.names if alias.name != "*")
    return names


def import_graph(root: Path, folders: Iterable[str] = WALKED) -> Dict[str, Set[str]]:
    """{module: names it imports} for every .py file under the folders of root."""
    graph = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            if "output" in path.relative_to(root).parts[:2]:  # tests/output holds ansible-test's copies
                continue
            module = module_name(root, path)
            graph[module] = imported_names(module, path.name == "__init__.py", ast.parse(path.read_bytes()))
    return graph


def internal_edges(graph: Dict[str, Set[str]]) -> Dict[str, Set[str]]:
    """The imports between modules of the graph; `from package import name` counts only if name is a module."""
    edges = {}
    for module, names in graph.items():
        targets = {name for name in names if name in graph}
        # `from a.b import c` also names a.b; c being a module of a.b is the import that matters.
        edges[module] = {t for t in targets if not any(n.startswith(t + ".") for n in targets)} - {module}
    return edges


def find_cycles(edges: Dict[str, Set[str]]) -> List[Tuple[str, ...]]:
    """Each import cycle once (as its modules, from the smallest name on), found by depth-first search."""
    cycles = set()
    done: Set[str] = set()

    def visit(module: str, path: List[str]) -> None:
        if module in path:
            cycle = path[path.index(module):]
            start = cycle.index(min(cycle))
            cycles.add(tuple(cycle[start:] + cycle[:start]))
            return
        if module in done:
            return
        for target in sorted(edges.get(module, ())):
            visit(target, path + [module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])
    return sorted(cycles)


def _forbidden(importer: str, imported: str) -> Optional[str]:
    def within(name: str, package: str) -> bool:
        return name == package or name.startswith(package + ".")

    if within(importer, MODULE_UTILS) and within(imported, COLLECTION + ".plugins") \
            and not within(imported, MODULE_UTILS):
        return "module_utils imports another plugin type"
    if within(importer, "conformance") and within(imported, "ansible_collections"):
        return "the conformance kit imports the collection"
    if (within(importer, COLLECTION) or within(importer, "conformance")) and within(imported, "tests"):
        return "shipped code imports tests"
    if within(importer, "tests") and within(imported, "bench"):
        return "tests import bench"
    if imported.rpartition(".")[2].startswith("test_"):
        return "a file imports a test file (shared test code belongs in a helper module)"
    return None


def forbidden_imports(graph: Dict[str, Set[str]]) -> List[str]:
    """'importer -> imported: rule' for each module that breaks a rule of this file's docstring (once per rule)."""
    found = []
    for importer, names in sorted(graph.items()):
        broken = {}
        for imported in sorted(names):
            rule = _forbidden(importer, imported)
            if rule:
                broken.setdefault(rule, imported)
        found.extend("%s -> %s: %s" % (importer, imported, rule) for rule, imported in sorted(broken.items()))
    return found


def test_the_repository_has_no_import_cycle():
    cycles = find_cycles(internal_edges(import_graph(ROOT)))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_file_of_plugins_or_the_kit_is_longer_than_500_lines():
    long_files = ["%s: %d lines" % (path.relative_to(ROOT), lines)
                  for folder in ("plugins", "conformance") for path in sorted((ROOT / folder).rglob("*.py"))
                  for lines in [len(path.read_text().splitlines())] if lines > MAX_LINES]
    assert long_files == []


def test_the_repository_imports_only_in_allowed_directions():
    assert forbidden_imports(import_graph(ROOT)) == []


def fake_tree(write_tree, files: Dict[str, str]) -> Dict[str, Set[str]]:
    return import_graph(write_tree(files))


def test_a_planted_cycle_is_found_and_named(write_tree):
    graph = fake_tree(write_tree, {
        "plugins/module_utils/a.py": "from ansible_collections.linux.namespaces.plugins.module_utils import b\n",
        "plugins/module_utils/b.py": "from .c import thing\n",
        "plugins/module_utils/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n",
        "plugins/module_utils/d.py": "from . import a, b\n",
        "conformance/__init__.py": "",
        "conformance/x.py": "import conformance.y\n",
        "conformance/y.py": "from conformance import x\n",
    })
    assert find_cycles(internal_edges(graph)) == [
        ("ansible_collections.linux.namespaces.plugins.module_utils.a",
         "ansible_collections.linux.namespaces.plugins.module_utils.b",
         "ansible_collections.linux.namespaces.plugins.module_utils.c"),
        ("conformance.x", "conformance.y"),
    ]


def test_an_acyclic_tree_has_no_cycle(write_tree):
    graph = fake_tree(write_tree, {
        "plugins/module_utils/a.py": "from . import b, c\n",
        "plugins/module_utils/b.py": "from .c import thing\n",
        "plugins/module_utils/c.py": "import os\n",
    })
    assert find_cycles(internal_edges(graph)) == []


@pytest.mark.parametrize("path, source, rule", [
    ("plugins/module_utils/m.py", "from ansible_collections.linux.namespaces.plugins.modules import x\n",
     "module_utils imports another plugin type"),
    ("plugins/module_utils/m.py", "from ..plugin_utils import x\n", "module_utils imports another plugin type"),
    ("conformance/m.py", "import ansible_collections.linux.namespaces.plugins.module_utils.x\n",
     "the conformance kit imports the collection"),
    ("plugins/become/m.py", "from tests.fleet import Fleet\n", "shipped code imports tests"),
    ("tests/integration/m.py", "from bench.common import REPO\n", "tests import bench"),
    ("tests/integration/test_m.py", "from tests.integration.test_n import helper\n",
     "a file imports a test file (shared test code belongs in a helper module)"),
])
def test_a_forbidden_direction_is_reported(write_tree, path: str, source: str, rule: str):
    graph = fake_tree(write_tree, {path: source})
    assert [line.split(": ", 1)[1] for line in forbidden_imports(graph)] == [rule]


def test_allowed_directions_are_not_reported(write_tree):
    graph = fake_tree(write_tree, {
        "plugins/modules/m.py": "from ansible_collections.linux.namespaces.plugins.module_utils import x\n",
        "bench/b.py": "from tests.fleet import Fleet\n",
        "tests/t.py": "from conformance import report\n",
    })
    assert forbidden_imports(graph) == []
