"""The kernel features each property relies on (keys of kernel_features.FEATURES), for the report.

The compatibility report shows, beside each property's row, the documented first kernel of what the
property needs; a SKIP on a host names the feature it found missing (results[].feature). The probe
detects features by trying them; this table only documents them. tests/unit/conformance checks that
every feature a probe can SKIP on is listed for its property.
"""

from typing import Dict, Tuple

# The /proc/PID/ns files of every type: ipc, net, uts came with setns() (3.0), mnt, pid, user in 3.8.
NS_FILES = ("setns", "user_ns")

PROPERTY_FEATURES: Dict[str, Tuple[str, ...]] = {
    "S1": NS_FILES,
    "S2": ("uts_ns",),
    "S3": ("ipc_ns",),
    "S4": ("pid_ns", "nspid"),
    "S5": ("pid_ns",),
    "S6": ("mnt_ns", "pid_ns"),
    "S7": ("mnt_ns", "uts_ns", "ipc_ns", "pid_ns", "net_ns", "user_ns"),
    "S8": ("mnt_ns", "uts_ns", "ipc_ns", "pid_ns", "net_ns", "setns"),
    "G1": NS_FILES,
    "G2": NS_FILES,
    "G3": ("setns", "uts_ns", "ipc_ns"),
    "G4": ("setns", "uts_ns", "ipc_ns"),
    "G5": ("pidfd_open", "setns_pidfd"),
    "G6": ("mnt_ns", "user_ns", "ns_get_userns"),
    "G7": ("max_namespaces",),
    "G8": ("ns_get_userns", "ns_get_nstype"),
    "UTS1": ("uts_ns",),
    "UTS2": ("uts_ns", "setns"),
    "UTS3": ("uts_ns",),
    "UTS4": ("uts_ns", "user_ns"),
    "IPC1": ("ipc_ns", "setns"),
    "IPC2": ("ipc_ns",),
    "IPC3": ("ipc_ns", "mqueue_ns"),
    "IPC4": ("ipc_ns", "setns"),
    "IPC5": ("ipc_ns", "setns"),
    "IPC6": ("ipc_ns", "mqueue_ns", "user_ns"),
    "PID1": ("pid_ns",),
    "PID2": ("pid_ns", "pid_for_children"),
    "PID3": ("pid_ns", "mnt_ns"),
    "PID4": ("pid_ns",),
    "PID5": ("pid_ns",),
    "PID6": ("pid_ns",),
    "PID7": ("pid_ns",),
    "PID8": ("pid_ns",),
    "PID9": ("pid_ns", "nspid"),
    "PID10": ("pid_ns", "nspid"),
    "MNT1": ("mnt_ns",),
    "MNT2": ("mnt_ns", "setns"),
    "MNT3": ("mnt_ns", "user_ns"),
    "MNT4": ("mnt_ns", "pid_ns"),
    "NET1": ("net_ns",),
    "NET2": ("net_ns", "setns"),
    "NET3": ("net_ns", "setns"),
    "NET4": ("net_ns",),
    "NET5": ("net_ns",),
    "USER1": ("user_ns",),
    "USER2": ("user_ns",),
    "USER3": ("user_ns", "uid_map"),
    "USER4": ("user_ns", "setgroups"),
    "USER5": ("user_ns", "ns_get_userns"),
    "USER6": ("user_ns",),
    "USER7": ("user_ns", "max_namespaces"),
    "CG1": ("cgroup_ns",),
    "CG2": ("cgroup_ns",),
    "CG3": ("cgroup_ns", "setns"),
    "TIME1": ("time_ns",),
    "TIME2": ("time_ns",),
    "TIME3": ("time_ns",),
    "TIME4": ("time_ns", "setns_time"),
}
