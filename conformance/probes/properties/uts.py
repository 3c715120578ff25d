"""UTS: hostname and NIS domain name."""

import os

from conformance.probes.declare import prop
from conformance.probes.lib.child import in_child
from conformance.probes.lib.observe import need_root, run, self_ns, uname_names
from conformance.probes.lib.policy import refused_user_ns
from conformance.probes.lib.syscalls import (
    CLONE_NEWUSER, CLONE_NEWUTS, drop_to_nobody, outcome, setdomainname, sethostname, setns, unshare)


@prop("UTS1", "A new UTS namespace starts with the parent's names", needs=("uts_ns",))
def probe_uts1(probe_run):
    """A child unshares its UTS namespace and reads the hostname and domain name. It fails if no new
    namespace was made or the names differ from the parent's. Needs UTS namespaces."""
    def fresh():
        before, ns_before = uname_names(), self_ns("uts")
        unshare(CLONE_NEWUTS)
        return {"before": before, "inside": uname_names(), "ns_before": ns_before, "ns_after": self_ns("uts")}

    need_root()
    observed = in_child(fresh)
    observed["host"] = uname_names()
    return observed


@prop("UTS2", "Names set inside are invisible outside", needs=("uts_ns", "setns"), setup=True)
def probe_uts2(probe_run, subject):
    """A child joins the set's UTS namespace and sets a hostname and domain name; the host and a sibling UTS
    namespace read theirs. It fails if the inside read differs from what was set, or the host or the
    sibling sees the change. The probe refuses to write into a namespace that is the host's. Needs UTS
    namespaces and setns."""
    path = subject.private("uts")
    host_before = uname_names()
    new_names = {"hostname": "%s-uts2" % probe_run.prefix, "domainname": "%s-dom2" % probe_run.prefix}

    def change():
        setns(os.open(path, os.O_RDONLY), CLONE_NEWUTS)
        original = uname_names()
        sethostname(new_names["hostname"])
        setdomainname(new_names["domainname"])
        return {"original": original, "inside": uname_names()}

    def restore(original):
        setns(os.open(path, os.O_RDONLY), CLONE_NEWUTS)
        sethostname(original["hostname"])
        setdomainname(original["domainname"])

    changed = in_child(change)
    try:
        host_after = uname_names()
        sibling = run(["unshare", "--uts", "sh", "-c", "hostname; domainname"]).split()
    finally:
        in_child(restore, changed["original"])
    return {"set": new_names, "inside": changed["inside"], "host_before": host_before,
            "host_after": host_after, "sibling": {"hostname": sibling[0], "domainname": sibling[1]}}


@prop("UTS3", "Without a new UTS namespace the change is shared", needs=("uts_ns",))
def probe_uts3(probe_run):
    """A negative control, in a scratch UTS namespace so the host's name is never touched: a plain child
    sets the hostname and its parent reads it. It fails if the parent does not see the new name or if
    the host's name changed. Needs UTS namespaces."""
    need_root()
    name = "%s-uts3" % probe_run.prefix

    def shared_without_new_ns():
        unshare(CLONE_NEWUTS)  # a scratch namespace so the host's name is never touched
        before = uname_names()["hostname"]
        in_child(sethostname, name)  # a plain fork shares the namespace
        return {"before": before, "after_child_set": uname_names()["hostname"]}

    observed = in_child(shared_without_new_ns)
    observed.update(set=name, host=uname_names()["hostname"])
    return observed


@prop("UTS4", "A UTS namespace needs CAP_SYS_ADMIN or a user namespace", needs=("uts_ns", "user_ns"))
def probe_uts4(probe_run):
    """As uid 65534, a child tries to unshare a UTS namespace (EPERM expected), then a user and a UTS
    namespace together and sets the hostname inside (both must work). Any other result fails. Needs UTS
    and user namespaces."""
    def unprivileged():
        drop_to_nobody()
        plain = outcome(unshare, CLONE_NEWUTS)
        with_user = outcome(unshare, CLONE_NEWUSER | CLONE_NEWUTS)
        inside = outcome(sethostname, "%s-uts4" % probe_run.prefix) if with_user == "OK" else None
        return {"uid": os.geteuid(), "unshare_uts": plain, "unshare_user_uts": with_user,
                "sethostname_inside": inside}

    observed = in_child(unprivileged)
    if observed["unshare_user_uts"] != "OK":
        refused_user_ns(observed["unshare_user_uts"], unprivileged=True)
    return observed
