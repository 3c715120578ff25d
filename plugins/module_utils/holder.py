# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The holder of a set with a PID namespace (and of a rootless set): PID 1 there, member of all the set's
namespaces, reaping orphans until the set is removed (docs/PITFALLS.md, P2: a PID namespace whose init exited
is dead). Stopped by pidfd, so a recycled pid is never signalled.

The holder is a small program of its own, HOLDER_PROGRAM, run by the module's Python with -I -S and started
with vfork and exec: a fork of the module's Python process would share its memory with a process that lives on,
and every page either side then writes costs a copy; its exit at removal would free a module's worth of memory
(bench/RESULTS.md). In a set with a user namespace the program runs in such a fork (spawn_holder says why).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import sys
from typing import Callable, Iterator, Optional, Sequence

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.child import Channel
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError, error_from
from ansible_collections.linux.namespaces.plugins.module_utils.store import process_ns_inode

HOLDER_COMM_PREFIX = "nsh:"
HOLDER_EXIT_TIMEOUT = 10.0
P_PIDFD = getattr(os, "P_PIDFD", 3)  # waitid's idtype for a pidfd (Linux 5.4); os.P_PIDFD from Python 3.9

# argv: comm, the fd to report on, and for mount_proc the mount flags that make the old /proc private and
# those of the new one (both 0 without). It reports one line the parent decodes as child.Channel's: the new
# /proc is the one step that needs a member of the new PID namespace. Without it the parent does not wait
# for the report, and may have closed the pipe.
HOLDER_PROGRAM = r"""
import ctypes, os, signal, sys

PR_SET_NAME = 15

def mount_proc(libc, private_flags, proc_flags):
    for source, fstype, flags in ((None, None, private_flags), (b"proc", b"proc", proc_flags)):
        if libc.mount(source, b"/proc", fstype, ctypes.c_ulong(flags), None) != 0:
            return ctypes.get_errno()
    return 0

def main(comm, report, private_flags, proc_flags):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NAME, comm.encode(), 0, 0, 0)  # not /proc/self/comm: root's once ids have changed
    os.chdir("/")
    err = mount_proc(libc, private_flags, proc_flags) if proc_flags else 0
    try:
        os.write(report, b'{"error": "mount", "call": "mount", "nstype": "pid", "errno": %d}\n' % err if err
                 else b'{"result": null}\n')
    except OSError:
        pass
    if err:
        os._exit(1)
    for fd in os.listdir("/proc/self/fd"):
        if int(fd) > 2:
            try:
                os.close(int(fd))
            except OSError:
                pass
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        signal.sigwait({signal.SIGCHLD})

main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
"""


def spawn_holder(name: str, up: Channel, mount_proc: bool, types: Sequence[str]) -> int:
    """Start the holder in the namespaces this process's children join, in a session of its own, its stdio on
    /dev/null; return its pid. With mount_proc it mounts /proc and reports on `up` (receive_holder_setup).
    It names itself and lets go of the fds it inherited on its own, a few milliseconds later."""
    flags = (syscalls.MS_REC | syscalls.MS_PRIVATE, syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)
    arguments = [HOLDER_COMM_PREFIX + name, str(up.write_fd)] + [str(f) if mount_proc else "0" for f in flags]
    argv = [sys.executable, "-I", "-S", "-c", HOLDER_PROGRAM] + arguments
    os.set_inheritable(up.write_fd, True)
    try:
        if "user" in types or not sys.executable:
            # Ids mapped in a user namespace may not reach this Python's files (a home directory, say):
            # the program runs in a fork of this process instead.
            return _fork_then(lambda: _run_program(arguments))
        if "time" in types:
            # The kernel refuses a child that shares memory (vfork) while the time namespace of children
            # differs from the caller's.
            return _fork_then(lambda: os.execve(argv[0], argv, {}))
        return os.posix_spawn(argv[0], argv, {}, setsid=True, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDWR, 0), (os.POSIX_SPAWN_DUP2, 0, 1),
            (os.POSIX_SPAWN_DUP2, 0, 2)])
    except OSError as exc:
        raise error_from("execve", exc.errno or errno.EIO, target=argv[0])
    finally:
        os.set_inheritable(up.write_fd, False)


def _fork_then(run: Callable[[], object]) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            run()
        finally:
            os._exit(127)
    return pid


def _run_program(arguments: Sequence[str]) -> None:
    sys.argv = ["-c"] + list(arguments)
    exec(compile(HOLDER_PROGRAM, "<holder>", "exec"), {"__name__": "__main__"})  # pylint: disable=exec-used


def receive_holder_setup(up: Channel) -> None:
    """The holder's report: raises what made its set-up fail, or that it died first."""
    try:
        up.receive("setup inside the set")
    except NamespaceError as exc:
        if exc.call == "mount" and exc.errno:
            raise error_from("mount", exc.errno, target="/proc")
        raise


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
    """A holder forked by this process (creating._fork_holder) is its child: reap it, so a long-lived caller
    (a test run, a benchmark) does not gather zombies. Anyone else's holder is its reaper's to reap."""
    with contextlib.suppress(ChildProcessError):  # not our child
        os.waitid(P_PIDFD, pidfd, os.WEXITED | os.WNOHANG)


def _closed(fd: Optional[int]) -> None:
    if fd is not None:
        os.close(fd)
