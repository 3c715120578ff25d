#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: nsenter
short_description: Run a command inside Linux namespaces, with the semantics of command
version_added: 0.1.0
description:
  - Runs a command on the target inside the namespaces of a named set (made by
    M(linux.namespaces.namespace)), of a running process, or behind namespace files, and returns what
    it did as M(ansible.builtin.command) does. A non-zero return code fails the task.
  - Where the target has no user namespace and the command needs no O(user), O(group) or
    O(no_new_privs), the module's process joins the target's namespaces, starts the command with
    Python's subprocess and joins its own namespaces again at once; the command is a child, so it is
    inside the target's PID and time namespaces too. Otherwise
    the namespaces are entered in a forked single-threaded child, with one C(setns) call on a pidfd
    where the kernel has it (5.8 and later), otherwise type by type in an order that works (user first,
    mount late); for the pid and time namespaces the child forks once more, so the command really runs
    inside.
  - Before the command starts, every file descriptor but 0, 1 and 2 is closed, and the process that
    enters is not dumpable while it holds descriptors from outside. Either way the command is killed if
    the module dies.
  - Nothing runs when the target cannot be entered; the error says why (unknown set, a set whose holder
    has died, a process that does not exist or exited meanwhile, a type the target does not have).
  - To run whole tasks of any module inside a set, use the become plugin
    P(linux.namespaces.nsenter#become).
author:
  - linux.namespaces maintainers (@linux-namespaces)
extends_documentation_fragment:
  - action_common_attributes
  - linux.namespaces.store
attributes:
  check_mode:
    support: partial
    details: As with M(ansible.builtin.command) the command is not run; O(creates) and O(removes) are
      checked and decide whether the task would change anything.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  name:
    description:
      - Name of the set to enter, in O(store).
      - Exactly one of O(name), O(pid) and O(paths) is required.
    type: str
  pid:
    description:
      - Enter the namespaces of this process. It is held by a pidfd (kernel 5.3 and later) or by its
        C(/proc) directory, so a process that exits and whose number is reused is never entered by mistake.
    type: int
  paths:
    description:
      - Namespace files to enter, by type; for example the type C(net) with the file C(/run/netns/blue).
        Each file is checked to be a namespace of that type before anything runs.
    type: dict
  types:
    description:
      - Which of the target's namespaces to enter.
      - Default, for O(name) all the set's types; for O(paths) all the types given; for O(pid) every type
        in which the process differs from the module's own process.
      - Naming a type the target does not have is an error. A user namespace the module is already in is
        skipped, as the kernel refuses to join it again.
    type: list
    elements: str
    choices: [mnt, uts, ipc, pid, net, user, cgroup, time]
  argv:
    description: The command as a list of arguments. Exactly one of O(argv) and O(cmd) is required.
    type: list
    elements: str
  cmd:
    description:
      - The command as a string, split into arguments as a shell would but without a shell, unless
        O(shell) is true.
    type: str
  shell:
    description: Run O(cmd) with C(/bin/sh -c) of the namespaces entered (their mount namespace's C(/bin/sh)).
    type: bool
    default: false
  chdir:
    description: Change into this directory after entering, so it names a directory inside the mount namespace.
    type: path
  stdin:
    description: Data for the command's standard input. Without it the command reads C(/dev/null).
    type: str
  stdin_add_newline:
    description: Append a newline to O(stdin).
    type: bool
    default: true
  strip_empty_ends:
    description: Strip empty lines from the end of stdout and stderr in the result.
    type: bool
    default: true
  env:
    description:
      - Environment variables for the command. It starts with only C(PATH) (the module's) and these,
        unless O(inherit_env) is true.
    type: dict
    default: {}
  inherit_env:
    description: Start from the module's whole environment instead of only C(PATH).
    type: bool
    default: false
  user:
    description:
      - Run the command as this user (a name or a number), looked up in the user database inside the
        mount namespace entered. Without O(group), the user's primary group and its supplementary groups.
      - A number goes from 0 to 4294967294 (4294967295 is the kernel's "no id").
    type: str
  group:
    description:
      - Run the command with this group (a name or a number), looked up inside.
      - A number goes from 0 to 4294967294.
    type: str
  no_new_privs:
    description:
      - Set C(PR_SET_NO_NEW_PRIVS) before the command starts, so neither it nor its children can gain
        privileges through set-user-ID programs or file capabilities.
    type: bool
    default: true
  creates:
    description:
      - A path or glob pattern. If it matches, the command is not run. It is looked up inside the
        namespaces entered (the set's files, not the host's), after O(chdir).
    type: str
  removes:
    description:
      - A path or glob pattern. If it does not match, the command is not run. Looked up inside, as O(creates).
    type: str
notes:
  - Entering namespaces needs root (C(CAP_SYS_ADMIN)).
  - O(creates) and O(removes) are looked up inside the target's mount namespace, since that is where the
    command runs and leaves its files; M(ansible.builtin.command) looks them up on the host.
seealso:
  - module: ansible.builtin.command
  - module: linux.namespaces.namespace
  - plugin: linux.namespaces.nsenter
    plugin_type: become
"""

EXAMPLES = r"""
- name: Show the addresses of the set "web"
  linux.namespaces.nsenter:
    name: web
    cmd: ip -brief address

- name: Run a pipeline with the set's shell, as an unprivileged user inside
  linux.namespaces.nsenter:
    name: web
    cmd: ps -e | wc -l
    shell: true
    user: nobody

- name: Enter only the network namespace of a process
  linux.namespaces.nsenter:
    pid: "{{ server_pid }}"
    types: [net]
    argv: [ss, -ltn]

- name: Enter namespace files made by other tools
  linux.namespaces.nsenter:
    paths:
      net: /run/netns/blue
    argv: [ip, route]

- name: Initialise once, inside the set's mount namespace
  linux.namespaces.nsenter:
    name: db
    argv: [/usr/local/bin/initdb, /srv/data]
    creates: /srv/data/PG_VERSION
    env:
      LANG: C.UTF-8
"""

RETURN = r"""
rc:
  description: The command's return code; negative when a signal killed it (its number).
  returned: always
  type: int
  sample: 0
stdout:
  description: The command's standard output.
  returned: always
  type: str
  sample: web
stderr:
  description: The command's standard error.
  returned: always
  type: str
  sample: ""
stdout_lines:
  description: RV(stdout) split into lines.
  returned: always
  type: list
  elements: str
stderr_lines:
  description: RV(stderr) split into lines.
  returned: always
  type: list
  elements: str
cmd:
  description: The command run, as a list of arguments.
  returned: always
  type: list
  elements: str
  sample: [hostname]
start:
  description: When the command started.
  returned: when the command ran
  type: str
  sample: "2026-11-28 23:58:12.421097"
end:
  description: When the command ended.
  returned: when the command ran
  type: str
  sample: "2026-11-28 23:58:12.440117"
delta:
  description: How long the command took, entering included.
  returned: when the command ran
  type: str
  sample: "0:00:00.019020"
msg:
  description: Why the command did not run (O(creates), O(removes), check mode), or that it failed.
  returned: always
  type: str
  sample: non-zero return code
entered:
  description: The namespace types entered, in table order.
  returned: always
  type: list
  elements: str
  sample: [mnt, uts, ipc, pid, net]
target:
  description: The target's namespace inode for each type entered.
  returned: always
  type: dict
  sample: {mnt: 4026532177, uts: 4026532178}
namespaces:
  description:
    - The inode of every namespace the command ran in, read by the command's own process just before it
      started. For each type entered it equals RV(target); the others are the module's own.
  returned: when the command ran
  type: dict
  sample: {mnt: 4026532177, uts: 4026532178, ipc: 4026532179, pid: 4026532180, net: 4026532181,
           user: 4026531837, cgroup: 4026531835, time: 4026531834}
"""

import os
import shlex

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.linux.namespaces.plugins.module_utils._module import fail_from_error, store_argument_spec
from ansible_collections.linux.namespaces.plugins.module_utils.enter import LARGEST_ID, Launch, glob_inside, run_command
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPE_NAMES
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import validate_name
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store
from ansible_collections.linux.namespaces.plugins.module_utils.targets import resolve_target


def command_argv(params):
    if params["argv"]:
        return list(params["argv"])
    if params["shell"]:
        return ["/bin/sh", "-c", params["cmd"]]
    try:
        return shlex.split(params["cmd"])
    except ValueError as exc:
        raise ValueError("cmd %r cannot be split into arguments: %s" % (params["cmd"], exc))


def validate_arguments(params, argv):
    """Raise ValueError naming the first argument that cannot work, before anything is opened or entered."""
    texts = [("argv", arg) for arg in argv] + [(key, params[key]) for key in ("chdir", "creates", "removes")]
    texts += [("env", "%s=%s" % (key, value)) for key, value in params["env"].items()]
    for option, text in texts:
        if text is not None and "\x00" in str(text):
            raise ValueError("%s must not contain a NUL character" % option)
    for key in params["env"]:
        if not str(key) or "=" in str(key):
            raise ValueError("env name %r is not valid: it must be non-empty and without '='" % key)
    for option in ("user", "group"):
        value = params[option]
        if value is not None and (not value or "\x00" in value):
            raise ValueError("%s %r is not a name or a number" % (option, value))
        if value is not None and value.isascii() and value.isdigit() and int(value) > LARGEST_ID:
            raise ValueError("%s %s is out of range: ids go from 0 to %d" % (option, value, LARGEST_ID))
    for nstype, path in (params["paths"] or {}).items():
        validate_namespace_path(nstype, path)


def validate_namespace_path(nstype, path):
    """A paths entry must name a type and give a path; syscalls.open_namespace proves the file is a namespace."""
    if nstype not in TYPE_NAMES:
        raise ValueError("paths: %r is not a namespace type (one of %s)" % (nstype, ", ".join(TYPE_NAMES)))
    if not isinstance(path, str) or not path or "\x00" in path:
        raise ValueError("paths: %s must be the path of a namespace file, not %r" % (nstype, path))


def launch_environment(params):
    env = dict(os.environ) if params["inherit_env"] else {"PATH": os.environ.get("PATH", os.defpath)}
    env.update((str(k), to_text(v)) for k, v in params["env"].items())
    return env


def skip_reason(target, params, verb):
    """Why creates/removes say the command need not run, or None."""
    creates, removes, chdir = params["creates"], params["removes"], params["chdir"]
    if creates and glob_inside(target, creates, chdir):
        return "%s not run command since '%s' exists" % (verb, creates), "skipped, since %s exists" % creates
    if removes and not glob_inside(target, removes, chdir):
        return ("%s not run command since '%s' does not exist" % (verb, removes),
                "skipped, since %s does not exist" % removes)
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            pid=dict(type="int"),
            paths=dict(type="dict"),
            types=dict(type="list", elements="str", choices=list(TYPE_NAMES)),
            argv=dict(type="list", elements="str"),
            cmd=dict(type="str"),
            shell=dict(type="bool", default=False),
            chdir=dict(type="path"),
            stdin=dict(type="str"),
            stdin_add_newline=dict(type="bool", default=True),
            strip_empty_ends=dict(type="bool", default=True),
            env=dict(type="dict", default={}),
            inherit_env=dict(type="bool", default=False),
            user=dict(type="str"),
            group=dict(type="str"),
            no_new_privs=dict(type="bool", default=True),
            creates=dict(type="str"),
            removes=dict(type="str"),
            **store_argument_spec()
        ),
        required_one_of=[("name", "pid", "paths"), ("argv", "cmd")],
        mutually_exclusive=[("name", "pid", "paths"), ("argv", "cmd")],
        supports_check_mode=True,
    )
    params = module.params
    if params["shell"] and not params["cmd"]:
        module.fail_json(msg="shell: true needs cmd (a string for /bin/sh -c)")
    try:
        argv = command_argv(params)
        validate_arguments(params, argv)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if not argv:
        module.fail_json(msg="the command is empty")
    result = dict(changed=False, rc=None, stdout="", stderr="", cmd=argv, msg="", entered=[], target={})

    def fail(message):
        result["msg"] = message
        module.fail_json(**result)

    try:
        if params["name"] is not None:
            validate_name(params["name"])
        target = resolve_target(name=params["name"], pid=params["pid"], paths=params["paths"],
                                types=params["types"], store=Store(params["store"]))
    except NamespaceError as exc:
        fail_from_error(module, exc, **result)
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:  # e.g. PermissionError from a process whose /proc/PID/ns cannot be read (pid: 1 here)
        fail("%s: %s" % (exc.filename or "the target", exc.strerror or exc))

    with target:
        result.update(entered=list(target.types), target=target.inodes)
        try:
            skipped = skip_reason(target, params, "Would" if module.check_mode else "Did")
        except NamespaceError as exc:
            fail_from_error(module, exc, **result)
        if skipped:
            result.update(msg=skipped[0], stdout=skipped[1], rc=0)
            module.exit_json(**result)
        if module.check_mode:
            result.update(rc=0, msg="Command would have run if not in check mode")
            if params["creates"] is None and params["removes"] is None:
                result["skipped"] = True
            else:
                result["changed"] = True
            module.exit_json(**result)

        stdin = params["stdin"]
        if stdin is not None and params["stdin_add_newline"]:
            stdin += "\n"
        launch = Launch(argv=argv, env=launch_environment(params), chdir=params["chdir"], user=params["user"],
                        group=params["group"], no_new_privs=params["no_new_privs"])
        try:
            ran = run_command(target, launch, None if stdin is None else stdin.encode())
        except NamespaceError as exc:
            fail_from_error(module, exc, **result)

    stdout = to_text(ran.stdout, errors="surrogate_or_replace")
    stderr = to_text(ran.stderr, errors="surrogate_or_replace")
    if params["strip_empty_ends"]:
        stdout, stderr = stdout.rstrip("\r\n"), stderr.rstrip("\r\n")
    result.update(changed=True, rc=ran.rc, stdout=stdout, stderr=stderr, namespaces=ran.namespaces,
                  start=to_text(ran.start), end=to_text(ran.end), delta=to_text(ran.end - ran.start))
    if ran.rc != 0:
        fail("non-zero return code")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
