"""Conformance probe for Linux namespaces, run on the host under test.

conformance/hostrun.py ships this file to a host in one command and runs it there: it creates the
reference subject with util-linux `unshare`, observes the subjects and the kernel, removes everything
it made, and prints one JSON document. It uses only the standard library and ctypes (Python 3.8+), and
never imports linux.namespaces code: it is the collection's independent observer.

A probe gathers facts; the pytest tests judge them. Every probe that changes something does it inside
a forked child, inside namespaces it owns, or on objects named with the run's prefix, and undoes it.
"""

import base64
import ctypes
import ctypes.util
import errno
import json
import os
import platform
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
import zlib

BEGIN_MARK = "LNSPROBE-BEGIN"
END_MARK = "LNSPROBE-END"

# The namespace types: name -> (CLONE_NEW* flag, util-linux option, feature key). The kit keeps its own
# copy of these kernel constants on purpose: an observer shares no code with what it observes.
CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NS_TYPES = {
    "mnt": (CLONE_NEWNS, "--mount", "mnt_ns"),
    "uts": (CLONE_NEWUTS, "--uts", "uts_ns"),
    "ipc": (CLONE_NEWIPC, "--ipc", "ipc_ns"),
    "pid": (CLONE_NEWPID, "--pid", "pid_ns"),
    "net": (CLONE_NEWNET, "--net", "net_ns"),
    "user": (CLONE_NEWUSER, "--user", "user_ns"),
    "cgroup": (CLONE_NEWCGROUP, "--cgroup", "cgroup_ns"),
    "time": (CLONE_NEWTIME, "--time", "time_ns"),
}
SEED_TYPES = ("mnt", "uts", "ipc", "pid", "net", "user")
# Types a set is made of in the kit (user stays out: it would change who owns the others).
SUBJECT_TYPES = ("mnt", "uts", "ipc", "pid", "net", "cgroup", "time")
# Seconds added to CLOCK_MONOTONIC and CLOCK_BOOTTIME in every time namespace the kit makes.
TIME_OFFSET = 864000  # ten days

NS_GET_USERNS = 0xB701
NS_GET_PARENT = 0xB702
NS_GET_NSTYPE = 0xB703
NS_GET_OWNER_UID = 0xB704
NS_GET_ID = 0x8008B70D

MS_BIND = 4096
MS_REC = 16384
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MNT_DETACH = 2

IPC_CREAT = 0o1000
IPC_EXCL = 0o2000
IPC_RMID = 0
IPC_NOWAIT = 0o4000

PR_SET_DUMPABLE = 4
SIGCHLD = 17

# Syscalls without a libc wrapper everywhere. Numbers from 424 on are shared by all architectures.
SYS_PIDFD_OPEN = 434
SYS_CLONE3 = 435
SYS_MOUNT_SETATTR = 442
SYS_LISTMOUNT = 458
# clone(2) itself differs per architecture; s390 swaps the first two arguments.
SYS_CLONE = {"x86_64": 56, "aarch64": 220, "riscv64": 220, "loongarch64": 220,
             "ppc64le": 120, "ppc64": 120, "i686": 120, "i386": 120, "armv7l": 120, "s390x": 120}

OVERFLOW_ID = 65534
NOBODY = 65534

libc = ctypes.CDLL(None, use_errno=True)


class Skip(Exception):
    """The property cannot be checked here; feature names the missing kernel feature, if any."""

    def __init__(self, reason, feature=None):
        Exception.__init__(self, reason)
        self.reason = reason
        self.feature = feature


class ProbeError(Exception):
    """An observation could not be made (an observer failed): the property is not shown to hold."""


# ---------------------------------------------------------------- syscalls


def _check(result, call):
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (call, os.strerror(err)))
    return result


def _b(value):
    if value is None or isinstance(value, bytes):
        return value
    return os.fsencode(value)


def unshare(flags):
    _check(libc.unshare(ctypes.c_int(flags)), "unshare")


def setns(fd, nstype=0):
    _check(libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def mount(source, target, fstype, flags=0, data=None):
    _check(libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)), "mount")


def umount2(target, flags=0):
    _check(libc.umount2(_b(target), ctypes.c_int(flags)), "umount2")


def sethostname(name):
    raw = _b(name)
    _check(libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")


def setdomainname(name):
    raw = _b(name)
    _check(libc.setdomainname(raw, ctypes.c_size_t(len(raw))), "setdomainname")


def ns_ioctl(fd, request):
    return _check(libc.ioctl(ctypes.c_int(fd), ctypes.c_ulong(request)), "ioctl")


def ns_owner_uid(fd):
    uid = ctypes.c_uint(0)
    _check(libc.ioctl(ctypes.c_int(fd), ctypes.c_ulong(NS_GET_OWNER_UID), ctypes.byref(uid)), "ioctl")
    return uid.value


def raw_syscall(number, *args):
    return _check(libc.syscall(ctypes.c_long(number), *args), "syscall %d" % number)


def pidfd_open(pid):
    return raw_syscall(SYS_PIDFD_OPEN, ctypes.c_int(pid), ctypes.c_uint(0))


def clone_fork(flags):
    """clone(2) with CLONE_NEW* flags and no new stack: returns 0 in the child, like fork."""
    machine = platform.machine()
    if machine not in SYS_CLONE:
        raise Skip("no clone(2) syscall number known for architecture %s" % machine)
    first, second = ctypes.c_ulong(flags | SIGCHLD), ctypes.c_ulong(0)
    if machine == "s390x":
        first, second = second, first
    return raw_syscall(SYS_CLONE[machine], first, second, ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0))


def set_dumpable():
    """Changing uid makes a process non-dumpable, which hands its /proc files to root."""
    _check(libc.prctl(ctypes.c_int(PR_SET_DUMPABLE), ctypes.c_ulong(1), ctypes.c_ulong(0),
                      ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


def drop_to_nobody():
    """Lose every capability by becoming uid/gid 65534 (no-op when not root)."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    set_dumpable()


def errno_name(exc):
    return errno.errorcode.get(exc.errno, str(exc.errno))


def outcome(fn, *args):
    """'OK' or the errno name of the OSError fn raised."""
    try:
        fn(*args)
    except OSError as exc:
        return errno_name(exc)
    return "OK"


class SysvIpc:
    """System V IPC objects by key (msg, sem, shm) in the caller's IPC namespace."""

    def __init__(self):
        for name in ("msgget", "semget", "shmget", "msgctl", "semctl", "shmctl"):
            getattr(libc, name).restype = ctypes.c_int

    def create(self, kind, key):
        flags = ctypes.c_int(IPC_CREAT | IPC_EXCL | 0o600)
        if kind == "msg":
            return _check(libc.msgget(ctypes.c_int(key), flags), "msgget")
        if kind == "sem":
            return _check(libc.semget(ctypes.c_int(key), ctypes.c_int(1), flags), "semget")
        return _check(libc.shmget(ctypes.c_int(key), ctypes.c_size_t(4096), flags), "shmget")

    def lookup(self, kind, key):
        if kind == "msg":
            return _check(libc.msgget(ctypes.c_int(key), ctypes.c_int(0)), "msgget")
        if kind == "sem":
            return _check(libc.semget(ctypes.c_int(key), ctypes.c_int(0), ctypes.c_int(0)), "semget")
        return _check(libc.shmget(ctypes.c_int(key), ctypes.c_size_t(0), ctypes.c_int(0)), "shmget")

    def remove(self, kind, key):
        """Remove the object with this key if it exists; True if one was removed."""
        try:
            ident = self.lookup(kind, key)
        except OSError:
            return False
        if kind == "msg":
            _check(libc.msgctl(ctypes.c_int(ident), ctypes.c_int(IPC_RMID), None), "msgctl")
        elif kind == "sem":
            _check(libc.semctl(ctypes.c_int(ident), ctypes.c_int(0), ctypes.c_int(IPC_RMID)), "semctl")
        else:
            _check(libc.shmctl(ctypes.c_int(ident), ctypes.c_int(IPC_RMID), None), "shmctl")
        return True


SYSV = SysvIpc()
SYSV_KINDS = ("msg", "sem", "shm")


class MqAttr(ctypes.Structure):
    _fields_ = [("mq_flags", ctypes.c_long), ("mq_maxmsg", ctypes.c_long),
                ("mq_msgsize", ctypes.c_long), ("mq_curmsgs", ctypes.c_long),
                ("reserved", ctypes.c_long * 4)]


def _mqueue_lib():
    for candidate in (libc, ctypes.util.find_library("rt")):
        if candidate is None:
            continue
        lib = candidate if candidate is libc else ctypes.CDLL(candidate, use_errno=True)
        if hasattr(lib, "mq_open"):
            return lib
    return None


class PosixMqueue:
    """POSIX message queues by name in the caller's IPC namespace."""

    def __init__(self):
        self.lib = _mqueue_lib()

    def open(self, name, create=False, maxmsg=1, msgsize=64):
        if self.lib is None:
            raise Skip("libc has no mq_open", "mqueue_ns")
        flags = os.O_RDWR | ((os.O_CREAT | os.O_EXCL) if create else 0)
        attr = MqAttr(0, maxmsg, msgsize, 0)
        mqd = _check(self.lib.mq_open(_b(name), ctypes.c_int(flags), ctypes.c_uint(0o600),
                                      ctypes.byref(attr)), "mq_open")
        os.close(mqd)

    def unlink(self, name):
        if self.lib is None:
            return "ENOSYS"
        return outcome(lambda: _check(self.lib.mq_unlink(_b(name)), "mq_unlink"))


MQUEUE = PosixMqueue()
MQ_LABELS = ("ipc3h",)  # POSIX queues the probe makes in the host's IPC namespace


# ---------------------------------------------------------------- children


class Channel:
    """Length-prefixed JSON messages over a pipe pair (works across fork)."""

    def __init__(self, read_fd, write_fd):
        self.read_fd = read_fd
        self.write_fd = write_fd

    def send(self, obj):
        data = json.dumps(obj).encode()
        data = struct.pack("!Q", len(data)) + data
        while data:
            data = data[os.write(self.write_fd, data):]

    def _read_exact(self, size, deadline):
        chunks = b""
        while len(chunks) < size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                raise ProbeError("timed out waiting for a probe child")
            chunk = os.read(self.read_fd, size - len(chunks))
            if not chunk:
                raise ProbeError("a probe child exited without reporting")
            chunks += chunk
        return chunks

    def recv(self, timeout=30):
        deadline = time.monotonic() + timeout
        (size,) = struct.unpack("!Q", self._read_exact(8, deadline))
        return json.loads(self._read_exact(size, deadline).decode())


LIVE_CHILDREN = set()
STARTED = []  # pids of util-linux processes the probe started (the reference subjects)


class Child:
    """fn(channel, *args) in a forked child. Messages go both ways; the return value is the last.

    The child never returns into the caller's code: it reports and _exits. Skip and errors raised in
    the child are raised again in the parent by result().
    """

    def __init__(self, fn, *args, **kwargs):
        up_r, up_w = os.pipe()
        down_r, down_w = os.pipe()
        clone_flags = kwargs.get("clone_flags")
        pid = clone_fork(clone_flags) if clone_flags else os.fork()
        if pid == 0:
            os.close(up_r)
            os.close(down_w)
            _child_main(Channel(down_r, up_w), fn, args)
        os.close(up_w)
        os.close(down_r)
        self.pid = pid
        self.channel = Channel(up_r, down_w)
        self.reaped = False
        LIVE_CHILDREN.add(self)

    def recv(self, timeout=30):
        """The child's next message (a Skip or error it reported is raised here)."""
        return _payload(self.channel.recv(timeout), "msg")

    def send(self, obj):
        self.channel.send({"msg": obj})

    def result(self, timeout=60):
        try:
            message = self.channel.recv(timeout)
        finally:
            self.wait()
        return _payload(message, "done")

    def wait(self, timeout=10):
        """Reap the child; returns its wait status (None if it had to be killed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._done()
                return status
            time.sleep(0.005)
        self.kill()
        return None

    def kill(self):
        if not self.reaped:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self._done()

    def _done(self):
        self.reaped = True
        LIVE_CHILDREN.discard(self)
        for fd in (self.channel.read_fd, self.channel.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def _payload(message, kind):
    """The value of a child's message of this kind ("msg" or "done"); reported Skip/errors raise."""
    if "skip" in message:
        raise Skip(message["skip"], message.get("feature"))
    if "error" in message:
        raise ProbeError(message["error"])
    if kind not in message:
        raise ProbeError("expected a %r message from a probe child, got %r" % (kind, message))
    return message[kind]


class ChildChannel(Channel):
    def send(self, obj):
        Channel.send(self, {"msg": obj})

    def recv(self, timeout=60):
        return Channel.recv(self, timeout)["msg"]


def _child_main(channel, fn, args):
    status = 0
    try:
        try:
            report = {"done": fn(ChildChannel(channel.read_fd, channel.write_fd), *args)}
        except Skip as exc:
            report = {"skip": exc.reason, "feature": exc.feature}
        except BaseException as exc:  # the child must report anything, then _exit
            report = {"error": describe_error(exc)}
        Channel.send(channel, report)
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def describe_error(exc):
    """The error and where in the probe it happened (errors from children keep their own place)."""
    if isinstance(exc, ProbeError):
        return str(exc)
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return "%s: %s (lnsprobe line %d, in %s)" % (type(exc).__name__, exc, frame.lineno, frame.name)


def in_child(fn, *args, **kwargs):
    """Run fn(*args) in a forked child and return its result."""
    return Child(lambda _channel: fn(*args), **kwargs).result()


# ---------------------------------------------------------------- /proc and observers


def ns_id(path, dir_fd=None):
    st = os.stat(path, dir_fd=dir_fd)
    return [st.st_dev, st.st_ino]


def self_ns(nstype):
    return ns_id("/proc/self/ns/" + nstype)


def ns_ids(pid="self"):
    ids = {}
    for name in sorted(os.listdir("/proc/%s/ns" % pid)):
        try:
            ids[name] = ns_id("/proc/%s/ns/%s" % (pid, name))
        except OSError:
            pass
    return ids


def read_text(path):
    with open(path) as handle:
        return handle.read()


def write_text(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def status_field(pid, field):
    for line in read_text("/proc/%s/status" % pid).splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].split()
    return None


def host_pids():
    return sorted(int(name) for name in os.listdir("/proc") if name.isdigit())


def children_of(pid):
    found = []
    for candidate in host_pids():
        try:
            if status_field(candidate, "PPid") == [str(pid)]:
                found.append(candidate)
        except OSError:
            pass
    return found


def pid_ns_members(pid_ns):
    """Host pid -> innermost pid of each process whose PID namespace is pid_ns."""
    members = {}
    for candidate in host_pids():
        try:
            if ns_id("/proc/%d/ns/pid" % candidate) == pid_ns:
                members[candidate] = int(status_field(candidate, "NSpid")[-1])
        except (OSError, TypeError):
            pass
    return members


def decode_mount_path(text):
    return text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mountinfo(path="/proc/self/mountinfo"):
    mounts = []
    for line in read_text(path).splitlines():
        left, right = line.split(" - ", 1)
        fields = left.split()
        fstype, source = right.split()[:2]
        mounts.append({"point": decode_mount_path(fields[4]), "root": decode_mount_path(fields[3]),
                       "optional": fields[6:], "fstype": fstype, "source": source})
    return mounts


def mounted_at(point, path="/proc/self/mountinfo"):
    return [m for m in mountinfo(path) if m["point"] == point]


def run(argv, check=True, timeout=30):
    """Run an observer command; returns stdout. check: a non-zero exit is an error."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, check=False)
    except FileNotFoundError:
        raise Skip("observer %s is not installed on the host" % argv[0])
    text = proc.stdout.decode(errors="replace")
    if check and proc.returncode != 0:
        raise ProbeError("%s exited %d: %s" % (" ".join(argv), proc.returncode,
                                               proc.stderr.decode(errors="replace").strip()))
    return text


def nsenter(paths, argv, **kwargs):
    """util-linux nsenter into the given {type: ns file} and run argv."""
    options = ["%s=%s" % (NS_TYPES[t][1], path) for t, path in sorted(paths.items())]
    return run(["nsenter"] + options + ["--"] + argv, **kwargs)


def ip_link_names(text):
    names = []
    for line in text.splitlines():
        if ": " in line:
            names.append(line.split(": ", 2)[1].split("@")[0])
    return names


def ip_link_flags(text):
    flags = {}
    for line in text.splitlines():
        if ": " in line:
            parts = line.split(": ", 2)
            flags[parts[1].split("@")[0]] = parts[2].split(">")[0].lstrip("<").split(",")
    return flags


def ipcs_keys(text):
    """The keys (as ints) listed by `ipcs -q|-s|-m`."""
    keys = []
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0].startswith("0x"):
            keys.append(int(fields[0], 16))
    return keys


def sysvipc_keys(kind):
    """Keys in /proc/sysvipc/{msg,sem,shm} as seen by the caller's IPC namespace."""
    lines = read_text("/proc/sysvipc/" + kind).splitlines()[1:]
    return [int(line.split()[0]) for line in lines if line.strip()]


def uname_names():
    return {"hostname": read_text("/proc/sys/kernel/hostname").strip(),
            "domainname": read_text("/proc/sys/kernel/domainname").strip()}


def wait_for(predicate, timeout=5.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def procfs_of_initial_pid_ns():
    """Whether /proc belongs to the initial PID namespace, the one that shows kthreadd (pid 2,
    parent 0): then NSpid counts a process's levels from the top."""
    try:
        return read_text("/proc/2/comm").strip() == "kthreadd" and status_field(2, "PPid") == ["0"]
    except OSError:
        return False


def pid_ns_level():
    """The caller's PID namespace depth below the initial one, or None if /proc cannot tell."""
    return len(status_field("self", "NSpid") or [None]) - 1 if procfs_of_initial_pid_ns() else None


def at_initial_user_ns():
    return read_text("/proc/self/uid_map").split() == ["0", "0", "4294967295"]


def unshare_user_as_root():
    """unshare(CLONE_NEWUSER) and map root inside to the caller's own ids outside."""
    outer_uid, outer_gid = os.geteuid(), os.getegid()  # read before: unmapped ids show as 65534
    unshare(CLONE_NEWUSER)
    if os.path.exists("/proc/self/setgroups"):
        write_text("/proc/self/setgroups", "deny")
    write_text("/proc/self/gid_map", "0 %d 1" % outer_gid)
    write_text("/proc/self/uid_map", "0 %d 1" % outer_uid)


def enter_user_ns():
    """A new user namespace where the caller is root; Skip if policy forbids it."""
    try:
        unshare_user_as_root()
    except OSError as exc:
        raise Skip("creating a user namespace is denied here (%s); see USER7 for the policy gates"
                   % errno_name(exc))


def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root (CAP_SYS_ADMIN) on the host; the probe runs as uid %d" % os.geteuid())


# ---------------------------------------------------------------- the run's names


class Run:
    """Names and places of one run on one host, derived from the run's prefix.

    Hosts of a fleet may share kernel objects (a machine's IPC namespace, its cgroup tree, /tmp):
    names of such objects also carry `scope`, a tag of this host, so hosts never touch each other's.
    """

    def __init__(self, prefix):
        self.prefix = prefix
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


RUN = Run(os.environ.get("LNS_TEST_PREFIX", "lnskprobe"))


# ---------------------------------------------------------------- subjects


class Subject:
    """A set of namespaces under test: {type: ns file}, its holder (PID 1) and its hostname."""

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


class UnshareSubject(Subject):
    """The reference: a set made by util-linux unshare, held by its PID 1 (`sleep`)."""

    def __init__(self, kind, name, types):
        self.holder_pid = None
        shares_uts = kind == "broken-uts"
        made = [t for t in types if not (t == "uts" and shares_uts)]
        options = [NS_TYPES[t][1] for t in made] + ["--fork", "--mount-proc", "--propagation", "private"]
        if "time" in made:
            options += ["--monotonic", str(TIME_OFFSET), "--boottime", str(TIME_OFFSET)]
        # The broken subject claims a UTS namespace it does not have, so it must not set a hostname.
        script = "exec sleep infinity" if shares_uts else 'hostname "$1" && exec sleep infinity'
        self.process = subprocess.Popen(["unshare"] + options + ["--", "sh", "-c", script, "sh", name],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        STARTED.append(self.process.pid)
        holder = wait_for(self._holder)
        if not holder:
            self.destroy()
            raise ProbeError("unshare did not start a holder: %s"
                             % self.process.stderr.read().decode(errors="replace").strip())
        STARTED.append(holder)
        ns = dict((t, "/proc/%d/ns/%s" % (holder, t)) for t in types)
        Subject.__init__(self, kind, ns, holder, name, list(types))

    def _holder(self):
        if self.process.poll() is not None:
            return None
        for pid in children_of(self.process.pid):
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


class CollectionSubject(Subject):
    """A set made by the collection's namespace module, read from its documented store layout."""

    def __init__(self, store, name, hostname):
        state_path = os.path.join(store, name, "state.json")
        try:
            state = json.loads(read_text(state_path))
        except (OSError, ValueError) as exc:
            raise ProbeError("cannot read the set's %s: %s" % (state_path, exc))
        if state.get("status") != "ready":
            raise ProbeError("the set's status is %r, not 'ready'" % state.get("status"))
        types = list(state.get("types", []))
        ns = dict((t, os.path.join(store, name, t)) for t in types)
        Subject.__init__(self, "collection", ns, state.get("holder_pid"), hostname, types)

    def destroy(self):
        """The controller removes it with the module (state: absent)."""


def make_subject(spec, types):
    if spec["kind"] == "collection":
        return CollectionSubject(spec["store"], spec["name"], spec["hostname"])
    return UnshareSubject(spec["kind"], spec["hostname"], types)


# ---------------------------------------------------------------- probes

PROBES = {}


def probe(prop_id, setup=False):
    """Register a probe. setup=True: it observes a subject (reference, collection) rather than the
    kernel alone, and receives the Subject."""

    def register(fn):
        fn.setup = setup
        PROBES[prop_id] = fn
        return fn

    return register


def supported_types():
    return [t for t in NS_TYPES if os.path.exists("/proc/self/ns/" + t)]


# ---- S: the seed document


@probe("S1")
def probe_s1():
    parent = ns_ids()
    child = in_child(ns_ids)
    return {"parent": parent, "child": child, "created_with": "fork (clone without CLONE_NEW* flags)"}


@probe("S2", setup=True)
def probe_s2(subject):
    before = uname_names()["hostname"]
    inside = nsenter({"uts": subject.path("uts")}, ["hostname"]).strip()
    return {"expected": subject.hostname, "inside": inside, "host_before": before,
            "host_after": uname_names()["hostname"], "host_hostname_cmd": run(["hostname"]).strip()}


def _ipcmk_queue(paths):
    """Make a queue with util-linux ipcmk (in paths' namespaces); returns its key from ipcs."""
    output = nsenter(paths, ["ipcmk", "-Q"]) if paths else run(["ipcmk", "-Q"])
    ident = int(output.strip().split()[-1])
    listing = nsenter(paths, ["ipcs", "-q"]) if paths else run(["ipcs", "-q"])
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) > 1 and fields[0].startswith("0x") and fields[1] == str(ident):
            return int(fields[0], 16)
    raise ProbeError("ipcmk made queue id %d but ipcs does not list it" % ident)


def _ipcrm_queue(paths, key):
    argv = ["ipcrm", "-Q", "0x%08x" % key]
    return nsenter(paths, argv, check=False) if paths else run(argv, check=False)


@probe("S3", setup=True)
def probe_s3(subject):
    paths = {"ipc": subject.private("ipc")}
    host_key = _ipcmk_queue({})
    inside_key = None
    try:
        inside_before = ipcs_keys(nsenter(paths, ["ipcs", "-q"]))
        inside_key = _ipcmk_queue(paths)
        host_after = ipcs_keys(run(["ipcs", "-q"]))
    finally:
        _ipcrm_queue({}, host_key)
        if inside_key is not None:
            _ipcrm_queue(paths, inside_key)
    return {"host_key": host_key, "inside_keys": inside_before, "inside_key": inside_key,
            "host_keys_after": host_after}


@probe("S4", setup=True)
def probe_s4(subject):
    holder = subject.holder_pid
    if not holder:
        raise ProbeError("the %s subject has no holder process (PID 1)" % subject.kind)
    nspid = [int(p) for p in status_field(holder, "NSpid")]
    in_pid_ns = ns_id("/proc/%d/ns/pid" % holder) == subject.ns_id("pid")
    # A procfs of the subject's PID namespace, mounted in a throw-away mount namespace.
    inside = nsenter({"pid": subject.path("pid")},
                     ["unshare", "--mount", "--propagation", "private", "--mount-proc", "--",
                      "ps", "-o", "pid=,ppid=", "-p", "1"]).split()
    return {"holder_host_pid": holder, "nspid": nspid, "holder_in_subject_pid_ns": in_pid_ns,
            "inside_pid1": [int(v) for v in inside]}


@probe("S5", setup=True)
def probe_s5(subject):
    members = pid_ns_members(subject.ns_id("pid"))
    paths = {"pid": subject.path("pid")}
    try:
        observer, listed = "ps", nsenter(paths, ["ps", "-e", "-o", "pid="]).split()
    except ProbeError as exc:
        # procps refuses to run when /proc/self is not its own PID (procfs of another namespace,
        # as under a stacked /proc): the same view, read with ls.
        observer = "ls /proc (ps failed: %s)" % exc
        listed = [name for name in nsenter(paths, ["ls", "/proc"]).split() if name.isdigit()]
    listed = [int(p) for p in listed]
    return {"observer": observer, "listed_without_private_proc": len(listed), "namespace_members": len(members),
            "lists_probe_pid": os.getpid() in listed, "probe_pid": os.getpid()}


def _proc_mounts_on_host():
    return len([m for m in mounted_at("/proc") if m["fstype"] == "proc"])


# The host as found before any subject was made (set by probe_host from the controller's first look).
BASELINE = {"proc_mounts": None}


@probe("S6", setup=True)
def probe_s6(subject):
    paths = {"mnt": subject.path("mnt"), "pid": subject.path("pid")}
    members = pid_ns_members(subject.ns_id("pid"))
    lines = nsenter(paths, ["sh", "-c", "echo $$; exec ps -e -o pid="]).split()
    ps_pid, listed = int(lines[0]), sorted(int(p) for p in lines[1:])
    subject_root = [m for m in mountinfo("/proc/%d/mountinfo" % subject.holder_pid) if m["point"] == "/"] \
        if subject.holder_pid else []
    host_ps = [int(p) for p in run(["ps", "-e", "-o", "pid="]).split()]
    return {"inside_ps": [p for p in listed if p != ps_pid],
            "expected_inner_pids": sorted(members.values()),
            "host_proc_mounts_before": BASELINE["proc_mounts"], "host_proc_mounts_after": _proc_mounts_on_host(),
            "subject_root_shared": any(o.startswith("shared:") for m in subject_root for o in m["optional"]),
            "host_ps_lists_probe": os.getpid() in host_ps}


@probe("S7")
def probe_s7():
    found = {}
    for nstype in SEED_TYPES:
        flag = NS_TYPES[nstype][0]
        found[nstype] = {"file": os.path.exists("/proc/self/ns/" + nstype),
                         "create": in_child(outcome, unshare, flag)}
    return {"types": found, "kernel": platform.release()}


@probe("S8")
def probe_s8():
    flags = CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID
    parent = ns_ids()
    cloned = Child(lambda _c: {"ns": ns_ids(), "pid": os.getpid()}, clone_flags=flags).result()

    def unshare_moves_caller():
        before = ns_ids()
        unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET)
        moved = ns_ids()
        unshare(CLONE_NEWPID)
        after_pid = ns_ids()
        first_child = in_child(os.getpid)
        return {"before": before, "after": moved, "after_pid_unshare": after_pid,
                "first_child_pid": first_child}

    def setns_joins():
        original = os.open("/proc/self/ns/uts", os.O_RDONLY)
        unshare(CLONE_NEWUTS)
        new = os.open("/proc/self/ns/uts", os.O_RDONLY)
        new_id = self_ns("uts")
        setns(original, CLONE_NEWUTS)
        return {"left": new_id, "joined": self_ns("uts"),
                "wrong_type": outcome(setns, new, CLONE_NEWIPC)}

    return {"clone": {"parent": parent, "child": cloned["ns"], "child_pid": cloned["pid"],
                      "flags": ["uts", "ipc", "net", "mnt", "pid"]},
            "unshare": in_child(unshare_moves_caller), "setns": in_child(setns_joins),
            "original_uts": self_ns("uts")}


# ---- G: all types


@probe("G1")
def probe_g1():
    found = {}
    for nstype, (flag, _option, _feature) in NS_TYPES.items():
        path = "/proc/self/ns/" + nstype
        entry = {"creatable": in_child(outcome, unshare, flag), "exists": os.path.exists(path)}
        if entry["exists"]:
            st = os.stat(path)
            entry.update(dev=st.st_dev, ino=st.st_ino, link=os.readlink(path))
        found[nstype] = entry
    return {"types": found}


@probe("G2", setup=True)
def probe_g2(subject):
    requested, inherited = {}, {}
    for nstype in supported_types():
        holder = ns_id("/proc/%d/ns/%s" % (subject.holder_pid, nstype)) if subject.holder_pid else None
        if nstype in subject.types:
            requested[nstype] = {"subject": subject.ns_id(nstype), "host": self_ns(nstype), "holder": holder}
        else:
            inherited[nstype] = {"holder": holder, "host": self_ns(nstype)}
    return {"requested": requested, "not_requested": inherited}


@probe("G3", setup=True)
def probe_g3(subject):
    def join(nstype, wrong_flag):
        ns_dir = os.open("/proc/self/ns", os.O_RDONLY | os.O_DIRECTORY)
        fd = subject.open(nstype)
        wrong = outcome(setns, fd, wrong_flag)
        setns(fd, NS_TYPES[nstype][0])
        # pid and time move only the caller's children; mnt swaps /proc, so read through ns_dir.
        seen = nstype + "_for_children" if nstype in ("pid", "time") else nstype
        return {"joined": ns_id(seen, dir_fd=ns_dir), "wrong_type": wrong}

    joined = {}
    for nstype in subject.types:
        wrong_flag = CLONE_NEWIPC if nstype != "ipc" else CLONE_NEWUTS
        entry = in_child(join, nstype, wrong_flag)
        entry["file"] = subject.ns_id(nstype)
        joined[nstype] = entry
    return {"types": joined}


@probe("G4")
def probe_g4():
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


@probe("G5")
def probe_g5():
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


@probe("G6")
def probe_g6():
    need_root()

    def marked_uts(label):
        def mark():
            sethostname("%s-%s" % (RUN.prefix, label))
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
    pins["open_fd"] = {"expected": "%s-fd" % RUN.prefix, "seen": hostname_via(fd)}
    os.close(fd)
    # A process in it (the holder itself, still alive).
    holder = marked_uts("proc")
    holder.recv()
    pins["process"] = {"expected": "%s-proc" % RUN.prefix,
                       "seen": hostname_via("/proc/%d/ns/uts" % holder.pid)}
    holder.send("release")
    holder.result()

    # A bind mount of its file, made in a private mount namespace of a child.
    def bind_mount_pin():
        unshare(CLONE_NEWNS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount(RUN.scope, "/tmp", "tmpfs", 0, "size=64k")
        open("/tmp/uts", "w").close()
        inner = marked_uts("bind")
        inner.recv()
        mount("/proc/%d/ns/uts" % inner.pid, "/tmp/uts", None, MS_BIND)
        inner.send("release")
        inner.result()
        return hostname_via("/tmp/uts")

    pins["bind_mount"] = {"expected": "%s-bind" % RUN.prefix, "seen": in_child(bind_mount_pin)}

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
    return {"pins": pins, "mount_ns_bind": _bind_newer_mount_ns_per_cpu()}


def ns_id_of(path):
    """NS_GET_ID (Linux 6.18+) of a namespace file, or None."""
    value = ctypes.c_uint64()
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.ioctl(ctypes.c_int(fd), ctypes.c_ulong(NS_GET_ID), ctypes.byref(value)) != 0:
            return None
        return value.value
    finally:
        os.close(fd)


def _bind_newer_mount_ns_per_cpu():
    """Pinning a mount namespace by a bind mount of its file, from a mount namespace made before it.

    The kernel refuses to bind a mount namespace that is not newer than the binder's (loop check);
    a namespace made later must be accepted whichever CPU made either one. Each ordered pair of CPUs
    (binder's namespace made on the first, the pinned one on the second) is tried once."""
    cpus = sorted(os.sched_getaffinity(0))[:4]

    def attempt(binder_cpu, new_cpu):
        os.sched_setaffinity(0, {binder_cpu})
        unshare(CLONE_NEWNS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount(RUN.scope, "/tmp", "tmpfs", 0, "size=64k")
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


@probe("G7")
def probe_g7():
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


@probe("G8")
def probe_g8():
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


# ---- UTS


@probe("UTS1")
def probe_uts1():
    def fresh():
        before, ns_before = uname_names(), self_ns("uts")
        unshare(CLONE_NEWUTS)
        return {"before": before, "inside": uname_names(), "ns_before": ns_before, "ns_after": self_ns("uts")}

    need_root()
    observed = in_child(fresh)
    observed["host"] = uname_names()
    return observed


@probe("UTS2", setup=True)
def probe_uts2(subject):
    path = subject.private("uts")
    host_before = uname_names()
    new_names = {"hostname": "%s-uts2" % RUN.prefix, "domainname": "%s-dom2" % RUN.prefix}

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


@probe("UTS3")
def probe_uts3():
    need_root()
    name = "%s-uts3" % RUN.prefix

    def shared_without_new_ns():
        unshare(CLONE_NEWUTS)  # a scratch namespace so the host's name is never touched
        before = uname_names()["hostname"]
        in_child(sethostname, name)  # a plain fork shares the namespace
        return {"before": before, "after_child_set": uname_names()["hostname"]}

    observed = in_child(shared_without_new_ns)
    observed.update(set=name, host=uname_names()["hostname"])
    return observed


@probe("UTS4")
def probe_uts4():
    def unprivileged():
        drop_to_nobody()
        plain = outcome(unshare, CLONE_NEWUTS)
        with_user = outcome(unshare, CLONE_NEWUSER | CLONE_NEWUTS)
        inside = outcome(sethostname, "%s-uts4" % RUN.prefix) if with_user == "OK" else None
        return {"uid": os.geteuid(), "unshare_uts": plain, "unshare_user_uts": with_user,
                "sethostname_inside": inside}

    observed = in_child(unprivileged)
    if observed["unshare_user_uts"] != "OK":
        raise Skip("an unprivileged user namespace is denied here (%s): see USER7"
                   % observed["unshare_user_uts"])
    return observed


# ---- IPC


@probe("IPC1", setup=True)
def probe_ipc1(subject):
    path = subject.private("ipc")
    keys = dict((kind, RUN.ipc_key(10 + n)) for n, kind in enumerate(SYSV_KINDS))
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


@probe("IPC2", setup=True)
def probe_ipc2(subject):
    path = subject.private("ipc")
    paths = {"ipc": path}
    keys = dict((kind, RUN.ipc_key(20 + n)) for n, kind in enumerate(SYSV_KINDS))
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


@probe("IPC3", setup=True)
def probe_ipc3(subject):
    path = subject.private("ipc")
    if MQUEUE.lib is None:
        raise Skip("libc has no mq_open", "mqueue_ns")
    host_name, inside_name = RUN.mq_name(MQ_LABELS[0]), RUN.mq_name("ipc3i")
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


@probe("IPC4", setup=True)
def probe_ipc4(subject):
    path = subject.private("ipc")
    host_key, inside_key = RUN.ipc_key(30), RUN.ipc_key(31)
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


@probe("IPC5", setup=True)
def probe_ipc5(subject):
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


@probe("IPC6")
def probe_ipc6():
    if MQUEUE.lib is None:
        raise Skip("libc has no mq_open", "mqueue_ns")
    maxmsg, msgsize = 8, 8192
    budget = 100000  # one queue of 8 x 8 KiB fits, two do not

    def queue_in_fresh_ipc_ns(channel, name):
        unshare(CLONE_NEWIPC)
        result = outcome(MQUEUE.open, name, True, maxmsg, msgsize)
        channel.send(result)
        channel.recv()
        return result

    def experiment():
        # The byte budget (RLIMIT_MSGQUEUE) is counted per user in a user namespace: a fresh one
        # counts only this experiment's queues.
        enter_user_ns()
        resource.setrlimit(resource.RLIMIT_MSGQUEUE, (budget, budget))
        name = RUN.mq_name("ipc6")
        first = Child(queue_in_fresh_ipc_ns, name)
        first_made = first.recv()
        pin = os.open("/proc/%d/ns/ipc" % first.pid, os.O_RDONLY)
        first.send("exit")
        first.result()

        def try_queue():
            attempt = Child(queue_in_fresh_ipc_ns, name)
            made = attempt.recv()
            attempt.send("exit")
            attempt.result()
            return made

        while_pinned = try_queue()
        os.close(pin)  # the namespace dies now; its queue must be destroyed with it
        deadline = time.monotonic() + 5
        after_death = try_queue()
        while after_death != "OK" and time.monotonic() < deadline:
            time.sleep(0.05)
            after_death = try_queue()
        return {"first_queue": first_made, "second_while_first_ns_pinned": while_pinned,
                "after_first_ns_died": after_death}

    observed = in_child(experiment)
    observed["objects"] = "POSIX message queues (their bytes return to the creator's RLIMIT_MSGQUEUE)"
    return observed


# ---- PID


def _in_new_pid_ns(fn, *args):
    """unshare(CLONE_NEWPID) in a child, then run fn(*args) as PID 1 of the new namespace."""

    def body():
        unshare(CLONE_NEWPID)
        return in_child(fn, *args)

    return in_child(body)


@probe("PID1")
def probe_pid1():
    need_root()
    return _in_new_pid_ns(lambda: {"pid": os.getpid(), "ppid": os.getppid()})


@probe("PID2")
def probe_pid2():
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


@probe("PID3")
def probe_pid3():
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

    before = _proc_mounts_on_host()
    observed = _in_new_pid_ns(pid1_mounts_proc)
    observed.update(host_proc_mounts_before=before, host_proc_mounts_after=_proc_mounts_on_host())
    return observed


@probe("PID4")
def probe_pid4():
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


@probe("PID5")
def probe_pid5():
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


@probe("PID6")
def probe_pid6():
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


@probe("PID7")
def probe_pid7():
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


@probe("PID8")
def probe_pid8():
    need_root()

    def experiment():
        unshare(CLONE_NEWPID)
        first = Child(lambda c: os.getpid())
        first_pid = first.result()
        after = outcome(lambda: in_child(os.getpid))
        return {"first_pid": first_pid, "fork_after_pid1_exit": after}

    return in_child(experiment)


@probe("PID9")
def probe_pid9():
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


@probe("PID10")
def probe_pid10():
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


# ---- mount


def _mount_view():
    return sorted((m["point"], m["fstype"], m["source"], m["root"]) for m in mountinfo())


@probe("MNT1")
def probe_mnt1():
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


def _propagation_lab(base):
    """In the caller's (private) mount namespace: a tmpfs at base with bind mounts s, p, sl, u."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount(RUN.scope, base, "tmpfs", 0, "size=64k")
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


def _has_mount(point):
    return bool(mounted_at(point))


@probe("MNT2")
def probe_mnt2():
    need_root()
    base = RUN.tmpdir("mnt2")

    def experiment():
        unshare(CLONE_NEWNS)
        _propagation_lab(base)
        first = os.open("/proc/self/ns/mnt", os.O_RDONLY)
        unshare(CLONE_NEWNS)
        second = os.open("/proc/self/ns/mnt", os.O_RDONLY)
        mount(None, base + "/sl", None, MS_SLAVE)
        for name in ("s", "p", "sl"):
            mount(RUN.scope, "%s/%s/a" % (base, name), "tmpfs", 0, "size=16k")
        setns(first, CLONE_NEWNS)
        from_second = dict((n, _has_mount("%s/%s/a" % (base, n))) for n in ("s", "p", "sl"))
        for name in ("s", "p", "sl"):
            mount(RUN.scope, "%s/%s/b" % (base, name), "tmpfs", 0, "size=16k")
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


@probe("MNT3")
def probe_mnt3():
    need_root()
    base = RUN.tmpdir("mnt3")

    def optional_of(point):
        found = mounted_at(point)
        return found[-1]["optional"] if found else None

    def experiment():
        unshare(CLONE_NEWNS)
        _propagation_lab(base)
        before = optional_of(base + "/s")

        def in_user_and_mount_ns():
            try:
                unshare(CLONE_NEWUSER | CLONE_NEWNS)
            except OSError as exc:
                raise Skip("a user namespace is denied here (%s): see USER7" % errno_name(exc))
            own = "%s/s/a" % base
            mount(RUN.scope, own, "tmpfs", 0, "size=16k")
            return {"after": optional_of(base + "/s"), "umount_inherited": outcome(umount2, base + "/s"),
                    "umount_own": outcome(umount2, own)}

        observed = in_child(in_user_and_mount_ns)
        observed["before"] = before
        return observed

    try:
        return in_child(experiment)
    finally:
        os.rmdir(base)


@probe("MNT4", setup=True)
def probe_mnt4(subject):
    path = subject.private("mnt")
    point = RUN.tmpdir("mnt4")
    source = RUN.scope + "-mnt4"
    try:
        # util-linux reads /proc/self/mountinfo: with the subject's /proc that needs its PID ns too.
        inside_paths = {"mnt": path, "pid": subject.path("pid")}
        nsenter(inside_paths, ["mount", "-t", "tmpfs", "-o", "size=16k", source, point])
        try:
            inside = [m["source"] for m in mountinfo("/proc/%d/mountinfo" % subject.holder_pid)
                      if m["point"] == point] if subject.holder_pid else None
            inside_cmd = nsenter(inside_paths, ["findmnt", "-n", "-o", "SOURCE", point], check=False).split()
            host = [m["source"] for m in mounted_at(point)]
        finally:
            nsenter(inside_paths, ["umount", point], check=False)
    finally:
        for _mount in mounted_at(point):  # only if it wrongly reached the host
            umount2(point, MNT_DETACH)
        os.rmdir(point)
    return {"source": source, "inside_holder_view": inside, "inside_findmnt": inside_cmd, "host": host}


# ---- network


@probe("NET1")
def probe_net1():
    need_root()
    text = run(["unshare", "--net", "ip", "-o", "link", "show"])
    return {"links": ip_link_names(text), "flags": ip_link_flags(text)}


def _ip_addrs(text):
    addrs = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[2] in ("inet", "inet6"):
            addrs.append(fields[3].split("/")[0])
    return addrs


@probe("NET2", setup=True)
def probe_net2(subject):
    path = subject.private("net")
    paths = {"net": path}
    host_links = ip_link_names(run(["ip", "-o", "link", "show"]))
    inside_links = ip_link_names(nsenter(paths, ["ip", "-o", "link", "show"]))
    host_addrs = _ip_addrs(run(["ip", "-o", "addr", "show"]))
    inside_addrs = _ip_addrs(nsenter(paths, ["ip", "-o", "addr", "show"]))
    host_routes = run(["ip", "route", "show", "table", "all"]).splitlines()
    inside_routes = nsenter(paths, ["ip", "route", "show", "table", "all"]).splitlines()

    def proc_and_sys():
        setns(os.open(path, os.O_RDONLY), CLONE_NEWNET)
        proc_net = [line.split(":")[0].strip() for line in read_text("/proc/self/net/dev").splitlines()[2:]]
        unshare(CLONE_NEWNS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount("sysfs", "/sys", "sysfs")  # a sysfs shows the mounting process's network namespace
        return {"proc_net_dev": sorted(proc_net), "sys_class_net": sorted(os.listdir("/sys/class/net"))}

    views = in_child(proc_and_sys)
    host_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        host_socket.bind(("127.0.0.1", 0))
        port = host_socket.getsockname()[1]
        same_port_on_host = outcome(socket.socket().bind, ("0.0.0.0", port))

        def bind_inside():
            setns(os.open(path, os.O_RDONLY), CLONE_NEWNET)
            return outcome(socket.socket().bind, ("0.0.0.0", port))

        same_port_inside = in_child(bind_inside)
    finally:
        host_socket.close()
    return {"host_links": host_links, "inside_links": inside_links, "host_addrs": host_addrs,
            "inside_addrs": inside_addrs, "host_routes": host_routes, "inside_routes": inside_routes,
            "inside_proc_net_dev": views["proc_net_dev"], "inside_sys_class_net": views["sys_class_net"],
            "port": port, "bind_same_port_on_host": same_port_on_host,
            "bind_same_port_inside": same_port_inside}


def _holding(path=None, flags=0):
    """A child that sits in the network namespace at path (or a new one): ip can name it by pid."""

    def body(channel):
        if path:
            setns(os.open(path, os.O_RDONLY), CLONE_NEWNET)
        if flags:
            unshare(flags)
        channel.send("ready")
        channel.recv()

    holder = Child(body)
    holder.recv()
    return holder


def _release(holder):
    if not holder.reaped:
        holder.send("release")
        holder.wait()


def _ip_in(netns_path, args):
    """`ip ARGS` in the network namespace at netns_path (None: the host's); never raises on exit status."""
    argv = ["ip"] + args
    return nsenter({"net": netns_path}, argv, check=False) if netns_path else run(argv, check=False)


def _link_exists(name, netns_path=None):
    return name in ip_link_names(_ip_in(netns_path, ["-o", "link", "show", "dev", name]))


@probe("NET3", setup=True)
def probe_net3(subject):
    path = subject.private("net")
    end_sibling, end_subject = RUN.ifname("n3a"), RUN.ifname("n3b")
    net = RUN.subnet()
    sibling = _holding(flags=CLONE_NEWNET)
    in_subject = _holding(path=path)
    sibling_ns = "/proc/%d/ns/net" % sibling.pid
    try:
        run(["ip", "link", "add", end_sibling, "type", "veth", "peer", "name", end_subject])
        run(["ip", "link", "set", "dev", end_sibling, "netns", str(sibling.pid)])
        run(["ip", "link", "set", "dev", end_subject, "netns", str(in_subject.pid)])
        host_after_move = [_link_exists(end_sibling), _link_exists(end_subject)]
        nsenter({"net": sibling_ns}, ["ip", "addr", "add", net + ".1/30", "dev", end_sibling])
        nsenter({"net": sibling_ns}, ["ip", "link", "set", "dev", end_sibling, "up"])
        nsenter({"net": path}, ["ip", "addr", "add", net + ".2/30", "dev", end_subject])
        nsenter({"net": path}, ["ip", "link", "set", "dev", end_subject, "up"])

        def serve(channel):
            setns(os.open(path, os.O_RDONLY), CLONE_NEWNET)
            server = socket.socket()
            server.bind((net + ".2", 0))
            server.listen(1)
            server.settimeout(10)
            channel.send(server.getsockname()[1])
            conn, peer = server.accept()
            return {"peer": peer[0], "data": conn.recv(64).decode()}

        server = Child(serve)
        port = server.recv()

        def connect():
            setns(os.open(sibling_ns, os.O_RDONLY), CLONE_NEWNET)
            deadline = time.monotonic() + 5
            while True:
                try:
                    client = socket.create_connection((net + ".2", port), timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            client.sendall(RUN.prefix.encode())
            return "sent"

        sent = in_child(connect)
        served = server.result()
        inside_subject = _link_exists(end_subject, path)
        in_sibling = _link_exists(end_sibling, sibling_ns)
    finally:
        for where in (None, path, sibling_ns):
            for name in (end_sibling, end_subject):
                if _link_exists(name, where):
                    _ip_in(where, ["link", "del", "dev", name])
        _release(in_subject)
        _release(sibling)
    return {"host_has_ends_after_move": host_after_move, "subject_has_its_end": inside_subject,
            "sibling_has_its_end": in_sibling, "client": sent, "server": served,
            "expected_peer": net + ".1", "expected_data": RUN.prefix}


@probe("NET4")
def probe_net4():
    need_root()
    sysctl = "/proc/sys/net/ipv4/ip_default_ttl"

    def experiment():
        unshare(CLONE_NEWNET)
        write_text(sysctl, "77")
        first = read_text(sysctl).strip()
        unshare(CLONE_NEWNET)  # made from a namespace whose value is 77
        return {"creator_value": first, "new_value": read_text(sysctl).strip()}

    observed = in_child(experiment)
    observed.update(sysctl="net.ipv4.ip_default_ttl", kernel_default="64", host=read_text(sysctl).strip())
    return observed


@probe("NET5")
def probe_net5():
    need_root()
    host_end, moved_end = RUN.ifname("n5a"), RUN.ifname("n5b")
    holder = _holding(flags=CLONE_NEWNET)
    try:
        run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", moved_end])
        run(["ip", "link", "set", "dev", moved_end, "netns", str(holder.pid)])
        before = _link_exists(host_end)
        holder.kill()  # the namespace's last process: the namespace dies, and its veth end with it
        gone = wait_for(lambda: not _link_exists(host_end), timeout=10, interval=0.05)
    finally:
        _release(holder)
        if _link_exists(host_end):
            run(["ip", "link", "del", "dev", host_end], check=False)
    return {"host_end_before": before, "host_end_gone_after_ns_death": bool(gone)}


# ---- user


@probe("USER1")
def probe_user1():
    def experiment():
        enter_unmapped = outcome(unshare, CLONE_NEWUSER)
        if enter_unmapped != "OK":
            raise Skip("a user namespace is denied here (%s): see USER7" % enter_unmapped)
        return {"uid": os.getuid(), "gid": os.getgid(), "root_dir_owner": os.stat("/").st_uid}

    observed = in_child(experiment)
    observed["overflowuid"] = int(read_text("/proc/sys/kernel/overflowuid"))
    observed["overflowgid"] = int(read_text("/proc/sys/kernel/overflowgid"))
    return observed


@probe("USER2")
def probe_user2():
    last_cap = int(read_text("/proc/sys/kernel/cap_last_cap"))

    def experiment():
        # A scratch UTS namespace owned by the parent user namespace stands for "not ours", so a
        # faulty kernel could only rename the scratch namespace, never the host (EPERM if not root).
        scratch = outcome(unshare, CLONE_NEWUTS)
        made = outcome(unshare, CLONE_NEWUSER)
        if made != "OK":
            raise Skip("a user namespace is denied here (%s): see USER7" % made)
        cap_eff = int(status_field("self", "CapEff")[0], 16)
        foreign = outcome(sethostname, "%s-user2" % RUN.prefix)
        own = outcome(unshare, CLONE_NEWUTS)
        owned = outcome(sethostname, "%s-user2" % RUN.prefix) if own == "OK" else None
        return {"cap_eff": cap_eff, "scratch_uts": scratch, "sethostname_in_parent_uts": foreign,
                "unshare_uts": own,
                "sethostname_in_own_uts": owned}

    observed = in_child(experiment)
    observed["full_set"] = (1 << (last_cap + 1)) - 1
    return observed


@probe("USER3")
def probe_user3():
    need_root()
    outer = 100000 + (RUN.tag & 0xFFFF)
    directory = RUN.tmpdir("user3")
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


@probe("USER4")
def probe_user4():
    if not os.path.exists("/proc/self/setgroups"):
        raise Skip("no /proc/PID/setgroups", "setgroups")

    def experiment():
        drop_to_nobody()
        made = outcome(unshare, CLONE_NEWUSER)
        if made != "OK":
            raise Skip("an unprivileged user namespace is denied here (%s): see USER7" % made)
        mapping = "0 %d 1" % os.getegid()
        before = read_text("/proc/self/setgroups").strip()
        with_allow = outcome(write_text, "/proc/self/gid_map", mapping)
        write_text("/proc/self/setgroups", "deny")
        with_deny = outcome(write_text, "/proc/self/gid_map", mapping)
        return {"uid_outside": os.geteuid(), "setgroups_initially": before,
                "gid_map_with_allow": with_allow, "gid_map_after_deny": with_deny}

    return in_child(experiment)


@probe("USER5")
def probe_user5():
    flags = CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS

    def experiment():
        drop_to_nobody()
        alone = outcome(unshare, CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET)
        together = outcome(unshare, flags)
        if together in ("EPERM", "EACCES", "ENOSPC") and alone == "EPERM":
            raise Skip("an unprivileged user namespace is denied here (%s): see USER7" % together)
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


@probe("USER6")
def probe_user6():
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


USER_GATES = {"user.max_user_namespaces": "/proc/sys/user/max_user_namespaces",
              "kernel.unprivileged_userns_clone": "/proc/sys/kernel/unprivileged_userns_clone",
              "kernel.apparmor_restrict_unprivileged_userns":
                  "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"}


@probe("USER7")
def probe_user7():
    gates = {}
    for name, path in USER_GATES.items():
        gates[name] = read_text(path).strip() if os.path.exists(path) else None

    def unprivileged():
        drop_to_nobody()
        made = outcome(unshare, CLONE_NEWUSER)
        privileged = None
        if made == "OK":
            privileged = outcome(unshare, CLONE_NEWUTS)
            if privileged == "OK":
                privileged = outcome(sethostname, "%s-user7" % RUN.prefix)
        return {"create_user_ns": made, "privileged_op_inside": privileged}

    observed = in_child(unprivileged)
    observed["gates"] = gates
    return observed


# ---- cgroup


def _cgroup_lines(pid="self"):
    return [line.split(":", 2) for line in read_text("/proc/%s/cgroup" % pid).splitlines() if line]


@probe("CG1", setup=True)
def probe_cg1(subject):
    holder = subject.holder_pid
    if not holder:
        raise ProbeError("the %s subject has no holder process" % subject.kind)
    # /proc/PID/cgroup is shown relative to the reader's cgroup namespace root.
    seen = nsenter({"cgroup": subject.path("cgroup")}, ["cat", "/proc/%d/cgroup" % holder])

    def fresh():
        unshare(CLONE_NEWCGROUP)
        return _cgroup_lines()

    return {"holder_seen_from_subject": [line.split(":", 2) for line in seen.splitlines() if line],
            "self_after_unshare": in_child(fresh)}


def _under(path, root):
    return path == root or root == "/" or path.startswith(root.rstrip("/") + "/")


def _cgroup2_mount():
    for m in mountinfo():
        if m["fstype"] == "cgroup2":
            return m["point"]
    return None


@probe("CG2")
def probe_cg2():
    need_root()
    own = dict((hierarchy, path) for hierarchy, _controllers, path in _cgroup_lines())
    outside = None
    for pid in host_pids():
        try:
            for hierarchy, _controllers, path in _cgroup_lines(pid):
                if hierarchy in own and not _under(path, own[hierarchy]):
                    outside = (pid, hierarchy, path)
                    break
        except (OSError, ValueError):
            continue
        if outside:
            break
    made = None
    if outside is None:
        # Nobody lives outside our cgroup: make a child cgroup of our own for the namespace root.
        base = _cgroup2_mount()
        if base is None or "0" not in own:
            raise Skip("no process outside the probe's cgroup and no cgroup v2 to make one in")
        made = os.path.join(base + own["0"].rstrip("/"), RUN.scope + "-cg2")
        os.mkdir(made)
        outside = (os.getpid(), "0", own["0"])

    def inside():
        if made:
            write_text(os.path.join(made, "cgroup.procs"), str(os.getpid()))
        unshare(CLONE_NEWCGROUP)
        for hierarchy, _controllers, path in _cgroup_lines(outside[0]):
            if hierarchy == outside[1]:
                return path
        return None

    try:
        seen = in_child(inside)
    finally:
        if made:
            os.rmdir(made)
    return {"outside_process": outside[0], "hierarchy": outside[1], "host_path": outside[2],
            "seen_from_new_ns": seen, "made_child_cgroup": bool(made)}


@probe("CG3", setup=True)
def probe_cg3(subject):
    path = subject.path("cgroup")

    def body(channel, join):
        channel.send("before")
        channel.recv()
        if join:
            setns(os.open(path, os.O_RDONLY), CLONE_NEWCGROUP)
        else:
            unshare(CLONE_NEWCGROUP)
        channel.send("after")
        channel.recv()

    observed = {}
    for label, join in (("create", False), ("join", True)):
        child = Child(body, join)
        child.recv()
        before = _cgroup_lines(child.pid)
        child.send("go")
        child.recv()
        after = _cgroup_lines(child.pid)
        child.send("go")
        child.result()
        observed[label] = {"before": before, "after": after}
    return observed


# ---- time


OFFSET_CLOCKS = {"monotonic": 1, "monotonic_raw": 4, "monotonic_coarse": 6, "boottime": 7}
REAL_CLOCKS = {"realtime": 0, "realtime_coarse": 5}


def _clocks():
    values = dict((n, time.clock_gettime(c)) for n, c in list(OFFSET_CLOCKS.items()) + list(REAL_CLOCKS.items()))
    values["uptime"] = float(read_text("/proc/uptime").split()[0])
    return values


TIME_LAB = {}


def time_lab():
    """One time-namespace experiment shared by TIME1..TIME3 (run once per probe run)."""
    if TIME_LAB:
        return TIME_LAB
    if not os.path.exists("/proc/self/ns/time"):
        raise Skip("the kernel has no time namespace", "time_ns")
    need_root()

    def member(channel):
        channel.recv()
        channel.send(_clocks())
        channel.recv()
        return None

    def experiment():
        before = ns_ids()
        unshare(CLONE_NEWTIME)
        after = ns_ids()
        realtime = outcome(write_text, "/proc/self/timens_offsets", "realtime %d 0" % TIME_OFFSET)
        write_text("/proc/self/timens_offsets", "monotonic %d 0\nboottime %d 0" % (TIME_OFFSET, TIME_OFFSET))
        child = Child(member)
        child_ns = ns_id("/proc/%d/ns/time" % child.pid)
        host_before = _clocks()
        child.send("read")
        inside = child.recv()
        host_after = _clocks()
        offsets_file = read_text("/proc/%d/timens_offsets" % child.pid).splitlines()
        late_write = outcome(write_text, "/proc/self/timens_offsets", "monotonic 1 0")
        child.send("exit")
        child.result()
        return {"before": before, "after": after, "child_time_ns": child_ns,
                "realtime_offset_write": realtime, "late_offset_write": late_write,
                "clocks": {"host_before": host_before, "inside": inside, "host_after": host_after},
                "child_timens_offsets": offsets_file}

    TIME_LAB.update(in_child(experiment))
    TIME_LAB["offset"] = TIME_OFFSET
    return TIME_LAB


@probe("TIME1")
def probe_time1():
    lab = time_lab()
    return {"time_before": lab["before"].get("time"), "time_after": lab["after"].get("time"),
            "for_children_before": lab["before"].get("time_for_children"),
            "for_children_after": lab["after"].get("time_for_children"), "child_time_ns": lab["child_time_ns"]}


@probe("TIME2")
def probe_time2():
    lab = time_lab()
    return {"offset": lab["offset"], "clocks": lab["clocks"], "offset_clocks": sorted(OFFSET_CLOCKS),
            "real_clocks": sorted(REAL_CLOCKS), "realtime_offset_write": lab["realtime_offset_write"]}


@probe("TIME3")
def probe_time3():
    lab = time_lab()
    return {"late_offset_write": lab["late_offset_write"]}


@probe("TIME4", setup=True)
def probe_time4(subject):
    """The set's offsets, seen by its members: clock_gettime, /proc/uptime, /proc/PID/timens_offsets."""
    path = subject.path("time")

    def member_clocks():
        setns(os.open(path, os.O_RDONLY), CLONE_NEWTIME)
        return in_child(_clocks)  # a child made after setns runs in the time namespace

    holder_offsets = read_text("/proc/%d/timens_offsets" % subject.holder_pid).splitlines() \
        if subject.holder_pid else None
    host_before = _clocks()
    uptime_nsenter = float(nsenter({"time": path}, ["cat", "/proc/uptime"]).split()[0])
    inside = in_child(member_clocks)
    host_after = _clocks()
    return {"offset": TIME_OFFSET, "holder_timens_offsets": holder_offsets, "uptime_via_nsenter": uptime_nsenter,
            "clocks": {"host_before": host_before, "inside": inside, "host_after": host_after}}


# ---------------------------------------------------------------- features and facts


def _syscall_exists(number, *args):
    try:
        raw_syscall(number, *args)
    except OSError as exc:
        return exc.errno != errno.ENOSYS
    return True


def _ioctl_exists(path, request):
    fd = os.open(path, os.O_RDONLY)
    try:
        result = ns_ioctl(fd, request)
        if request in (NS_GET_USERNS, NS_GET_PARENT):
            os.close(result)
        return True
    except OSError as exc:
        return exc.errno != errno.ENOTTY
    finally:
        os.close(fd)


def _setns_pidfd_works():
    def attempt():
        fd = pidfd_open(os.getpid())
        return outcome(setns, fd, CLONE_NEWUTS) == "OK"
    try:
        return in_child(attempt)
    except ProbeError:
        return False


def _mqueue_works():
    if MQUEUE.lib is None:
        return False
    return outcome(MQUEUE.open, RUN.mq_name("probe-absent")) != "ENOSYS"


def features():
    """Each feature of kernel_features.FEATURES, detected by trying it."""
    found = dict((NS_TYPES[t][2], os.path.exists("/proc/self/ns/" + t)) for t in NS_TYPES)
    found.update({
        "mqueue_ns": _mqueue_works(),
        "setns": outcome(setns, -1, 0) != "ENOSYS",
        "uid_map": os.path.exists("/proc/self/uid_map"),
        "setgroups": os.path.exists("/proc/self/setgroups"),
        "nspid": bool(status_field("self", "NSpid")),
        "max_namespaces": os.path.exists("/proc/sys/user/max_uts_namespaces"),
        "ns_get_userns": _ioctl_exists("/proc/self/ns/uts", NS_GET_USERNS),
        "ns_get_nstype": _ioctl_exists("/proc/self/ns/uts", NS_GET_NSTYPE),
        "pid_for_children": os.path.exists("/proc/self/ns/pid_for_children"),
        "clone3": _syscall_exists(SYS_CLONE3, None, ctypes.c_size_t(0)),
        "pidfd_open": outcome(lambda: os.close(pidfd_open(os.getpid()))) != "ENOSYS",
        "mount_setattr": _syscall_exists(SYS_MOUNT_SETATTR, ctypes.c_int(-1), None, ctypes.c_uint(0),
                                         None, ctypes.c_size_t(0)),
        "listmount": _syscall_exists(SYS_LISTMOUNT, None, None, ctypes.c_size_t(0), ctypes.c_uint(0)),
        "ns_get_id": _ioctl_exists("/proc/self/ns/uts", NS_GET_ID),
    })
    found["setns_pidfd"] = found["pidfd_open"] and _setns_pidfd_works()
    found["setns_time"] = found["time_ns"] and in_child(
        lambda: outcome(setns, os.open("/proc/self/ns/time", os.O_RDONLY), CLONE_NEWTIME) == "OK")
    return found


def _os_release():
    fields = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.exists(path):
            for line in read_text(path).splitlines():
                if "=" in line:
                    key, value = line.split("=", 1)
                    fields[key] = value.strip().strip('"')
            break
    return {"id": fields.get("ID"), "version_id": fields.get("VERSION_ID"), "pretty_name": fields.get("PRETTY_NAME")}


def _first_line(argv):
    try:
        return run(argv, check=False).splitlines()[0]
    except (Skip, IndexError):
        return None


def facts():
    return {"kernel": platform.release(), "kernel_version": platform.version(), "machine": platform.machine(),
            "distribution": _os_release(), "python": platform.python_version(), "euid": os.geteuid(),
            "hostname": uname_names()["hostname"], "util_linux": _first_line(["unshare", "--version"]),
            "iproute2": _first_line(["ip", "-V"]), "namespace_types": supported_types(),
            "pid_ns_level": pid_ns_level(), "at_initial_user_ns": at_initial_user_ns()}


# ---------------------------------------------------------------- cleanup and leak check


def _host_links():
    try:
        return ip_link_names(run(["ip", "-o", "link", "show"], check=False))
    except Skip:
        return []


def sweep():
    """Remove whatever carries the run's prefix and is still there; returns what was removed."""
    removed = []
    for child in list(LIVE_CHILDREN):
        child.kill()
        removed.append("child %d" % child.pid)
    for key in RUN.ipc_keys():
        for kind in SYSV_KINDS:
            if SYSV.remove(kind, key):
                removed.append("%s key 0x%08x" % (kind, key))
    for label in MQ_LABELS:
        if MQUEUE.unlink(RUN.mq_name(label)) == "OK":
            removed.append("POSIX message queue %s" % RUN.mq_name(label))
    for m in reversed(mountinfo()):
        if m["source"].startswith(RUN.scope) or m["point"].startswith("/tmp/%s-" % RUN.scope):
            if outcome(umount2, m["point"], MNT_DETACH) == "OK":
                removed.append("mount %s" % m["point"])
    for name in _host_links():
        if name.startswith(RUN.prefix):
            run(["ip", "link", "del", "dev", name], check=False)
            removed.append("link %s" % name)
    for name in os.listdir("/tmp"):
        if name.startswith(RUN.scope + "-"):
            try:
                os.rmdir(os.path.join("/tmp", name))
                removed.append("dir /tmp/%s" % name)
            except OSError:
                pass
    return removed


def leftovers(hostname_before):
    """Anything of this run still on the host (must be empty)."""
    found = []
    for m in mountinfo():
        if RUN.prefix in m["source"] or RUN.prefix in m["point"]:
            found.append("mount %s (%s)" % (m["point"], m["fstype"]))
    found += ["link %s" % n for n in _host_links() if n.startswith(RUN.prefix)]
    if os.path.isdir("/run/netns"):
        found += ["/run/netns/%s" % n for n in os.listdir("/run/netns") if n.startswith(RUN.prefix)]
    holder_comm = ("nsh:" + RUN.prefix)[:15]
    for pid in host_pids():
        try:
            comm = read_text("/proc/%d/comm" % pid).strip()
        except OSError:
            continue
        if comm.startswith(holder_comm) or pid in STARTED or pid in [c.pid for c in LIVE_CHILDREN]:
            found.append("process %d (%s)" % (pid, comm))
    for label in MQ_LABELS:
        if outcome(MQUEUE.open, RUN.mq_name(label)) not in ("ENOENT", "ENOSYS"):
            found.append("POSIX message queue %s" % RUN.mq_name(label))
    keys = set(RUN.ipc_keys())
    for kind in SYSV_KINDS:
        found += ["%s key 0x%08x" % (kind, k) for k in sysvipc_keys(kind) if k in keys]
    found += ["/tmp/%s" % n for n in os.listdir("/tmp") if n.startswith(RUN.scope + "-")]
    if uname_names()["hostname"] != hostname_before:
        found.append("hostname changed from %r to %r" % (hostname_before, uname_names()["hostname"]))
    return found


def cleanup_store(store):
    """After the controller removed the collection's set: unmount and remove the kit's store."""
    removed = []
    if store and os.path.basename(store.rstrip("/")).startswith(RUN.prefix) and os.path.isdir(store):
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


# ---------------------------------------------------------------- main


def run_probe(fn, *args):
    started = time.monotonic()
    try:
        result = {"observed": fn(*args)}
    except Skip as exc:
        result = {"skip": exc.reason, "feature": exc.feature}
    except Exception as exc:  # one probe's failure is reported, the others still run
        result = {"error": describe_error(exc)}
    result["seconds"] = round(time.monotonic() - started, 4)
    return result


def probe_host(request):
    BASELINE["proc_mounts"] = request.get("proc_mounts_before_subjects") or _proc_mounts_on_host()
    wanted = request.get("ids") or sorted(PROBES)
    report = {"facts": facts(), "features": features(), "results": {"kernel": {}}, "subjects": {}}
    for prop_id in wanted:
        if not PROBES[prop_id].setup:
            report["results"]["kernel"][prop_id] = run_probe(PROBES[prop_id])
    setup_ids = [i for i in wanted if PROBES[i].setup]
    types = [t for t in SUBJECT_TYPES if t in supported_types()]
    for spec in request.get("subjects", []) if setup_ids else []:
        kind = spec["kind"]
        results = report["results"][kind] = {}
        try:
            subject = make_subject(spec, types)
        except (ProbeError, Skip, OSError) as exc:
            report["subjects"][kind] = {"error": "the %s subject could not be made: %s" % (kind, exc)}
            for prop_id in setup_ids:
                results[prop_id] = {"error": report["subjects"][kind]["error"]}
            continue
        report["subjects"][kind] = subject.describe()
        try:
            for prop_id in setup_ids:
                results[prop_id] = run_probe(PROBES[prop_id], subject)
        finally:
            subject.destroy()
    # The leak check comes later, in cleanup mode, once the controller removed the collection's set.
    report["swept"] = sweep()
    return report


def main(argv):
    request = json.loads(base64.b64decode(argv[1]).decode()) if len(argv) > 1 else {}
    global RUN
    RUN = Run(request.get("prefix") or RUN.prefix)
    if request.get("mode") == "cleanup":
        report = {"removed": cleanup_store(request.get("store")) + sweep(),
                  "leftovers": leftovers(request.get("hostname") or uname_names()["hostname"])}
    else:
        report = probe_host(request)
    sys.stdout.write("%s\n%s\n%s\n" % (BEGIN_MARK, json.dumps(report), END_MARK))
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
