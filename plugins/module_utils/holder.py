# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The holder of a set with a PID namespace: PID 1 there, member of all the set's namespaces, reaping
orphans until the set is removed (docs/PITFALLS.md, P2: a PID namespace whose init exited is dead).
Stopped by pidfd, so a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
from typing import Callable, Iterator, NoReturn, Optional

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.child import Channel
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.store import process_ns_inode

HOLDER_COMM_PREFIX = "nsh:"
HOLDER_EXIT_TIMEOUT = 10.0
P_PIDFD = getattr(os, "P_PIDFD", 3)  # waitid's idtype for a pidfd (Linux 5.4); os.P_PIDFD from Python 3.9


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


def holder_main(name: str, up: Channel, setup: Callable[[], None]) -> NoReturn:
    """The holder: PID 1 of the new PID namespace. Reports its pid on the host, then the setup. Never returns."""
    try:
        os.setsid()  # no signal sent to Ansible's process group reaches it
        syscalls.set_name(HOLDER_COMM_PREFIX + name)
        # /proc is still the host's procfs here, so /proc/self names our pid on the host.
        if up.report(lambda: int(os.readlink("/proc/self"))) and up.report(setup):
            _detach_stdio()
            _holder_loop()
    finally:
        os._exit(1)


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
