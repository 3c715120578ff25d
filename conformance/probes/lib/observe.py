"""Observers: reads of /proc and parsers of util-linux and iproute2 output, never the code under test."""

import os
import subprocess
import time

from conformance.probes.lib.errors import ProbeError, Skip
from conformance.probes.lib.syscalls import CLONE_NEWUSER, NS_TYPES, unshare


def ns_id(path, dir_fd=None):
    st = os.stat(path, dir_fd=dir_fd)
    return [st.st_dev, st.st_ino]


def self_ns(nstype):
    return ns_id("/proc/self/ns/" + nstype)


def ns_ids(pid="self"):
    ids = {}
    for name in sorted(os.listdir("/proc/%s/ns" % pid)):
        try:
            ids[name] = ns_id("/proc/%s/ns/%s" % (pid, name))
        except OSError:
            pass
    return ids


def read_text(path):
    with open(path) as handle:
        return handle.read()


def write_text(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def status_field(pid, field):
    for line in read_text("/proc/%s/status" % pid).splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].split()
    return None


def host_pids():
    return sorted(int(name) for name in os.listdir("/proc") if name.isdigit())


def namespace_holders(link):
    """What holds the namespace whose /proc/PID/ns link reads `link` (e.g. "ipc:[4026532001]"), as
    {"pid": P, "how": ...} for processes in it or with it open, and {"mount": POINT, "seen_by": P} for nsfs
    bind mounts of it (one mount table per mount namespace)."""
    found, mount_tables = [], {}
    for pid in host_pids():
        base = "/proc/%d" % pid
        try:
            if os.readlink(base + "/ns/" + link.split(":")[0]) == link:
                found.append({"pid": pid, "how": "is in it"})
            mount_tables.setdefault(os.readlink(base + "/ns/mnt"), pid)
            descriptors = os.listdir(base + "/fd")
        except OSError:
            continue  # the process ended meanwhile
        for fd in descriptors:
            try:
                if os.readlink("%s/fd/%s" % (base, fd)) == link:
                    found.append({"pid": pid, "how": "has it open (fd %s)" % fd})
            except OSError:
                pass
    for pid in mount_tables.values():
        try:
            table = mountinfo("/proc/%d/mountinfo" % pid)
        except OSError:
            continue
        found += [{"mount": m["point"], "seen_by": pid} for m in table if m["fstype"] == "nsfs" and m["root"] == link]
    return found


def ancestors(pid):
    """pid's parent, its parent, and so on up to PID 1."""
    found = []
    while pid > 1:
        pid = int(status_field(pid, "PPid")[0])
        found.append(pid)
    return found


def systemd_cgroup_dirs():
    """The probe's own cgroup directories in the hierarchies systemd-nspawn writes to: the unified one
    (cgroup2) and the named v1 hierarchy name=systemd, where mounted."""
    own = {}
    for line in read_text("/proc/self/cgroup").splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        own["cgroup2" if hierarchy == "0" else controllers] = path
    found = []
    for line in read_text("/proc/self/mountinfo").splitlines():
        fields, right = line.split(" - ", 1)
        fstype, _source, options = right.split()[:3]
        kind = "cgroup2" if fstype == "cgroup2" else "name=systemd" if "name=systemd" in options.split(",") else None
        # A hierarchy mounted from below its root (a cgroup namespace's view) does not show the own path.
        if kind in own and os.path.isdir(fields.split()[4] + own[kind]):
            found.append(fields.split()[4] + own[kind].rstrip("/"))
    return found


def children_of(pid):
    found = []
    for candidate in host_pids():
        try:
            if status_field(candidate, "PPid") == [str(pid)]:
                found.append(candidate)
        except OSError:
            pass
    return found


def pid_ns_members(pid_ns):
    """Host pid -> innermost pid of each process whose PID namespace is pid_ns."""
    members = {}
    for candidate in host_pids():
        try:
            if ns_id("/proc/%d/ns/pid" % candidate) == pid_ns:
                members[candidate] = int(status_field(candidate, "NSpid")[-1])
        except (OSError, TypeError):
            pass
    return members


def decode_mount_path(text):
    return text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mountinfo(path="/proc/self/mountinfo"):
    mounts = []
    for line in read_text(path).splitlines():
        left, right = line.split(" - ", 1)
        fields = left.split()
        fstype, source = right.split()[:2]
        mounts.append({"point": decode_mount_path(fields[4]), "root": decode_mount_path(fields[3]),
                       "optional": fields[6:], "fstype": fstype, "source": source})
    return mounts


def mounted_at(point, path="/proc/self/mountinfo"):
    return [m for m in mountinfo(path) if m["point"] == point]


def run(argv, check=True, timeout=30):
    """Run an observer command; returns stdout. check: a non-zero exit is an error."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, check=False)
    except FileNotFoundError:
        # A missing observer is a fault of the host's set-up, never a reason to skip a property.
        raise ProbeError("the observer %s is not installed on the host (the kit needs it)" % argv[0])
    text = proc.stdout.decode(errors="replace")
    if check and proc.returncode != 0:
        raise ProbeError("%s exited %d: %s" % (" ".join(argv), proc.returncode,
                                               proc.stderr.decode(errors="replace").strip()))
    return text


def nsenter(paths, argv, **kwargs):
    """util-linux nsenter into the given {type: ns file} and run argv."""
    options = ["%s=%s" % (NS_TYPES[t][1], path) for t, path in sorted(paths.items())]
    return run(["nsenter"] + options + ["--"] + argv, **kwargs)


def ip_link_names(text):
    names = []
    for line in text.splitlines():
        if ": " in line:
            names.append(line.split(": ", 2)[1].split("@")[0])
    return names


def ip_link_flags(text):
    flags = {}
    for line in text.splitlines():
        if ": " in line:
            parts = line.split(": ", 2)
            flags[parts[1].split("@")[0]] = parts[2].split(">")[0].lstrip("<").split(",")
    return flags


def ipcs_keys(text):
    """The keys (as ints) listed by `ipcs -q|-s|-m`."""
    keys = []
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0].startswith("0x"):
            keys.append(int(fields[0], 16))
    return keys


def sysvipc_keys(kind):
    """Keys in /proc/sysvipc/{msg,sem,shm} as seen by the caller's IPC namespace."""
    lines = read_text("/proc/sysvipc/" + kind).splitlines()[1:]
    return [int(line.split()[0]) for line in lines if line.strip()]


def proc_mounts_on_host():
    """How many procfs are mounted on the caller's /proc."""
    return len([m for m in mounted_at("/proc") if m["fstype"] == "proc"])


def uname_names():
    return {"hostname": read_text("/proc/sys/kernel/hostname").strip(),
            "domainname": read_text("/proc/sys/kernel/domainname").strip()}


def wait_for(predicate, timeout=5.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def procfs_of_initial_pid_ns():
    """Whether /proc belongs to the initial PID namespace, the one that shows kthreadd (pid 2,
    parent 0): then NSpid counts a process's levels from the top."""
    try:
        return read_text("/proc/2/comm").strip() == "kthreadd" and status_field(2, "PPid") == ["0"]
    except OSError:
        return False


def pid_ns_level():
    """The caller's PID namespace depth below the initial one, or None if /proc cannot tell."""
    return len(status_field("self", "NSpid") or [None]) - 1 if procfs_of_initial_pid_ns() else None


def at_initial_user_ns():
    return read_text("/proc/self/uid_map").split() == ["0", "0", "4294967295"]


def unshare_user_as_root():
    """unshare(CLONE_NEWUSER) and map root inside to the caller's own ids outside."""
    outer_uid, outer_gid = os.geteuid(), os.getegid()  # read before: unmapped ids show as 65534
    unshare(CLONE_NEWUSER)
    if os.path.exists("/proc/self/setgroups"):
        write_text("/proc/self/setgroups", "deny")
    write_text("/proc/self/gid_map", "0 %d 1" % outer_gid)
    write_text("/proc/self/uid_map", "0 %d 1" % outer_uid)


def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root (CAP_SYS_ADMIN) on the host; the probe runs as uid %d" % os.geteuid())
