"""The kernel version that brings each feature the conformance kit relies on.

This is the kit's one copy of the table in properties.md ("Kernel versions"). The probe on the host
detects each feature by trying it (ENOSYS, EINVAL, ENOTTY, a missing /proc file) and reports it by
key; this table turns a key into words and a version for SKIP reasons and for the compatibility
report. Distributions backport, so the version is documentation, never the test.
"""

from typing import Dict, NamedTuple


class KernelFeature(NamedTuple):
    title: str
    first_kernel: str


FEATURES: Dict[str, KernelFeature] = {
    "mnt_ns": KernelFeature("mount namespaces", "2.4.19"),
    "uts_ns": KernelFeature("UTS namespaces", "2.6.19"),
    "ipc_ns": KernelFeature("IPC namespaces", "2.6.19"),
    "pid_ns": KernelFeature("PID namespaces", "2.6.24"),
    "net_ns": KernelFeature("network namespaces", "2.6.29"),
    "mqueue_ns": KernelFeature("POSIX message queues per IPC namespace", "2.6.30"),
    "setns": KernelFeature("setns() and /proc/PID/ns/{ipc,net,uts}", "3.0"),
    "uid_map": KernelFeature("uid_map/gid_map", "3.5"),
    "user_ns": KernelFeature("user namespaces (usable unprivileged) and mnt/pid/user ns files", "3.8"),
    "setgroups": KernelFeature("/proc/PID/setgroups", "3.19"),
    "nspid": KernelFeature("NSpid in /proc/PID/status", "4.1"),
    "cgroup_ns": KernelFeature("cgroup namespaces", "4.6"),
    "max_namespaces": KernelFeature("user.max_*_namespaces sysctls", "4.9"),
    "ns_get_userns": KernelFeature("NS_GET_USERNS/NS_GET_PARENT ioctls", "4.9"),
    "ns_get_nstype": KernelFeature("NS_GET_NSTYPE/NS_GET_OWNER_UID ioctls", "4.11"),
    "pid_for_children": KernelFeature("/proc/PID/ns/pid_for_children", "4.12"),
    "clone3": KernelFeature("clone3()", "5.3"),
    "pidfd_open": KernelFeature("pidfd_open()", "5.3"),
    "time_ns": KernelFeature("time namespaces", "5.6"),
    "setns_pidfd": KernelFeature("setns() with a pidfd", "5.8"),
    "setns_time": KernelFeature("setns(CLONE_NEWTIME)", "5.8"),
    "mount_setattr": KernelFeature("mount_setattr(), idmapped mounts", "5.12"),
    "listmount": KernelFeature("listmount()/statmount()", "6.8"),
    "ns_get_id": KernelFeature("NS_GET_ID ioctl, namespace file handles", "6.18"),
}


def skip_reason(reason: str, feature: str) -> str:
    """A SKIP reason that names the missing feature and the kernel that brings it."""
    known = FEATURES[feature]
    return "%s: needs %s (Linux %s+)" % (reason, known.title, known.first_kernel)
