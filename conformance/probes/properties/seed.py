"""S: what the seed tutorial demonstrates (docs/SEED.md); must pass on every supported host."""

import os
import platform

from conformance.probes.declare import NS_FILES, prop
from conformance.probes.lib.child import Child, in_child
from conformance.probes.lib.errors import ProbeError
from conformance.probes.lib.observe import (
    ipcs_keys, mountinfo, ns_id, ns_ids, nsenter, pid_ns_members, proc_mounts_on_host, run, self_ns,
    status_field, uname_names)
from conformance.probes.lib.syscalls import (
    CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, NS_TYPES, outcome, setns, unshare)

# The six types of the seed tutorial's table (docs/SEED.md).
SEED_TYPES = ("mnt", "uts", "ipc", "pid", "net", "user")


@prop("S1", "A plain fork shares every namespace", needs=NS_FILES)
def probe_s1(probe_run):
    """A child made without any CLONE_NEW* flag is compared with its parent, file by file in /proc/PID/ns.
    It fails if the child lists other namespace files or if any of them has another (device, inode)
    identity. Needs the namespace files of every type (setns, user namespaces)."""
    parent = ns_ids()
    child = in_child(ns_ids)
    return {"parent": parent, "child": child, "created_with": "fork (clone without CLONE_NEW* flags)"}


@prop("S2", "Hostname set in a set stays inside", needs=("uts_ns",), setup=True)
def probe_s2(probe_run, subject):
    """The set's hostname is read inside with `uname -n` and compared with the name it was made with, and
    the host's hostname is read before and after. It fails if the inside name differs, if the host's name
    changed, or if the host shows the set's name. Needs UTS namespaces."""
    before = uname_names()["hostname"]
    inside = nsenter({"uts": subject.path("uts")}, ["hostname"]).strip()
    return {"expected": subject.hostname, "inside": inside, "host_before": before,
            "host_after": uname_names()["hostname"], "host_hostname_cmd": run(["hostname"]).strip()}


def _ipcmk_queue(paths):
    """Make a queue with util-linux ipcmk (in paths' namespaces); returns its key from ipcs."""
    output = nsenter(paths, ["ipcmk", "-Q"]) if paths else run(["ipcmk", "-Q"])
    ident = int(output.strip().split()[-1])
    listing = nsenter(paths, ["ipcs", "-q"]) if paths else run(["ipcs", "-q"])
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) > 1 and fields[0].startswith("0x") and fields[1] == str(ident):
            return int(fields[0], 16)
    raise ProbeError("ipcmk made queue id %d but ipcs does not list it" % ident)


def _ipcrm_queue(paths, key):
    argv = ["ipcrm", "-Q", "0x%08x" % key]
    return nsenter(paths, argv, check=False) if paths else run(argv, check=False)


@prop("S3", "Message queues are separate by key", needs=("ipc_ns",), setup=True)
def probe_s3(probe_run, subject):
    """A System V queue is made on the host with `ipcmk -Q` and another inside the set; `ipcs -q` lists the
    keys on each side. It fails if the host's key is listed inside or the inside key on the host (keys are
    compared, since queue ids start again from 0 in a new namespace). Needs IPC namespaces."""
    paths = {"ipc": subject.private("ipc")}
    host_key = _ipcmk_queue({})
    inside_key = None
    try:
        inside_before = ipcs_keys(nsenter(paths, ["ipcs", "-q"]))
        inside_key = _ipcmk_queue(paths)
        host_after = ipcs_keys(run(["ipcs", "-q"]))
    finally:
        _ipcrm_queue({}, host_key)
        if inside_key is not None:
            _ipcrm_queue(paths, inside_key)
    return {"host_key": host_key, "inside_keys": inside_before, "inside_key": inside_key,
            "host_keys_after": host_after}


@prop("S4", "The set's first process is PID 1 with parent 0", needs=("pid_ns", "nspid"), setup=True)
def probe_s4(probe_run, subject):
    """The set's holder is looked up in /proc: its NSpid line must end in 1 and start with an ordinary
    host PID, and `ps -p 1` inside must show pid 1 with parent 0. It fails on any other numbering or if
    the holder is not in the set's PID namespace. Needs PID namespaces and the NSpid field."""
    holder = subject.holder_pid
    if not holder:
        raise ProbeError("the %s subject has no holder process (PID 1)" % subject.kind)
    nspid = [int(p) for p in status_field(holder, "NSpid")]
    in_pid_ns = ns_id("/proc/%d/ns/pid" % holder) == subject.ns_id("pid")
    # A procfs of the subject's PID namespace, mounted in a throw-away mount namespace.
    inside = nsenter({"pid": subject.path("pid")},
                     ["unshare", "--mount", "--propagation", "private", "--mount-proc", "--",
                      "ps", "-o", "pid=,ppid=", "-p", "1"]).split()
    return {"holder_host_pid": holder, "nspid": nspid, "holder_in_subject_pid_ns": in_pid_ns,
            "inside_pid1": [int(v) for v in inside]}


@prop("S5", "A PID namespace without its own /proc still shows the host", needs=("pid_ns",), setup=True)
def probe_s5(probe_run, subject):
    """`ps` runs in the set's PID namespace while the host's /proc stays mounted, and is expected to list
    host processes. This documents why a private /proc is needed; it fails if the set's PID namespace is
    the host's, or if such a `ps` would show no more than the namespace's own processes. Needs PID namespaces."""
    # The host's own PID namespace would list the host's processes trivially: the set needs its own.
    paths = {"pid": subject.private("pid")}
    members = pid_ns_members(subject.ns_id("pid"))
    try:
        observer, listed = "ps", nsenter(paths, ["ps", "-e", "-o", "pid="]).split()
    except ProbeError as exc:
        # procps refuses to run when /proc/self is not its own PID (procfs of another namespace,
        # as under a stacked /proc): the same view, read with ls.
        observer = "ls /proc (ps failed: %s)" % exc
        listed = [name for name in nsenter(paths, ["ls", "/proc"]).split() if name.isdigit()]
    listed = [int(p) for p in listed]
    return {"observer": observer, "listed_without_private_proc": len(listed), "namespace_members": len(members),
            "lists_probe_pid": os.getpid() in listed, "probe_pid": os.getpid()}


@prop("S6", "A private /proc inside leaves the host's /proc alone", needs=("mnt_ns", "pid_ns"), setup=True)
def probe_s6(probe_run, subject):
    """`ps` inside the set's mount and PID namespaces must list exactly the namespace's processes, the set's
    root mount must not be shared, and the host must keep the number of procfs mounts on /proc it had
    before the set existed. It fails if /proc inside shows other processes or a mount reaches the host.
    Needs mount and PID namespaces."""
    paths = {"mnt": subject.path("mnt"), "pid": subject.path("pid")}
    members = pid_ns_members(subject.ns_id("pid"))
    lines = nsenter(paths, ["sh", "-c", "echo $$; exec ps -e -o pid="]).split()
    ps_pid, listed = int(lines[0]), sorted(int(p) for p in lines[1:])
    subject_root = [m for m in mountinfo("/proc/%d/mountinfo" % subject.holder_pid) if m["point"] == "/"] \
        if subject.holder_pid else []
    host_ps = [int(p) for p in run(["ps", "-e", "-o", "pid="]).split()]
    groups = set(o for m in subject_root for o in m["optional"] if o.startswith("shared:"))
    return {"inside_ps": [p for p in listed if p != ps_pid],
            "subject_root_peer_groups": sorted(groups),
            "host_mounts_in_those_groups": [m["point"] for m in mountinfo() if groups & set(m["optional"])],
            "expected_inner_pids": sorted(members.values()),
            "host_proc_mounts_before": probe_run.proc_mounts_as_found,
            "host_proc_mounts_after": proc_mounts_on_host(),
            "subject_root_shared": any(o.startswith("shared:") for m in subject_root for o in m["optional"]),
            "host_ps_lists_probe": os.getpid() in host_ps}


@prop("S7", "The seed's six namespace types exist and can be made",
      needs=("mnt_ns", "uts_ns", "ipc_ns", "pid_ns", "net_ns", "user_ns"))
def probe_s7(probe_run):
    """For mnt, uts, ipc, pid, net and user the probe looks for /proc/self/ns/TYPE and tries to create one
    with its CLONE_NEW* flag in a child. It fails if a file is missing or a creation returns an error;
    the report puts the seed's minimum kernel beside the host's. Needs those six namespace types."""
    found = {}
    for nstype in SEED_TYPES:
        flag = NS_TYPES[nstype][0]
        found[nstype] = {"file": os.path.exists("/proc/self/ns/" + nstype),
                         "create": in_child(outcome, unshare, flag)}
    return {"types": found, "kernel": platform.release()}


@prop("S8", "clone, unshare and setns behave as documented",
      needs=("mnt_ns", "uts_ns", "ipc_ns", "pid_ns", "net_ns", "setns"))
def probe_s8(probe_run):
    """clone with CLONE_NEW* flags must put the child (PID 1 in its new PID namespace) in new namespaces of
    exactly those types; unshare must move the caller, except for PID where only its next child moves;
    setns must join the given namespace and refuse a file of another type with EINVAL. Any other outcome
    fails. Needs the five cloned types and setns."""
    flags = CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID
    parent = ns_ids()
    cloned = Child(lambda _c: {"ns": ns_ids(), "pid": os.getpid()}, clone_flags=flags).result()

    def unshare_moves_caller():
        before = ns_ids()
        unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET)
        moved = ns_ids()
        unshare(CLONE_NEWPID)
        after_pid = ns_ids()
        first_child = in_child(os.getpid)
        return {"before": before, "after": moved, "after_pid_unshare": after_pid,
                "first_child_pid": first_child}

    def setns_joins():
        original = os.open("/proc/self/ns/uts", os.O_RDONLY)
        unshare(CLONE_NEWUTS)
        new = os.open("/proc/self/ns/uts", os.O_RDONLY)
        new_id = self_ns("uts")
        setns(original, CLONE_NEWUTS)
        return {"left": new_id, "joined": self_ns("uts"),
                "wrong_type": outcome(setns, new, CLONE_NEWIPC)}

    return {"clone": {"parent": parent, "child": cloned["ns"], "child_pid": cloned["pid"],
                      "flags": ["uts", "ipc", "net", "mnt", "pid"]},
            "unshare": in_child(unshare_moves_caller), "setns": in_child(setns_joins),
            "original_uts": self_ns("uts")}
