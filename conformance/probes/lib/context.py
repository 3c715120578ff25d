"""The run on one host: its names (from the run's prefix) and what the probes of one probe call share.

main.py makes one Run per call and hands it to every probe; nothing here exists before that.
"""

import os
import zlib

from conformance.probes.lib.observe import read_text, uname_names


class Run:
    """Names and places of one run on one host, derived from the run's prefix, and the run's state.

    Hosts of a fleet may share kernel objects (a machine's IPC namespace, its cgroup tree, /tmp):
    names of such objects also carry `scope`, a tag of this host, so hosts never touch each other's.
    """

    def __init__(self, prefix, proc_mounts_as_found=None):
        self.prefix = prefix
        # procfs mounts on the host's /proc before any subject was made (the controller's first look).
        self.proc_mounts_as_found = proc_mounts_as_found
        # Pids of util-linux processes the probe started (the reference subjects' unshare and holder).
        self.started = []
        # The time-namespace experiment TIME1..TIME3 share, made at the first of them.
        self.time_lab = {}
        # IPC6's kernel experiment (objects die with their namespace), made at its first subject.
        self.ipc_death_lab = {}
        machine_id = read_text("/etc/machine-id").strip() if os.path.exists("/etc/machine-id") else ""
        self.tag = zlib.crc32((prefix + uname_names()["hostname"] + machine_id).encode()) & 0x7FFFFF
        self.scope = "%s-%06x" % (prefix, self.tag)

    def ipc_key(self, n):
        """A positive key_t (a signed int): /proc/sysvipc prints keys signed, ipcs unsigned."""
        return (self.tag << 8) | n

    def ipc_keys(self):
        return [self.ipc_key(n) for n in range(256)]

    def mq_name(self, label):
        return "/%s-%s" % (self.scope, label)

    def ifname(self, label):
        """Interfaces live in the host's own network namespace; names are limited to 15 characters."""
        return (self.prefix + label)[:15]

    def tmpdir(self, label):
        path = "/tmp/%s-%s" % (self.scope, label)
        os.mkdir(path, 0o700)
        return path

    def subnet(self):
        """A /30 used only inside namespaces the probe made (never routed on the host)."""
        return "10.254.%d" % (self.tag % 250)
