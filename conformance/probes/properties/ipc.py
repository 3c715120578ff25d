"""IPC: System V objects, POSIX message queues and IPC sysctls."""

import errno
import os
import resource
import time

from conformance.probes.declare import prop
from conformance.probes.lib.child import Child, in_child
from conformance.probes.lib.errors import Skip
from conformance.probes.lib.observe import (
    ancestors, ipcs_keys, namespace_holders, ns_id, nsenter, read_text, run, sysvipc_keys, write_text)
from conformance.probes.lib.policy import enter_user_ns
from conformance.probes.lib.syscalls import CLONE_NEWIPC, MQUEUE, MQ_LABELS, SYSV, SYSV_KINDS, outcome, setns, unshare


@prop("IPC1", "The same key makes distinct objects in each namespace", needs=("ipc_ns", "setns"), setup=True)
def probe_ipc1(probe_run, subject):
    """A message queue, a semaphore set and a shared memory segment are made on the host, then with the same
    keys inside the set. It fails if creation inside reports the key taken or the host's objects change.
    Needs IPC namespaces and setns."""
    path = subject.private("ipc")
    keys = dict((kind, probe_run.ipc_key(10 + n)) for n, kind in enumerate(SYSV_KINDS))
    host_ids = {}
    try:
        for kind in SYSV_KINDS:
            host_ids[kind] = SYSV.create(kind, keys[kind])

        def inside():
            setns(os.open(path, os.O_RDONLY), CLONE_NEWIPC)
            made = dict((kind, outcome(SYSV.create, kind, keys[kind])) for kind in SYSV_KINDS)
            for kind in SYSV_KINDS:
                if made[kind] == "OK":
                    SYSV.remove(kind, keys[kind])
            return made

        created_inside = in_child(inside)
        host_still = dict((kind, SYSV.lookup(kind, keys[kind]) == host_ids[kind]) for kind in SYSV_KINDS)
    finally:
        for kind in host_ids:
            SYSV.remove(kind, keys[kind])
    return {"keys": keys, "host_ids": host_ids, "create_same_key_inside": created_inside,
            "host_objects_untouched": host_still}


def _in_subject_ipc(path, fn, *args):
    def body():
        setns(os.open(path, os.O_RDONLY), CLONE_NEWIPC)
        return fn(*args)
    return in_child(body)


@prop("IPC2", "IPC objects are visible only in their namespace", needs=("ipc_ns",), setup=True)
def probe_ipc2(probe_run, subject):
    """Objects of the three System V kinds are made inside the set; `ipcs` lists them inside, on the host
    and in a sibling IPC namespace. It fails if they are missing inside or listed anywhere else. Needs IPC
    namespaces."""
    path = subject.private("ipc")
    paths = {"ipc": path}
    keys = dict((kind, probe_run.ipc_key(20 + n)) for n, kind in enumerate(SYSV_KINDS))
    option = {"msg": "-q", "sem": "-s", "shm": "-m"}

    def create_all():
        for kind in SYSV_KINDS:
            SYSV.create(kind, keys[kind])

    def remove_all():
        for kind in SYSV_KINDS:
            SYSV.remove(kind, keys[kind])

    _in_subject_ipc(path, create_all)
    try:
        seen = {}
        for kind in SYSV_KINDS:
            seen[kind] = {"key": keys[kind],
                          "inside": keys[kind] in ipcs_keys(nsenter(paths, ["ipcs", option[kind]])),
                          "host": keys[kind] in ipcs_keys(run(["ipcs", option[kind]])),
                          "sibling": keys[kind] in ipcs_keys(run(["unshare", "--ipc", "ipcs", option[kind]]))}
    finally:
        _in_subject_ipc(path, remove_all)
    return {"objects": seen}


@prop("IPC3", "POSIX message queues belong to one namespace", needs=("ipc_ns", "mqueue_ns"), setup=True)
def probe_ipc3(probe_run, subject):
    """A queue made on the host is opened inside the set, and a queue made inside is opened on the host;
    both opens must give ENOENT, and creating inside must work. Any other result fails. Needs IPC
    namespaces with POSIX message queues per namespace."""
    path = subject.private("ipc")
    if MQUEUE.lib is None:
        raise Skip("libc has no mq_open", "mqueue_ns")
    host_name, inside_name = probe_run.mq_name(MQ_LABELS[0]), probe_run.mq_name("ipc3i")
    try:
        MQUEUE.open(host_name, create=True)
    except OSError as exc:
        if exc.errno == errno.ENOSYS:
            raise Skip("mq_open gives ENOSYS", "mqueue_ns")
        raise
    try:
        inside = _in_subject_ipc(path, lambda: {"open_host_queue": outcome(MQUEUE.open, host_name),
                                                "create": outcome(MQUEUE.open, inside_name, True)})
        host_opens_inside_queue = outcome(MQUEUE.open, inside_name)
    finally:
        MQUEUE.unlink(host_name)
        _in_subject_ipc(path, MQUEUE.unlink, inside_name)
    return {"inside_opens_host_queue": inside["open_host_queue"], "inside_create": inside["create"],
            "host_opens_inside_queue": host_opens_inside_queue}


@prop("IPC4", "/proc/sysvipc follows setns", needs=("ipc_ns", "setns"), setup=True)
def probe_ipc4(probe_run, subject):
    """A process lists /proc/sysvipc/msg before and after joining the set's IPC namespace. It fails if the
    host's queue is missing before or still listed after, or if the queue made inside is missing after.
    Needs IPC namespaces and setns."""
    path = subject.private("ipc")
    host_key, inside_key = probe_run.ipc_key(30), probe_run.ipc_key(31)
    SYSV.create("msg", host_key)

    def view_before_and_after_setns():
        before = sysvipc_keys("msg")
        setns(os.open(path, os.O_RDONLY), CLONE_NEWIPC)
        SYSV.create("msg", inside_key)
        try:
            return {"before": before, "after": sysvipc_keys("msg")}
        finally:
            SYSV.remove("msg", inside_key)

    try:
        views = in_child(view_before_and_after_setns)
    finally:
        SYSV.remove("msg", host_key)
    return {"host_key": host_key, "inside_key": inside_key,
            "before_setns_has_host_key": host_key in views["before"],
            "after_setns_has_host_key": host_key in views["after"],
            "after_setns_has_inside_key": inside_key in views["after"]}


IPC_SYSCTLS = ("kernel/msgmnb", "kernel/msgmax", "kernel/shmmax", "fs/mqueue/msg_max")


@prop("IPC5", "IPC sysctls are per namespace", needs=("ipc_ns", "setns"), setup=True)
def probe_ipc5(probe_run, subject):
    """kernel.msgmnb, kernel.msgmax, kernel.shmmax and fs.mqueue.msg_max are written inside the set and read
    back, and the host's values are read before and after. It fails if the inside values do not hold or
    the host's change. Needs IPC namespaces and setns."""
    path = subject.private("ipc")
    present = [s for s in IPC_SYSCTLS if os.path.exists("/proc/sys/" + s)]
    host_before = dict((s, read_text("/proc/sys/" + s).strip()) for s in present)
    wanted = dict((s, str(int(host_before[s]) - 1)) for s in present)

    def set_inside():
        setns(os.open(path, os.O_RDONLY), CLONE_NEWIPC)
        original = dict((s, read_text("/proc/sys/" + s).strip()) for s in present)
        for sysctl in present:
            write_text("/proc/sys/" + sysctl, wanted[sysctl])
        seen = dict((s, read_text("/proc/sys/" + s).strip()) for s in present)
        for sysctl in present:
            write_text("/proc/sys/" + sysctl, original[sysctl])
        return seen

    inside = in_child(set_inside)
    return {"written_inside": wanted, "read_inside": inside, "host_before": host_before,
            "host_after": dict((s, read_text("/proc/sys/" + s).strip()) for s in present)}


# IPC6's budgets in its fresh user namespace: one queue of 8 x 8 KiB fits RLIMIT_MSGQUEUE, two do not;
# one locked page of System V shared memory fits RLIMIT_MEMLOCK, two do not.
MQ_MAXMSG, MQ_MSGSIZE, MQ_BUDGET = 8, 8192, 100000
MEMLOCK_BUDGET = 4096


def _budgeted_objects(channel, probe_run, with_sysv):
    """In a new IPC namespace: a POSIX queue and a locked shared memory segment, which draw on the user's
    budgets, and (with_sysv) a message queue and a semaphore set; reports, then waits to be told to exit."""
    unshare(CLONE_NEWIPC)
    made = {"mqueue": outcome(MQUEUE.open, probe_run.mq_name("ipc6"), True, MQ_MAXMSG, MQ_MSGSIZE)}
    key = probe_run.ipc_key(60)
    made["shm_locked"] = outcome(lambda: (SYSV.create("shm", key), SYSV.lock_shm(key)))
    if with_sysv:
        for n, kind in enumerate(("msg", "sem")):
            made[kind] = outcome(SYSV.create, kind, probe_run.ipc_key(61 + n))
    made["ns"] = os.readlink("/proc/self/ns/ipc")
    channel.send(made)
    channel.recv()
    return made


def _sysvipc_through(pin):
    """The System V keys a process sees after joining the namespace of the open descriptor pin."""
    def listing():
        setns(pin, CLONE_NEWIPC)
        return dict((kind, sysvipc_keys(kind)) for kind in SYSV_KINDS)
    return in_child(listing)


def _objects_die_with_namespace(probe_run):
    """The kernel's half of IPC6, made once per run: objects of every kind in a namespace pinned by a
    descriptor, what the pin lets see, the budgets while pinned and once the pin is closed, and what still
    holds the dead namespace."""
    if probe_run.ipc_death_lab:
        return probe_run.ipc_death_lab
    if MQUEUE.lib is None:
        raise Skip("libc has no mq_open", "mqueue_ns")

    def budgets_in_fresh_ns():
        attempt = Child(_budgeted_objects, probe_run, False)
        made = attempt.recv()
        attempt.send("exit")
        attempt.result()
        return {"mqueue": made["mqueue"], "shm_locked": made["shm_locked"]}

    def experiment():
        # The budgets (RLIMIT_MSGQUEUE, RLIMIT_MEMLOCK) are counted per user in a user namespace: a fresh
        # one counts only this experiment's objects.
        enter_user_ns()
        resource.setrlimit(resource.RLIMIT_MSGQUEUE, (MQ_BUDGET, MQ_BUDGET))
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (MEMLOCK_BUDGET, MEMLOCK_BUDGET))
        first = Child(_budgeted_objects, probe_run, True)
        first_made = first.recv()
        pin = os.open("/proc/%d/ns/ipc" % first.pid, os.O_RDONLY)
        first.send("exit")
        first.result()
        listed = _sysvipc_through(pin)
        while_pinned = budgets_in_fresh_ns()
        os.close(pin)  # the namespace dies now; its objects must be destroyed with it
        deadline = time.monotonic() + 5
        after_death = budgets_in_fresh_ns()
        while set(after_death.values()) != {"OK"} and time.monotonic() < deadline:
            time.sleep(0.05)
            after_death = budgets_in_fresh_ns()
        return {"first": first_made, "listed_through_pin": listed, "while_first_ns_pinned": while_pinned,
                "after_first_ns_died": after_death}

    lab = in_child(experiment)
    lab["keys"] = {"shm": probe_run.ipc_key(60), "msg": probe_run.ipc_key(61), "sem": probe_run.ipc_key(62)}
    lab["dead_ns_held_by"] = namespace_holders(lab["first"]["ns"])
    probe_run.ipc_death_lab.update(lab)
    return lab


def _holders_beyond_the_set(subject):
    """What holds the set's IPC namespace besides the set: its members (processes in its PID namespace),
    the tool that waits for its PID 1 (the holder's ancestors) and the file the set publishes for it."""
    link = "ipc:[%d]" % subject.ns_id("ipc")[1]
    members_pid_ns = subject.ns_id("pid") if "pid" in subject.ns else None
    tool = set(ancestors(subject.holder_pid)) if subject.holder_pid else set()
    holders, beyond = namespace_holders(link), []
    for held in holders:
        if "mount" in held:
            if held["mount"] != subject.path("ipc"):
                beyond.append("an nsfs mount on %s (seen by process %d)" % (held["mount"], held["seen_by"]))
            continue
        pid = held["pid"]
        try:
            if pid in tool or pid == subject.holder_pid or ns_id("/proc/%d/ns/pid" % pid) == members_pid_ns:
                continue
            beyond.append("process %d (%s) %s" % (pid, read_text("/proc/%d/comm" % pid).strip(), held["how"]))
        except OSError:
            pass  # it ended meanwhile
    return {"ns": link, "holders": holders, "beyond_the_set": beyond}


@prop("IPC6", "IPC objects die with their namespace", needs=("ipc_ns", "mqueue_ns", "user_ns"), setup=True)
def probe_ipc6(probe_run, subject):
    """The kernel's half (once per run): in a fresh user namespace whose budgets fit one POSIX queue and one
    locked page of shared memory, a new IPC namespace gets a POSIX queue, a locked System V shared memory
    segment, a message queue and a semaphore set, and stays pinned by an open descriptor. Through the pin
    all three System V keys must be listed in /proc/sysvipc, and another new namespace must be refused a
    queue (EMFILE) and a locked segment (ENOMEM); once the pin is closed both must be granted again (the
    dead namespace's objects gave their budgets back), and nothing on the host (process, descriptor, nsfs
    mount) may still hold the dead namespace, so its message queue and semaphore set, which no budget
    counts, are reachable nowhere. The set's half: its IPC namespace must not be the host's and must be held
    by nothing but the set (processes in its PID namespace, the tool waiting for its PID 1, the file it
    publishes for it), so that it dies, with its objects, when the set is torn down. Any other outcome
    fails. Needs IPC and user namespaces and POSIX message queues per IPC namespace."""
    subject.private("ipc")
    return {"kernel": _objects_die_with_namespace(probe_run), "set": _holders_beyond_the_set(subject)}


@prop("IPC7", "Messages stay in their namespace's queue of a shared key", needs=("ipc_ns", "setns"), setup=True)
def probe_ipc7(probe_run, subject):
    """The host and a member of the set each make a System V queue with the same key and send their own
    message into it; each then reads its queue until it is empty (LTP msg_comm). It fails unless each side
    reads exactly its own message. Needs IPC namespaces and setns."""
    path = subject.private("ipc")
    key = probe_run.ipc_key(70)
    texts = {"host": "%s host" % probe_run.scope, "set": "%s set" % probe_run.scope}

    def drain(ident):
        received = []
        while True:
            try:
                received.append(SYSV.receive(ident))
            except OSError as exc:
                if exc.errno != errno.ENOMSG:
                    raise
                return received

    def inside():
        setns(os.open(path, os.O_RDONLY), CLONE_NEWIPC)
        ident = SYSV.create("msg", key)
        try:
            SYSV.send(ident, texts["set"])
            return drain(ident)
        finally:
            SYSV.remove("msg", key)

    host_queue = SYSV.create("msg", key)
    try:
        SYSV.send(host_queue, texts["host"])
        inside_received = in_child(inside)
        host_received = drain(host_queue)
    finally:
        SYSV.remove("msg", key)
    return {"key": key, "sent": texts, "received": {"host": host_received, "set": inside_received}}
