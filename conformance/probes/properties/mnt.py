"""MNT: mount tables and propagation."""

import os

from conformance.probes.declare import prop
from conformance.probes.lib.child import in_child
from conformance.probes.lib.observe import mounted_at, mountinfo, need_root, nsenter
from conformance.probes.lib.policy import refused_user_ns
from conformance.probes.lib.syscalls import (
    CLONE_NEWNS, CLONE_NEWUSER, MNT_DETACH, MS_BIND, MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE, MS_UNBINDABLE,
    errno_name, mount, outcome, setns, umount2, unshare)


def _mount_view():
    return sorted((m["point"], m["fstype"], m["source"], m["root"]) for m in mountinfo())


@prop("MNT1", "A new mount namespace copies the mount table", needs=("mnt_ns",))
def probe_mnt1(probe_run):
    """The mount table (point, type, source, root) of a new mount namespace is compared with the parent's.
    It fails on any mount missing or added, except bind mounts of mount namespace files, which the kernel
    leaves out on purpose. Needs mount namespaces."""
    need_root()

    def copy_view():
        unshare(CLONE_NEWNS)
        return _mount_view()

    for _attempt in range(5):
        before = _mount_view()
        inside = [tuple(m) for m in in_child(copy_view)]
        # Other programs may mount meanwhile: compare only against a stable host table.
        if _mount_view() == before:
            return {"host": before, "new_namespace": inside, "stable": True}
    return {"host": before, "new_namespace": inside, "stable": False}


def _propagation_lab(probe_run, base):
    """In the caller's (private) mount namespace: a tmpfs at base with bind mounts s, p, sl, u."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount(probe_run.scope, base, "tmpfs", 0, "size=64k")
    for name in ("s", "p", "sl", "u", "x"):
        os.mkdir(os.path.join(base, name))
    for name in ("s", "p", "sl", "u"):
        path = os.path.join(base, name)
        mount(path, path, None, MS_BIND)
        for sub in ("a", "b"):
            os.mkdir(os.path.join(path, sub))
    mount(None, base + "/s", None, MS_SHARED)
    mount(None, base + "/sl", None, MS_SHARED)
    mount(None, base + "/u", None, MS_UNBINDABLE)


def _lab_in_two_namespaces(probe_run, base):
    """The propagation lab in a new mount namespace, then a copy of that namespace in which `sl` is a slave of
    its peer in the first: (first, second) as open namespace fds, the caller left in the second."""
    unshare(CLONE_NEWNS)
    _propagation_lab(probe_run, base)
    first = os.open("/proc/self/ns/mnt", os.O_RDONLY)
    unshare(CLONE_NEWNS)
    second = os.open("/proc/self/ns/mnt", os.O_RDONLY)
    mount(None, base + "/sl", None, MS_SLAVE)
    return first, second


def _has_mount(point):
    return bool(mounted_at(point))


@prop("MNT2", "Shared, private, slave and unbindable propagate as documented", needs=("mnt_ns", "setns"))
def probe_mnt2(probe_run):
    """In a lab of tmpfs mounts in a private directory, a mount is made under a shared, private, slave and
    unbindable peer in turn. It fails if shared does not propagate both ways, private propagates, slave
    propagates back, or an unbindable mount can be bound. Needs mount namespaces and setns."""
    need_root()
    base = probe_run.tmpdir("mnt2")

    def experiment():
        first, second = _lab_in_two_namespaces(probe_run, base)
        for name in ("s", "p", "sl"):
            mount(probe_run.scope, "%s/%s/a" % (base, name), "tmpfs", 0, "size=16k")
        setns(first, CLONE_NEWNS)
        from_second = dict((n, _has_mount("%s/%s/a" % (base, n))) for n in ("s", "p", "sl"))
        for name in ("s", "p", "sl"):
            mount(probe_run.scope, "%s/%s/b" % (base, name), "tmpfs", 0, "size=16k")
        unbindable = outcome(mount, base + "/u", base + "/x", None, MS_BIND)
        setns(second, CLONE_NEWNS)
        from_first = dict((n, _has_mount("%s/%s/b" % (base, n))) for n in ("s", "p", "sl"))
        return {"new_ns_mount_seen_in_first": from_second, "first_ns_mount_seen_in_new": from_first,
                "bind_of_unbindable": unbindable}

    try:
        observed = in_child(experiment)
    finally:
        os.rmdir(base)
    observed["modes"] = {"s": "shared", "p": "private", "sl": "slave in the new namespace"}
    return observed


@prop("MNT3", "A user namespace turns shared into slave and locks inherited mounts", needs=("mnt_ns", "user_ns"))
def probe_mnt3(probe_run):
    """A shared lab mount is looked at from mount and user namespaces made together: it must be a slave
    there and no longer shared, unmounting it must give EINVAL (locked), while a mount made inside can
    be unmounted. Any other outcome fails. Needs mount and user namespaces."""
    need_root()
    base = probe_run.tmpdir("mnt3")

    def optional_of(point):
        found = mounted_at(point)
        return found[-1]["optional"] if found else None

    def experiment():
        unshare(CLONE_NEWNS)
        _propagation_lab(probe_run, base)
        before = optional_of(base + "/s")

        def in_user_and_mount_ns():
            try:
                unshare(CLONE_NEWUSER | CLONE_NEWNS)
            except OSError as exc:
                refused_user_ns(errno_name(exc), unprivileged=False)
            own = "%s/s/a" % base
            mount(probe_run.scope, own, "tmpfs", 0, "size=16k")
            return {"after": optional_of(base + "/s"), "umount_inherited": outcome(umount2, base + "/s"),
                    "umount_own": outcome(umount2, own)}

        observed = in_child(in_user_and_mount_ns)
        observed["before"] = before
        return observed

    try:
        return in_child(experiment)
    finally:
        os.rmdir(base)


@prop("MNT4", "A mount made inside never reaches the host", needs=("mnt_ns", "pid_ns"), setup=True)
def probe_mnt4(probe_run, subject):
    """A tmpfs is mounted inside the set's mount namespace on a directory of the run (under /dev when the
    set has its own root directory, as an OCI container does), and `findmnt` looks for it inside, through
    the set's holder and, by its source name, among all of the host's mounts. It fails if it is missing
    inside or shows on the host. Needs mount and PID namespaces."""
    path = subject.private("mnt")
    source = probe_run.scope + "-mnt4"
    own_root = subject.holder_pid and not os.path.samestat(os.stat("/proc/%d/root" % subject.holder_pid), os.stat("/"))
    if own_root:
        # Made through the holder's view of its root: a directory the host does not see at that path.
        point = "/dev/" + source
        made_dir = "/proc/%d/root%s" % (subject.holder_pid, point)
        os.mkdir(made_dir, 0o700)
    else:
        point = made_dir = probe_run.tmpdir("mnt4")
    try:
        # util-linux reads /proc/self/mountinfo: with the subject's /proc that needs its PID ns too.
        inside_paths = {"mnt": path, "pid": subject.path("pid")}
        nsenter(inside_paths, ["mount", "-t", "tmpfs", "-o", "size=16k", source, point])
        try:
            inside = [m["source"] for m in mountinfo("/proc/%d/mountinfo" % subject.holder_pid)
                      if m["point"] == point] if subject.holder_pid else None
            inside_cmd = nsenter(inside_paths, ["findmnt", "-n", "-o", "SOURCE", point], check=False).split()
            host = ["%s on %s" % (m["source"], m["point"]) for m in mountinfo() if m["source"] == source]
        finally:
            nsenter(inside_paths, ["umount", point], check=False)
    finally:
        if not own_root:
            for _mount in mounted_at(point):  # only if it wrongly reached the host
                umount2(point, MNT_DETACH)
        os.rmdir(made_dir)
    return {"source": source, "mount_point": point, "set_has_own_root": bool(own_root),
            "inside_holder_view": inside, "inside_findmnt": inside_cmd, "host": host}


@prop("MNT5", "Unmounts propagate like mounts", needs=("mnt_ns", "setns"))
def probe_mnt5(probe_run):
    """In the propagation lab of MNT2, mounts made in one namespace under a shared and a slave peer are
    unmounted in the other (LTP mountns03/04). It fails unless an unmount under a shared peer reaches the
    other namespace both ways, one from the master reaches the slave, and one in the slave stays there.
    Needs mount namespaces and setns."""
    need_root()
    base = probe_run.tmpdir("mnt5")

    def experiment():
        master, other = _lab_in_two_namespaces(probe_run, base)
        setns(master, CLONE_NEWNS)
        for point in ("s/a", "s/b", "sl/a", "sl/b"):
            mount(probe_run.scope, "%s/%s" % (base, point), "tmpfs", 0, "size=16k")
        setns(other, CLONE_NEWNS)
        propagated = dict((p, _has_mount("%s/%s" % (base, p))) for p in ("s/a", "s/b", "sl/a", "sl/b"))
        umount2(base + "/s/a")   # shared peer: must leave the master too
        umount2(base + "/sl/a")  # slave: must stay in the master
        setns(master, CLONE_NEWNS)
        in_master = {"shared_unmounted_in_other": not _has_mount(base + "/s/a"),
                     "slave_unmount_stays_in_slave": _has_mount(base + "/sl/a")}
        umount2(base + "/s/b")   # shared peer, the other way
        umount2(base + "/sl/b")  # master: must leave the slave
        setns(other, CLONE_NEWNS)
        in_other = {"shared_unmounted_in_master": not _has_mount(base + "/s/b"),
                    "master_unmount_reaches_slave": not _has_mount(base + "/sl/b")}
        return {"mounts_propagated_before": propagated, "seen_in_master": in_master, "seen_in_other": in_other}

    try:
        return in_child(experiment)
    finally:
        os.rmdir(base)
