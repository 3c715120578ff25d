"""CG: cgroup namespaces (LTP has no isolation test for them)."""

import os

from conformance.probes.declare import prop
from conformance.probes.lib.child import Child, in_child
from conformance.probes.lib.errors import ProbeError, Skip
from conformance.probes.lib.observe import host_pids, mountinfo, need_root, nsenter, read_text, self_ns, write_text
from conformance.probes.lib.syscalls import CLONE_NEWCGROUP, setns, unshare


def _cgroup_lines(pid="self"):
    return [line.split(":", 2) for line in read_text("/proc/%s/cgroup" % pid).splitlines() if line]


@prop("CG1", "A new cgroup namespace sees its cgroup as /", needs=("cgroup_ns",), setup=True)
def probe_cg1(probe_run, subject):
    """/proc/PID/cgroup of the set's holder is read from inside the set, and a fresh process reads its own
    after unsharing its cgroup namespace. It fails unless both show / as their path, or if the set's
    cgroup namespace is the host's (a host whose processes sit in its root cgroup shows / too). Needs
    cgroup namespaces."""
    holder = subject.holder_pid
    if not holder:
        raise ProbeError("the %s subject has no holder process" % subject.kind)
    # /proc/PID/cgroup is shown relative to the reader's cgroup namespace root.
    seen = nsenter({"cgroup": subject.path("cgroup")}, ["cat", "/proc/%d/cgroup" % holder])

    def fresh():
        unshare(CLONE_NEWCGROUP)
        return _cgroup_lines()

    return {"holder_seen_from_subject": [line.split(":", 2) for line in seen.splitlines() if line],
            "self_after_unshare": in_child(fresh),
            "subject_cgroup_ns": subject.ns_id("cgroup"), "host_cgroup_ns": self_ns("cgroup")}


def _under(path, root):
    return path == root or root == "/" or path.startswith(root.rstrip("/") + "/")


def _cgroup2_mount():
    for m in mountinfo():
        if m["fstype"] == "cgroup2":
            return m["point"]
    return None


@prop("CG2", "Cgroups outside the namespace root show as relative paths", needs=("cgroup_ns",))
def probe_cg2(probe_run):
    """A process outside the probe's cgroup is found (or a child cgroup of the run is made to root the
    namespace in), and a process in a new cgroup namespace reads that process's cgroup. It fails unless
    the path starts with /.. . Needs cgroup namespaces."""
    need_root()
    own = dict((hierarchy, path) for hierarchy, _controllers, path in _cgroup_lines())
    outside = None
    for pid in host_pids():
        try:
            for hierarchy, _controllers, path in _cgroup_lines(pid):
                if hierarchy in own and not _under(path, own[hierarchy]):
                    outside = (pid, hierarchy, path)
                    break
        except (OSError, ValueError):
            continue
        if outside:
            break
    made = None
    if outside is None:
        # Nobody lives outside our cgroup: make a child cgroup of our own for the namespace root.
        base = _cgroup2_mount()
        if base is None or "0" not in own:
            raise Skip("no process outside the probe's cgroup and no cgroup v2 to make one in")
        made = os.path.join(base + own["0"].rstrip("/"), probe_run.scope + "-cg2")
        os.mkdir(made)
        outside = (os.getpid(), "0", own["0"])

    def inside():
        if made:
            write_text(os.path.join(made, "cgroup.procs"), str(os.getpid()))
        unshare(CLONE_NEWCGROUP)
        for hierarchy, _controllers, path in _cgroup_lines(outside[0]):
            if hierarchy == outside[1]:
                return path
        return None

    try:
        seen = in_child(inside)
    finally:
        if made:
            os.rmdir(made)
    return {"outside_process": outside[0], "hierarchy": outside[1], "host_path": outside[2],
            "seen_from_new_ns": seen, "made_child_cgroup": bool(made)}


@prop("CG3", "Cgroup namespaces do not change membership", needs=("cgroup_ns", "setns"), setup=True)
def probe_cg3(probe_run, subject):
    """A process's cgroup is read, as the host sees it, before and after it creates a cgroup namespace and
    before and after it joins the set's. It fails if either step moved it, or if the join did not land
    in a cgroup namespace other than the host's (then nothing was tested). Needs cgroup namespaces and
    setns."""
    path = subject.path("cgroup")

    def body(channel, join):
        channel.send("before")
        channel.recv()
        if join:
            setns(os.open(path, os.O_RDONLY), CLONE_NEWCGROUP)
        else:
            unshare(CLONE_NEWCGROUP)
        channel.send(self_ns("cgroup"))
        channel.recv()

    observed = {}
    for label, join in (("create", False), ("join", True)):
        child = Child(body, join)
        child.recv()
        before = _cgroup_lines(child.pid)
        child.send("go")
        landed_in = child.recv()
        after = _cgroup_lines(child.pid)
        child.send("go")
        child.result()
        observed[label] = {"before": before, "after": after, "cgroup_ns": landed_in}
    observed["host_cgroup_ns"] = self_ns("cgroup")
    return observed
