# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: nsenter
short_description: Run whole tasks inside a named namespace set on the managed host
description:
  - Runs every task it applies to inside the namespaces of a set made by M(linux.namespaces.namespace)
    on the managed host, whatever the module, over any connection (local, ssh, ...), with and without
    pipelining.
  - Files a task writes land in the set's mount namespace; a task sees the set's hostname, network,
    IPC objects and, where the set mounts its own /proc, only the set's processes.
  - The entering is done on the managed host by the collection's own code, which this plugin ships
    inside the command line (as Ansible ships a module), run by the host's Python 3.8 or later. The
    host needs neither a copy of the collection nor util-linux.
  - The user does not change; I(become_user) names the set. Entering namespaces needs root, so connect
    as root (or become root first on the connection).
author: linux.namespaces maintainers (@linux-namespaces)
version_added: 0.1.0
options:
  become_user:
    description: Name of the set to enter.
    type: string
    required: true
    ini:
      - section: privilege_escalation
        key: become_user
      - section: nsenter_become_plugin
        key: user
    vars:
      - name: ansible_become_user
      - name: ansible_nsenter_set
    env:
      - name: ANSIBLE_BECOME_USER
      - name: ANSIBLE_NSENTER_SET
    keyword:
      - name: become_user
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
    description: Directory of the sets on the managed host (the C(store) of M(linux.namespaces.namespace)).
    type: string
    default: /run/linux-namespaces
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
  become_user: web
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
      become_user: lab1
      vars:
        ansible_nsenter_store: /run/lab-namespaces
"""

import base64
import functools
import json
import os
import re
import shlex
import zlib

from ansible.errors import AnsibleError
from ansible.plugins.become import BecomeBase

_PACKAGE = "ansible_collections.linux.namespaces.plugins.module_utils"
_MODULE_UTILS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")
_ENTRY_MODULE = "enter_main"
_DEFAULT_PYTHON = "/usr/bin/python3"
_IMPORT = re.compile(r"^\s*from\s+%s(?:\.(\w+))?\s+import\s+(\([^)]*\)|[^\n]+)" % re.escape(_PACKAGE), re.MULTILINE)

# Runs on the managed host (Python 3.8+, standard library only): serves the shipped module_utils from
# memory under their real names, then hands over to enter_main. No single quotes: it is shell-quoted.
# Plain finder and loader classes: importlib.abc would import importlib.resources, 13 ms on 3.11.
_BOOTSTRAP = """import base64, importlib.machinery, json, sys, zlib
PACKAGE = "%(package)s"
SOURCES = json.loads(zlib.decompress(base64.b64decode("%(payload)s")).decode())
class Shipped:
    def find_spec(self, name, path, target=None):
        if name == PACKAGE or PACKAGE.startswith(name + "."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        parent, _, leaf = name.rpartition(".")
        if parent == PACKAGE and leaf in SOURCES:
            return importlib.machinery.ModuleSpec(name, self)
        return None
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        if module.__name__.startswith(PACKAGE + "."):
            leaf = module.__name__.rpartition(".")[2]
            exec(compile(SOURCES[leaf], "<linux.namespaces>/%%s.py" %% leaf, "exec"), module.__dict__)
sys.meta_path.insert(0, Shipped())
from %(package)s.%(entry)s import main
raise SystemExit(main(sys.argv[1:]))
"""


def _module_path(name: str) -> str:
    return os.path.join(_MODULE_UTILS_DIR, name + ".py")


def _shipped_sources(entry: str) -> dict:
    """entry and every module_utils file it imports, directly or not: {module name: source}."""
    sources = {}
    pending = [entry]
    while pending:
        name = pending.pop()
        if name in sources:
            continue
        with open(_module_path(name), encoding="utf-8") as handle:
            sources[name] = handle.read()
        for module, names in _IMPORT.findall(sources[name]):
            candidates = [module] if module else re.findall(r"\w+", names)
            pending.extend(c for c in candidates if c and os.path.exists(_module_path(c)))
    return sources


@functools.lru_cache(maxsize=None)
def entering_program() -> str:
    """The Python program (for python -c) that enters a set on the managed host: SET STORE CMD [ARG...]."""
    payload = base64.b64encode(zlib.compress(json.dumps(_shipped_sources(_ENTRY_MODULE)).encode(), 9))
    return _BOOTSTRAP % {"package": _PACKAGE, "payload": payload.decode(), "entry": _ENTRY_MODULE}


class BecomeModule(BecomeBase):

    name = "linux.namespaces.nsenter"
    pipelining = True
    require_tty = False

    def get_option(self, option, hostvars=None, playcontext=None):
        # become_user names a set, not an account. Ansible would otherwise treat it as an unprivileged
        # user to hand temporary files to (setfacl, chown) and fail; the task keeps the connection's user.
        if option == "become_user":
            return None
        return super().get_option(option, hostvars=hostvars, playcontext=playcontext)

    @property
    def set_name(self) -> str:
        return super().get_option("become_user")

    def _python(self) -> str:
        python = self.get_option("become_exe")
        # Values such as "auto" ask Ansible's discovery, which become plugins do not get to see.
        return _DEFAULT_PYTHON if not python or python.startswith("auto") else python

    def build_become_command(self, cmd, shell):
        super().build_become_command(cmd, shell)
        if not cmd:
            return cmd
        set_name = self.set_name
        if not set_name:
            raise AnsibleError("become_method linux.namespaces.nsenter needs become_user: the name of the set to enter")
        # The success marker is printed from inside the set, so it also confirms that entering worked.
        inner = self._build_success_command(cmd, shell, noexe=True)
        return " ".join([
            # -I -S: neither PYTHON* variables nor site-packages have a say; the program needs the stdlib only.
            self._python(), "-I", "-S", "-c", shlex.quote(entering_program()), shlex.quote(set_name),
            shlex.quote(self.get_option("store")), shlex.quote(getattr(shell, "executable", None) or "/bin/sh"),
            "-c", inner,
        ])
