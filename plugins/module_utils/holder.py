# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The holder of a set with a PID namespace (and of a rootless set): PID 1 there, member of all the set's
namespaces, until the set is removed (docs/PITFALLS.md, P2: a PID namespace whose init exited is dead).
Stopped by pidfd, so a recycled pid is never signalled.

The holder is the system's `sleep` with SIGCHLD ignored, the "pause" process pattern: an ignored SIGCHLD,
which survives exec, makes the kernel reap every child of PID 1 (each orphan of the set) as it exits, so no
code of ours runs there. A fork of the module's Python process instead would share a module's worth of
memory with a process that lives on (every page either side then writes costs a copy) and free it at
removal; a Python of its own would spend milliseconds of CPU starting (bench/RESULTS.md). It is executed
through a symbolic link named nsh:NAME (holder_link), as exec names a process after the file it runs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import shutil
import signal
from typing import Iterator, Optional, Sequence

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError, error_from
from ansible_collections.linux.namespaces.plugins.module_utils.store import process_ns_inode

HOLDER_COMM_PREFIX = "nsh:"
HOLDER_EXIT_TIMEOUT = 10.0
P_PIDFD = getattr(os, "P_PIDFD", 3)  # waitid's idtype for a pidfd (Linux 5.4); os.P_PIDFD from Python 3.9
PAUSE_SECONDS = "2147483647"  # about 68 years; `sleep infinity` is GNU's alone


@contextlib.contextmanager
def holder_link(directory: str, name: str) -> Iterator[str]:
    """A symbolic link to `sleep` named nsh:NAME in the set's directory, for the block: what spawn_holder
    executes. Made by the module, which may write there (a creator in a user namespace may not)."""
    program = shutil.which("sleep")
    if program is None:
        raise NamespaceError("cannot start the holder of set %s: no sleep program on PATH (%s)"
                             % (name, os.environ.get("PATH", "")))
    link = os.path.join(directory, HOLDER_COMM_PREFIX + name)
    os.symlink(os.path.realpath(program), link)
    try:
        yield link
    finally:
        os.unlink(link)


def spawn_holder(link: str, types: Sequence[str]) -> int:
    """Start the holder (link: from holder_link) in the namespaces this process's children join, in a session
    of its own, its stdio on /dev/null, in /, holding no other fd of ours; return its pid once it runs."""
    argv = [os.path.basename(link), PAUSE_SECONDS]
    inherited = [fd for fd in map(int, os.listdir("/proc/self/fd")) if fd > 2 and _inheritable(fd)]
    cwd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    ignored = signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the child inherits it through exec
    try:
        os.chdir("/")  # the holder must not keep the module's directory busy
        if "time" in types:
            # The kernel refuses a child that shares memory (vfork) while the time namespace of children
            # differs from the caller's.
            return _fork_exec(link, argv, inherited)
        return os.posix_spawn(link, argv, {}, setsid=True, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDWR, 0), (os.POSIX_SPAWN_DUP2, 0, 1),
            (os.POSIX_SPAWN_DUP2, 0, 2)] + [(os.POSIX_SPAWN_CLOSE, fd) for fd in inherited])
    except OSError as exc:
        raise error_from("execve", exc.errno or errno.EIO, target=link)
    finally:
        signal.signal(signal.SIGCHLD, ignored)
        os.fchdir(cwd)
        os.close(cwd)


def _inheritable(fd: int) -> bool:
    try:
        return os.get_inheritable(fd)
    except OSError:  # the listing's own fd, closed since
        return False


def _fork_exec(path: str, argv: Sequence[str], inherited: Sequence[int]) -> int:
    """fork and exec, returning once the child has exec'd; raises OSError with exec's errno."""
    report_read, report_write = os.pipe()  # close-on-exec: the parent reads its end of file at exec
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            for fd in inherited:
                os.close(fd)
            os.execve(path, list(argv), {})
        except OSError as exc:
            os.write(report_write, str(exc.errno or errno.EIO).encode())
        finally:
            os._exit(127)
    os.close(report_write)
    try:
        failure = os.read(report_read, 16)
    finally:
        os.close(report_read)
    if failure:
        with contextlib.suppress(ChildProcessError):  # reaped already: SIGCHLD is ignored meanwhile
            os.waitpid(pid, 0)
        raise OSError(int(failure), os.strerror(int(failure)))
    return pid


@contextlib.contextmanager
def stopping_holder(pid: Optional[int], inode: Optional[int], nstype: str = "pid") -> Iterator[None]:
    """SIGKILL the holder (which ends every process of its PID namespace) if it is still in the namespace of
    type nstype with this inode, run the body, then wait until the holder has exited: the body (unmounting
    the set's files) overlaps with the kernel's teardown of the holder and its PID namespace
    (bench/bench_lifecycle.py).

    Not until it is reaped: its new parent, the host's init, may take a second to, and a zombie holds
    no namespace (store.holder_alive and the leak checks count it as exited).
    """
    pidfd = None
    if pid:
        try:
            pidfd = syscalls.pidfd_open(pid)
        except NamespaceError as exc:
            if exc.errno != errno.ESRCH:
                raise
    try:
        # The pidfd pins this process: the check below cannot be fooled by pid reuse.
        if pidfd is not None and (inode is None or process_ns_inode(pid, nstype) == inode):
            syscalls.pidfd_send_signal(pidfd, signal.SIGKILL)
        else:
            pidfd = _closed(pidfd)
        yield
        if pidfd is not None:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            if not poller.poll(HOLDER_EXIT_TIMEOUT * 1000):
                raise NamespaceError("holder pid %d did not exit within %.0f s of SIGKILL" % (pid, HOLDER_EXIT_TIMEOUT))
            _reap_if_own_child(pidfd)
    finally:
        _closed(pidfd)


def _reap_if_own_child(pidfd: int) -> None:
    """A holder this process started (spawn_holder, in creating._populate_here) is its child: reap it, so a
    long-lived caller (a test run, a benchmark) does not gather zombies. Anyone else's holder is its reaper's."""
    with contextlib.suppress(ChildProcessError):  # not our child
        os.waitid(P_PIDFD, pidfd, os.WEXITED | os.WNOHANG)


def _closed(fd: Optional[int]) -> None:
    if fd is not None:
        os.close(fd)
