# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: nsenter
short_description: Run whole tasks inside a namespace set, a process's namespaces or nsfs files on the managed host
description:
  - Runs every task it applies to inside the namespaces of a set made by M(linux.namespaces.namespace)
    on the managed host, whatever the module, over any connection (local, ssh, ...), with and without
    pipelining.
  - Instead of a set, the task can enter the namespaces of a process (O(pid)), namespace files (O(paths))
    or an C(ip netns) network namespace (O(netns)), as the M(linux.namespaces.nsenter) module does.
  - Files a task writes land in the set's mount namespace; a task sees the set's hostname, network,
    IPC objects and, where the set mounts its own /proc, only the set's processes.
  - The entering is done on the managed host by the collection's own code, which this plugin ships
    inside the command line (as Ansible ships a module), run by the host's Python 3.8 or later. The
    host needs neither a copy of the collection nor util-linux.
  - The user does not change. Entering namespaces needs root, so connect as root, or as a user who may
    run anything as root through C(sudo) with O(sudo=true); or as the ordinary user who made a rootless set
    (see O(store)), which is entered through its user namespace.
  - Where the entering program cannot enter (an unknown set, a set whose holder has died, a process that
    does not exist, a missing namespace file or C(ip netns) name), the task fails with that reason as its
    message, before anything runs.
author: linux.namespaces maintainers (@linux-namespaces)
version_added: 0.1.0
options:
  name:
    description:
      - Name of the set to enter, in O(store) (the O(linux.namespaces.nsenter#module:name) of the module).
      - Exactly one of O(name), O(pid), O(paths) and O(netns) is required.
    type: string
    version_added: 0.2.0
    ini:
      - section: nsenter_become_plugin
        key: set
    vars:
      - name: ansible_nsenter_set
      - name: ansible_nsenter_name
    env:
      - name: ANSIBLE_NSENTER_SET
  pid:
    description:
      - Enter the namespaces of this process on the managed host (the O(linux.namespaces.nsenter#module:pid)
        of the module); by default every type in which it differs from the entering program.
    type: integer
    version_added: 0.2.0
    ini:
      - section: nsenter_become_plugin
        key: pid
    vars:
      - name: ansible_nsenter_pid
    env:
      - name: ANSIBLE_NSENTER_PID
  paths:
    description:
      - Namespace files on the managed host to enter, by type; for example the type C(net) with C(/run/netns/blue)
        (the O(linux.namespaces.nsenter#module:paths) of the module).
      - A dictionary, so it is set as a variable only (Ansible reads no dictionary from C(ansible.cfg) or the
        environment).
    type: dict
    version_added: 0.2.0
    vars:
      - name: ansible_nsenter_paths
  netns:
    description:
      - Enter the network namespace that C(ip netns) knows by this name, C(/run/netns/NAME) on the managed
        host (as C(ip netns exec NAME) does); only the network namespace is entered.
    type: string
    version_added: 0.2.0
    ini:
      - section: nsenter_become_plugin
        key: netns
    vars:
      - name: ansible_nsenter_netns
    env:
      - name: ANSIBLE_NSENTER_NETNS
  types:
    description:
      - Which of the target's namespaces to enter (C(mnt), C(uts), C(ipc), C(pid), C(net), C(user), C(cgroup),
        C(time)), as the O(linux.namespaces.nsenter#module:types) of the module; by default all of a set's, all
        the given O(paths), or for O(pid) every type in which the process differs.
      - Naming a type the target does not have fails the task.
    type: list
    elements: string
    version_added: 0.2.0
    ini:
      - section: nsenter_become_plugin
        key: types
    vars:
      - name: ansible_nsenter_types
    env:
      - name: ANSIBLE_NSENTER_TYPES
  become_user:
    description:
      - Deprecated way to name the set, read only when none of O(name), O(pid), O(paths) and O(netns) is given and the value is not C(root)
        (an inherited C(ansible_become_user) of another become method is usually C(root)). Use O(name).
    type: string
    ini:
      - section: privilege_escalation
        key: become_user
    vars:
      - name: ansible_become_user
    env:
      - name: ANSIBLE_BECOME_USER
    keyword:
      - name: become_user
  sudo:
    description:
      - Run the entering program through C(sudo), for a connection user who is not root. Without
        O(become_pass) C(sudo -n) (the user must be allowed without a password); with it, Ansible answers
        sudo's password prompt as the P(ansible.builtin.sudo#become) plugin does.
    type: bool
    default: false
    version_added: 0.2.0
    ini:
      - section: nsenter_become_plugin
        key: sudo
    vars:
      - name: ansible_nsenter_sudo
    env:
      - name: ANSIBLE_NSENTER_SUDO
  become_pass:
    description: The password C(sudo) asks for, with O(sudo=true).
    type: string
    version_added: 0.2.0
    vars:
      - name: ansible_become_password
      - name: ansible_become_pass
      - name: ansible_nsenter_password
    env:
      - name: ANSIBLE_BECOME_PASS
    ini:
      - section: nsenter_become_plugin
        key: password
  become_exe:
    description:
      - Python interpreter on the managed host that runs the entering code (Python 3.8 or later).
      - Defaults to the host's C(ansible_python_interpreter) when that names an interpreter, else
        C(/usr/bin/python3). Interpreter discovery does not reach become plugins, so set one of these
        where C(/usr/bin/python3) is not right.
    type: string
    ini:
      - section: nsenter_become_plugin
        key: executable
    vars:
      - name: ansible_python_interpreter
      - name: ansible_become_exe
      - name: ansible_nsenter_python
    env:
      - name: ANSIBLE_NSENTER_PYTHON
    keyword:
      - name: become_exe
  store:
    description:
      - Directory of the sets on the managed host (the C(store) of M(linux.namespaces.namespace)), for O(name).
      - Default C(/run/linux-namespaces) when the task runs as root; for an ordinary user (a rootless set,
        entered with its user namespace first, so the command runs as root inside) its own store in its
        runtime directory, as the O(linux.namespaces.namespace#module:store) option of the modules says.
    type: string
    ini:
      - section: nsenter_become_plugin
        key: store
    vars:
      - name: ansible_nsenter_store
    env:
      - name: ANSIBLE_NSENTER_STORE
notes:
  - Ansible makes its temporary directory (C(remote_tmp)) on the host, outside the set, and the task
    reads its module and files from it inside the set. A set's mount namespace shares the host's file
    systems, so this works unless a mount inside the set hides that directory; with pipelining most
    modules need no temporary file at all.
  - A task starts in the root directory of the set's mount namespace; modules that take C(chdir)
    change directory inside.
  - A set whose holder has died, or a name the store does not know, fails the task before anything
    runs, with the reason in the error.
seealso:
  - module: linux.namespaces.nsenter
  - module: linux.namespaces.namespace
"""

EXAMPLES = r"""
- name: Configure a service inside the set "web" on every host
  hosts: webservers
  become: true
  become_method: linux.namespaces.nsenter
  vars:
    ansible_nsenter_set: web
  tasks:
    - name: Facts as seen inside the set (its hostname, interfaces)
      ansible.builtin.setup:

    - name: This file lands in the set's mount namespace
      ansible.builtin.copy:
        content: "listen 8080\n"
        dest: /etc/web.conf
        mode: "0644"

- name: One task inside a set kept in another store
  hosts: all
  tasks:
    - name: Addresses inside the set lab1
      ansible.builtin.command: ip -brief address
      changed_when: false
      become: true
      become_method: linux.namespaces.nsenter
      vars:
        ansible_nsenter_set: lab1
        ansible_nsenter_store: /run/lab-namespaces

- name: Connect as a user who is not root and enter through sudo
  hosts: all
  remote_user: deploy
  become: true
  become_method: linux.namespaces.nsenter
  vars:
    ansible_nsenter_set: web
    ansible_nsenter_sudo: true
  tasks:
    - name: Hostname inside the set
      ansible.builtin.command: hostname
      changed_when: false
"""

import ast
import base64
import functools
import json
import os
import shlex
import zlib
from typing import Dict, List, Optional, Tuple

from ansible.errors import AnsibleError
from ansible.plugins.become import BecomeBase
from ansible.utils.display import Display

display = Display()

_PACKAGE = "ansible_collections.linux.namespaces.plugins.module_utils"
_MODULE_UTILS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")
_ENTRY_MODULE = "enter_main"
_DEFAULT_PYTHON = "/usr/bin/python3"
_TARGET_OPTIONS = ("name", "pid", "paths", "netns")

# Runs on the managed host (Python 3.8+, standard library only): serves the shipped module_utils from
# memory under their real names, then hands over to enter_main with the arguments after the first.
# The first is Ansible's become success marker: where enter_main gives a reason for not entering (on
# stderr, or an exception), the program prints the marker and the reason as a failed module result on
# stdout, so Ansible reads a task that failed for that reason rather than a become that never answered.
# No single quotes: it is shell-quoted.
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


@functools.lru_cache(maxsize=None)
def entering_program() -> str:
    """The Python program (for python -c) that enters a set on the managed host.

    Arguments: MARKER TARGET CMD [ARG...], MARKER the become success marker or "", TARGET the JSON
    object enter_main reads (BecomeModule.target).
    """
    sources, packages = shipped_sources(ShippedTree(_PACKAGE, _MODULE_UTILS_DIR), _ENTRY_MODULE)
    shipped = [{name: without_docstrings_and_comments(source) for name, source in sources.items()}, packages]
    payload = base64.b64encode(zlib.compress(json.dumps(shipped).encode(), 9))
    return _BOOTSTRAP % {"package": _PACKAGE, "payload": payload.decode(), "entry": _ENTRY_MODULE}


class BecomeModule(BecomeBase):

    name = "linux.namespaces.nsenter"
    pipelining = True
    require_tty = False
    # sudo's messages, as the ansible.builtin.sudo plugin matches them
    fail = ("Sorry, try again.",)
    missing = ("Sorry, a password is required to run sudo", "sudo: a password is required")

    def get_option(self, option, hostvars=None, playcontext=None):
        # The account the task runs as, for Ansible: the connection's user (None), or root through sudo, so
        # that Ansible expands ~ where the task runs (async results under root's home). Ansible would treat
        # a set name here as an unprivileged user to hand temporary files to (setfacl, chown) and fail.
        if option == "become_user":
            return "root" if super().get_option("sudo") else None
        return super().get_option(option, hostvars=hostvars, playcontext=playcontext)

    def target(self) -> Dict[str, object]:
        """What the entering program enters: exactly one of name (with store), pid, paths or netns, and types.

        A become_user other than root names the set when none of those is given (the deprecated way).
        """
        given = {key: self.get_option(key) for key in _TARGET_OPTIONS}
        given = {key: value for key, value in given.items() if value not in (None, "", {})}
        if not given:
            set_name = self._deprecated_set_name()
            if not set_name:
                raise AnsibleError("become_method linux.namespaces.nsenter needs the set to enter: set "
                                   "ansible_nsenter_set (the plugin's option name), or one of pid, paths, netns")
            given = {"name": set_name}
        if len(given) > 1:
            raise AnsibleError("become_method linux.namespaces.nsenter enters one target: give exactly one of "
                               "name, pid, paths or netns (got: %s)" % ", ".join(sorted(given)))
        if "name" in given:
            given["store"] = self.get_option("store")
        types = self.get_option("types")
        if types is not None:
            given["types"] = list(types)
        return given

    def _deprecated_set_name(self) -> Optional[str]:
        user = super().get_option("become_user")
        if user and user != "root":
            display.deprecated("become_user as the set to enter (%r): set ansible_nsenter_set instead" % user,
                               version="1.0.0", collection_name="linux.namespaces")
            return user
        return None

    def _python(self) -> str:
        python = self.get_option("become_exe")
        # Values such as "auto" ask Ansible's discovery, which become plugins do not get to see.
        return _DEFAULT_PYTHON if not python or python.startswith("auto") else python

    def _sudo(self) -> List[str]:
        """The sudo prefix: non-interactive, or with a prompt Ansible recognises and answers."""
        if not self.get_option("sudo"):
            return []
        if self.get_option("become_pass"):
            self.prompt = "[sudo via ansible, key=%s] password:" % self._id
            return ["sudo", "-p", shlex.quote(self.prompt), "--"]
        return ["sudo", "-n", "--"]

    def build_become_command(self, cmd, shell):
        super().build_become_command(cmd, shell)
        if not cmd:
            return cmd
        target = json.dumps(self.target(), sort_keys=True)
        # The success marker is printed from inside the set, so it also confirms that entering worked.
        inner = self._build_success_command(cmd, shell, noexe=True)
        return " ".join(self._sudo() + [
            # -I -S: neither PYTHON* variables nor site-packages have a say; the program needs the stdlib only.
            self._python(), "-I", "-S", "-c", shlex.quote(entering_program()), shlex.quote(self.success),
            shlex.quote(target), shlex.quote(getattr(shell, "executable", None) or "/bin/sh"),
            "-c", inner,
        ])
