# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named, persistent namespace sets: one nsfs bind mount per type on a private tmpfs, plus a state file.

A set with a PID namespace has a holder: PID 1 of that namespace, member of all the set's namespaces,
reaping orphans until the set is removed (pitfall 2: a PID namespace whose init exited is dead).
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import re
import select
import signal
import time
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.enter import (
    call_inside, decode_outcome, encode_outcome)
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.mountinfo import Mount, mount_points, topmost
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPES_BY_NAME, flags_for

DEFAULT_STORE = "/run/linux-namespaces"
NETNS_DIR = "/run/netns"
STATE_FILE = "state.json"
LOCK_FILE = ".lock"
STORE_FSNAME = "linux-namespaces"
HOLDER_COMM_PREFIX = "nsh:"
NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")  # used with fullmatch: "$" would accept a final newline
MAX_MAP_LINES = 340  # the kernel's limit on uid_map/gid_map lines since 4.15
MAP_FIELD = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() also accepts '²' and '٣'
HOLDER_EXIT_TIMEOUT = 10.0

# Options fixed when a set is made; changing one needs state=absent first.
FIXED_OPTIONS = ("types", "uid_map", "gid_map", "setgroups", "monotonic_offset", "boottime_offset",
                 "mount_proc", "mount_sysfs", "propagation")
# Options a present set converges to in place.
LIVE_OPTIONS = ("hostname", "domainname", "loopback", "netns_link")


class SetOptions(NamedTuple):
    types: Tuple[str, ...]
    hostname: Optional[str] = None
    domainname: Optional[str] = None
    uid_map: Tuple[str, ...] = ()
    gid_map: Tuple[str, ...] = ()
    setgroups: str = "allow"
    monotonic_offset: int = 0
    boottime_offset: int = 0
    mount_proc: bool = False
    mount_sysfs: bool = False
    propagation: str = "private"
    loopback: bool = True
    netns_link: bool = True

    def to_json(self) -> Dict[str, Any]:
        data = self._asdict()
        data["types"] = list(self.types)
        data["uid_map"] = list(self.uid_map)
        data["gid_map"] = list(self.gid_map)
        return data

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "SetOptions":
        known = {k: v for k, v in data.items() if k in cls._fields}
        for key in ("types", "uid_map", "gid_map"):
            known[key] = tuple(known.get(key) or ())
        return cls(**known)


class SetState(NamedTuple):
    name: str
    path: str
    status: str  # "creating" while being made, "ready" once complete
    options: SetOptions
    inodes: Dict[str, int]
    holder_pid: Optional[int]
    created: Optional[str]

    @property
    def types(self) -> Tuple[str, ...]:
        return self.options.types

    @property
    def files(self) -> Dict[str, str]:
        return {t: os.path.join(self.path, t) for t in self.types}


# ---------------------------------------------------------------------------------------------
# Validation: every check a module needs before it touches anything.

def validate_name(name: str) -> None:
    if "\x00" in name:
        raise ValueError("name must not contain a NUL character")
    if name in (".", "..") or not NAME_PATTERN.fullmatch(name):
        raise ValueError("name %r is not valid: use 1 to 64 letters, digits, '.', '_' or '-', "
                         "and not '.' or '..'" % name)


def parse_id_map(lines: Sequence[str], what: str) -> List[Tuple[int, int, int]]:
    """Parse 'INSIDE OUTSIDE COUNT' lines; reject malformed and overlapping ranges."""
    if len(lines) > MAX_MAP_LINES:
        raise ValueError("%s has %d lines; the kernel accepts at most %d" % (what, len(lines), MAX_MAP_LINES))
    ranges = []
    for line in lines:
        fields = str(line).split()
        if len(fields) != 3 or not all(MAP_FIELD.fullmatch(f) for f in fields):
            raise ValueError("%s line %r is not 'INSIDE OUTSIDE COUNT' (three non-negative integers)"
                             % (what, line))
        inside, outside, count = (int(f) for f in fields)
        if count == 0:
            raise ValueError("%s line %r maps no ids (COUNT is 0)" % (what, line))
        if max(inside, outside) + count > 2 ** 32 - 1:
            raise ValueError("%s line %r goes beyond the largest id 4294967294" % (what, line))
        ranges.append((inside, outside, count))
    for column, side in ((0, "inside"), (1, "outside")):
        spans = sorted((r[column], r[column] + r[2]) for r in ranges)
        for previous, following in zip(spans, spans[1:]):
            if following[0] < previous[1]:  # starts before the previous range ends
                raise ValueError("%s has overlapping ranges on the %s side" % (what, side))
    return ranges


def validate_options(options: SetOptions) -> None:
    """Raise ValueError naming the first option that cannot work."""
    unknown = [t for t in options.types if t not in TYPES_BY_NAME]
    if unknown:
        raise ValueError("unknown namespace type(s): %s; known types: %s"
                         % (", ".join(unknown), ", ".join(TYPES_BY_NAME)))
    if not options.types:
        raise ValueError("types must name at least one namespace type")
    types = set(options.types)
    if options.mount_proc and not {"mnt", "pid"} <= types:
        raise ValueError("mount_proc needs both 'mnt' and 'pid' in types")
    if options.mount_sysfs and not {"mnt", "net"} <= types:
        raise ValueError("mount_sysfs needs both 'mnt' and 'net' in types")
    if (options.monotonic_offset or options.boottime_offset) and "time" not in types:
        raise ValueError("monotonic_offset and boottime_offset need 'time' in types")
    if (options.uid_map or options.gid_map) and "user" not in types:
        raise ValueError("uid_map and gid_map need 'user' in types")
    if (options.hostname is not None or options.domainname is not None) and "uts" not in types:
        raise ValueError("hostname and domainname need 'uts' in types")
    for label, value in (("hostname", options.hostname), ("domainname", options.domainname)):
        if value is not None and (not value or len(value.encode()) > 64 or "\x00" in value):
            raise ValueError("%s must be 1 to 64 bytes without NUL" % label)
    parse_id_map(options.uid_map, "uid_map")
    parse_id_map(options.gid_map, "gid_map")
    if options.setgroups not in ("allow", "deny"):
        raise ValueError("setgroups must be 'allow' or 'deny'")
    if options.propagation not in ("private", "slave", "shared", "unchanged"):
        raise ValueError("propagation must be private, slave, shared or unchanged")


def validate_store_path(path: str) -> None:
    if not os.path.isabs(path):
        raise ValueError("store %r must be an absolute path" % path)
    # "link/" and "link/." follow the link in lstat: check the entry the path names.
    entry = os.path.normpath(path)
    if os.path.islink(entry):
        raise ValueError("store %r is a symbolic link; give the real directory" % path)
    if os.path.exists(entry) and not os.path.isdir(entry):
        raise ValueError("store %r exists and is not a directory" % path)


# ---------------------------------------------------------------------------------------------
# Small facts about the running system.

def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _nsfs_dev() -> int:
    return os.stat("/proc/self/ns/uts").st_dev


def _is_nsfs_of(path: str, inode: int) -> bool:
    try:
        info = os.stat(path)
    except OSError:
        return False
    return info.st_dev == _nsfs_dev() and info.st_ino == inode


def _process_ns_inode(pid: int, nstype: str) -> Optional[int]:
    try:
        return os.stat("/proc/%d/ns/%s" % (pid, nstype)).st_ino
    except OSError:
        return None


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _create_empty(path: str) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444))


def _bind(source: str, target: str) -> None:
    _create_empty(target)
    syscalls.mount(source, target, None, syscalls.MS_BIND)


def _unbind(path: str) -> None:
    """Detach a bind mount (if it is one) and remove its mount-point file."""
    try:
        syscalls.umount2(path, syscalls.MNT_DETACH)
    except NamespaceError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOENT):
            raise
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# ---------------------------------------------------------------------------------------------
# The holder and the setup done inside a new set.

def _setup_inside(options: SetOptions) -> None:
    """Make the new namespaces what the options say, from a process inside all of them."""
    types = set(options.types)
    if "mnt" in types and options.propagation != "unchanged":
        syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.PROPAGATION_FLAGS[options.propagation])
    if options.mount_proc:
        # The old /proc is made private first so the new one cannot propagate to the host (pitfall 1).
        syscalls.mount(None, "/proc", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
        syscalls.mount("proc", "/proc", "proc", syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)
    if options.mount_sysfs:
        _mount_sysfs()
    if options.hostname is not None:
        syscalls.sethostname(options.hostname)
    if options.domainname is not None:
        syscalls.setdomainname(options.domainname)
    if "net" in types:
        syscalls.set_link_up("lo", options.loopback)


CGROUP_MOUNT = "/sys/fs/cgroup"


def _copy_of_cgroup_mounts() -> Optional[int]:
    """A detached copy of the cgroup mounts at /sys/fs/cgroup; None when there are none, or on a kernel before
    5.2 (no open_tree), where they end up hidden as with ip netns exec."""
    if topmost(CGROUP_MOUNT) is None:
        return None
    try:
        return syscalls.open_tree_clone(CGROUP_MOUNT, recursive=True)
    except NamespaceError as exc:
        if exc.errno == errno.ENOSYS:
            return None
        raise


def _mount_sysfs() -> None:
    """A /sys showing the set's own network devices: sysfs takes the network namespace of the process that
    mounts it, as `ip netns exec` does for each command. The old /sys is made private first so the new one
    cannot propagate to the host (pitfall 1). The new /sys would hide the cgroup file systems under the
    old one, which ip netns exec loses; a copy of them is taken first and attached again.
    Other file systems under the old /sys (debugfs, bpf...) stay hidden."""
    syscalls.mount(None, "/sys", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
    cgroups = _copy_of_cgroup_mounts()
    try:
        syscalls.mount("sysfs", "/sys", "sysfs", syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)
        if cgroups is not None:
            syscalls.move_mount_to(cgroups, CGROUP_MOUNT)
    finally:
        if cgroups is not None:
            os.close(cgroups)


def _become_root_inside(options: SetOptions) -> None:
    """Inside a new user namespace, take the ids that map to root if the maps have them."""
    if any(line.split()[0] == "0" for line in options.gid_map):
        if options.setgroups == "allow":
            os.setgroups([])
        os.setresgid(0, 0, 0)
    if any(line.split()[0] == "0" for line in options.uid_map):
        os.setresuid(0, 0, 0)


def _holder_loop() -> None:
    """PID 1 of the set: reap every child until SIGKILL from outside ends the namespace."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    while True:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        signal.sigwait({signal.SIGCHLD})


def _detach_stdio() -> None:
    """The holder outlives the module: it must not keep Ansible's pipes or files open."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    syscalls.close_fds_except(())
    os.chdir("/")


class _Channel:
    """One JSON message per line between the module and the children that make a set."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self._buffer = b""

    def report(self, step: Callable[[], Any]) -> bool:
        """Run step and send its outcome; True when it succeeded."""
        message, succeeded = encode_outcome(step)
        os.write(self.write_fd, message + b"\n")
        return succeeded

    def receive(self, what: str) -> Any:
        while b"\n" not in self._buffer:
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                return decode_outcome(self._buffer, what)
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return decode_outcome(line, what)

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _unshare_on(cpu: Optional[int], flags: int) -> None:
    """unshare, on one CPU when cpu is given (see _MountNamespaceIdOrder)."""
    if cpu is None:
        syscalls.unshare(flags)
        return
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:  # offline, or outside our cpuset: an unpinned unshare is the best we can do
        pass
    try:
        syscalls.unshare(flags)
    finally:
        os.sched_setaffinity(0, allowed)


def _creator_child(options: SetOptions, name: str, cpu: Optional[int], up: _Channel, down: _Channel) -> None:
    """Runs in the forked child that unshares; never returns.

    Each step answers on `up`; a failed step ends the child, so the module sees its error.
    """
    os.close(up.read_fd)
    os.close(down.write_fd)
    try:
        os.setsid()  # the holder must not get signals sent to Ansible's process group
        if not up.report(lambda: _unshare_on(cpu, flags_for(options.types))):
            return
        # Before taking other ids: a credential change makes /proc/self/timens_offsets root's.
        if not up.report(lambda: _write_time_offsets(options)):
            return
        if "user" in options.types:
            if os.read(down.read_fd, 1) != b"g":  # the module writes the id maps, then says go
                return
            if not up.report(lambda: _become_root_inside(options)):
                return
        if "pid" not in options.types:
            if up.report(lambda: (_setup_inside(options), os.getpid())[1]):
                os.read(down.read_fd, 1)  # stay alive while the module binds our namespace files
            return
        if os.fork() == 0:
            _holder_main(options, name, up)
    finally:
        os._exit(0)


def _holder_main(options: SetOptions, name: str, up: _Channel) -> None:
    """The holder: PID 1 of the new PID namespace. Never returns."""
    try:
        syscalls.set_name(HOLDER_COMM_PREFIX + name)
        # /proc is still the host's procfs here, so /proc/self names our pid on the host.
        if up.report(lambda: int(os.readlink("/proc/self"))) and up.report(lambda: _setup_inside(options)):
            _detach_stdio()
            _holder_loop()
    finally:
        os._exit(1)


def _write_time_offsets(options: SetOptions) -> None:
    # Offsets can be written only before the first process enters the time namespace (TIME3).
    if options.monotonic_offset or options.boottime_offset:
        with open("/proc/self/timens_offsets", "w") as handle:
            handle.write("monotonic %d 0\nboottime %d 0\n" % (options.monotonic_offset, options.boottime_offset))


def _write_id_maps(pid: int, options: SetOptions) -> None:
    uid_map = options.uid_map or ("0 %d 1" % os.geteuid(),)
    gid_map = options.gid_map or ("0 %d 1" % os.getegid(),)
    try:
        with open("/proc/%d/uid_map" % pid, "w") as handle:
            handle.write("\n".join(uid_map) + "\n")
        with open("/proc/%d/setgroups" % pid, "w") as handle:
            handle.write(options.setgroups + "\n")
        with open("/proc/%d/gid_map" % pid, "w") as handle:
            handle.write("\n".join(gid_map) + "\n")
    except OSError as exc:
        raise NamespaceError("cannot write the id maps of the new user namespace: %s" % exc.strerror,
                             call="write", nstype="user", err=exc.errno)


def effective_options(options: SetOptions) -> SetOptions:
    """The options as a set records them: the default id maps written out."""
    if "user" not in options.types:
        return options
    return options._replace(uid_map=options.uid_map or ("0 %d 1" % os.geteuid(),),
                            gid_map=options.gid_map or ("0 %d 1" % os.getegid(),))


# ---------------------------------------------------------------------------------------------
# Holders: find, check and stop them by pidfd, so a recycled pid is never signalled.

def _has_exited(pid: int) -> bool:
    """Gone, or a zombie: a killed holder stays a zombie until its new parent reaps it, and a zombie's
    /proc/PID/ns/pid still names the PID namespace it has left dead."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def holder_alive(state: SetState) -> bool:
    if not state.holder_pid:
        return False
    expected = state.inodes.get("pid")
    return (expected is not None and _process_ns_inode(state.holder_pid, "pid") == expected
            and not _has_exited(state.holder_pid))


def stop_holder(pid: int, pid_inode: Optional[int]) -> None:
    """SIGKILL the holder (which ends every process of its PID namespace) and wait for it."""
    try:
        pidfd = syscalls.pidfd_open(pid)
    except NamespaceError as exc:
        if exc.errno == errno.ESRCH:
            return
        raise
    try:
        # The pidfd pins this process: the check below cannot be fooled by pid reuse.
        if pid_inode is not None and _process_ns_inode(pid, "pid") != pid_inode:
            return
        syscalls.pidfd_send_signal(pidfd, signal.SIGKILL)
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(HOLDER_EXIT_TIMEOUT * 1000):
            raise NamespaceError("holder pid %d did not exit within %.0f s of SIGKILL" % (pid, HOLDER_EXIT_TIMEOUT))
    finally:
        os.close(pidfd)
    _wait_reaped(pid)


def _wait_reaped(pid: int) -> None:
    """Give the host's init a moment to reap the exited holder, so no zombie of ours is left listed."""
    deadline = time.monotonic() + 2.0
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        time.sleep(0.01)


# ---------------------------------------------------------------------------------------------
# The store.

class _MountNamespaceIdOrder(Exception):
    """The kernel refused to bind a mount namespace whose id is below the binder's (EINVAL).

    It does so to rule out reference loops. Since Linux 6.18 namespace ids come from per-CPU batches, so
    a namespace made later on another CPU can get a lower id than the binder's. The CPU whose batch gave
    the binder's id hands out higher ones afterwards, so unsharing pinned to each CPU in turn succeeds.
    """


class Store:
    def __init__(self, root: str = DEFAULT_STORE, mounts: Optional[Sequence[Mount]] = None) -> None:
        """mounts: a mountinfo snapshot for read-only inspection; without one, every check reads it afresh."""
        root = os.path.normpath(root)
        # mountinfo names mount points with symlinks resolved (/var/run/X is /run/X there), and
        # is_mounted() looks the store up by that name.
        self.root = os.path.join(os.path.realpath(os.path.dirname(root)), os.path.basename(root))
        self._mounts = mounts

    def set_path(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _store_dev(self) -> Optional[int]:
        """The device of our store's tmpfs at root, or None: another tmpfs there (/dev/shm...) is not a store."""
        mount = topmost(self.root, self._mounts)
        if mount is None or (mount.fstype, mount.source) != ("tmpfs", STORE_FSNAME):
            return None
        return mount.dev

    def is_mounted(self) -> bool:
        return self._store_dev() is not None

    def check_usable(self) -> None:
        """Refuse a store path whose mount would hide files that are not ours."""
        if os.path.isdir(self.root) and not self.is_mounted() and os.listdir(self.root):
            raise NamespaceError("store %s is a non-empty directory and not a store mount; refusing to hide "
                                 "its files" % self.root)

    def _mount(self) -> None:
        self.check_usable()
        syscalls.mount(STORE_FSNAME, self.root, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV
                       | syscalls.MS_NOEXEC, "mode=0755,size=4m")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialize every change to the store; the first user mounts it, the last may unmount it.

        Mounting the store and removing its directory are serialized by a lock on the directory under
        the mount point; everything else by the lock file in the store.
        """
        while True:
            self._mount_unless_mounted()
            lock = self._open_lock()
            if lock is None:
                continue  # another run unmounted the store in between
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                # The open lock pins its store, so a store mounted since cannot have its device and inode.
                if _same_file(os.fstat(lock), os.stat(os.path.join(self.root, LOCK_FILE))):
                    break
            except FileNotFoundError:
                pass
            os.close(lock)  # the store was unmounted while we waited: start again
        try:
            # A mount namespace file can be bound only onto a private mount (pitfall 7). Every run does
            # it under the lock: another run can take the lock between the mount and this call of the
            # run that mounted the store (and, finding it empty, even unmount it).
            syscalls.mount(None, self.root, None, syscalls.MS_PRIVATE)
            yield
        finally:
            os.close(lock)

    def _open_directory(self) -> Optional[int]:
        try:
            return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None  # removed by a run that unmounted the empty store

    def _names_now(self, directory: int) -> bool:
        """Whether the store path still names this open directory.

        Only meaningful after is_mounted() said no: an open directory pins its filesystem, so a store
        mounted since cannot share its device and inode, but a lock on the root of a store unmounted
        since excludes nobody.
        """
        try:
            return _same_file(os.fstat(directory), os.stat(self.root))
        except FileNotFoundError:
            return False

    def _mount_unless_mounted(self) -> None:
        os.makedirs(os.path.dirname(self.root), mode=0o755, exist_ok=True)
        while True:
            # Not makedirs(exist_ok=True): it raises when another run removes the directory meanwhile.
            with contextlib.suppress(FileExistsError):
                os.mkdir(self.root, 0o755)
            guard = self._open_directory()
            if guard is None:
                continue
            try:
                fcntl.flock(guard, fcntl.LOCK_EX)
                if self.is_mounted():
                    return
                if self._names_now(guard):
                    self._mount()
                    return
            finally:
                os.close(guard)

    def _open_lock(self) -> Optional[int]:
        """The lock file, opened through a directory proven to be the store's tmpfs; None if it is not mounted.

        Opened by path, it could be created in the directory under the mount point just after another
        run unmounted the store: the lock would then guard nothing, and that stray file would make the
        directory refuse every later mount.
        """
        directory = self._open_directory()
        if directory is None:
            return None
        try:
            if os.fstat(directory).st_dev != self._store_dev():
                return None
            return os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600, dir_fd=directory)
        finally:
            os.close(directory)

    def names(self) -> List[str]:
        if not self.is_mounted():
            return []
        return sorted(e for e in os.listdir(self.root) if e != LOCK_FILE and os.path.isdir(self.set_path(e)))

    def load(self, name: str) -> Optional[SetState]:
        """The recorded set, a 'creating' state for a half-made one, or None."""
        path = self.set_path(name)
        if not self.is_mounted() or not os.path.isdir(path):
            return None
        try:
            with open(os.path.join(path, STATE_FILE)) as handle:
                data = json.load(handle)
            return SetState(name=name, path=path, status=data["status"],
                            options=SetOptions.from_json(data["options"]),
                            inodes={k: int(v) for k, v in data.get("inodes", {}).items()},
                            holder_pid=data.get("holder_pid"), created=data.get("created"))
        except (OSError, ValueError, KeyError, TypeError):
            return SetState(name=name, path=path, status="creating", options=SetOptions(types=()),
                            inodes={}, holder_pid=None, created=None)

    def _save(self, state: SetState) -> None:
        data = {"name": state.name, "status": state.status, "types": list(state.types),
                "inodes": state.inodes, "holder_pid": state.holder_pid, "options": state.options.to_json(),
                "created": state.created}
        temporary = os.path.join(state.path, STATE_FILE + ".new")
        with open(temporary, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.rename(temporary, os.path.join(state.path, STATE_FILE))

    def problems(self, state: SetState) -> List[str]:
        """What is wrong with a recorded set; empty when it is healthy."""
        if state.status != "ready":
            return ["the set is half-made (a run that created it did not finish)"]
        found = []
        if "pid" in state.types and not holder_alive(state):
            found.append("its holder (pid %s) has exited: the PID namespace is dead" % state.holder_pid)
        for nstype, path in state.files.items():
            if not _is_nsfs_of(path, state.inodes.get(nstype, -1)):
                found.append("%s is no longer a bind mount of the recorded %s namespace" % (path, nstype))
        return found

    def create(self, name: str, options: SetOptions) -> SetState:
        """Make a set; on any failure, remove what was made and raise."""
        options = effective_options(options)
        cpus: List[Optional[int]] = [None]
        if "mnt" in options.types:
            cpus += list(range(os.cpu_count() or 1))
        for attempt, cpu in enumerate(cpus, 1):
            state = SetState(name=name, path=self.set_path(name), status="creating", options=options, inodes={},
                             holder_pid=None, created=_now())
            os.mkdir(state.path, 0o755)
            self._save(state)
            try:
                return self._populate(state, cpu)
            except _MountNamespaceIdOrder as exc:
                self.remove(name)
                if attempt == len(cpus):
                    raise NamespaceError("cannot persist the new mount namespace: the kernel refused every "
                                         "attempt to bind it (%s)" % exc, call="mount", nstype="mnt",
                                         err=errno.EINVAL)
            except BaseException:
                self.remove(name)
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _populate(self, state: SetState, cpu: Optional[int]) -> SetState:
        options = state.options
        up, down = _Channel(), _Channel()
        creator = os.fork()
        if creator == 0:
            _creator_child(options, state.name, cpu, up, down)
        os.close(up.write_fd)
        os.close(down.read_fd)
        try:
            up.receive("unshare")
            up.receive("writing the time offsets")
            if "user" in options.types:
                _write_id_maps(creator, options)
                os.write(down.write_fd, b"g")
                up.receive("taking root's ids inside the user namespace")
            if "pid" in options.types:
                member = up.receive("starting the holder")
                # Saved at once, with the holder's PID namespace, so recovery after a crash can stop
                # this holder and no process that reuses its number.
                state = state._replace(holder_pid=member, inodes={"pid": _process_ns_inode(member, "pid")})
                self._save(state)
                up.receive("setup inside the set")
                sources = {t: "/proc/%d/ns/%s" % (member, t) for t in options.types}
            else:
                member = up.receive("setup inside the set")
                sources = {t: "/proc/%d/ns/%s" % (member, TYPES_BY_NAME[t].for_children or t)
                           for t in options.types}
            inodes = {}
            for nstype, source in sources.items():
                target = os.path.join(state.path, nstype)
                try:
                    _bind(source, target)
                except NamespaceError as exc:
                    if nstype == "mnt" and exc.errno == errno.EINVAL:
                        raise _MountNamespaceIdOrder(str(exc))
                    raise
                inodes[nstype] = os.stat(target).st_ino
            state = state._replace(inodes=inodes)
            if "net" in options.types and options.netns_link:
                self._link_netns(state)
            state = state._replace(status="ready")
            self._save(state)
            return state
        finally:
            up.close()
            down.close()
            os.waitpid(creator, 0)

    def _link_netns(self, state: SetState) -> None:
        """Publish the net namespace at /run/netns/NAME, as `ip netns add` would."""
        link = os.path.join(NETNS_DIR, state.name)
        if os.path.lexists(link):
            if _is_nsfs_of(link, state.inodes["net"]):
                return
            raise NamespaceError("%s exists and is not this set's network namespace; remove it or set "
                                 "netns_link: false" % link)
        os.makedirs(NETNS_DIR, mode=0o755, exist_ok=True)
        if NETNS_DIR not in mount_points():
            # iproute2 makes /run/netns a shared mount of its own, so namespaces bound there later
            # appear in mount namespaces made earlier by `ip netns exec`.
            syscalls.mount(NETNS_DIR, NETNS_DIR, None, syscalls.MS_BIND | syscalls.MS_REC)
            syscalls.mount(None, NETNS_DIR, None, syscalls.MS_SHARED | syscalls.MS_REC)
        _bind(os.path.join(state.path, "net"), link)

    def _unlink_netns(self, state: SetState) -> bool:
        link = os.path.join(NETNS_DIR, state.name)
        if "net" in state.inodes and _is_nsfs_of(link, state.inodes["net"]):
            _unbind(link)
            return True
        return False

    def netns_linked(self, state: SetState) -> bool:
        return "net" in state.inodes and _is_nsfs_of(os.path.join(NETNS_DIR, state.name), state.inodes["net"])

    def remove(self, name: str) -> bool:
        """Remove a set and everything it had: holder, processes, mounts, files. False if none."""
        state = self.load(name)
        if state is None:
            return False
        if state.holder_pid:
            stop_holder(state.holder_pid, state.inodes.get("pid"))
        self._unlink_netns(state)
        for entry in os.listdir(state.path):
            if entry != STATE_FILE:
                _unbind(os.path.join(state.path, entry))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(state.path, STATE_FILE))
        os.rmdir(state.path)
        return True

    def unmount_if_empty(self) -> bool:
        """Unmount and remove the store once its last set is gone, so nothing of ours stays behind."""
        if not self.is_mounted() or self.names():
            return False
        syscalls.umount2(self.root, syscalls.MNT_DETACH)
        self._remove_directory()
        return True

    def _remove_directory(self) -> None:
        """Remove the directory under the unmounted store, unless another run has mounted it again."""
        guard = self._open_directory()
        if guard is None:
            return
        try:
            fcntl.flock(guard, fcntl.LOCK_EX)  # the lock a run takes to mount the store here
            if not self.is_mounted() and self._names_now(guard):
                with contextlib.suppress(OSError):  # not empty: the files are not ours, leave them
                    os.rmdir(self.root)
        finally:
            os.close(guard)

    def observe(self, state: SetState) -> Dict[str, Any]:
        """The live values of the options a set converges to."""
        files = {t: p for t, p in state.files.items() if t in ("uts", "net")}

        def read() -> Dict[str, Any]:
            live: Dict[str, Any] = {}
            if "uts" in files:
                live["hostname"] = os.uname().nodename
                with open("/proc/sys/kernel/domainname") as handle:
                    live["domainname"] = handle.read().strip()
            if "net" in files:
                live["loopback"] = syscalls.link_is_up("lo")
            return live

        live = call_inside(files, read, "reading set %s" % state.name) if files else {}
        if "net" in state.types:
            live["netns_link"] = self.netns_linked(state)
        return live

    def converge(self, state: SetState, wanted: Dict[str, Any]) -> SetState:
        """Apply the live options in wanted (already known to differ) and record them."""
        inside = {k: v for k, v in wanted.items() if k in ("hostname", "domainname", "loopback")}
        if inside:
            files = {t: p for t, p in state.files.items() if t in ("uts", "net")}

            def apply() -> bool:
                if "hostname" in inside:
                    syscalls.sethostname(inside["hostname"])
                if "domainname" in inside:
                    syscalls.setdomainname(inside["domainname"])
                if "loopback" in inside:
                    syscalls.set_link_up("lo", inside["loopback"])
                return True

            call_inside(files, apply, "changing set %s" % state.name)
        if "netns_link" in wanted:
            if wanted["netns_link"]:
                self._link_netns(state)
            else:
                self._unlink_netns(state)
        state = state._replace(options=state.options._replace(**wanted))
        self._save(state)
        return state


def describe(state: SetState, live: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The set as modules return it."""
    options = state.options
    live = live or {}
    return {
        "name": state.name,
        "path": state.path,
        "types": list(state.types),
        "namespaces": {t: {"inode": state.inodes.get(t), "path": p} for t, p in state.files.items()},
        "holder_pid": state.holder_pid,
        "hostname": live.get("hostname", options.hostname),
        "domainname": live.get("domainname", options.domainname),
        "loopback": live.get("loopback", options.loopback if "net" in state.types else None),
        "netns_link": os.path.join(NETNS_DIR, state.name) if live.get("netns_link") else None,
        "mount_proc": options.mount_proc,
        "mount_sysfs": options.mount_sysfs,
        "propagation": options.propagation if "mnt" in state.types else None,
        "uid_map": list(options.uid_map),
        "gid_map": list(options.gid_map),
        "created": state.created,
    }
