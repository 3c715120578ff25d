"""PID: numbering, visibility, init semantics and nesting."""

import json
import os
import signal
import time

from conformance.probes.declare import prop
from conformance.probes.lib.child import Child, in_child
from conformance.probes.lib.errors import Skip
from conformance.probes.lib.observe import (
    children_of, host_pids, need_root, ns_id, ns_ids, pid_ns_level, proc_mounts_on_host, procfs_of_initial_pid_ns,
    read_text, status_field, wait_for)
from conformance.probes.lib.syscalls import (
    CLONE_NEWNS, CLONE_NEWPID, MS_PRIVATE, MS_REC, errno_name, mount, outcome, unshare)


def _in_new_pid_ns(fn, *args):
    """unshare(CLONE_NEWPID) in a child, then run fn(*args) as PID 1 of the new namespace."""

    def body():
        unshare(CLONE_NEWPID)
        return in_child(fn, *args)

    return in_child(body)


@prop("PID1", "The first process of a new PID namespace is PID 1 with parent 0", needs=("pid_ns",))
def probe_pid1(probe_run):
    """A child made with CLONE_NEWPID reads its own PID and parent PID. It fails unless they are 1 and 0.
    Needs PID namespaces."""
    need_root()
    return _in_new_pid_ns(lambda: {"pid": os.getpid(), "ppid": os.getppid()})


@prop("PID2", "unshare(CLONE_NEWPID) moves the children, not the caller", needs=("pid_ns", "pid_for_children"))
def probe_pid2(probe_run):
    """After unshare the caller's PID namespace and pid_for_children are read and a child is forked. It
    fails if the caller moved or its first child is not PID 1; without pid_for_children only the second
    part is checked. Needs PID namespaces and pid_for_children."""
    need_root()

    def body():
        before = ns_ids()
        pid_before = os.getpid()
        unshare(CLONE_NEWPID)
        after = ns_ids()
        child = Child(lambda c: (c.send(os.getpid()), c.recv()))
        first_pid = child.recv()
        child_ns = ns_id("/proc/%d/ns/pid" % child.pid)
        # pid_for_children names the new namespace once its first process exists.
        for_children = ns_ids().get("pid_for_children")
        child.send("exit")
        child.result()
        return {"pid_before": pid_before, "pid_after": os.getpid(),
                "ns_before": before.get("pid"), "ns_after": after.get("pid"),
                "for_children_before": before.get("pid_for_children"),
                "for_children_after": for_children, "first_child_pid": first_pid, "first_child_ns": child_ns}

    return in_child(body)


@prop("PID3", "A procfs mounted inside shows only the namespace", needs=("pid_ns", "mnt_ns"))
def probe_pid3(probe_run):
    """In new mount and PID namespaces a procfs is mounted on /proc and its PID directories listed. It fails
    if anything but the namespace's processes appear. Needs mount and PID namespaces."""
    need_root()

    def pid1_mounts_proc():
        unshare(CLONE_NEWNS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount("proc", "/proc", "proc")
        helper = Child(lambda c: (c.send(os.getpid()), c.recv()))
        helper_pid = helper.recv()
        listed = host_pids()
        helper.send("exit")
        helper.result()
        return {"listed": listed, "self": os.getpid(), "helper": helper_pid}

    before = proc_mounts_on_host()
    observed = _in_new_pid_ns(pid1_mounts_proc)
    observed.update(host_proc_mounts_before=before, host_proc_mounts_after=proc_mounts_on_host())
    return observed


@prop("PID4", "Processes inside cannot reach processes outside", needs=("pid_ns",))
def probe_pid4(probe_run):
    """The PID 1 of a new PID namespace sends signal 0 to the probe and to its own parent by their host
    PIDs. It fails unless it is PID 1 with parent 0 and both signals give ESRCH. Needs PID namespaces."""
    need_root()
    outside = os.getpid()

    def inside(channel):
        unshare(CLONE_NEWPID)
        parent_host_pid = os.getpid()

        def pid1():
            return {"pid": os.getpid(), "kill_probe": outcome(os.kill, outside, 0),
                    "kill_parent": outcome(os.kill, parent_host_pid, 0), "getppid": os.getppid()}

        init = Child(lambda c: pid1())
        return {"init_host_pid": init.pid, "from_inside": init.result()}

    observed = Child(inside).result()
    observed.update(probe_pid=outside)
    return observed


@prop("PID5", "PID 1 ignores unhandled signals, not SIGKILL from outside", needs=("pid_ns",))
def probe_pid5(probe_run):
    """The namespace's PID 1 keeps the default actions; a process inside sends it SIGTERM, SIGUSR1 and
    SIGKILL, then the parent namespace sends SIGTERM and finally SIGKILL. It fails if PID 1 dies before
    the last signal or survives it. Needs PID namespaces."""
    need_root()

    def init_body(channel):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)

        def sibling():
            sent = {}
            for name in ("SIGTERM", "SIGUSR1", "SIGKILL"):
                sent[name] = outcome(os.kill, 1, getattr(signal, name))
            return sent

        sent = in_child(sibling)
        time.sleep(0.05)
        channel.send({"sent_from_inside": sent, "alive_after_inside_signals": True})
        while True:
            signal.pause()

    def experiment():
        unshare(CLONE_NEWPID)
        init = Child(init_body)
        inside = init.recv()
        os.kill(init.pid, signal.SIGTERM)  # from the parent namespace, no handler: ignored too
        time.sleep(0.1)
        alive_after_parent_sigterm = os.waitpid(init.pid, os.WNOHANG) == (0, 0)
        os.kill(init.pid, signal.SIGKILL)
        status = init.wait()
        return {"inside": inside, "alive_after_parent_sigterm": alive_after_parent_sigterm,
                "killed_by": os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None}

    return in_child(experiment)


def _start_time(pid):
    try:
        return read_text("/proc/%d/stat" % pid).rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


@prop("PID6", "Killing PID 1 ends the whole namespace", needs=("pid_ns",))
def probe_pid6(probe_run):
    """A PID namespace with PID 1 and other processes is made, then PID 1 is killed. It fails if any member
    is still alive afterwards. Needs PID namespaces."""
    need_root()

    def init_body(channel):
        for unused in range(3):
            if os.fork() == 0:
                while True:
                    signal.pause()
        channel.send("ready")
        while True:
            signal.pause()

    def experiment():
        unshare(CLONE_NEWPID)
        init = Child(init_body)
        init.recv()
        members = dict((pid, _start_time(pid)) for pid in children_of(init.pid))
        os.kill(init.pid, signal.SIGKILL)
        init.wait()
        still = [pid for pid, started in members.items() if _start_time(pid) == started]
        return {"members_before": sorted(members), "alive_after_init_killed": still}

    return in_child(experiment)


@prop("PID7", "Orphans are adopted by the namespace's PID 1", needs=("pid_ns",))
def probe_pid7(probe_run):
    """Inside a new PID namespace a process forks a grandchild and exits. It fails if the grandchild's parent
    is not the namespace's PID 1. Needs PID namespaces."""
    need_root()

    def pid1():
        # PID 1 forks a middle process (PID 2) that forks the orphan (PID 3) and exits.
        ready_r, ready_w = os.pipe()
        release_r, release_w = os.pipe()
        report_r, report_w = os.pipe()
        middle = os.fork()
        if middle == 0:
            try:
                if os.fork() == 0:
                    first = os.getppid()
                    os.write(ready_w, b"x")  # the middle process exits only after this
                    os.read(release_r, 1)  # written once the middle process is reaped
                    after = wait_for(lambda: os.getppid() if os.getppid() != first else 0)
                    os.write(report_w, json.dumps({"pid": os.getpid(), "ppid_before": first,
                                                   "ppid_after": after}).encode())
                else:
                    os.read(ready_r, 1)
            finally:
                os._exit(0)
        os.waitpid(middle, 0)
        os.write(release_w, b"x")
        orphan = json.loads(os.read(report_r, 4096).decode())
        reaped = os.waitpid(orphan["pid"], 0)[0]  # it is PID 1's child now
        return {"pid1": os.getpid(), "middle_pid": middle, "orphan": orphan, "reaped_by_pid1": reaped}

    return _in_new_pid_ns(pid1)


@prop("PID8", "No fork into a PID namespace whose PID 1 has exited", needs=("pid_ns",))
def probe_pid8(probe_run):
    """After unshare(CLONE_NEWPID) the first child exits, then the caller forks again. It fails unless the
    second fork gives ENOMEM. Needs PID namespaces."""
    need_root()

    def experiment():
        unshare(CLONE_NEWPID)
        first = Child(lambda c: os.getpid())
        first_pid = first.result()
        after = outcome(lambda: in_child(os.getpid))
        return {"first_pid": first_pid, "fork_after_pid1_exit": after}

    return in_child(experiment)


@prop("PID9", "PID namespaces nest 32 levels deep", needs=("pid_ns", "nspid"))
def probe_pid9(probe_run):
    """Nested PID namespaces are made until the kernel refuses, and the levels are counted from the top. It
    fails if the bound is not 32 or the refusal is not ENOSPC (EUSERS before 4.9); it skips where /proc
    belongs to a nested PID namespace. Needs PID namespaces and the NSpid field."""
    need_root()

    def nest(channel):
        while True:
            try:
                unshare(CLONE_NEWPID)
            except OSError as exc:
                return {"levels_below_procfs": len(status_field("self", "NSpid")) - 1,
                        "errno": errno_name(exc)}
            pid = os.fork()
            if pid:
                os.waitpid(pid, 0)
                os._exit(0)

    observed = Child(nest).result(timeout=60)
    observed["procfs_of_initial_pid_ns"] = procfs_of_initial_pid_ns()
    observed["start_level"] = pid_ns_level()
    return observed


@prop("PID10", "NSpid lists the PID at each level", needs=("pid_ns", "nspid"))
def probe_pid10(probe_run):
    """A process two PID namespaces down reads its NSpid and NStgid from the host's view. It fails unless
    they list its host PID and the PID it has at each level. Needs PID namespaces and the NSpid field."""
    need_root()
    if not status_field("self", "NSpid"):
        raise Skip("/proc/PID/status has no NSpid", "nspid")

    def level2(channel):
        unshare(CLONE_NEWPID)
        inner = Child(lambda c: (c.send(os.getpid()), c.recv()))
        channel.send({"inner_pid_at_level1": inner.pid, "inner_pid_at_level2": inner.recv(),
                      "level1_pid_of_self": os.getpid()})
        channel.recv()
        inner.send("exit")
        inner.result()

    def experiment():
        unshare(CLONE_NEWPID)
        middle = Child(level2)
        info = middle.recv()
        inner_host = list(children_of(middle.pid))
        seen = {}
        if inner_host:
            seen = {"host_pid": inner_host[0], "NSpid": status_field(inner_host[0], "NSpid"),
                    "NStgid": status_field(inner_host[0], "NStgid")}
        middle.send("exit")
        middle.result()
        info.update(seen)
        return info

    return in_child(experiment)


def _descendants(pid):
    found = []
    for child in children_of(pid):
        found += [child] + _descendants(child)
    return found


@prop("PID11", "Killing a middle-level init ends the levels below it only", needs=("pid_ns",))
def probe_pid11(probe_run):
    """Three nested PID namespaces are made, each PID 1 with the next inside it, the outer one with another
    member and the innermost one with two; the outer PID 1 then kills the middle PID 1 (LTP pidns05). It
    fails if a process of the middle or inner namespace is still alive, or the outer PID 1 or its other
    member died. Needs PID namespaces."""
    need_root()

    def pause_forever():
        while True:
            signal.pause()

    def inner_body(channel):
        for unused in range(2):
            if os.fork() == 0:
                pause_forever()
        channel.send("ready")
        pause_forever()

    def middle_body(channel):
        unshare(CLONE_NEWPID)
        inner = Child(inner_body)
        inner.recv()
        channel.send("ready")
        pause_forever()

    def outer_body(channel):
        if os.fork() == 0:
            pause_forever()
        unshare(CLONE_NEWPID)
        middle = Child(middle_body)
        middle.recv()
        channel.send("ready")
        channel.recv()
        os.kill(middle.pid, signal.SIGKILL)
        middle.wait()
        channel.send("killed")
        channel.recv()

    def experiment():
        unshare(CLONE_NEWPID)
        outer = Child(outer_body)
        outer.recv()
        outer_ns = ns_id("/proc/%d/ns/pid" % outer.pid)
        level_one = children_of(outer.pid)
        middle = [p for p in level_one if ns_id("/proc/%d/ns/pid" % p) != outer_ns]
        below = dict((pid, _start_time(pid)) for m in middle for pid in [m] + _descendants(m))
        others = dict((pid, _start_time(pid)) for pid in [outer.pid] + level_one if pid not in middle)
        outer.send("kill")
        outer.recv()
        result = {"killed_middle_and_below": sorted(below),
                  "alive_below_after": [p for p, started in below.items() if _start_time(p) == started],
                  "outer_level": sorted(others),
                  "outer_level_dead_after": [p for p, started in others.items() if _start_time(p) != started]}
        outer.send("exit")
        outer.result()
        return result

    return in_child(experiment)
