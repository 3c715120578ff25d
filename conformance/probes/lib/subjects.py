"""The subjects: sets of namespaces under test, made by util-linux unshare (the reference) or by the
collection (read from its documented store layout)."""

import json
import os
import signal
import subprocess

from conformance.probes.lib.errors import ProbeError, Skip
from conformance.probes.lib.mutants import recipe
from conformance.probes.lib.observe import children_of, mounted_at, ns_id, read_text, self_ns, wait_for
from conformance.probes.lib.syscalls import MNT_DETACH, NS_TYPES, umount2


# Types a set is made of in the kit (user stays out: it would change who owns the others).
SUBJECT_TYPES = ("mnt", "uts", "ipc", "pid", "net", "cgroup", "time")
# Seconds added to CLOCK_MONOTONIC and CLOCK_BOOTTIME in every time namespace the kit makes.
TIME_OFFSET = 864000  # ten days


class Subject:
    """A set of namespaces under test: {type: ns file}, its holder (PID 1) and its hostname."""

    # A third-party tool may not offer every type: a property about a type it does not make SKIPs.
    tool_lacks_types = False

    def __init__(self, kind, ns, holder_pid, hostname, types):
        self.kind = kind
        self.ns = ns
        self.holder_pid = holder_pid
        self.hostname = hostname
        self.types = types

    def path(self, nstype):
        if nstype not in self.ns:
            feature = NS_TYPES[nstype][2]
            if not os.path.exists("/proc/self/ns/" + nstype):
                raise Skip("the kernel has no %s namespace" % nstype, feature)
            if self.tool_lacks_types:
                raise Skip("the %s subject does not make a %s namespace" % (self.kind, nstype))
            raise ProbeError("the %s subject has no %s namespace" % (self.kind, nstype))
        return self.ns[nstype]

    def ns_id(self, nstype):
        return ns_id(self.path(nstype))

    def private(self, nstype):
        """The ns file, after checking it is not the host's: the kit never writes into the host."""
        if self.ns_id(nstype) == self_ns(nstype):
            raise ProbeError("the %s subject's %s namespace is the host's: refusing to change it"
                             % (self.kind, nstype))
        return self.path(nstype)

    def open(self, nstype):
        return os.open(self.path(nstype), os.O_RDONLY)

    def describe(self):
        return {"kind": self.kind, "ns": self.ns, "holder_pid": self.holder_pid,
                "hostname": self.hostname, "types": self.types}


# How long a tool may take to start its holder: a guest under software emulation needs several seconds.
HOLDER_START_SECONDS = 30


class SpawnedSubject(Subject):
    """A set made by a tool the probe starts and that stays in the foreground, held by a `sleep` among its
    children or grandchildren; destroyed by killing that holder."""

    def spawn(self, kind, argv, hostname, ns_types, started, before_exec=None):
        """Start argv (calling before_exec in the new process first); the set's namespace files are the
        holder's, for ns_types."""
        self.holder_pid = None
        try:
            # Its own process group: if no holder shows up, everything it started can be ended at once.
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=before_exec)
        except FileNotFoundError:
            raise ProbeError("%s is not installed on the host: the %s subject cannot be made" % (argv[0], kind))
        started.append(self.process.pid)
        holder = wait_for(self._holder, timeout=HOLDER_START_SECONDS)
        if not holder:
            # A holder that came too late still holds the stderr pipe open: end the whole group before reading it.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise ProbeError("%s did not start a holder: %s"
                             % (argv[0], self.process.stderr.read().decode(errors="replace").strip()))
        started.append(holder)
        ns = dict((t, "/proc/%d/ns/%s" % (holder, t)) for t in ns_types)
        Subject.__init__(self, kind, ns, holder, hostname, list(ns_types))

    def _holder(self):
        if self.process.poll() is not None:
            return None
        # The holder is the tool's child, or its grandchild when a shell or the tool stays in between.
        for child in children_of(self.process.pid):
            for pid in [child] + children_of(child):
                try:
                    if read_text("/proc/%d/comm" % pid).strip() == "sleep":
                        return pid
                except OSError:
                    pass
        return None

    def destroy(self):
        if self.holder_pid:
            try:
                os.kill(self.holder_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class UnshareSubject(SpawnedSubject):
    """A set made by util-linux unshare, held by a `sleep`: the reference, or a broken subject made by one
    of conformance/probes/lib/mutants.py's recipes (one option left out or changed, or one step skipped or
    added)."""

    def __init__(self, kind, name, types, probe_run):
        how = recipe(kind)
        made = [t for t in types if t != how.left_out]
        options = [NS_TYPES[t][1] for t in made] + ["--fork"]
        self.ipc_pin = None
        if how.ipc_pinned:
            self.ipc_pin = os.path.join(probe_run.tmpdir(kind), "ipc")
            open(self.ipc_pin, "w").close()
            options[made.index("ipc")] = "--ipc=" + self.ipc_pin
        if how.mount_proc:
            options.append("--mount-proc")
        if how.propagation:
            options += ["--propagation", how.propagation]
        if "time" in made and how.time_offsets:
            options += ["--monotonic", str(TIME_OFFSET), "--boottime", str(TIME_OFFSET)]
        # Without its own UTS namespace a subject must not set a hostname: it would be the host's.
        steps = ['hostname "$1"'] if how.set_hostname and "uts" in made else []
        if how.late_offsets:
            steps.append('{ echo "monotonic %d 0" > /proc/self/timens_offsets || true; } 2>/dev/null' % TIME_OFFSET)
        steps.append("exec sleep infinity" if how.holder_is_pid1 else "{ sleep infinity & wait; }")
        try:
            self.spawn(kind, ["unshare"] + options + ["--", "sh", "-c", " && ".join(steps), "sh", name],
                       name, types, probe_run.started)
        except ProbeError:
            self._remove_ipc_pin()
            raise
        if how.mislabelled:
            claimed, real = how.mislabelled
            self.ns[claimed] = self.ns[real]

    def destroy(self):
        SpawnedSubject.destroy(self)
        self._remove_ipc_pin()

    def _remove_ipc_pin(self):
        if self.ipc_pin:
            if mounted_at(self.ipc_pin):
                umount2(self.ipc_pin, MNT_DETACH)
            os.unlink(self.ipc_pin)
            os.rmdir(os.path.dirname(self.ipc_pin))
            self.ipc_pin = None


# The state.json schema the kit reads (docs/DESIGN.md, "The store"); a file without one was written by 0.1.0.
SET_STATE_SCHEMA = "linux.namespaces/set-state/1"


class CollectionSubject(Subject):
    """A set made by the collection's namespace module, read from its documented store layout."""

    def __init__(self, store, name, hostname):
        state_path = os.path.join(store, name, "state.json")
        try:
            state = json.loads(read_text(state_path))
        except (OSError, ValueError) as exc:
            raise ProbeError("cannot read the set's %s: %s" % (state_path, exc))
        if state.get("schema", SET_STATE_SCHEMA) != SET_STATE_SCHEMA:
            raise ProbeError("the set's %s has schema %r; this kit reads %r" % (state_path, state["schema"], SET_STATE_SCHEMA))
        if state.get("status") != "ready":
            raise ProbeError("the set's status is %r, not 'ready'" % state.get("status"))
        types = list(state.get("types", []))
        ns = dict((t, os.path.join(store, name, t)) for t in types)
        Subject.__init__(self, "collection", ns, state.get("holder_pid"), hostname, types)

    def destroy(self):
        """The controller removes it with the module (state: absent)."""


def supported_types():
    return [t for t in NS_TYPES if os.path.exists("/proc/self/ns/" + t)]
