"""Third-party subjects: sets made by isolation tools people use instead of this collection, checked
through the same subject interface as the reference (conformance/README.md, "The subject interface"),
and the choice of a subject's class by its kind."""

import json
import os
import shutil
import signal
import subprocess
import time

from conformance.probes.lib.errors import ProbeError
from conformance.probes.lib.observe import run, systemd_cgroup_dirs, write_text
from conformance.probes.lib.subjects import (
    CollectionSubject, SpawnedSubject, Subject, UnshareSubject, supported_types)

# What `bwrap --unshare-all` makes as root (bubblewrap 0.8): a user namespace too, never a time one.
BWRAP_TYPES = ("mnt", "uts", "ipc", "pid", "net", "cgroup", "user")
# config.json's namespace names (`runc spec`) -> /proc/PID/ns names.
OCI_TYPES = {"mount": "mnt", "uts": "uts", "ipc": "ipc", "pid": "pid", "network": "net", "cgroup": "cgroup",
             "user": "user", "time": "time"}
# The root's usr-merge symlinks a rootfs of read-only /usr and /etc binds needs.
USR_MERGE_LINKS = ("bin", "lib", "lib32", "lib64", "libx32", "sbin")


def require(tool, kind):
    if shutil.which(tool) is None:
        raise ProbeError("%s is not installed on the host: the %s subject cannot be made" % (tool, kind))


class BwrapSubject(SpawnedSubject):
    """bubblewrap: `bwrap --unshare-all --as-pid-1 --hostname H --ro-bind / / --proc /proc --dev /dev`,
    its PID 1 a `sleep`; the host's /sys stays visible read-only."""

    tool_lacks_types = True

    def __init__(self, name, started):
        require("bwrap", "bwrap")
        argv = ["bwrap", "--unshare-all", "--as-pid-1", "--die-with-parent", "--hostname", name,
                "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", "sleep", "infinity"]
        self.spawn("bwrap", argv, name, [t for t in BWRAP_TYPES if t in supported_types()], started)


class RuncSubject(Subject):
    """runc with `runc spec`'s default config.json: a bundle made on the fly under /tmp (rootfs of
    read-only binds of /usr and /etc plus the usr-merge symlinks; the /sys/fs/cgroup mount left out,
    which runc cannot mount on this machine's hybrid cgroup layout), its own state directory in the
    bundle, the container detached with `sleep infinity` as its PID 1."""

    tool_lacks_types = True

    def __init__(self, probe_run, name):
        require("runc", "runc")
        self.bundle = probe_run.tmpdir("runc")
        self.state = os.path.join(self.bundle, "state")
        self.container = probe_run.scope + "-runc"
        try:
            claimed = self._write_bundle(name)
            with open(os.path.join(self.bundle, "runc.log"), "w+b") as log:
                # runc's stdio passes to the container: a pipe would stay open as long as its PID 1.
                done = subprocess.run(self.runc("run", "--detach", "--bundle", self.bundle, self.container),
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                      timeout=30, check=False)
                log.seek(0)
                if done.returncode != 0:
                    error = log.read().decode(errors="replace").strip()
                    raise ProbeError("runc run exited %d: %s" % (done.returncode, error))
            holder = json.loads(run(self.runc("state", self.container)))["pid"]
            probe_run.started.append(holder)
        except (ProbeError, OSError, ValueError, subprocess.TimeoutExpired):
            self.destroy()
            raise
        ns = dict((t, "/proc/%d/ns/%s" % (holder, t)) for t in claimed if t in supported_types())
        Subject.__init__(self, "runc", ns, holder, name, sorted(ns))

    def runc(self, *argv):
        return ["runc", "--root", self.state] + list(argv)

    def _write_bundle(self, name):
        """config.json from `runc spec`, adjusted; returns the namespace types it asks for."""
        rootfs = os.path.join(self.bundle, "rootfs")
        os.mkdir(rootfs)
        for link in USR_MERGE_LINKS:
            if os.path.islink("/" + link):
                os.symlink(os.readlink("/" + link), os.path.join(rootfs, link))
        run(["runc", "spec", "--bundle", self.bundle])
        config_path = os.path.join(self.bundle, "config.json")
        with open(config_path) as handle:
            config = json.load(handle)
        config["process"].update(args=["sleep", "infinity"], terminal=False)
        config["hostname"] = name
        config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/sys/fs/cgroup"] + [
            {"destination": d, "type": "bind", "source": d, "options": ["rbind", "ro"]} for d in ("/usr", "/etc")]
        with open(config_path, "w") as handle:
            json.dump(config, handle)
        return [OCI_TYPES[n["type"]] for n in config["linux"]["namespaces"]]

    def destroy(self):
        if os.path.isdir(self.state):
            subprocess.run(self.runc("kill", self.container, str(int(signal.SIGKILL))), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)
            subprocess.run(self.runc("delete", "--force", self.container), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)
        shutil.rmtree(self.bundle, ignore_errors=True)


# What systemd-nspawn 252 makes with --private-network, without --private-users: never a user or time namespace.
NSPAWN_TYPES = ("mnt", "uts", "ipc", "pid", "net", "cgroup")


class NspawnSubject(SpawnedSubject):
    """systemd-nspawn: `systemd-nspawn --register=no --keep-unit --directory=/ --volatile=yes
    --private-network --machine H -- sleep infinity`, its PID 1 a `sleep`. The machine's root cannot be a
    container's root as it is: --volatile=yes gives the container a tmpfs root with this machine's /usr
    read-only. --register=no and --keep-unit: no systemd-machined and no unit of its own (PID 1 need not
    be systemd). nspawn splits the cgroup it starts in into payload/ and supervisor/ and leaves them
    behind, so it starts in a cgroup of the run's own, removed with the subject."""

    tool_lacks_types = True

    def __init__(self, probe_run, name):
        require("systemd-nspawn", "nspawn")
        self.cgroups = []
        for base in systemd_cgroup_dirs():
            made = os.path.join(base, probe_run.scope + "-nspawn")
            os.mkdir(made)
            self.cgroups.append(made)
        argv = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--directory=/", "--volatile=yes",
                "--private-network", "--machine", name, "--", "sleep", "infinity"]
        try:
            self.spawn("nspawn", argv, name, [t for t in NSPAWN_TYPES if t in supported_types()],
                       probe_run.started, self._enter_cgroups)
        except ProbeError:
            self._remove_cgroups()
            raise

    def _enter_cgroups(self):
        for made in self.cgroups:
            write_text(os.path.join(made, "cgroup.procs"), str(os.getpid()))

    def destroy(self):
        SpawnedSubject.destroy(self)
        self._remove_cgroups()

    def _remove_cgroups(self):
        """Its cgroups, deepest first, once their processes are gone (nspawn's supervisor exits last)."""
        deadline = time.monotonic() + 10
        for made in self.cgroups:
            for top, _dirs, _files in sorted(os.walk(made), key=lambda entry: -entry[0].count("/")):
                while True:
                    try:
                        os.rmdir(top)
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
        self.cgroups = []


THIRD_PARTY = ("bwrap", "runc", "nspawn")


def make_subject(spec, types, probe_run):
    """The subject spec describes; probe_run.started collects the pids of processes the kit starts."""
    kind = spec["kind"]
    if kind == "collection":
        return CollectionSubject(spec["store"], spec["name"], spec["hostname"])
    if kind == "bwrap":
        return BwrapSubject(spec["hostname"], probe_run.started)
    if kind == "runc":
        return RuncSubject(probe_run, spec["hostname"])
    if kind == "nspawn":
        return NspawnSubject(probe_run, spec["hostname"])
    return UnshareSubject(kind, spec["hostname"], types, probe_run)
