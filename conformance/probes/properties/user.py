"""USER: id maps, capabilities, ownership of other namespaces, nesting and policy gates."""

import os

from conformance.probes.declare import prop
from conformance.probes.lib.child import Child, in_child
from conformance.probes.lib.errors import Skip
from conformance.probes.lib.observe import (
    at_initial_user_ns, need_root, ns_id, read_text, self_ns, status_field, unshare_user_as_root, write_text)
from conformance.probes.lib.policy import read_gates, refused_user_ns
from conformance.probes.lib.syscalls import (
    CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWUTS, NS_GET_USERNS, drop_to_nobody,
    errno_name, ns_ioctl, outcome, sethostname, unshare)


@prop("USER1", "Unmapped ids show as 65534", needs=("user_ns",))
def probe_user1(probe_run):
    """Inside a new user namespace with no maps the process reads its own ids. It fails unless they are the
    overflow id 65534. Needs user namespaces."""
    def experiment():
        enter_unmapped = outcome(unshare, CLONE_NEWUSER)
        if enter_unmapped != "OK":
            refused_user_ns(enter_unmapped, unprivileged=False)
        return {"uid": os.getuid(), "gid": os.getgid(), "root_dir_owner": os.stat("/").st_uid}

    observed = in_child(experiment)
    observed["overflowuid"] = int(read_text("/proc/sys/kernel/overflowuid"))
    observed["overflowgid"] = int(read_text("/proc/sys/kernel/overflowgid"))
    return observed


@prop("USER2", "Full capabilities inside, only over what the namespace owns", needs=("user_ns",))
def probe_user2(probe_run):
    """A process in a new user namespace reads its effective capabilities, sets the hostname of the UTS
    namespace it came from, then makes its own UTS namespace and sets the hostname there. It fails unless
    the set is full, the first write gives EPERM and the second works. Needs user namespaces."""
    last_cap = int(read_text("/proc/sys/kernel/cap_last_cap"))

    def experiment():
        # A scratch UTS namespace owned by the parent user namespace stands for "not ours", so a
        # faulty kernel could only rename the scratch namespace, never the host (EPERM if not root).
        scratch = outcome(unshare, CLONE_NEWUTS)
        made = outcome(unshare, CLONE_NEWUSER)
        if made != "OK":
            refused_user_ns(made, unprivileged=False)
        cap_eff = int(status_field("self", "CapEff")[0], 16)
        foreign = outcome(sethostname, "%s-user2" % probe_run.prefix)
        own = outcome(unshare, CLONE_NEWUTS)
        owned = outcome(sethostname, "%s-user2" % probe_run.prefix) if own == "OK" else None
        return {"cap_eff": cap_eff, "scratch_uts": scratch, "sethostname_in_parent_uts": foreign,
                "unshare_uts": own,
                "sethostname_in_own_uts": owned}

    observed = in_child(experiment)
    observed["full_set"] = (1 << (last_cap + 1)) - 1
    return observed


@prop("USER3", "Id maps are written once and files belong to the mapped id", needs=("user_ns", "uid_map"))
def probe_user3(probe_run):
    """A user namespace gets uid and gid maps putting root inside on one id outside; a second write is tried
    and a file is made inside. It fails if a map can be written twice or the file's owner on the host is
    not the mapped id. Needs user namespaces and uid_map/gid_map."""
    need_root()
    outer = 100000 + (probe_run.tag & 0xFFFF)
    directory = probe_run.tmpdir("user3")
    os.chmod(directory, 0o777)

    def inside(channel):
        unshare(CLONE_NEWUSER)
        channel.send("unshared")
        channel.recv()
        # The maps do not change our credentials: become uid/gid 0 of the namespace, i.e. `outer`.
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
        path = os.path.join(directory, "made-inside")
        open(path, "w").close()
        return {"uid": os.getuid(), "gid": os.getgid(), "file": path}

    child = Child(inside)
    try:
        child.recv()
        if os.path.exists("/proc/%d/setgroups" % child.pid):
            write_text("/proc/%d/setgroups" % child.pid, "deny")
        first = outcome(write_text, "/proc/%d/uid_map" % child.pid, "0 %d 1" % outer)
        write_text("/proc/%d/gid_map" % child.pid, "0 %d 1" % outer)
        second = outcome(write_text, "/proc/%d/uid_map" % child.pid, "0 %d 1" % (outer + 1))
        uid_map = read_text("/proc/%d/uid_map" % child.pid).split()
        child.send("go")
        made = child.result()
        st = os.stat(made["file"])
        os.unlink(made["file"])
    finally:
        child.kill()
        os.rmdir(directory)
    return {"outer": outer, "first_write": first, "second_write": second, "uid_map": uid_map,
            "inside_uid": made["uid"], "inside_gid": made["gid"], "file_owner_on_host": [st.st_uid, st.st_gid]}


@prop("USER4", "setgroups must be denied before an unprivileged gid_map", needs=("user_ns", "setgroups"))
def probe_user4(probe_run):
    """In a new user namespace, without CAP_SETGID in the parent, setgroups reads allow and gid_map is
    written before and after setting it to deny. It fails unless the first write gives EPERM and the
    second works. Needs user namespaces and /proc/PID/setgroups."""
    if not os.path.exists("/proc/self/setgroups"):
        raise Skip("no /proc/PID/setgroups", "setgroups")

    def experiment():
        drop_to_nobody()
        made = outcome(unshare, CLONE_NEWUSER)
        if made != "OK":
            refused_user_ns(made, unprivileged=True)
        mapping = "0 %d 1" % os.getegid()
        before = read_text("/proc/self/setgroups").strip()
        with_allow = outcome(write_text, "/proc/self/gid_map", mapping)
        write_text("/proc/self/setgroups", "deny")
        with_deny = outcome(write_text, "/proc/self/gid_map", mapping)
        return {"uid_outside": os.geteuid(), "setgroups_initially": before,
                "gid_map_with_allow": with_allow, "gid_map_after_deny": with_deny}

    return in_child(experiment)


@prop("USER5", "The user namespace is made first, then the others inside it", needs=("user_ns", "ns_get_userns"))
def probe_user5(probe_run):
    """An unprivileged process asks for several CLONE_NEW* types without and then with CLONE_NEWUSER. It
    fails unless the first gives EPERM, the second works, and the new namespaces are owned by the new user
    namespace. Needs user namespaces and NS_GET_USERNS."""
    flags = CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS

    def experiment():
        drop_to_nobody()
        alone = outcome(unshare, CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET)
        together = outcome(unshare, flags)
        if together in ("EPERM", "EACCES", "ENOSPC") and alone == "EPERM":
            refused_user_ns(together, unprivileged=True)
        owners = {}
        if together == "OK":
            user = self_ns("user")
            for nstype in ("uts", "ipc", "net", "mnt"):
                fd = os.open("/proc/self/ns/" + nstype, os.O_RDONLY)
                try:
                    owners[nstype] = ns_id("/proc/self/fd/%d" % ns_ioctl(fd, NS_GET_USERNS)) == user
                except OSError as exc:
                    owners[nstype] = errno_name(exc)
        return {"uid": os.geteuid(), "without_user": alone, "with_user": together,
                "owned_by_new_user_ns": owners}

    return in_child(experiment)


@prop("USER6", "User namespaces nest 32 levels deep", needs=("user_ns",))
def probe_user6(probe_run):
    """Nested user namespaces are made until the kernel refuses. It fails if the depth is not 32 (or 33,
    counting the one made at depth 32) or the refusal is not ENOSPC (EUSERS before 4.9); it skips when the
    host already runs inside a user namespace. Needs user namespaces."""
    def nest():
        levels = 0
        while True:
            try:
                unshare_user_as_root()
            except OSError as exc:
                return {"levels_created": levels, "errno": errno_name(exc)}
            levels += 1

    observed = in_child(nest)
    observed["at_initial_user_ns"] = at_initial_user_ns()
    return observed


@prop("USER7", "Policy gates on user namespaces are reported", needs=("user_ns", "max_namespaces"))
def probe_user7(probe_run):
    """user.max_user_namespaces, kernel.unprivileged_userns_clone and
    kernel.apparmor_restrict_unprivileged_userns are read, and an unprivileged process creates a user
    namespace and tries a privileged operation inside. It fails if the gates and the outcome disagree.
    Needs user namespaces and the user.max_*_namespaces sysctls."""
    gates = read_gates()

    def unprivileged():
        drop_to_nobody()
        made = outcome(unshare, CLONE_NEWUSER)
        privileged = None
        if made == "OK":
            privileged = outcome(unshare, CLONE_NEWUTS)
            if privileged == "OK":
                privileged = outcome(sethostname, "%s-user7" % probe_run.prefix)
        return {"create_user_ns": made, "privileged_op_inside": privileged}

    observed = in_child(unprivileged)
    observed["gates"] = gates
    return observed


@prop("USER8", "setgroups \"deny\" cannot be switched back to \"allow\"", needs=("user_ns", "setgroups"))
def probe_user8(probe_run):
    """In a new user namespace /proc/self/setgroups is set to deny, then allow is written (LTP userns).
    It fails unless deny is accepted and allow then gives EPERM and the file still reads deny. Needs user
    namespaces and /proc/PID/setgroups."""
    if not os.path.exists("/proc/self/setgroups"):
        raise Skip("no /proc/PID/setgroups", "setgroups")

    def experiment():
        made = outcome(unshare, CLONE_NEWUSER)
        if made != "OK":
            refused_user_ns(made, unprivileged=os.geteuid() != 0)
        deny = outcome(write_text, "/proc/self/setgroups", "deny")
        allow_again = outcome(write_text, "/proc/self/setgroups", "allow")
        return {"write_deny": deny, "write_allow_after_deny": allow_again,
                "setgroups_after": read_text("/proc/self/setgroups").strip()}

    return in_child(experiment)


@prop("USER9", "gid_map is written once", needs=("user_ns", "uid_map"))
def probe_user9(probe_run):
    """The parent writes the gid_map of a child's new user namespace twice, the second time with another
    range (LTP userns). It fails unless the first write works, the second gives EPERM and the map still
    reads the first range. Needs user namespaces and uid_map/gid_map."""
    need_root()
    outer = 100000 + (probe_run.tag & 0xFFFF)

    def inside(channel):
        unshare(CLONE_NEWUSER)
        channel.send("unshared")
        channel.recv()

    child = Child(inside)
    try:
        child.recv()
        gid_map = "/proc/%d/gid_map" % child.pid
        first = outcome(write_text, gid_map, "0 %d 1" % outer)
        second = outcome(write_text, gid_map, "0 %d 1" % (outer + 1))
        seen = read_text(gid_map).split()
        child.send("go")
        child.result()
    finally:
        child.kill()
    return {"outer": outer, "first_write": first, "second_write": second, "gid_map": seen}


@prop("USER10", "Id maps read from another user namespace are shown in the reader's ids",
      needs=("user_ns", "uid_map"))
def probe_user10(probe_run):
    """Two sibling user namespaces map one outer id X: A as 0, B as 5. A's uid_map is read by the host, by A
    itself and by a member of B (LTP userns). It fails unless the host and A read "0 X 1" (relative to
    A's parent) and B reads "0 5 1" (relative to the reader's own namespace). Needs user namespaces and
    uid_map/gid_map."""
    need_root()
    outer = 100000 + (probe_run.tag & 0xFFFF)

    def member(channel):
        unshare(CLONE_NEWUSER)
        channel.send("unshared")
        path = channel.recv()
        return read_text(path).split()

    first, second = Child(member), Child(member)
    try:
        first.recv()
        second.recv()
        for child, inner in ((first, 0), (second, 5)):
            write_text("/proc/%d/setgroups" % child.pid, "deny")
            write_text("/proc/%d/uid_map" % child.pid, "%d %d 1" % (inner, outer))
        first_map = "/proc/%d/uid_map" % first.pid
        from_host = read_text(first_map).split()
        second.send(first_map)
        from_sibling = second.result()
        first.send(first_map)
        from_itself = first.result()
    finally:
        first.kill()
        second.kill()
    return {"outer": outer, "sibling_maps": 5, "read_by_host": from_host, "read_by_itself": from_itself,
            "read_by_sibling": from_sibling}
