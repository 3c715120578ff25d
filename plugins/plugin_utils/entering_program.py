# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The program the become plugin linux.namespaces.nsenter runs on a managed host, built on the controller.

Two parts, both from module_utils: enter_quick's code with the constants it imports written in (a healthy
set, entered at the cost of a bare Python start), and the full program, carried compressed: enter_main and
every module_utils it imports, served from memory, for every other target and every reason a task fails.
"""

from __future__ import annotations

import ast
import base64
import functools
import importlib
import json
import os
import zlib
from typing import Dict, List, Optional, Tuple

from ansible.errors import AnsibleError

_PACKAGE = "ansible_collections.linux.namespaces.plugins.module_utils"
_MODULE_UTILS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")
_ENTRY_MODULE = "enter_main"
_QUICK_MODULE = "enter_quick"

# Runs on the managed host (Python 3.8+, standard library only): serves the shipped module_utils from
# memory under their real names, then hands over to enter_main with the arguments after the first.
# The first is Ansible's become success marker: where enter_main gives a reason for not entering (on
# stderr, or an exception), the program prints the marker and the reason as a failed module result on
# stdout, so Ansible reads a task that failed for that reason rather than a become that never answered.
# Plain finder and loader classes: importlib.abc would import importlib.resources, 13 ms on 3.11.
_BOOTSTRAP = """import base64, importlib.machinery, io, json, sys, zlib
PACKAGE = "%(package)s"
SOURCES, PACKAGES = json.loads(zlib.decompress(base64.b64decode("%(payload)s")).decode())
class Shipped:
    def find_spec(self, name, path, target=None):
        if name == PACKAGE or PACKAGE.startswith(name + "."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        relative = name[len(PACKAGE) + 1:]
        if name.startswith(PACKAGE + ".") and relative in SOURCES:
            return importlib.machinery.ModuleSpec(name, self, is_package=relative in PACKAGES)
        return None
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        relative = module.__name__[len(PACKAGE) + 1:]
        if module.__name__.startswith(PACKAGE + ".") and relative in SOURCES:
            exec(compile(SOURCES[relative], "<linux.namespaces>/%%s.py" %% relative.replace(".", "/"), "exec"),
                 module.__dict__)
sys.meta_path.insert(0, Shipped())
stderr, sys.stderr = sys.stderr, io.StringIO()
try:
    from %(package)s.%(entry)s import main
    code = main(sys.argv[2:])
except Exception as exc:
    sys.stderr.write("linux.namespaces.nsenter: %%s: %%s" %% (type(exc).__name__, exc))
    code = 1
reason, sys.stderr = sys.stderr.getvalue().strip(), stderr
if code:
    if sys.argv[1]:
        print(sys.argv[1])
    print(json.dumps({"failed": True, "rc": code, "msg": reason or "exit code %%d" %% code}))
    sys.stderr.write(reason + "\\n")
raise SystemExit(code)
"""


class ShippedTree:
    """The Python files of one package directory, as module names relative to the package."""

    def __init__(self, package: str, directory: str):
        self.package = package
        self.directory = directory

    def path(self, relative: str) -> Tuple[Optional[str], bool]:
        """(file holding the module's source or None, whether it is a package); (None, False) if absent."""
        base = os.path.join(self.directory, *relative.split("."))
        if os.path.isfile(base + ".py"):
            return base + ".py", False
        if os.path.isdir(base):
            init = os.path.join(base, "__init__.py")
            return (init if os.path.isfile(init) else None), True
        return None, False

    def exists(self, relative: str) -> bool:
        source, is_package = self.path(relative)
        return source is not None or is_package

    def relative(self, absolute: str) -> Optional[str]:
        """absolute's name relative to the package, "" for the package itself, None if outside it."""
        if absolute == self.package:
            return ""
        if absolute.startswith(self.package + "."):
            return absolute[len(self.package) + 1:]
        return None


def _imported(tree: ShippedTree, relative: str, is_package: bool, module: ast.AST) -> List[str]:
    """The modules of the tree that one module imports, as ansible-core's ModuleDepFinder reads imports:
    every Import and ImportFrom node anywhere in the syntax tree, relative ones resolved."""
    found = []
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = tree.relative(alias.name)
                if name:
                    found.append(name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = (tree.package + "." + relative).split(".") if relative else tree.package.split(".")
                parts = parts if is_package else parts[:-1]
                parent = ".".join(parts[:len(parts) - node.level + 1])
                absolute = parent + ("." + node.module if node.module else "")
            else:
                absolute = node.module or ""
            base = tree.relative(absolute)
            if base is None:
                continue
            if base and not tree.path(base)[1]:  # a module: the names are its attributes
                found.append(base)
                continue
            for alias in node.names:
                name = base + "." + alias.name if base else alias.name
                if alias.name != "*" and (tree.exists(name) or not base):
                    found.append(name)
            if base:
                found.append(base)
    return found


def shipped_sources(tree: ShippedTree, entry: str) -> Tuple[Dict[str, str], List[str]]:
    """entry and every module of the tree it imports, directly or not: ({name: source}, package names).

    Packages on the way to a module are shipped too; a package without __init__.py ships as empty.
    An import of a name the tree does not hold fails here, on the controller, not on the managed host.
    """
    sources: Dict[str, str] = {}
    packages: List[str] = []
    pending = [(entry, entry)]
    while pending:
        name, importer = pending.pop()
        if name in sources:
            continue
        path, is_package = tree.path(name)
        if path is None and not is_package:
            raise AnsibleError("%s imports %s.%s, which %s does not hold" % (importer, tree.package, name, tree.directory))
        source = ""
        if path is not None:
            with open(path, encoding="utf-8") as handle:
                source = handle.read()
        sources[name] = source
        if is_package:
            packages.append(name)
        parents = name.split(".")[:-1]
        pending.extend((".".join(parents[:depth]), name) for depth in range(1, len(parents) + 1))
        pending.extend((imported, name) for imported in _imported(tree, name, is_package, ast.parse(source, path or name)))
    return sources, sorted(packages)


def without_docstrings_and_comments(source: str) -> str:
    """source as the syntax tree reads it: no comments, no docstrings (a quarter less to ship, compressed).

    The source itself when the rewritten text would not parse as the same tree under Python 3.8's grammar,
    which the managed host may have and the controller's ast.unparse does not target.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    rewritten = ast.unparse(tree)
    try:
        same = ast.dump(ast.parse(rewritten, feature_version=(3, 8))) == ast.dump(tree)
    except SyntaxError:
        same = False
    return rewritten if same else source


def with_facts_written_in(source: str, package: str) -> str:
    """source with each of its imports from package replaced by the values it imports, written as literals.

    How the quick program gets the type table's order and the constants of setstate and syscalls without
    importing their modules (and typing) on the managed host. A value that is no literal fails here.
    """
    tree = ast.parse(source)
    body: List[ast.stmt] = []
    for node in tree.body:
        if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package + ".")):
            body.append(node)
            continue
        module = importlib.import_module(node.module or "")
        for alias in node.names:
            value = getattr(module, alias.name)
            try:
                literal = ast.literal_eval(repr(value)) == value
            except (ValueError, SyntaxError):
                literal = False
            if not literal:
                raise AnsibleError("%s.%s is not a literal the entering program can carry" % (node.module, alias.name))
            body.extend(ast.parse("%s = %r" % (alias.asname or alias.name, value)).body)
    tree.body = body
    return ast.unparse(tree)


def _full_program() -> str:
    """enter_main and every module_utils it imports, served from memory: every target, every reason."""
    sources, packages = shipped_sources(ShippedTree(_PACKAGE, _MODULE_UTILS_DIR), _ENTRY_MODULE)
    shipped = [{name: without_docstrings_and_comments(source) for name, source in sources.items()}, packages]
    payload = base64.b64encode(zlib.compress(json.dumps(shipped).encode(), 9))
    return _BOOTSTRAP % {"package": _PACKAGE, "payload": payload.decode(), "entry": _ENTRY_MODULE}


# After enter_quick's code: the full program is run (from the same arguments) only where the quick way
# does not apply; it stays compressed until then.
_QUICK_MAIN = """
import sys
def _full_program():
    import binascii, zlib
    exec(zlib.decompress(binascii.a2b_base64(%(full)r)).decode(), {"__name__": "__main__"})
raise SystemExit(main(sys.argv[1:], _full_program))
"""


@functools.lru_cache(maxsize=None)
def entering_program() -> str:
    """The Python program (for python -c) that enters a set on the managed host.

    Arguments: MARKER TARGET CMD [ARG...], MARKER the become success marker or "", TARGET the JSON
    object enter_main reads (BecomeModule.target). enter_quick's code enters a healthy set; the full
    program, carried compressed, does the rest.
    """
    with open(os.path.join(_MODULE_UTILS_DIR, _QUICK_MODULE + ".py"), encoding="utf-8") as handle:
        quick = without_docstrings_and_comments(with_facts_written_in(handle.read(), _PACKAGE))
    full = base64.b64encode(zlib.compress(_full_program().encode(), 9)).decode()
    return quick + _QUICK_MAIN % {"full": full}
