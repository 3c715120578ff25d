"""G: properties shared by every namespace type (namespace files, setns, pinning, limits, nsfs ioctls)."""

import ctypes
import errno
import os
import resource

from conformance.probes.declare import NS_FILES, prop
from conformance.probes.lib.child import Child, in_child
from conformance.probes.lib.errors import ProbeError, Skip
from conformance.probes.lib.observe import (
    need_root, ns_id, ns_ids, read_text, self_ns, uname_names, write_text)
from conformance.probes.lib.policy import enter_user_ns
from conformance.probes.lib.subjects import supported_types
from conformance.probes.lib.syscalls import (
    CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS, MS_BIND, MS_PRIVATE,
    MS_REC, NS_GET_ID, NS_GET_NSTYPE, NS_GET_PARENT, NS_GET_USERNS, NS_TYPES, drop_to_nobody, errno_name, libc,
    mount, ns_ioctl, ns_owner_uid, outcome, pidfd_open, sethostname, setns, unshare)


@prop("G1", "One namespace file per type, identified by device and inode", needs=NS_FILES)
def probe_g1(probe_run):
    """For every type the probe tries to create a namespace and checks /proc/self/ns/TYPE. It fails if a
    creatable type has no file, an unknown type has one, or the link text does not name the file's inode.
    Needs the namespace files of every type (setns, user namespaces)."""
    found = {}
    for nstype, (flag, _option, _feature) in NS_TYPES.items():
        path = "/proc/self/ns/" + nstype
        entry = {"creatable": in_child(outcome, unshare, flag), "exists": os.path.exists(path)}
        if entry["exists"]:
            st = os.stat(path)
            entry.update(dev=st.st_dev, ino=st.st_ino, link=os.readlink(path))
        found[nstype] = entry
    return {"types": found}


@prop("G2", "Requested types are new, the others inherited", needs=NS_FILES, setup=True)
def probe_g2(probe_run, subject):
    """The set's namespace files and its holder's (/proc/PID/ns of its PID 1) are compared with the host's.
    It fails if the set has no holder, if a requested type is the host's, if the holder is not in the set's
    namespace, or if a type that was not requested is new for the holder: the subject's own claim is
    checked against its PID 1, never trusted. Needs the namespace files of every type (setns, user
    namespaces)."""
    if not subject.holder_pid:
        raise ProbeError("the %s subject names no PID 1 to verify its namespaces with" % subject.kind)
    requested, inherited = {}, {}
    for nstype in supported_types():
        holder = ns_id("/proc/%d/ns/%s" % (subject.holder_pid, nstype))
        if nstype in subject.types:
            requested[nstype] = {"subject": subject.ns_id(nstype), "host": self_ns(nstype), "holder": holder}
        else:
            inherited[nstype] = {"holder": holder, "host": self_ns(nstype)}
    return {"requested": requested, "not_requested": inherited}


@prop("G3", "Joining a file joins exactly that namespace", needs=("setns", "uts_ns", "ipc_ns"), setup=True)
def probe_g3(probe_run, subject):
    """A child calls setns on each of the set's files, for every type the set claims or its PID 1 has apart
    from the host, and compares where it landed with the file and with its PID 1's namespace; a second
    call names another type. It fails if a file is missing, the child ends elsewhere or the mismatched
    call does not return EINVAL. Needs setns and UTS and IPC namespaces."""
    def join(nstype, wrong_flag):
        ns_dir = os.open("/proc/self/ns", os.O_RDONLY | os.O_DIRECTORY)
        fd = subject.open(nstype)
        wrong = outcome(setns, fd, wrong_flag)
        setns(fd, NS_TYPES[nstype][0])
        # pid and time move only the caller's children; mnt swaps /proc, so read through ns_dir.
        seen = nstype + "_for_children" if nstype in ("pid", "time") else nstype
        return {"joined": ns_id(seen, dir_fd=ns_dir), "wrong_type": wrong}

    if not subject.holder_pid:
        raise ProbeError("the %s subject names no PID 1 to verify its namespaces with" % subject.kind)
    holder_ns = dict((t, ns_id("/proc/%d/ns/%s" % (subject.holder_pid, t))) for t in supported_types())
    joined = {}
    for nstype in sorted(set(subject.types) | set(t for t in holder_ns if holder_ns[t] != self_ns(t))):
        wrong_flag = CLONE_NEWIPC if nstype != "ipc" else CLONE_NEWUTS
        entry = in_child(join, nstype, wrong_flag)
        entry["file"] = subject.ns_id(nstype)
        entry["holder"] = holder_ns[nstype]
        joined[nstype] = entry
    return {"types": joined}


@prop("G4", "setns reports its documented errors", needs=("setns", "uts_ns", "ipc_ns"))
def probe_g4(probe_run):
    """setns is called on a closed descriptor (EBADF expected), on /dev/null (EINVAL), with a type that does
    not match the file (EINVAL) and by a process without CAP_SYS_ADMIN (EPERM). Any other errno fails.
    Needs setns and UTS and IPC namespaces."""
    closed = resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 1  # above any fd a child opens
    if outcome(os.fstat, closed) != "EBADF":
        raise ProbeError("fd %d is open: no closed descriptor to test EBADF with" % closed)
    uts = os.open("/proc/self/ns/uts", os.O_RDONLY)
    not_nsfs = os.open("/dev/null", os.O_RDONLY)

    def unprivileged():
        drop_to_nobody()
        return outcome(setns, uts, CLONE_NEWUTS)

    try:
        return {"closed_fd": in_child(outcome, setns, closed, 0),
                "not_nsfs": in_child(outcome, setns, not_nsfs, 0),
                "wrong_type": in_child(outcome, setns, uts, CLONE_NEWIPC),
                "without_cap_sys_admin": in_child(unprivileged),
                "as_root": os.geteuid() == 0}
    finally:
        os.close(uts)
        os.close(not_nsfs)


def _hold_new(flags, then=None):
    """A child that unshares flags, optionally runs then(), reports, and waits to be released."""

    def body(channel):
        unshare(flags)
        extra = then() if then else None
        channel.send({"ns": ns_ids(), "extra": extra})
        channel.recv()
        return None

    return Child(body)


@prop("G5", "setns with a pidfd joins several types at once", needs=("pidfd_open", "setns_pidfd"))
def probe_g5(probe_run):
    """A child joins the UTS, IPC and network namespaces of another process through its pidfd in one call,
    then tries a pidfd of a process that has exited. It fails if the join errors or lands elsewhere, or
    if the exited one does not give ESRCH or changes anything. Needs pidfd_open and setns with a pidfd."""
    try:
        own = pidfd_open(os.getpid())
    except OSError as exc:
        raise Skip("pidfd_open gives %s" % errno_name(exc), "pidfd_open")
    os.close(own)
    types = ("uts", "ipc", "net")
    flags = CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET
    target = _hold_new(flags)
    target_ns = target.recv()["ns"]
    pidfd = pidfd_open(target.pid)

    def join_all():
        result = outcome(setns, pidfd, flags)
        if result == "EINVAL":
            raise Skip("setns() does not take a pidfd here", "setns_pidfd")
        return {"result": result, "ns": ns_ids()}

    try:
        joined = in_child(join_all)
    finally:
        target.send("release")
        target.result()
    exited = Child(lambda _c: None)
    exited_fd = pidfd_open(exited.pid)
    exited.result()

    def join_exited():
        before = ns_ids()
        return {"result": outcome(setns, exited_fd, flags), "unchanged": ns_ids() == before}

    try:
        after_exit = in_child(join_exited)
    finally:
        os.close(pidfd)
        os.close(exited_fd)
    return {"types": list(types), "target": dict((t, target_ns[t]) for t in types),
            "joined": joined["result"], "joined_ns": dict((t, joined["ns"][t]) for t in types),
            "exited_task": after_exit}


@prop("G6", "A pinned namespace stays alive", needs=("mnt_ns", "user_ns", "ns_get_userns"))
def probe_g6(probe_run):
    """A UTS namespace is kept only by an open descriptor, by a process in it, by a bind mount of its file or
    by a child user namespace, and its hostname is read back through the pin. It fails if a pinned
    namespace is gone. The probe also records, per CPU pair, whether a newer mount namespace can be bound.
    Needs mount and user namespaces and NS_GET_USERNS."""
    need_root()

    def marked_uts(label):
        def mark():
            sethostname("%s-%s" % (probe_run.prefix, label))
        return _hold_new(CLONE_NEWUTS, mark)

    def hostname_via(path_or_fd):
        def look():
            fd = path_or_fd if isinstance(path_or_fd, int) else os.open(path_or_fd, os.O_RDONLY)
            setns(fd, CLONE_NEWUTS)
            return uname_names()["hostname"]
        return in_child(look)

    pins = {}
    # An open file descriptor.
    holder = marked_uts("fd")
    holder.recv()
    fd = os.open("/proc/%d/ns/uts" % holder.pid, os.O_RDONLY)
    holder.send("release")
    holder.result()
    pins["open_fd"] = {"expected": "%s-fd" % probe_run.prefix, "seen": hostname_via(fd)}
    os.close(fd)
    # A process in it (the holder itself, still alive).
    holder = marked_uts("proc")
    holder.recv()
    pins["process"] = {"expected": "%s-proc" % probe_run.prefix,
                       "seen": hostname_via("/proc/%d/ns/uts" % holder.pid)}
    holder.send("release")
    holder.result()

    # A bind mount of its file, made in a private mount namespace of a child.
    def bind_mount_pin():
        unshare(CLONE_NEWNS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount(probe_run.scope, "/tmp", "tmpfs", 0, "size=64k")
        open("/tmp/uts", "w").close()
        inner = marked_uts("bind")
        inner.recv()
        mount("/proc/%d/ns/uts" % inner.pid, "/tmp/uts", None, MS_BIND)
        inner.send("release")
        inner.result()
        return hostname_via("/tmp/uts")

    pins["bind_mount"] = {"expected": "%s-bind" % probe_run.prefix, "seen": in_child(bind_mount_pin)}

    # A child namespace pins its parent: a user namespace kept only by the one nested in it.
    def child_pins_parent():
        enter_user_ns()
        parent_id = self_ns("user")
        unshare(CLONE_NEWUSER)
        return {"parent_id": parent_id, "fd_path": "/proc/%d/ns/user" % os.getpid()}

    def parent_of_orphaned_child():
        holder = Child(lambda c: (c.send(child_pins_parent()), c.recv()))
        info = holder.recv()
        fd = os.open(info["fd_path"], os.O_RDONLY)
        holder.send("release")
        holder.result()
        try:
            parent = ns_ioctl(fd, NS_GET_PARENT)
        except OSError as exc:
            if exc.errno == errno.ENOTTY:
                raise Skip("NS_GET_PARENT is missing", "ns_get_userns")
            raise
        return {"expected": info["parent_id"], "seen": ns_id("/proc/self/fd/%d" % parent)}

    pins["child_namespace"] = in_child(parent_of_orphaned_child)
    return {"pins": pins, "mount_ns_bind": _bind_newer_mount_ns_per_cpu(probe_run)}


def ns_id_of(path):
    """NS_GET_ID (Linux 6.18+) of a namespace file, or None."""
    value = ctypes.c_uint64()
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc().ioctl(ctypes.c_int(fd), ctypes.c_ulong(NS_GET_ID), ctypes.byref(value)) != 0:
            return None
        return value.value
    finally:
        os.close(fd)


def _bind_newer_mount_ns_per_cpu(probe_run):
    """Pinning a mount namespace by a bind mount of its file, from a mount namespace made before it.

    The kernel refuses to bind a mount namespace that is not newer than the binder's (loop check);
    a namespace made later must be accepted whichever CPU made either one. Each ordered pair of CPUs
    (binder's namespace made on the first, the pinned one on the second) is tried once."""
    cpus = sorted(os.sched_getaffinity(0))[:4]

    def attempt(binder_cpu, new_cpu):
        os.sched_setaffinity(0, {binder_cpu})
        unshare(CLONE_NEWNS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount(probe_run.scope, "/tmp", "tmpfs", 0, "size=64k")
        open("/tmp/mnt", "w").close()

        def newer(channel):
            os.sched_setaffinity(0, {new_cpu})
            unshare(CLONE_NEWNS)
            channel.send("made")
            channel.recv()

        holder = Child(newer)
        holder.recv()
        source = "/proc/%d/ns/mnt" % holder.pid
        result = {"bind": outcome(mount, source, "/tmp/mnt", None, MS_BIND),
                  "binder_ns_id": ns_id_of("/proc/self/ns/mnt"), "pinned_ns_id": ns_id_of(source)}
        holder.send("release")
        holder.wait()
        return result

    return dict(("cpu%d->cpu%d" % (a, b), in_child(attempt, a, b)) for a in cpus for b in cpus)


@prop("G7", "user.max_TYPE_namespaces is enforced with ENOSPC", needs=("max_namespaces",))
def probe_g7(probe_run):
    """Inside a new user namespace each per-type limit is set to 0 and a namespace of that type is requested.
    It fails if the limit cannot be written, if creation gives anything but ENOSPC, or if the host's own
    limits change. Needs the user.max_*_namespaces sysctls."""
    if not os.path.exists("/proc/sys/user/max_uts_namespaces"):
        raise Skip("no user.max_*_namespaces sysctls", "max_namespaces")
    sysctls = dict((t, "/proc/sys/user/max_%s_namespaces" % t) for t in supported_types())
    sysctls = dict((t, path) for t, path in sysctls.items() if os.path.exists(path))
    host_before = dict((t, read_text(path).strip()) for t, path in sysctls.items())

    def limited(nstype):
        # The sysctls are per user namespace: set the limit to 0 in our own, never on the host.
        enter_user_ns()
        write_text(sysctls[nstype], "0")
        return {"limit": read_text(sysctls[nstype]).strip(), "create": outcome(unshare, NS_TYPES[nstype][0])}

    results = dict((t, in_child(limited, t)) for t in sorted(sysctls))
    host_after = dict((t, read_text(path).strip()) for t, path in sysctls.items())
    return {"types": results, "host_before": host_before, "host_after": host_after}


@prop("G8", "nsfs ioctls answer as documented", needs=("ns_get_userns", "ns_get_nstype"))
def probe_g8(probe_run):
    """NS_GET_USERNS, NS_GET_PARENT, NS_GET_NSTYPE and NS_GET_OWNER_UID are called on namespace files and a
    plain file. It fails if the owner or parent is not the expected namespace, if the root of a scope does
    not give EPERM, if NS_GET_NSTYPE is not the CLONE_NEW* value, or a plain file does not give ENOTTY.
    Needs NS_GET_USERNS/NS_GET_PARENT and NS_GET_NSTYPE/NS_GET_OWNER_UID."""
    uts = os.open("/proc/self/ns/uts", os.O_RDONLY)
    try:
        os.close(ns_ioctl(uts, NS_GET_USERNS))
    except OSError as exc:
        if exc.errno == errno.ENOTTY:
            raise Skip("nsfs has no NS_GET_USERNS", "ns_get_userns")
        raise
    finally:
        os.close(uts)

    def fd_id(fd):
        return ns_id("/proc/self/fd/%d" % fd)

    def userns_of(nstype):
        fd = os.open("/proc/self/ns/" + nstype, os.O_RDONLY)
        try:
            return fd_id(ns_ioctl(fd, NS_GET_USERNS))
        except OSError as exc:
            return errno_name(exc)

    # For a user namespace, NS_GET_USERNS gives its owner: for our own, out of scope (EPERM).
    observed = {"own_user": self_ns("user"),
                "userns_of": dict((t, userns_of(t)) for t in supported_types())}

    def parent_of_new(nstype):
        """NS_GET_PARENT of our own namespace (EPERM: the root of our scope) and of a child one,
        asked from outside the child (its parent is out of scope from within)."""
        own = os.open("/proc/self/ns/" + nstype, os.O_RDONLY)
        observed = {"own": fd_id(own), "parent_of_own": outcome(ns_ioctl, own, NS_GET_PARENT)}
        if nstype == "pid":
            unshare(CLONE_NEWPID)  # the namespace comes to exist with its first process, the holder
        holder = Child(lambda c: (enter_user_ns() if nstype == "user" else None, c.send("ready"), c.recv()))
        holder.recv()
        new = os.open("/proc/%d/ns/%s" % (holder.pid, nstype), os.O_RDONLY)
        holder.send("release")
        holder.wait()
        observed["parent_of_new"] = fd_id(ns_ioctl(new, NS_GET_PARENT))
        return observed

    observed["parent"] = dict((t, in_child(parent_of_new, t)) for t in ("pid", "user"))
    observed["parent_of_uts"] = in_child(lambda: outcome(ns_ioctl, os.open("/proc/self/ns/uts", os.O_RDONLY),
                                                         NS_GET_PARENT))
    nstypes = {}
    for nstype in supported_types():
        fd = os.open("/proc/self/ns/" + nstype, os.O_RDONLY)
        try:
            nstypes[nstype] = {"expected": NS_TYPES[nstype][0], "got": ns_ioctl(fd, NS_GET_NSTYPE)}
        except OSError as exc:
            nstypes[nstype] = {"expected": NS_TYPES[nstype][0], "got": errno_name(exc)}
        finally:
            os.close(fd)
    if all(v["got"] == "ENOTTY" for v in nstypes.values()):
        observed["nstype_skip"] = "NS_GET_NSTYPE is missing (Linux 4.11+)"
    observed["nstype"] = nstypes
    if "nstype_skip" not in observed:
        observed["owner_uid"] = _owner_uid_of_new_user_ns()
    plain = os.open("/proc/self/status", os.O_RDONLY)
    try:
        observed["not_nsfs"] = outcome(ns_ioctl, plain, NS_GET_USERNS)
    finally:
        os.close(plain)
    return observed


def _owner_uid_of_new_user_ns():
    """NS_GET_OWNER_UID of a user namespace we create (its owner is our euid), and on a uts fd."""
    holder = Child(lambda c: (enter_user_ns(), c.send("ready"), c.recv()))
    holder.recv()
    user = os.open("/proc/%d/ns/user" % holder.pid, os.O_RDONLY)
    uts = os.open("/proc/self/ns/uts", os.O_RDONLY)
    try:
        try:
            owner = ns_owner_uid(user)
        except OSError as exc:
            owner = errno_name(exc)
        return {"creator_euid": os.geteuid(), "user": owner, "uts": outcome(ns_owner_uid, uts)}
    finally:
        os.close(user)
        os.close(uts)
        holder.send("release")
        holder.wait()
