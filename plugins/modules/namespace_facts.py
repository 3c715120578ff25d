#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: namespace_facts
short_description: Audit what the host's kernel can do with Linux namespaces
version_added: "0.1.0"
description:
  - Sets C(ansible_facts.linux_namespaces), with the kernel release and, for each of the eight namespace types whether it is
    present in C(/proc/self/ns), whether it can be created, its first kernel version, its kernel config option,
    its C(user.max_TYPE_namespaces) limit and how many namespaces of the type are in use.
  - Probes kernel features instead of guessing them from the version (distributions backport), namely
    C(pid_for_children), C(time_for_children), the C(NS_GET_*) ioctls including C(NS_GET_ID), C(pidfd_open),
    C(clone3), C(setns) with a pidfd, C(mount_setattr), idmapped mounts, C(listmount), C(statmount) and
    the cgroup v2 layout.
  - Reports the policy gates of unprivileged user namespaces (C(user.max_user_namespaces),
    C(kernel.unprivileged_userns_clone), C(kernel.apparmor_restrict_unprivileged_userns)) and probes them as an
    unprivileged user, who creates a user namespace and then tries a privileged operation inside it (a new UTS
    namespace and C(sethostname)); on Ubuntu 24.04 creation succeeds but the capabilities are denied.
  - Reads the kernel config (C(CONFIG_NAMESPACES), C(CONFIG_*_NS)) from C(/proc/config.gz) or
    C(/boot/config-RELEASE) when readable, and lists every disagreement between config, runtime presence,
    policy, probes and kernel version with its meaning.
  - Concludes whether the host can run the collection's C(isolate.yml) and, if not, why.
  - Every probe runs in a forked child process, so the module's own namespaces and credentials never change, and
    what a probe creates (short-lived namespaces, a detached mount) dies with that child. The host's hostname,
    mounts and network are never changed, so check mode runs the same probes.
  - One module call gathers everything; it needs no other module and no gathered facts.
author:
  - linux.namespaces maintainers (@linux-namespaces)
options:
  unprivileged_uid:
    description:
      - The user the unprivileged user namespace probe switches to when the module runs as root.
      - When the module does not run as root, the probe runs as the module's own user instead.
    type: int
    default: 65534
  unprivileged_gid:
    description:
      - The group of the unprivileged probe, as O(unprivileged_uid).
    type: int
    default: 65534
attributes:
  check_mode:
    support: full
    description: The module changes nothing on the host; check mode runs the same probes.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show a difference for.
  facts:
    support: full
    description: Sets C(ansible_facts.linux_namespaces).
  platform:
    support: full
    platforms: linux
    description: Linux only.
notes:
  - Run it as root (with C(become)) for a full audit; as another user, creating most namespace types is denied
    and the isolate.yml verdict is C(unknown).
  - C(in_use) counts the distinct namespaces of a type that at least one readable process is a member of. The
    kernel keeps the count that C(user.max_TYPE_namespaces) is checked against per user and per user namespace,
    with no C(/proc) interface, and it also counts namespaces pinned only by bind mounts or open descriptors.
  - Each verdict is C(pass), C(fail) (the kernel here lacks it, or refuses it) or C(unknown) (the probe could not
    tell, for example because it was denied), always with a C(reason).
seealso:
  - name: namespaces(7)
    description: Overview of Linux namespaces.
    link: https://man7.org/linux/man-pages/man7/namespaces.7.html
"""

EXAMPLES = r"""
- name: Audit the kernel's namespace support
  linux.namespaces.namespace_facts:
  become: true

- name: Stop unless this host can run isolate.yml
  ansible.builtin.assert:
    that: ansible_facts.linux_namespaces.isolate.status == 'pass'
    fail_msg: "{{ ansible_facts.linux_namespaces.isolate.reason }}"

- name: Probe unprivileged user namespaces as uid 1000
  linux.namespaces.namespace_facts:
    unprivileged_uid: 1000
    unprivileged_gid: 1000
  become: true
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    linux_namespaces:
      description: The kernel capability audit.
      returned: always
      type: dict
      contains:
        kernel:
          description: C(release), C(version) and C(machine) from uname.
          returned: always
          type: dict
          sample: {"release": "6.18.44", "version": "#1 SMP PREEMPT_DYNAMIC", "machine": "x86_64"}
        probed_as:
          description: The uid the probes ran as, and whether it is root.
          returned: always
          type: dict
          sample: {"uid": 0, "root": true}
        kernel_config:
          description:
            - C(source) is the config file read, or null when none is readable.
            - C(options) maps C(CONFIG_NAMESPACES) and each type's option to C(y), C(m), C(n), C(absent) (not in
              the file) or C(unknown) (no config readable).
          returned: always
          type: dict
          sample: {"source": "/proc/config.gz", "options": {"CONFIG_NAMESPACES": "y", "CONFIG_TIME_NS": "y"}}
        types:
          description:
            - One entry per namespace type (mnt, uts, ipc, pid, net, user, cgroup, time).
            - C(present) (the C(/proc/self/ns) file exists), C(creatable) (a verdict from a real C(unshare) in a
              child, which forks once more for pid and time), C(first_kernel), C(kernel_config) (the option
              name), C(config) (its value, or C(builtin) for mnt), C(max_sysctl), C(max) (its value, null when
              absent) and C(in_use).
          returned: always
          type: dict
          sample:
            uts:
              present: true
              creatable: {"status": "pass", "reason": "unshare(CLONE_NEWUTS) succeeded and the caller is in a new uts namespace"}
              first_kernel: "2.6.19"
              kernel_config: CONFIG_UTS_NS
              config: "y"
              max_sysctl: user.max_uts_namespaces
              max: 96365
              in_use: 1
        in_use_note:
          description: What C(in_use) counts.
          returned: always
          type: str
        features:
          description: One verdict per probed feature, with its C(first_kernel); C(cgroup_v2) adds C(layout)
            (C(unified), C(hybrid), C(legacy) or C(none)), C(mount_point) and C(controllers).
          returned: always
          type: dict
          sample:
            clone3: {"status": "pass", "reason": "clone3() made a child that ran and was reaped", "first_kernel": "5.3"}
        userns_policy:
          description:
            - C(sysctls) (the three gates, null where absent), C(closed_gates), C(probe_uid), and the verdicts
              C(create), C(privileged_operation) and C(unprivileged) (both worked).
          returned: always
          type: dict
        disagreements:
          description:
            - Each place where two sources disagree. C(subject) (a type, feature or policy), C(between) (two of
              config, runtime, policy, probe, version), C(observed) and C(meaning).
          returned: always
          type: list
          elements: dict
          sample:
            - subject: user
              between: [config, policy]
              observed: CONFIG_USER_NS is y but user.max_user_namespaces is 0
              meaning: the kernel has user namespaces but the sysctl forbids creating any
        isolate:
          description: Whether isolate.yml can run here (C(status), C(reason)), and C(blockers), what stops it.
          returned: always
          type: dict
          sample: {"status": "pass", "reason": "root can create mnt, uts, ipc, pid, net namespaces and pidfd_open() works",
                   "blockers": []}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.linux.namespaces.plugins.module_utils._module import fail_from_error
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.facts import gather
from ansible_collections.linux.namespaces.plugins.module_utils.facts_analysis import readiness
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import DEFAULT_SET_TYPES
from ansible_collections.linux.namespaces.plugins.module_utils.userns_policy import NOBODY

# What isolate.yml needs: its set's five types, and pidfd_open, by which a set's holder is stopped.
ISOLATE_TYPES = DEFAULT_SET_TYPES
ISOLATE_FEATURES = ("pidfd_open",)


def isolate_verdict(facts):
    """Whether the collection's isolate.yml can run on the host the facts describe."""
    return readiness(facts, "isolate.yml", ISOLATE_TYPES, ISOLATE_FEATURES)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "unprivileged_uid": {"type": "int", "default": NOBODY},
            "unprivileged_gid": {"type": "int", "default": NOBODY},
        },
        supports_check_mode=True,
    )
    try:
        facts = gather(module.params["unprivileged_uid"], module.params["unprivileged_gid"])
    except NamespaceError as exc:
        fail_from_error(module, exc, "namespace audit failed")
    except OSError as exc:
        module.fail_json(msg="namespace audit failed: %s" % exc)
    facts["isolate"] = isolate_verdict(facts)
    module.exit_json(changed=False, ansible_facts={"linux_namespaces": facts})


if __name__ == "__main__":
    main()
