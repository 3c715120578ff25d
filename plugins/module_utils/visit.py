# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Starting a command inside a target from the calling process itself, which visits the target's namespaces.

Forking the module's Python process into a child that enters, forks again for pid/time and reports back
costs more than everything else entering does (bench/RESULTS.md): instead the process joins the target's
namespaces, starts the command with subprocess, and joins its own namespaces again before it does anything
else. pid and time apply to children: the command is in the target's PID and time namespaces. subprocess
starts it with vfork and exec.

The command dies with this process, as it would with a parent-death signal. That signal can only be set
between fork and exec, by Python code (subprocess's preexec_fn), which rules out vfork: forking the module's
whole Python process cost more than the rest of entering (bench/RESULTS.md). A lifeline does it instead (see
_Lifeline).

A user namespace cannot be left, and setns into a mount namespace needs a single-threaded process
(docs/PITFALLS.md, P4): can_visit() says when this way applies; enter.py forks a child otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import subprocess
from typing import Callable, Dict, Iterator, Mapping, Optional, Sequence

from ansible_collections.linux.namespaces.plugins.module_utils import own_namespaces, syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError, error_from
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPE_NAMES, TYPES_BY_NAME, in_enter_order
from ansible_collections.linux.namespaces.plugins.module_utils.targets import EnterTarget


def can_visit(target: EnterTarget) -> bool:
    """Whether this process may join target's namespaces and come back."""
    return own_namespaces.can_leave(target.types)


def _open_checked(target: EnterTarget, nstype: str) -> int:
    """An fd on the target's namespace of that type, proven to be the one resolved (its inode)."""
    try:
        fd = syscalls.open_namespace(target.files[nstype])
    except NamespaceError as exc:
        if exc.errno != errno.ESRCH:
            raise
        # A process target's files are found through its pinned /proc/PID directory, gone with it.
        raise NamespaceError("%s has exited" % target.what, call="setns", nstype=nstype, err=errno.ESRCH)
    if os.fstat(fd).st_ino != target.inodes[nstype]:
        os.close(fd)
        raise NamespaceError("%s: the %s namespace at %s is no longer the one resolved"
                             % (target.what, nstype, target.files[nstype]), call="setns", nstype=nstype,
                             err=errno.ESTALE)
    return fd


@contextlib.contextmanager
def visiting(target: EnterTarget) -> Iterator[Dict[str, int]]:
    """This process in target's namespaces for the block; yields the inode of each namespace its children
    join then, by type. Afterwards it is back in its own, whatever the block raised."""
    opened = []
    try:
        proc_fd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        opened.append(proc_fd)
        files = {}
        for nstype in in_enter_order(target.types):
            files[nstype] = _open_checked(target, nstype)
            opened.append(files[nstype])
        # Not dumpable while inside: processes in the target cannot ptrace this one or open its
        # /proc/PID/fd (runc CVE-2016-9962); the command's exec makes it dumpable again.
        syscalls.set_dumpable(False)
        try:
            with own_namespaces.kept(target.types):
                for nstype, fd in files.items():
                    syscalls.setns(fd, TYPES_BY_NAME[nstype].flag, target=target.files[nstype])
                inodes = {}
                for nstype in TYPE_NAMES:
                    with contextlib.suppress(FileNotFoundError):
                        inodes[nstype] = os.stat(own_namespaces.file_of_own(nstype)[len("/proc/"):],
                                                 dir_fd=proc_fd).st_ino
                yield inodes
        finally:
            syscalls.set_dumpable(True)
    finally:
        for fd in opened:
            os.close(fd)


class _Lifeline:
    """A pipe whose two ends only this process holds, both set (O_ASYNC, F_SETOWN, F_SETSIG) to send SIGKILL to
    the command when the other end's last holder closes it. This process closes neither until the command has
    ended, so only its death closes them, and the kernel closes a dying process's fds in an order that
    differs between kernel versions: with both ends armed, whichever goes first kills the command.
    """

    def __init__(self, pid: int) -> None:
        self._ends = os.pipe()
        try:
            for fd in self._ends:
                fcntl.fcntl(fd, fcntl.F_SETOWN, pid)
                fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGKILL)
                fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
        except OSError as exc:
            self.release()
            raise error_from("fcntl", exc.errno or errno.EIO)

    def release(self) -> None:
        """Disarm, then close: the command has ended."""
        for fd in self._ends:
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_ASYNC)
        for fd in self._ends:
            os.close(fd)


def spawn(argv: Sequence[str], env: Optional[Mapping[str, str]], chdir: Optional[str],
          stdio: Sequence[int]) -> Callable[[], int]:
    """Start argv in the namespaces this process is visiting, with stdio as its fds 0, 1 and 2; return how to
    wait for its status (its exit code, or minus the signal that ended it).

    chdir is applied here, inside the visited mount namespace, so a failure names chdir, not the program.
    """
    if chdir:
        try:
            os.chdir(chdir)
        except OSError as exc:
            raise error_from("chdir", exc.errno or errno.EIO, target=chdir)
    try:
        # close_fds: nothing from outside reaches the command but 0, 1, 2 (runc CVE-2024-21626);
        # restore_signals gives it the SIGPIPE and SIGXFSZ dispositions Python took.
        process = subprocess.Popen(list(argv), stdin=stdio[0], stdout=stdio[1], stderr=stdio[2],
                                   env=None if env is None else dict(env), close_fds=True, restore_signals=True)
    except OSError as exc:
        raise error_from("execve", exc.errno or errno.EIO, target=argv[0])
    try:
        # The command dies with this process rather than run on unattended.
        lifeline = _Lifeline(process.pid)
    except BaseException:
        process.kill()
        process.wait()
        raise

    def wait() -> int:
        try:
            return process.wait()
        finally:
            lifeline.release()

    return wait
