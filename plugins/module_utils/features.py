# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of namespace-related kernel features and the first mainline release that has each.

The namespace types themselves are in nstypes.py. Versions follow the property catalogue's
"Kernel versions" table; a version is what the report shows beside a probe's result, never a
substitute for the probe (distributions backport).
"""

from __future__ import annotations

import re
from typing import Dict, NamedTuple, Optional, Tuple


class KernelFeature(NamedTuple):
    name: str  # the key in ansible_facts.linux_namespaces.features
    title: str
    first_kernel: str


KERNEL_FEATURES: Tuple[KernelFeature, ...] = (
    KernelFeature("pid_for_children", "/proc/PID/ns/pid_for_children", "4.12"),
    KernelFeature("time_for_children", "/proc/PID/ns/time_for_children", "5.6"),
    KernelFeature("ns_get_userns", "ioctl NS_GET_USERNS", "4.9"),
    KernelFeature("ns_get_parent", "ioctl NS_GET_PARENT", "4.9"),
    KernelFeature("ns_get_nstype", "ioctl NS_GET_NSTYPE", "4.11"),
    KernelFeature("ns_get_owner_uid", "ioctl NS_GET_OWNER_UID", "4.11"),
    KernelFeature("ns_get_id", "ioctl NS_GET_ID", "6.18"),
    KernelFeature("pidfd_open", "pidfd_open()", "5.3"),
    KernelFeature("clone3", "clone3()", "5.3"),
    KernelFeature("setns_pidfd", "setns() with a pidfd", "5.8"),
    KernelFeature("mount_setattr", "mount_setattr()", "5.12"),
    KernelFeature("idmapped_mounts", "idmapped mounts (MOUNT_ATTR_IDMAP)", "5.12"),
    KernelFeature("listmount", "listmount()", "6.8"),
    KernelFeature("statmount", "statmount()", "6.8"),
    # cgroup v2 left "experimental" in 4.5; the catalogue has no row for it.
    KernelFeature("cgroup_v2", "cgroup v2 hierarchy", "4.5"),
)

FEATURES_BY_NAME: Dict[str, KernelFeature] = {f.name: f for f in KERNEL_FEATURES}

# The user.max_*_namespaces sysctls appeared in 4.9.
MAX_NAMESPACES_SYSCTLS_KERNEL = "4.9"


def version_tuple(release: str) -> Optional[Tuple[int, ...]]:
    """(major, minor, patch) of a kernel release such as '6.18.44-fc-v669' or '5.6'; None if unparsable."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", release)
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def release_has(release: str, first_kernel: str) -> Optional[bool]:
    """Whether a mainline release at least first_kernel; None when the release cannot be read."""
    running = version_tuple(release)
    wanted = version_tuple(first_kernel)
    if running is None or wanted is None:
        return None
    return running >= wanted
