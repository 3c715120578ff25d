# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entering namespaces, always in a forked single-threaded child (docs/PITFALLS.md, P4)."""

from __future__ import annotations

import contextlib
import datetime
import errno
import glob
import grp
import json
import os
import pwd
import selectors
import signal
from typing import Callable, Dict, List, Mapping, NamedTuple, NoReturn, Optional, Sequence, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.child import (
    decode_outcome, encode_outcome, run_in_child, write_all)
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError, error_from
from ansible_collections.linux.namespaces.plugins.module_utils.inside import enter_files
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import (
    CHILDREN_ONLY_TYPES, TYPE_NAMES, flags_for)
from ansible_collections.linux.namespaces.plugins.module_utils.targets import EnterTarget
from ansible_collections.linux.namespaces.plugins.module_utils.visit import can_visit, spawn, visiting


def enter_target(target: EnterTarget) -> None:
    """Join the target's namespaces in the calling process, which must be single-threaded (docs/PITFALLS.md, P4).

    For pid and time the caller's children are the ones inside: fork afterwards.
    """
    if not target.types:
        return
    if target.pidfd is not None:
        try:
            syscalls.setns(target.pidfd, flags_for(target.types), target=target.what)
            return
        except NamespaceError as exc:
            # Before 5.8 setns takes only nsfs files and refuses a pidfd with EINVAL: go type by type.
            if exc.errno != errno.EINVAL or not target.files:
                raise
    enter_files({t: target.files[t] for t in target.types})


def glob_inside(target: EnterTarget, pattern: str, chdir: Optional[str] = None) -> List[str]:
    """The paths matching pattern as a command run inside target would see them (its mount namespace)."""
    def look() -> List[str]:
        enter_target(target)
        if chdir:
            os.chdir(chdir)
        return glob.glob(pattern)

    return run_in_child(look, "looking for %s in %s" % (pattern, target.what))


# ---------------------------------------------------------------------------------------------
# Running a command inside a target.

class Launch(NamedTuple):
    """How to run the command once inside."""
    argv: Sequence[str]
    env: Optional[Mapping[str, str]] = None  # None: the caller's environment
    chdir: Optional[str] = None  # applied after entering, so it names a directory inside
    user: Optional[str] = None  # name or number, looked up inside
    group: Optional[str] = None
    no_new_privs: bool = False


class CommandResult(NamedTuple):
    rc: int  # negative: killed by that signal
    stdout: bytes
    stderr: bytes
    namespaces: Dict[str, int]  # inode of each namespace the command ran in, read by the command's process
    start: datetime.datetime
    end: datetime.datetime


# (uid_t)-1 and (gid_t)-1, 2**32 - 1, tell setresuid/setresgid to leave an id unchanged: never an id to run as.
LARGEST_ID = 2 ** 32 - 2


def _numeric_id(kind: str, text: str) -> Optional[int]:
    """The id text spells in ASCII digits, checked against the range of ids; None when text is a name."""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    if number > LARGEST_ID:
        raise NamespaceError("%s %s is out of range: ids go from 0 to %d (%d is (%s_t)-1, which means no change)"
                             % (kind, text, LARGEST_ID, LARGEST_ID + 1, kind[0]), err=errno.EINVAL)
    return number


def _no_such(kind: str, name: str) -> NamespaceError:
    return NamespaceError("no %s %r inside the mount namespace entered" % (kind, name), err=errno.ENOENT)


def _lookup_user(user: str) -> Tuple[int, Optional[str], Optional[int]]:
    """uid, account name and primary gid of user (a name or a number), from the databases inside.

    A number without an account is run as that uid alone; a name without one is refused.
    """
    uid = _numeric_id("user", user)
    try:
        entry = pwd.getpwuid(uid) if uid is not None else pwd.getpwnam(user)
    except (KeyError, ValueError):  # ValueError: a name with a NUL character, which no account has
        if uid is not None:
            return uid, None, None
        raise _no_such("user", user)
    return entry.pw_uid, entry.pw_name, entry.pw_gid


def _lookup_group(group: str) -> int:
    gid = _numeric_id("group", group)
    if gid is not None:
        return gid
    try:
        return grp.getgrnam(group).gr_gid
    except (KeyError, ValueError):
        raise _no_such("group", group)


def _switch_ids(user: Optional[str], group: Optional[str]) -> None:
    uid, account, gid = _lookup_user(user) if user is not None else (None, None, None)
    if group is not None:
        gid = _lookup_group(group)
    try:
        if gid is not None:
            if account is not None:
                os.initgroups(account, gid)
            else:
                os.setgroups([gid])
            os.setresgid(gid, gid, gid)
        if uid is not None:
            os.setresuid(uid, uid, uid)
    except OSError as exc:
        raise error_from("setresuid", exc.errno or errno.EPERM, target="user %s group %s" % (user, group))


def _namespace_inodes(proc_fd: int) -> Dict[str, int]:
    """The caller's namespace inodes, through a procfs opened before entering (the one inside may not show us)."""
    inodes = {}
    for nstype in TYPE_NAMES:
        with contextlib.suppress(FileNotFoundError):
            inodes[nstype] = os.stat("self/ns/" + nstype, dir_fd=proc_fd).st_ino
    return inodes


def _relay(status: int) -> NoReturn:
    """End the calling process the way the waited-for child ended: same exit code or same signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _enter_and_prepare(target: EnterTarget, launch: Launch, keep_fds: Sequence[int]) -> Dict[str, int]:
    """Enter, fork once more where needed, set the process up for exec; return its namespace inodes.

    Runs in a forked (or fresh) single-threaded process. In a fork for pid/time the parent side never
    returns: it waits for the command and ends the same way.
    """
    # Not dumpable while it holds fds from outside: processes in the target cannot ptrace it or open
    # its /proc/PID/fd (runc CVE-2016-9962). exec makes the command dumpable again.
    syscalls.set_dumpable(False)
    proc_fd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    enter_target(target)
    if any(t in CHILDREN_ONLY_TYPES for t in target.types):
        outside = os.getpid()
        child = os.fork()
        if child:
            _relay(os.waitpid(child, 0)[1])
        syscalls.set_pdeathsig()
        # Our parent outside the PID namespace has no pid here (0); a reparented orphan would see 1.
        if os.getppid() != (0 if "pid" in target.types else outside):
            os._exit(1)
    if launch.chdir:
        try:
            os.chdir(launch.chdir)
        except OSError as exc:
            raise error_from("chdir", exc.errno or errno.EIO, target=launch.chdir)
    if launch.user is not None or launch.group is not None:
        _switch_ids(launch.user, launch.group)
    if launch.no_new_privs:
        syscalls.set_no_new_privs()
    # Python ignores SIGPIPE and SIGXFSZ; ignored signals survive exec, so restore them as subprocess does.
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    # Nothing from outside reaches the command but 0, 1, 2 (runc CVE-2024-21626); the fds kept are CLOEXEC.
    syscalls.close_fds_except(tuple(keep_fds) + (proc_fd,))
    inodes = _namespace_inodes(proc_fd)
    os.close(proc_fd)
    return inodes


def _exec(launch: Launch) -> None:
    try:
        if launch.env is None:
            os.execvp(launch.argv[0], list(launch.argv))
        os.execvpe(launch.argv[0], list(launch.argv), dict(launch.env))
    except OSError as exc:
        raise error_from("execve", exc.errno or errno.EIO, target=launch.argv[0])


def _exec_failure_code(err: Optional[int]) -> int:
    return 127 if err == errno.ENOENT else 126  # the shell's codes for "not found" and "cannot run"


def exec_inside(target: EnterTarget, launch: Launch) -> NoReturn:
    """Replace the calling process by launch.argv inside target; on failure say why on stderr and exit.

    What the become plugin runs on a managed host: the caller must be a fresh single-threaded process.
    """
    message, ok = encode_outcome(lambda: _enter_and_prepare(target, launch, ()))
    if ok:
        message, ok = encode_outcome(lambda: _exec(launch))
    error = json.loads(message.decode())
    os.write(2, ("cannot run %s in %s: %s\n" % (launch.argv[0], target.what, error["error"])).encode())
    os._exit(_exec_failure_code(error.get("errno")))


def _launch_child(target: EnterTarget, launch: Launch, stdio: Sequence[int], report_fd: int) -> NoReturn:
    """The forked child of run_command: report the setup, then exec (or report why exec failed)."""
    try:
        syscalls.set_pdeathsig()  # the command dies with the module rather than run on unattended
        for number, fd in enumerate(stdio):
            os.dup2(fd, number)
        # Drop the module's ends of the pipes at once: a child that waits (pid, time) must not keep the
        # command's stdin open.
        syscalls.close_fds_except((report_fd,) + target.held_fds)
        message, ok = encode_outcome(lambda: _enter_and_prepare(target, launch, (report_fd,)))
        write_all(report_fd, message + b"\n")
        if ok:
            message = encode_outcome(lambda: _exec(launch))[0]
            write_all(report_fd, message + b"\n")
            os._exit(_exec_failure_code(json.loads(message.decode()).get("errno")))
    finally:
        os._exit(127)


def _communicate(stdin_fd: Optional[int], data: bytes, out_fd: int, err_fd: int) -> Tuple[bytes, bytes]:
    """Feed data to the command (closing its stdin after) and collect its output until both outputs close."""
    output: Dict[int, List[bytes]] = {out_fd: [], err_fd: []}
    with selectors.DefaultSelector() as selector:
        selector.register(out_fd, selectors.EVENT_READ)
        selector.register(err_fd, selectors.EVENT_READ)
        if stdin_fd is not None:
            selector.register(stdin_fd, selectors.EVENT_WRITE)
        try:
            while selector.get_map():
                for key, _events in selector.select():
                    if key.fd == stdin_fd:
                        try:
                            data = data[os.write(stdin_fd, data[:65536]):]
                        except BrokenPipeError:
                            data = b""  # the command stopped reading: as with a shell pipe, the rest is dropped
                        if not data:
                            selector.unregister(stdin_fd)
                            os.close(stdin_fd)
                            stdin_fd = None
                        continue
                    chunk = os.read(key.fd, 65536)
                    if chunk:
                        output[key.fd].append(chunk)
                    else:
                        selector.unregister(key.fd)
        finally:
            if stdin_fd is not None:
                os.close(stdin_fd)
    return b"".join(output[out_fd]), b"".join(output[err_fd])


def _fork_launch(target: EnterTarget, launch: Launch, stdio: Sequence[int]) -> Tuple[Callable[[], int], Dict[str, int]]:
    """Start the command from a forked child, which enters, reports its setup, then execs."""
    report_read, report_write = os.pipe()
    child = os.fork()
    if child == 0:
        _launch_child(target, launch, stdio, report_write)
    os.close(report_write)
    reports = os.fdopen(report_read, "rb")

    def wait() -> int:
        """The command's status, once its output is read; raises what made exec fail."""
        try:
            exec_failure = reports.readline()
        finally:
            reports.close()
            status = os.waitpid(child, 0)[1]
        if exec_failure:
            decode_outcome(exec_failure, "running %s" % launch.argv[0])
        return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)

    try:
        # The first report comes before exec, so before any output: reading it first cannot block the command.
        return wait, decode_outcome(reports.readline(), "entering %s" % target.what)
    except BaseException:
        with contextlib.suppress(NamespaceError):
            wait()
        raise


def _launch(target: EnterTarget, launch: Launch, stdio: Sequence[int]) -> Tuple[Callable[[], int], Dict[str, int]]:
    """Start the command inside target; return how to wait for its status, and its namespace inodes.

    From this process itself where it can visit the target (visit.py) and the command needs no other user,
    group or no_new_privs (a child would set those up between fork and exec); else from a forked child.
    """
    if launch.user is None and launch.group is None and not launch.no_new_privs and can_visit(target):
        with visiting(target) as namespaces:
            wait = spawn(launch.argv, launch.env, launch.chdir, stdio)
        return wait, namespaces
    return _fork_launch(target, launch, stdio)


def run_command(target: EnterTarget, launch: Launch, stdin: Optional[bytes] = None) -> CommandResult:
    """Run launch.argv inside target and collect what it did. Without stdin the command reads /dev/null.

    Raises NamespaceError, with nothing run, when entering or preparing fails or the program cannot be
    executed. A command that runs and fails is a result with its rc, not an error.
    """
    start = datetime.datetime.now()
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    if stdin is None:
        stdin_read, stdin_write = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC), None
    else:
        stdin_read, stdin_write = os.pipe()
    try:
        try:
            wait, namespaces = _launch(target, launch, (stdin_read, out_write, err_write))
        finally:
            for fd in (stdin_read, out_write, err_write):
                os.close(fd)
        try:
            stdin_fd, stdin_write = stdin_write, None  # _communicate closes it
            stdout, stderr = _communicate(stdin_fd, stdin or b"", out_read, err_read)
        finally:
            rc = wait()
    finally:
        for fd in (stdin_write, out_read, err_read):
            if fd is not None:
                os.close(fd)
    return CommandResult(rc, stdout, stderr, namespaces, start, datetime.datetime.now())
