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
    run anything as root through C(sudo) with O(sudo=true).
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

import json
import shlex
from typing import Dict, List, Optional

from ansible.errors import AnsibleError
from ansible.plugins.become import BecomeBase
from ansible.utils.display import Display

from ansible_collections.linux.namespaces.plugins.plugin_utils.entering_program import entering_program

display = Display()

_DEFAULT_PYTHON = "/usr/bin/python3"
_TARGET_OPTIONS = ("name", "pid", "paths", "netns")


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
