#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: namespace_info
short_description: List the namespaces of a host, the persisted ones lsns misses, and the health of named sets
version_added: "1.0.0"
description:
  - Lists every namespace of the host that the module can see, with what C(lsns) shows (type, inode,
    number of processes, lowest PID and its command) and what it misses.
  - Finds namespaces that no process is in but that are pinned by an nsfs bind mount (C(lsns) 2.38 does
    not list them), and namespaces pinned only as the owner or parent of another namespace.
  - For each namespace, gives every nsfs bind mount that pins it and the name of the set of this collection
    or the C(/run/netns) entry it belongs to; with O(relations), also the owning user namespace and the
    owner's uid (C(NS_GET_USERNS), C(NS_GET_OWNER_UID)), the parent of PID and user namespaces
    (C(NS_GET_PARENT)) and the netnsid of network namespaces (rtnetlink C(RTM_GETNSID)).
  - Checks each named set of the store made by M(linux.namespaces.namespace) (holder alive and PID 1 of
    its namespace, each file still a bind mount of the recorded namespace) and reports leaks.
  - Reads C(/proc) once and C(/proc/self/mountinfo) once. Processes whose namespaces cannot be read
    (permission denied, exited during the walk, zombies) are counted in RV(unreadable_processes) and
    skipped.
  - Only reads. It creates, enters and changes nothing, also outside check mode.
extends_documentation_fragment:
  - linux.namespaces.store
author:
  - linux.namespaces maintainers (@linux-namespaces)
options:
  type:
    description:
      - Only namespaces of these types.
    type: list
    elements: str
    choices: [mnt, uts, ipc, pid, net, user, cgroup, time]
  pid:
    description:
      - Only the namespaces of this process (or thread).
      - The module fails when the process does not exist or its namespaces cannot be read.
    type: int
  name:
    description:
      - Only the namespaces, sets and leaks of this name, a set of the store or a C(/run/netns) entry.
    type: str
  tree:
    description:
      - Also return RV(tree), the namespaces nested like C(lsns --tree).
      - C(owner) nests each namespace under its owning user namespace, C(parent) nests PID and user
        namespaces under their parent.
      - The tree is made of the namespaces listed, so with O(type) filtering out C(user), an C(owner)
        tree is flat.
    type: str
    choices: [owner, parent]
  relations:
    description:
      - Also return, for each namespace, RV(namespaces[].owner), RV(namespaces[].owner_uid),
        RV(namespaces[].owner_user), RV(namespaces[].parent) and RV(namespaces[].netnsid).
      - They cost opening every namespace and one or two ioctls on it, which is most of the time the
        listing takes on a host with many persisted namespaces; so they are asked for, as C(lsns) asks for
        its C(ONS) and C(PNS) columns.
      - O(tree) needs them and turns them on.
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check_mode and return the same listing; it never changes anything.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  platform:
    description: Linux only (procfs, nsfs, rtnetlink).
    support: full
    platforms: linux
notes:
  - Run as root to see every process; an unprivileged user sees only its own processes' namespaces.
  - Bind mounts are read from the mount namespace the module runs in; mounts made only in other mount
    namespaces are not seen.
  - The netnsid is the id the module's own network namespace has given the other one; C(null) when none
    is assigned (C(lsns) shows C(unassigned)) or when it cannot be asked. Asking never assigns one.
seealso:
  - module: linux.namespaces.namespace
  - name: lsns(8)
    description: The util-linux tool this module compares with.
    link: https://man7.org/linux/man-pages/man8/lsns.8.html
"""

EXAMPLES = r"""
- name: List every namespace of the host
  linux.namespaces.namespace_info:
  register: found

- name: Show the namespaces that no process is in (persisted by a bind mount)
  ansible.builtin.debug:
    msg: "{{ found.namespaces | selectattr('nprocs', 'equalto', 0) | list }}"

- name: The network namespaces of one set, with its health
  linux.namespaces.namespace_info:
    name: web
    type: [net]
  register: web

- name: Fail when a set of the store is broken or leaks
  ansible.builtin.assert:
    that:
      - found.sets | rejectattr('healthy') | list | length == 0
      - found.leaks | length == 0
    fail_msg: "{{ found.sets | rejectattr('healthy') | map(attribute='problems') | list }} {{ found.leaks }}"

- name: Each namespace with its owning user namespace, the owner's uid, its parent and netnsid
  linux.namespaces.namespace_info:
    relations: true
  register: related

- name: The user namespace tree, as lsns --tree=owner
  linux.namespaces.namespace_info:
    tree: owner
  register: by_owner

- name: The namespaces of one process
  linux.namespaces.namespace_info:
    pid: "{{ some_pid }}"
"""

RETURN = r"""
namespaces:
  description: The namespaces found, sorted by inode.
  returned: always
  type: list
  elements: dict
  contains:
    type:
      description: The namespace type.
      type: str
      sample: net
    inode:
      description: The inode of the namespace on nsfs, its identity (what C(lsns) calls NS).
      type: int
      sample: 4026532281
    path:
      description: A path to open or enter the namespace, a bind mount if there is one, else C(/proc/PID/ns/TYPE).
      type: str
      sample: /run/linux-namespaces/web/net
    nprocs:
      description: The number of processes in the namespace; 0 for one pinned only by a mount or a child.
      type: int
      sample: 3
    pid:
      description: The lowest PID in the namespace; null when no process is in it.
      type: int
      sample: 1234
    command:
      description: The command line of that process (its name for kernel threads).
      type: str
      sample: sleep infinity
    uid:
      description: The uid of that process, as C(lsns) shows it.
      type: int
      sample: 0
    user:
      description: The user name of that uid.
      type: str
      sample: root
    owner_uid:
      description: The uid that owns the namespace (the owner of its user namespace), by C(NS_GET_OWNER_UID).
      returned: when O(relations) is true or O(tree) is set
      type: int
      sample: 0
    owner_user:
      description: The user name of RV(namespaces[].owner_uid).
      returned: when O(relations) is true or O(tree) is set
      type: str
      sample: root
    owner:
      description: The inode of the owning user namespace (C(NS_GET_USERNS)); for a user namespace, its
        parent; null for the initial user namespace.
      returned: when O(relations) is true or O(tree) is set
      type: int
      sample: 4026531837
    parent:
      description: The inode of the parent PID or user namespace (C(NS_GET_PARENT)); null for other types
        and at the root.
      returned: when O(relations) is true or O(tree) is set
      type: int
      sample: 4026531836
    netnsid:
      description: For network namespaces, the id the module's network namespace has for it; null when
        unassigned or not a network namespace.
      returned: when O(relations) is true or O(tree) is set
      type: int
      sample: 0
    mounts:
      description: Every nsfs bind mount that pins the namespace.
      type: list
      elements: str
      sample: [/run/linux-namespaces/web/net, /run/netns/web]
    set:
      description: The name of the set of the store the namespace belongs to, or null.
      type: str
      sample: web
    netns_name:
      description: The C(/run/netns) name of a network namespace (as C(ip netns) shows it), or null.
      type: str
      sample: web
sets:
  description: The sets of the store, each with its health.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The set name.
      type: str
      sample: web
    path:
      description: The directory of the set in the store.
      type: str
      sample: /run/linux-namespaces/web
    status:
      description: C(ready), or C(creating) for a set a run did not finish.
      type: str
      sample: ready
    types:
      description: The namespace types of the set.
      type: list
      elements: str
      sample: [mnt, uts, ipc, pid, net]
    namespaces:
      description: Per type, the recorded inode and the file that should pin it.
      type: dict
      sample: {"uts": {"inode": 4026532281, "path": /run/linux-namespaces/web/uts}}
    holder_pid:
      description: The PID of the set's holder (PID 1 of its PID namespace), or null.
      type: int
      sample: 1234
    holder_alive:
      description: Whether the holder lives in the recorded PID namespace; null for a set without a PID namespace.
      type: bool
      sample: true
    healthy:
      description: True when RV(sets[].problems) is empty.
      type: bool
      sample: true
    problems:
      description: What is wrong with the set, in plain words.
      type: list
      elements: str
      sample: ["/run/linux-namespaces/web/uts is no longer a bind mount of the recorded uts namespace"]
    netns_link:
      description: The C(/run/netns) path that publishes the set's network namespace, or null.
      type: str
      sample: /run/netns/web
    hostname:
      description: The hostname the set was made or last changed with (recorded, not read from inside).
      type: str
      sample: web1
    domainname:
      description: The recorded domain name.
      type: str
    loopback:
      description: The recorded state of C(lo).
      type: bool
    mount_proc:
      description: Whether the set has its own C(/proc).
      type: bool
    mount_sysfs:
      description: Whether the set has its own C(/sys).
      type: bool
    propagation:
      description: The mount propagation the set was made with.
      type: str
    uid_map:
      description: The uid map of the set's user namespace.
      type: list
      elements: str
    gid_map:
      description: The gid map of the set's user namespace.
      type: list
      elements: str
    created:
      description: When the set was made (ISO 8601, UTC).
      type: str
      sample: "2026-11-28T23:48:00Z"
leaks:
  description:
    - Things that pin or claim namespaces but belong to no healthy record.
    - C(state_without_mounts) is a state file none of whose namespace files is a mount any more;
      C(mount_without_state) an nsfs mount in the store that no state file records;
      C(netns_not_mounted) a C(/run/netns) entry that is a plain file, not an nsfs mount.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: One of C(state_without_mounts), C(mount_without_state), C(netns_not_mounted).
      type: str
      sample: mount_without_state
    path:
      description: The leaked file.
      type: str
      sample: /run/linux-namespaces/old/uts
    name:
      description: The set or C(/run/netns) name the leak belongs to, or null.
      type: str
      sample: old
    type:
      description: The namespace type a leaked mount pins, else null.
      type: str
      sample: uts
    inode:
      description: The inode of the namespace a leaked mount pins, else null.
      type: int
      sample: 4026532290
unreadable_processes:
  description: The number of processes skipped because their namespaces could not be read (permission
    denied, exited during the walk, zombies).
  returned: always
  type: int
  sample: 1
tree:
  description: The namespaces nested by owner or parent, like C(lsns --tree). A namespace whose owner or
    parent is not in RV(namespaces) is at the top.
  returned: when O(tree) is set
  type: list
  elements: dict
  sample: [{"inode": 4026531837, "type": "user", "children": [{"inode": 4026531833, "type": "net", "children": []}]}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.inspect import TREE_KEYS, inspect_host
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPE_NAMES
from ansible_collections.linux.namespaces.plugins.module_utils._module import fail_from_error, store_argument_spec


def main():
    module = AnsibleModule(
        argument_spec=dict(
            type=dict(type="list", elements="str", choices=list(TYPE_NAMES)),
            pid=dict(type="int"),
            name=dict(type="str"),
            tree=dict(type="str", choices=list(TREE_KEYS)),
            relations=dict(type="bool", default=False),
            **store_argument_spec()
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        found = inspect_host(store_root=params["store"], types=params["type"], pid=params["pid"],
                             name=params["name"], tree=params["tree"], relations=params["relations"])
    except NamespaceError as exc:
        fail_from_error(module, exc, "cannot list namespaces")
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot list namespaces: %s" % exc)
    module.exit_json(changed=False, **found)


if __name__ == "__main__":
    main()
