#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sysv_queue
short_description: Create or remove a System V message queue by key
version_added: "0.1.0"
description:
  - Makes sure a System V message queue with a given key exists or not in the IPC namespace of the module's
    process, as C(ipcmk -Q) and C(ipcrm -Q KEY) do, but by a key the caller chooses, so a later task or run
    finds the same queue again.
  - The IPC demonstration of the seed tutorial (docs/SEED.md) compares queues by key (C(ipcs -q)) on the
    host and inside a new IPC namespace; this module makes such a queue on the host.
  - Uses only the Python standard library and ctypes on the target.
author:
  - linux.namespaces maintainers (@linux-namespaces)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - linux.namespaces.attributes
options:
  key:
    description:
      - The queue's key, in decimal or as V(0x) followed by hex digits, as C(ipcs -q) shows it. Not 0 (that is
        IPC_PRIVATE, which makes a new queue each time).
    type: str
    required: true
  state:
    description:
      - V(present) creates the queue if no queue has that key; V(absent) removes it with its messages.
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - Permission bits of a new queue, in octal. An existing queue keeps its own.
    type: str
    default: "0600"
seealso:
  - name: sysvipc(7)
    description: System V interprocess communication mechanisms.
    link: https://man7.org/linux/man-pages/man7/sysvipc.7.html
"""

EXAMPLES = r"""
- name: A message queue on the host, to compare with ipcs -q inside an IPC namespace
  linux.namespaces.sysv_queue:
    key: "0x4c4e5351"

- name: Remove it
  linux.namespaces.sysv_queue:
    key: "0x4c4e5351"
    state: absent
"""

RETURN = r"""
key:
  description: The key, as C(ipcs -q) shows it.
  returned: always
  type: str
  sample: "0x4c4e5351"
id:
  description: The queue's id after the task; null when there is none (or in check mode before it is made).
  returned: always
  type: int
  sample: 3
"""

import errno

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.linux.namespaces.plugins.module_utils import sysv_ipc
from ansible_collections.linux.namespaces.plugins.module_utils._module import fail_from_error
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError

IPC_PRIVATE = 0


def parse_key(text):
    try:
        key = int(text, 0)
    except ValueError:
        raise ValueError("key %r is not a number: write it in decimal or as 0x followed by hex digits" % text)
    if key == IPC_PRIVATE or not -2 ** 31 <= key < 2 ** 32:
        raise ValueError("key %r must be a non-zero 32-bit number (0 is IPC_PRIVATE)" % text)
    return key & 0xFFFFFFFF


def parse_mode(text):
    try:
        mode = int(text, 8)
    except ValueError:
        raise ValueError("mode %r is not an octal number" % text)
    if not 0 <= mode <= 0o777:
        raise ValueError("mode %r must be between 0000 and 0777" % text)
    return mode


def queue_id(key):
    """The id of the queue with that key, or None."""
    try:
        return sysv_ipc.msgget(key)
    except NamespaceError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            key=dict(type="str", required=True, no_log=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            mode=dict(type="str", default="0600"),
        ),
        supports_check_mode=True,
    )
    try:
        key = parse_key(module.params["key"])
        mode = parse_mode(module.params["mode"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    shown_key = "0x%08x" % key
    want_present = module.params["state"] == "present"
    try:
        existing = queue_id(key)
        changed = (existing is not None) != want_present
        found = existing
        if changed and not module.check_mode:
            if want_present:
                found = sysv_ipc.msgget(key, sysv_ipc.IPC_CREAT | mode)
            else:
                sysv_ipc.msgctl_remove(existing)
                found = None
        elif changed:
            found = None
    except NamespaceError as exc:
        fail_from_error(module, exc)
    result = {"changed": changed, "key": shown_key, "id": found}
    if module._diff:
        result["diff"] = {"before": {"key": shown_key, "present": existing is not None},
                          "after": {"key": shown_key, "present": want_present}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
