#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: namespace
short_description: Manage a named, persistent set of Linux namespaces
version_added: "0.1.0"
description:
  - Creates, converges or removes a named set of namespaces of any of the eight Linux types (mnt, uts, ipc,
    pid, net, user, cgroup, time) on the target host, as C(ip netns add) does for network namespaces.
  - Each set lives in a store, a private tmpfs, as one nsfs bind mount per type plus a state file, so it
    outlives the task and can be entered later (M(linux.namespaces.nsenter), the
    C(linux.namespaces.nsenter) become plugin, or util-linux C(nsenter --TYPE=FILE)).
  - A set with a PID namespace has a holder, a small init that is PID 1 inside, member of all the set's
    namespaces, that reaps orphans until the set is removed.
  - Options that can change in place (O(hostname), O(domainname), O(loopback), O(netns_link)) converge; any
    other difference from the existing set fails and names the option, since changing it needs
    O(state=absent) first. A healthy set is never recreated.
  - Runs on one store are serialized by a lock. A broken set (half-made or half-removed by an interrupted
    run, its holder dead, or its namespace files no longer mounted) is removed and made again
    (state=present, with a warning) or removed (state=absent).
  - Uses only the Python standard library and ctypes on the target; needs root, or makes a rootless set.
  - Rootless sets. An ordinary user, where the kernel allows unprivileged user namespaces, makes a set whose
    O(types) include V(user); its user namespace maps the user to root inside (C(unshare --map-root-user)),
    with O(setgroups) always V(deny) (the kernel requires it) and no C(/run/netns) link (O(netns_link) is
    ignored). The set lives in the user's own store (see O(store)) and is held by its holder, which is
    always started and owned by the user. Where the kernel refuses (a policy sysctl such as
    C(user.max_user_namespaces) or C(kernel.unprivileged_userns_clone)), the task fails naming it, in check
    mode too, and leaves nothing behind.
author:
  - linux.namespaces maintainers (@linux-namespaces)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - linux.namespaces.attributes
  - linux.namespaces.store
options:
  name:
    description:
      - Name of the set. 1 to 64 letters, digits, V(.), V(_) or V(-); not V(.) or V(..).
    type: str
    required: true
  state:
    description:
      - V(present) creates the set or converges its live options; V(absent) removes it and everything it had.
    type: str
    choices: [present, absent]
    default: present
  types:
    description:
      - Namespace types of the set.
    type: list
    elements: str
    choices: [mnt, uts, ipc, pid, net, user, cgroup, time]
    default: [mnt, uts, ipc, pid, net]
  hostname:
    description:
      - Host name inside the set's UTS namespace. Needs V(uts) in O(types). Unmanaged when omitted.
    type: str
  domainname:
    description:
      - NIS domain name inside the set's UTS namespace. Needs V(uts) in O(types). Unmanaged when omitted.
    type: str
  uid_map:
    description:
      - Lines C(INSIDE OUTSIDE COUNT) written to the new user namespace's C(uid_map). Needs V(user).
      - Defaults to mapping root inside to the caller's uid outside, as C(unshare --map-root-user) does.
    type: list
    elements: str
  gid_map:
    description:
      - Lines C(INSIDE OUTSIDE COUNT) written to the new user namespace's C(gid_map). Needs V(user).
      - Defaults to mapping group 0 inside to the caller's gid outside.
    type: list
    elements: str
  setgroups:
    description:
      - What the new user namespace's C(setgroups) file says, written before C(uid_map) and C(gid_map).
      - Always V(deny) in a rootless set (an ordinary user's).
    type: str
    choices: [allow, deny]
    default: allow
  monotonic_offset:
    description:
      - Seconds added to CLOCK_MONOTONIC inside the set's time namespace. Needs V(time).
    type: int
    default: 0
  boottime_offset:
    description:
      - Seconds added to CLOCK_BOOTTIME inside the set's time namespace. Needs V(time).
    type: int
    default: 0
  mount_proc:
    description:
      - Mount a /proc private to the set, showing only its PID namespace. Needs V(mnt) and V(pid).
      - The host's /proc is untouched; the set's old /proc is made private before the new one is mounted.
    type: bool
    default: false
  mount_sysfs:
    description:
      - Mount a /sys private to the set, showing the network devices of its network namespace (sysfs shows
        those of the namespace that mounts it), as C(ip netns exec) does for each command. Needs V(mnt) and
        V(net).
      - Without it, a set with its own network namespace still shows the host's devices under
        C(/sys/class/net), and programs that read them there (Ansible's fact gathering among them) report
        the host's interfaces.
      - The host's /sys is untouched; the set's old /sys is made private before the new one is mounted. The
        cgroup file systems under C(/sys/fs/cgroup) are attached again on the new /sys (from Linux 5.2,
        which has C(open_tree); before, they are hidden inside as with C(ip netns exec)); other file
        systems mounted under the host's /sys (debugfs, bpf...) are not visible inside.
    type: bool
    default: false
  propagation:
    description:
      - Propagation of every mount in the new mount namespace (C(mount --make-rprivate) and friends).
      - V(private) keeps mounts made inside from reaching the host. V(unchanged) keeps the host's.
    type: str
    choices: [private, slave, shared, unchanged]
    default: private
  loopback:
    description:
      - Bring C(lo) up in the set's network namespace (V(true)) or keep it down.
    type: bool
    default: true
  netns_link:
    description:
      - Also publish the network namespace at C(/run/netns/NAME), so C(ip netns exec NAME) works.
    type: bool
    default: true
notes:
  - The time namespace needs Linux 5.6; the cgroup namespace 4.6. See M(linux.namespaces.namespace_facts).
  - A mount namespace file can only be bind-mounted onto a private mount, which is why the store is a
    private tmpfs of its own.
seealso:
  - module: linux.namespaces.nsenter
  - module: linux.namespaces.namespace_info
  - name: namespaces(7)
    description: Overview of Linux namespaces.
    link: https://man7.org/linux/man-pages/man7/namespaces.7.html
"""

EXAMPLES = r"""
- name: An isolated environment like the demos of the seed tutorial (docs/SEED.md)
  linux.namespaces.namespace:
    name: isolated
    types: [mnt, uts, ipc, pid, net]
    hostname: container
    mount_proc: true
    mount_sysfs: true

- name: A user namespace mapping root inside to an unprivileged range outside
  linux.namespaces.namespace:
    name: mapped
    types: [user, mnt, uts, pid]
    uid_map: ["0 100000 65536"]
    gid_map: ["0 100000 65536"]
    mount_proc: true

- name: A time namespace whose monotonic clock runs a day ahead
  linux.namespaces.namespace:
    name: future
    types: [time, pid, mnt]
    monotonic_offset: 86400

- name: Remove a set, its holder and every process left in it
  linux.namespaces.namespace:
    name: isolated
    state: absent
"""

RETURN = r"""
set:
  description: The set after the task (as predicted in check mode, where inodes and holder are null for a new set).
  returned: state is present
  type: dict
  contains:
    name:
      description: The set's name.
      type: str
      sample: isolated
    path:
      description: Directory of the set in the store.
      type: str
      sample: /run/linux-namespaces/isolated
    types:
      description: Namespace types of the set.
      type: list
      elements: str
      sample: [mnt, uts, ipc, pid, net]
    namespaces:
      description: Per type, the namespace's inode and the nsfs file that holds it.
      type: dict
      sample: {"uts": {"inode": 4026532281, "path": "/run/linux-namespaces/isolated/uts"}}
    holder_pid:
      description: Host PID of the set's init (PID 1 inside); null without a PID namespace.
      type: int
      sample: 4242
    hostname:
      description: Host name inside the set.
      type: str
      sample: container
    domainname:
      description: NIS domain name inside the set.
      type: str
      sample: (none)
    loopback:
      description: Whether lo is up inside; null without a network namespace.
      type: bool
    netns_link:
      description: The /run/netns entry of the set's network namespace, or null.
      type: str
      sample: /run/netns/isolated
    mount_proc:
      description: Whether the set has its own /proc.
      type: bool
    mount_sysfs:
      description: Whether the set has its own /sys.
      type: bool
    propagation:
      description: Mount propagation applied in the set's mount namespace.
      type: str
    uid_map:
      description: The user namespace's uid map lines.
      type: list
      elements: str
    gid_map:
      description: The user namespace's gid map lines.
      type: list
      elements: str
    created:
      description: When the set was made (UTC, ISO 8601).
      type: str
recovered:
  description:
    - True when a broken set was found and removed, and made again with O(state=present). Broken means
      half-made or half-removed by an interrupted run, its holder dead, or its namespace files no longer mounted.
  returned: always
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.linux.namespaces.plugins.module_utils._module import (
    fail_from_error, set_diff, store_argument_spec)
from ansible_collections.linux.namespaces.plugins.module_utils.converge import converge, observe
from ansible_collections.linux.namespaces.plugins.module_utils.creating import check_can_create, create_set, remove_set
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import (
    DEFAULT_SET_TYPES, TYPE_NAMES, sorted_types)
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import (
    FIXED_OPTIONS, SetOptions, SetState, describe_options, describe_set, effective_options, validate_name,
    validate_options, validate_store_path)
from ansible_collections.linux.namespaces.plugins.module_utils.rootless import default_store, open_store


def options_from(params):
    return SetOptions(
        types=sorted_types(params["types"]),
        hostname=params["hostname"],
        domainname=params["domainname"],
        uid_map=tuple(params["uid_map"] or ()),
        gid_map=tuple(params["gid_map"] or ()),
        setgroups=params["setgroups"],
        monotonic_offset=params["monotonic_offset"],
        boottime_offset=params["boottime_offset"],
        mount_proc=params["mount_proc"],
        mount_sysfs=params["mount_sysfs"],
        propagation=params["propagation"],
        loopback=params["loopback"],
        netns_link=params["netns_link"],
    )


def predicted_live(options):
    """Live values a new set will have: its hostname is the host's unless given."""
    uname = os.uname()
    return {
        "hostname": options.hostname if options.hostname is not None else uname.nodename,
        "domainname": options.domainname if options.domainname is not None else _host_domainname(),
        "loopback": options.loopback,
        "netns_link": options.netns_link,
    }


def _host_domainname():
    with open("/proc/sys/kernel/domainname") as handle:
        return handle.read().strip()


def wanted_changes(options, live):
    """The live options that differ from what the task asks."""
    wanted = {}
    for key in ("hostname", "domainname"):
        requested = getattr(options, key)
        if requested is not None and live.get(key) != requested:
            wanted[key] = requested
    if "net" in options.types:
        for key in ("loopback", "netns_link"):
            if live.get(key) != getattr(options, key):
                wanted[key] = getattr(options, key)
    return wanted


class NamespaceModule:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = self.params["name"]
        self.store = open_store(self.params["store"])
        self.apply = not module.check_mode
        self.result = {"changed": False, "recovered": False}

    def run(self):
        if self.apply:
            # locked() checks the store directory itself, under the lock that serializes mounting it.
            with self.store.locked():
                try:
                    self._dispatch()
                finally:
                    self.store.unmount_if_empty()
        else:
            self.store.check_usable()
            self._dispatch()
        return self.result

    def _dispatch(self):
        existing = self.store.load(self.name)
        present = self.params["state"] == "present"
        problems = self.store.problems(existing) if existing is not None else []
        if problems and (present or existing.status != "ready"):
            self.result.update(changed=True, recovered=True)
            self.module.warn("set %s is broken (%s); it is %s"
                             % (self.name, "; ".join(problems), "made again" if present else "removed"))
            if self.apply:
                remove_set(self.store, self.name)
            existing = None
        if self.params["state"] == "absent":
            self._absent(existing)
        else:
            self._present(existing)

    def _absent(self, existing):
        if existing is None:
            set_diff(self.module, self.result, before={}, after={})
            return
        before = describe_options(self.name, existing.options, self._observe_if_healthy(existing))
        if self.apply:
            remove_set(self.store, self.name)
        self.result["changed"] = True
        set_diff(self.module, self.result, before=before, after={})

    def _observe_if_healthy(self, state):
        if self.store.problems(state):
            return {}
        return observe(state)

    def _present(self, existing):
        options = effective_options(options_from(self.params))
        if existing is None:
            live = predicted_live(options)
            self.result["changed"] = True
            if self.apply:
                state = create_set(self.store, self.name, options)
                live = observe(state)
                self.result["set"] = describe_set(state, live)
            else:
                if self.store.rootless:  # the kernel's user namespace policy decides: meet it as the run would
                    check_can_create(options)
                self.result["set"] = self._predicted_set(options, live)
            set_diff(self.module, self.result, before={}, after=describe_options(self.name, options, live))
            return
        for key in FIXED_OPTIONS:
            have, want = getattr(existing.options, key), getattr(options, key)
            if have != want:
                self.module.fail_json(
                    msg="option %s of set %s is %r but the task asks for %r; it cannot change in place: "
                        "remove the set with state=absent first" % (key, self.name, _shown(have), _shown(want)),
                    option=key)
        live = observe(existing)
        wanted = wanted_changes(options, live)
        after_live = dict(live, **wanted)
        state = existing
        if wanted:
            self.result["changed"] = True
            if self.apply:
                state = converge(self.store, existing, wanted)
                after_live = observe(state)
        self.result["set"] = describe_set(state, after_live)
        set_diff(self.module, self.result, before=describe_options(self.name, existing.options, live),
                 after=describe_options(self.name, existing.options, after_live))

    def _predicted_set(self, options, live):
        planned = SetState(name=self.name, path=self.store.set_path(self.name), status="creating", options=options,
                           inodes={}, holder_pid=None, created=None)
        return describe_set(planned, live)


def _shown(value):
    return list(value) if isinstance(value, tuple) else value


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            types=dict(type="list", elements="str", choices=list(TYPE_NAMES), default=list(DEFAULT_SET_TYPES)),
            hostname=dict(type="str"),
            domainname=dict(type="str"),
            uid_map=dict(type="list", elements="str"),
            gid_map=dict(type="list", elements="str"),
            setgroups=dict(type="str", choices=["allow", "deny"], default="allow"),
            monotonic_offset=dict(type="int", default=0),
            boottime_offset=dict(type="int", default=0),
            mount_proc=dict(type="bool", default=False),
            mount_sysfs=dict(type="bool", default=False),
            propagation=dict(type="str", choices=["private", "slave", "shared", "unchanged"], default="private"),
            loopback=dict(type="bool", default=True),
            netns_link=dict(type="bool", default=True),
            **store_argument_spec()
        ),
        supports_check_mode=True,
    )
    try:
        module.params["store"] = module.params["store"] or default_store()
    except NamespaceError as exc:
        fail_from_error(module, exc)
    try:
        validate_name(module.params["name"])
        validate_store_path(module.params["store"])
        if module.params["state"] == "present":
            validate_options(options_from(module.params))
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        result = NamespaceModule(module).run()
    except NamespaceError as exc:
        fail_from_error(module, exc)
    except OSError as exc:
        module.fail_json(msg="%s: %s" % (exc.filename or "namespace operation", exc.strerror or exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
