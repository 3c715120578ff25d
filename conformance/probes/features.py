"""What the probe reports about the host itself: which kernel features work here, and its facts."""

import ctypes
import errno
import os
import platform

from conformance.probes.lib.child import in_child
from conformance.probes.lib.errors import ProbeError, Skip
from conformance.probes.lib.observe import at_initial_user_ns, pid_ns_level, read_text, run, status_field, uname_names
from conformance.probes.lib.subjects import supported_types
from conformance.probes.lib.syscalls import (
    CLONE_NEWTIME, CLONE_NEWUTS, MQUEUE, NS_GET_ID, NS_GET_NSTYPE, NS_GET_PARENT, NS_GET_USERNS, NS_TYPES,
    SYS_CLONE3, SYS_LISTMOUNT, SYS_MOUNT_SETATTR, ns_ioctl, outcome, pidfd_open, raw_syscall, setns)


def _syscall_exists(number, *args):
    try:
        raw_syscall(number, *args)
    except OSError as exc:
        return exc.errno != errno.ENOSYS
    return True


def _ioctl_exists(path, request):
    fd = os.open(path, os.O_RDONLY)
    try:
        result = ns_ioctl(fd, request)
        if request in (NS_GET_USERNS, NS_GET_PARENT):
            os.close(result)
        return True
    except OSError as exc:
        return exc.errno != errno.ENOTTY
    finally:
        os.close(fd)


def _setns_pidfd_works():
    def attempt():
        fd = pidfd_open(os.getpid())
        return outcome(setns, fd, CLONE_NEWUTS) == "OK"
    try:
        return in_child(attempt)
    except ProbeError:
        return False


def _mqueue_works(probe_run):
    if MQUEUE.lib is None:
        return False
    return outcome(MQUEUE.open, probe_run.mq_name("probe-absent")) != "ENOSYS"


def features(probe_run):
    """Each feature of kernel_features.FEATURES, detected by trying it."""
    found = dict((NS_TYPES[t][2], os.path.exists("/proc/self/ns/" + t)) for t in NS_TYPES)
    found.update({
        "mqueue_ns": _mqueue_works(probe_run),
        "setns": outcome(setns, -1, 0) != "ENOSYS",
        "uid_map": os.path.exists("/proc/self/uid_map"),
        "setgroups": os.path.exists("/proc/self/setgroups"),
        "nspid": bool(status_field("self", "NSpid")),
        "max_namespaces": os.path.exists("/proc/sys/user/max_uts_namespaces"),
        "ns_get_userns": _ioctl_exists("/proc/self/ns/uts", NS_GET_USERNS),
        "ns_get_nstype": _ioctl_exists("/proc/self/ns/uts", NS_GET_NSTYPE),
        "pid_for_children": os.path.exists("/proc/self/ns/pid_for_children"),
        "clone3": _syscall_exists(SYS_CLONE3, None, ctypes.c_size_t(0)),
        "pidfd_open": outcome(lambda: os.close(pidfd_open(os.getpid()))) != "ENOSYS",
        "mount_setattr": _syscall_exists(SYS_MOUNT_SETATTR, ctypes.c_int(-1), None, ctypes.c_uint(0),
                                         None, ctypes.c_size_t(0)),
        "listmount": _syscall_exists(SYS_LISTMOUNT, None, None, ctypes.c_size_t(0), ctypes.c_uint(0)),
        "ns_get_id": _ioctl_exists("/proc/self/ns/uts", NS_GET_ID),
    })
    found["setns_pidfd"] = found["pidfd_open"] and _setns_pidfd_works()
    found["setns_time"] = found["time_ns"] and in_child(
        lambda: outcome(setns, os.open("/proc/self/ns/time", os.O_RDONLY), CLONE_NEWTIME) == "OK")
    return found


def _os_release():
    fields = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.exists(path):
            for line in read_text(path).splitlines():
                if "=" in line:
                    key, value = line.split("=", 1)
                    fields[key] = value.strip().strip('"')
            break
    return {"id": fields.get("ID"), "version_id": fields.get("VERSION_ID"), "pretty_name": fields.get("PRETTY_NAME")}


def _first_line(argv):
    try:
        return run(argv, check=False).splitlines()[0]
    except (Skip, IndexError):
        return None


def facts():
    return {"kernel": platform.release(), "kernel_version": platform.version(), "machine": platform.machine(),
            "distribution": _os_release(), "python": platform.python_version(), "euid": os.geteuid(),
            "hostname": uname_names()["hostname"], "util_linux": _first_line(["unshare", "--version"]),
            "iproute2": _first_line(["ip", "-V"]), "namespace_types": supported_types(),
            "pid_ns_level": pid_ns_level(), "at_initial_user_ns": at_initial_user_ns()}
