"""The end of a probe call: remove what the run may have left, and check that nothing of it is left."""

import os

from conformance.probes.lib.child import LIVE_CHILDREN
from conformance.probes.lib.errors import Skip
from conformance.probes.lib.observe import (
    host_pids, ip_link_names, mountinfo, read_text, run, systemd_cgroup_dirs, sysvipc_keys, uname_names)
from conformance.probes.lib.syscalls import MNT_DETACH, MQUEUE, MQ_LABELS, SYSV, SYSV_KINDS, outcome, umount2


def _host_links():
    try:
        return ip_link_names(run(["ip", "-o", "link", "show"], check=False))
    except Skip:
        return []


def sweep(probe_run):
    """Remove whatever carries the run's prefix and is still there; returns what was removed."""
    removed = []
    for child in list(LIVE_CHILDREN):
        child.kill()
        removed.append("child %d" % child.pid)
    for key in probe_run.ipc_keys():
        for kind in SYSV_KINDS:
            if SYSV.remove(kind, key):
                removed.append("%s key 0x%08x" % (kind, key))
    for label in MQ_LABELS:
        if MQUEUE.unlink(probe_run.mq_name(label)) == "OK":
            removed.append("POSIX message queue %s" % probe_run.mq_name(label))
    for m in reversed(mountinfo()):
        if m["source"].startswith(probe_run.scope) or m["point"].startswith("/tmp/%s-" % probe_run.scope):
            if outcome(umount2, m["point"], MNT_DETACH) == "OK":
                removed.append("mount %s" % m["point"])
    for name in _host_links():
        if name.startswith(probe_run.prefix):
            run(["ip", "link", "del", "dev", name], check=False)
            removed.append("link %s" % name)
    for name in os.listdir("/tmp"):
        if name.startswith(probe_run.scope + "-"):
            try:
                os.rmdir(os.path.join("/tmp", name))
                removed.append("dir /tmp/%s" % name)
            except OSError:
                pass
    return removed


def leftovers(probe_run, hostname_before):
    """Anything of this run still on the host (must be empty)."""
    found = []
    for m in mountinfo():
        if probe_run.prefix in m["source"] or probe_run.prefix in m["point"]:
            found.append("mount %s (%s)" % (m["point"], m["fstype"]))
    found += ["link %s" % n for n in _host_links() if n.startswith(probe_run.prefix)]
    if os.path.isdir("/run/netns"):
        found += ["/run/netns/%s" % n for n in os.listdir("/run/netns") if n.startswith(probe_run.prefix)]
    holder_comm = ("nsh:" + probe_run.prefix)[:15]
    for pid in host_pids():
        try:
            comm = read_text("/proc/%d/comm" % pid).strip()
            state = read_text("/proc/%d/stat" % pid).rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if state == "Z":  # exited: a zombie holds no namespace, and its new parent (init) reaps it
            continue
        if comm.startswith(holder_comm) or pid in probe_run.started or pid in [c.pid for c in LIVE_CHILDREN]:
            found.append("process %d (%s)" % (pid, comm))
    for label in MQ_LABELS:
        if outcome(MQUEUE.open, probe_run.mq_name(label)) not in ("ENOENT", "ENOSYS"):
            found.append("POSIX message queue %s" % probe_run.mq_name(label))
    keys = set(probe_run.ipc_keys())
    for kind in SYSV_KINDS:
        found += ["%s key 0x%08x" % (kind, k) for k in sysvipc_keys(kind) if k in keys]
    found += ["/tmp/%s" % n for n in os.listdir("/tmp") if n.startswith(probe_run.scope + "-")]
    # The cgroups the nspawn subject starts systemd-nspawn in (lib/third_party.py).
    found += ["cgroup %s/%s" % (base, n) for base in systemd_cgroup_dirs() for n in os.listdir(base)
              if n.startswith(probe_run.scope + "-")]
    if uname_names()["hostname"] != hostname_before:
        found.append("hostname changed from %r to %r" % (hostname_before, uname_names()["hostname"]))
    return found


def cleanup_store(probe_run, store):
    """After the controller removed the collection's set: unmount and remove the kit's store."""
    removed = []
    if store and os.path.basename(store.rstrip("/")).startswith(probe_run.prefix) and os.path.isdir(store):
        for m in reversed(mountinfo()):
            if m["point"] == store or m["point"].startswith(store.rstrip("/") + "/"):
                if outcome(umount2, m["point"], MNT_DETACH) == "OK":
                    removed.append("mount %s" % m["point"])
        try:
            os.rmdir(store)
            removed.append("dir %s" % store)
        except OSError as exc:
            removed.append("could not remove %s: %s" % (store, exc))
    return removed
