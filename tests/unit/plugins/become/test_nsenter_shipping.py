"""What the become plugin ships: the import closure of its entry module, found in the syntax tree."""

from __future__ import annotations

import ast
import base64
import json
import re
import zlib

import pytest
from ansible.errors import AnsibleError

from ansible_collections.linux.namespaces.plugins.module_utils import nstypes
from ansible_collections.linux.namespaces.plugins.plugin_utils.entering_program import (
    _MODULE_UTILS_DIR, _PACKAGE, ShippedTree, entering_program, shipped_sources, with_facts_written_in,
    without_docstrings_and_comments)

PACKAGE = "fake_collection.plugins.module_utils"


def tree_of(write_tree, files: dict) -> ShippedTree:
    return ShippedTree(PACKAGE, str(write_tree(files)))


@pytest.mark.parametrize("files", [
    pytest.param({"entry.py": "import json\nimport fake_collection.plugins.module_utils.first\n",
                  "first.py": "from fake_collection.plugins.module_utils.second import thing\n",
                  "second.py": "thing = 1\n", "unused.py": ""}, id="a direct import and its own imports"),
    pytest.param({"entry.py": "from fake_collection.plugins.module_utils import first, second as other\n",
                  "first.py": "", "second.py": "", "third.py": ""}, id="from the package import modules"),
    pytest.param({"entry.py": "def later():\n    from . import first\n",
                  "first.py": "from .second import thing\n", "second.py": "thing = 1\n"},
                 id="imports inside functions and relative imports"),
])
def test_what_entry_imports_is_shipped_and_nothing_else(write_tree, files: dict):
    assert sorted(shipped_sources(tree_of(write_tree, files), "entry")[0]) == ["entry", "first", "second"]


def test_a_nested_package_ships_with_its_parents(write_tree):
    tree = tree_of(write_tree, {
        "entry.py": "from fake_collection.plugins.module_utils.sub.inner import leaf\n",
        "sub/__init__.py": "from . import shared\n",
        "sub/shared.py": "",
        "sub/inner/leaf.py": "from ..shared import x\n",
        "sub/inner/other.py": "",
    })
    sources, packages = shipped_sources(tree, "entry")
    assert sorted(sources) == ["entry", "sub", "sub.inner", "sub.inner.leaf", "sub.shared"]
    assert packages == ["sub", "sub.inner"]
    assert sources["sub.inner"] == ""  # a package without __init__.py


def test_an_import_cycle_ships_each_module_once(write_tree):
    tree = tree_of(write_tree, {
        "entry.py": "from fake_collection.plugins.module_utils import first\n",
        "first.py": "from fake_collection.plugins.module_utils import entry, first\n",
    })
    assert sorted(shipped_sources(tree, "entry")[0]) == ["entry", "first"]


@pytest.mark.parametrize("statement", [
    "from fake_collection.plugins.module_utils import missing",
    "from fake_collection.plugins.module_utils.missing import thing",
    "import fake_collection.plugins.module_utils.missing",
])
def test_an_unknown_module_fails_on_the_controller(write_tree, statement: str):
    tree = tree_of(write_tree, {"entry.py": statement + "\n"})
    with pytest.raises(AnsibleError, match=r"entry imports fake_collection\.plugins\.module_utils\.missing"):
        shipped_sources(tree, "entry")


def test_imports_outside_the_package_are_not_shipped(write_tree):
    tree = tree_of(write_tree, {"entry.py": "import os\nfrom fake_collection.plugins.modules import x\n"})
    assert list(shipped_sources(tree, "entry")[0]) == ["entry"]


def test_stripping_keeps_the_code_and_drops_docstrings_and_comments():
    source = '"""Module doc."""\n# why\ndef f(x):\n    """Doc."""\n    return x  # because\n\nclass C:\n    """Only a doc."""\n'
    stripped = without_docstrings_and_comments(source)
    assert "doc" not in stripped.lower() and "#" not in stripped
    namespace: dict = {}
    exec(compile(stripped, "stripped", "exec"), namespace)  # pylint: disable=exec-used
    assert namespace["f"](3) == 3 and isinstance(namespace["C"](), namespace["C"])


def test_the_program_carries_the_closure_of_enter_main_and_is_built_once():
    program = entering_program()
    full = re.search(r"a2b_base64\('([^']+)'\)", program).group(1)
    payload = re.search(r'b64decode\("([^"]+)"\)', zlib.decompress(base64.b64decode(full)).decode()).group(1)
    shipped, packages = json.loads(zlib.decompress(base64.b64decode(payload)).decode())
    closure, closure_packages = shipped_sources(ShippedTree(_PACKAGE, _MODULE_UTILS_DIR), "enter_main")
    assert (sorted(shipped), packages) == (sorted(closure), closure_packages)
    assert entering_program() is program


def test_imports_of_the_package_become_the_values_they_import():
    source = "from __future__ import annotations\nimport os\nfrom %s.nstypes import ENTER_ORDER as ORDER\n" % _PACKAGE
    namespace: dict = {}
    exec(compile(with_facts_written_in(source, _PACKAGE), "written", "exec"), namespace)  # pylint: disable=exec-used
    assert namespace["ORDER"] == nstypes.ENTER_ORDER
    assert "nstypes" not in with_facts_written_in(source, _PACKAGE)


def test_a_value_that_is_no_literal_fails_on_the_controller():
    with pytest.raises(AnsibleError, match="nstypes.TYPES_BY_NAME is not a literal"):
        with_facts_written_in("from %s.nstypes import TYPES_BY_NAME\n" % _PACKAGE, _PACKAGE)


def test_the_quick_part_imports_only_modules_cheaper_than_a_python_start():
    quick = ast.parse(entering_program().split("\nimport sys\ndef _full_program", 1)[0])
    imported = {alias.name for node in quick.body if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in quick.body if isinstance(node, ast.ImportFrom)}
    # No typing, json (re), signal (enum), base64 (re) or module_utils: each costs milliseconds per task.
    assert imported == {"__future__", "_json", "_signal", "ctypes", "errno", "os"}
