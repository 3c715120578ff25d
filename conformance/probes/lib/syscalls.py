"""Kernel constants and syscalls through ctypes, System V IPC and POSIX message queues by name."""

import ctypes
import ctypes.util
import errno
import functools
import os
import platform

from conformance.probes.lib.errors import Skip


# The namespace types: name -> (CLONE_NEW* flag, util-linux option, feature key). The kit keeps its own
# copy of these kernel constants on purpose: an observer shares no code with what it observes
# (tests/unit/test_copies_agree.py checks the copy against the collection's).
NS_TYPES = {
    "mnt": (0x00020000, "--mount", "mnt_ns"),
    "uts": (0x04000000, "--uts", "uts_ns"),
    "ipc": (0x08000000, "--ipc", "ipc_ns"),
    "pid": (0x20000000, "--pid", "pid_ns"),
    "net": (0x40000000, "--net", "net_ns"),
    "user": (0x10000000, "--user", "user_ns"),
    "cgroup": (0x02000000, "--cgroup", "cgroup_ns"),
    "time": (0x00000080, "--time", "time_ns"),
}
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUSER, CLONE_NEWCGROUP, CLONE_NEWTIME = (
    flag for flag, _option, _feature in NS_TYPES.values())

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
SHM_LOCK = 11

PR_SET_DUMPABLE = 4
TFD_TIMER_ABSTIME = 1
TIMER_ABSTIME = 1
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


@functools.lru_cache(maxsize=None)
def libc():
    """The C library, loaded at the first call (importing the kit touches nothing on the host)."""
    return ctypes.CDLL(None, use_errno=True)


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
    _check(libc().unshare(ctypes.c_int(flags)), "unshare")


def setns(fd, nstype=0):
    _check(libc().setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def mount(source, target, fstype, flags=0, data=None):
    _check(libc().mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)), "mount")


def umount2(target, flags=0):
    _check(libc().umount2(_b(target), ctypes.c_int(flags)), "umount2")


def sethostname(name):
    raw = _b(name)
    _check(libc().sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")


def setdomainname(name):
    raw = _b(name)
    _check(libc().setdomainname(raw, ctypes.c_size_t(len(raw))), "setdomainname")


def ns_ioctl(fd, request):
    return _check(libc().ioctl(ctypes.c_int(fd), ctypes.c_ulong(request)), "ioctl")


def ns_owner_uid(fd):
    uid = ctypes.c_uint(0)
    _check(libc().ioctl(ctypes.c_int(fd), ctypes.c_ulong(NS_GET_OWNER_UID), ctypes.byref(uid)), "ioctl")
    return uid.value


def raw_syscall(number, *args):
    return _check(libc().syscall(ctypes.c_long(number), *args), "syscall %d" % number)


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
    _check(libc().prctl(ctypes.c_int(PR_SET_DUMPABLE), ctypes.c_ulong(1), ctypes.c_ulong(0),
                        ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


def drop_to_nobody():
    """Lose every capability by becoming uid/gid 65534 (no-op when not root)."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    set_dumpable()


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _timespec(seconds):
    whole = int(seconds)
    return _Timespec(whole, int(round((seconds - whole) * 1e9)))


def timerfd_absolute(clock, seconds):
    """A timerfd on clock that expires once, at the absolute time `seconds` of that clock."""
    fd = _check(libc().timerfd_create(ctypes.c_int(clock), ctypes.c_int(os.O_CLOEXEC)), "timerfd_create")
    value = _Itimerspec(_Timespec(0, 0), _timespec(seconds))
    _check(libc().timerfd_settime(ctypes.c_int(fd), ctypes.c_int(TFD_TIMER_ABSTIME), ctypes.byref(value), None),
           "timerfd_settime")
    return fd


def clock_nanosleep_until(clock, seconds):
    """clock_nanosleep(TIMER_ABSTIME) until `seconds` of clock; returns its error number (0: woke on time)."""
    return libc().clock_nanosleep(ctypes.c_int(clock), ctypes.c_int(TIMER_ABSTIME), ctypes.byref(_timespec(seconds)),
                                  None)


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

    def create(self, kind, key):
        flags = ctypes.c_int(IPC_CREAT | IPC_EXCL | 0o600)
        if kind == "msg":
            return _check(libc().msgget(ctypes.c_int(key), flags), "msgget")
        if kind == "sem":
            return _check(libc().semget(ctypes.c_int(key), ctypes.c_int(1), flags), "semget")
        return _check(libc().shmget(ctypes.c_int(key), ctypes.c_size_t(4096), flags), "shmget")

    def lookup(self, kind, key):
        if kind == "msg":
            return _check(libc().msgget(ctypes.c_int(key), ctypes.c_int(0)), "msgget")
        if kind == "sem":
            return _check(libc().semget(ctypes.c_int(key), ctypes.c_int(0), ctypes.c_int(0)), "semget")
        return _check(libc().shmget(ctypes.c_int(key), ctypes.c_size_t(0), ctypes.c_int(0)), "shmget")

    def remove(self, kind, key):
        """Remove the object with this key if it exists; True if one was removed."""
        try:
            ident = self.lookup(kind, key)
        except OSError:
            return False
        if kind == "msg":
            _check(libc().msgctl(ctypes.c_int(ident), ctypes.c_int(IPC_RMID), None), "msgctl")
        elif kind == "sem":
            _check(libc().semctl(ctypes.c_int(ident), ctypes.c_int(0), ctypes.c_int(IPC_RMID)), "semctl")
        else:
            _check(libc().shmctl(ctypes.c_int(ident), ctypes.c_int(IPC_RMID), None), "shmctl")
        return True

    def lock_shm(self, key):
        """shmctl(SHM_LOCK): the segment's pages count against the locker's RLIMIT_MEMLOCK until it is destroyed."""
        _check(libc().shmctl(ctypes.c_int(self.lookup("shm", key)), ctypes.c_int(SHM_LOCK), None), "shmctl")

    def send(self, ident, text):
        """msgsnd one message of type 1 (IPC_NOWAIT)."""
        message = MsgBuf(1, text.encode())
        _check(libc().msgsnd(ctypes.c_int(ident), ctypes.byref(message), ctypes.c_size_t(len(text.encode())),
                             ctypes.c_int(IPC_NOWAIT)), "msgsnd")

    def receive(self, ident):
        """msgrcv the next message (IPC_NOWAIT): its text, or raises OSError (ENOMSG when empty)."""
        message = MsgBuf()
        size = _check(libc().msgrcv(ctypes.c_int(ident), ctypes.byref(message), ctypes.c_size_t(MSG_TEXT_MAX),
                                    ctypes.c_long(0), ctypes.c_int(IPC_NOWAIT)), "msgrcv")
        return message.mtext[:size].decode(errors="replace")


MSG_TEXT_MAX = 128


class MsgBuf(ctypes.Structure):
    _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * MSG_TEXT_MAX)]


SYSV = SysvIpc()
SYSV_KINDS = ("msg", "sem", "shm")


class MqAttr(ctypes.Structure):
    _fields_ = [("mq_flags", ctypes.c_long), ("mq_maxmsg", ctypes.c_long),
                ("mq_msgsize", ctypes.c_long), ("mq_curmsgs", ctypes.c_long),
                ("reserved", ctypes.c_long * 4)]


@functools.lru_cache(maxsize=None)
def _mqueue_lib():
    for candidate in (libc(), ctypes.util.find_library("rt")):
        if candidate is None:
            continue
        lib = candidate if candidate is libc() else ctypes.CDLL(candidate, use_errno=True)
        if hasattr(lib, "mq_open"):
            return lib
    return None


class PosixMqueue:
    """POSIX message queues by name in the caller's IPC namespace."""

    @property
    def lib(self):
        return _mqueue_lib()

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
