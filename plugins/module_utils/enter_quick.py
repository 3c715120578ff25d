# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The become plugin's quick way into a healthy set: the standard library's cheapest modules only.

A Python start costs milliseconds; importing typing, json (through re) or signal (through enum) costs as
much again, and the full entering program (enter_main and the module_utils it imports) more. This one
imports os, ctypes and builtin modules, and takes the facts it needs from nstypes, setstate and syscalls
by name: the become plugin writes their values in when it builds the program (entering_program).

It handles a set of a store, healthy (status ready, every file a bind mount of the recorded namespace, the
PID namespace's holder alive), entered by root. Anything else, and any failure before the first setns,
goes to the full program, which gives the reasons and messages a task fails with.
"""

from __future__ import annotations

import _json
import _signal
import ctypes
import errno
import os

from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import CHILDREN_ONLY_TYPES, ENTER_ORDER
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import STATE_FILE, STATE_SCHEMA
from ansible_collections.linux.namespaces.plugins.module_utils.syscalls import PR_SET_DUMPABLE, PR_SET_PDEATHSIG

PROGRAM = "linux.namespaces.nsenter"
SIGKILL = 9  # the same number on every Linux architecture


class _JsonContext:
    """What the C scanner behind json.loads reads from its decoder: strict JSON, plain dicts."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> None:
        raise ValueError("%s is not JSON" % name)


def json_value(text: str) -> object:
    """The value of a JSON document, read by the scanner json.loads uses, without importing json (and re)."""
    start = len(text) - len(text.lstrip())
    value, end = _json.make_scanner(_JsonContext)(text, start)
    if text[end:].strip():
        raise ValueError("extra data after the JSON value")
    return value


def _read(path: str) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks).decode()
            chunks.append(chunk)
    finally:
        os.close(fd)


def _open_recorded(path: str, inode: int, nsfs: int) -> int:
    """An fd on path if it is the namespace recorded (that inode on nsfs); opened O_PATH first, as
    syscalls.open_namespace does, so that no other kind of file is ever opened for reading."""
    located = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        found = os.fstat(located)
        if (found.st_dev, found.st_ino) != (nsfs, inode):
            raise ValueError("%s is not the recorded namespace" % path)
        return os.open("/proc/self/fd/%d" % located, os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(located)


def set_files(target: dict) -> dict:
    """{type: fd} of the set target names (name, store, optionally types), in enter order; raise when the
    quick way does not apply (a reason the full program gives)."""
    if set(target) - {"name", "store", "types"}:
        raise ValueError("not a set")
    name, store, wanted = target["name"], target["store"], target.get("types")
    # The controller validated name and store; here they only must not lead out of the store.
    if "/" in name or name in ("", ".", "..") or "\x00" in name + store or not store.startswith("/"):
        raise ValueError("not a set name")
    if wanted is not None and not wanted:
        raise ValueError("no types")
    directory = os.path.join(store, name)
    state = json_value(_read(os.path.join(directory, STATE_FILE)))
    if state.get("schema", STATE_SCHEMA) != STATE_SCHEMA or state["status"] != "ready":
        raise ValueError("not a set ready to enter")
    available, inodes = state["options"]["types"], state["inodes"]
    if wanted is not None and set(wanted) - set(available):
        raise ValueError("not types of the set")
    types = [t for t in ENTER_ORDER if t in (available if wanted is None else wanted)]
    if "user" in types and inodes["user"] == os.stat("/proc/self/ns/user").st_ino:
        types.remove("user")  # the kernel refuses to join the user namespace the caller is in
    if "pid" in available and os.stat("/proc/%d/ns/pid" % state["holder_pid"]).st_ino != inodes["pid"]:
        raise ValueError("the holder is gone")
    nsfs = os.stat("/proc/self/ns/uts").st_dev
    fds: dict = {}
    try:
        for nstype in types:
            fds[nstype] = _open_recorded(os.path.join(directory, nstype), inodes[nstype], nsfs)
    except BaseException:
        for fd in fds.values():
            os.close(fd)
        raise
    return fds


def _close_inherited_fds() -> None:
    """Nothing from outside reaches the command but 0, 1, 2 (runc CVE-2024-21626)."""
    for entry in os.listdir("/proc/self/fd"):
        if int(entry) > 2:
            try:
                os.close(int(entry))
            except OSError:
                pass  # the fd listdir read the directory with, closed already


def _relay(status: int) -> None:
    """End the calling process the way the waited-for child ended: same exit code or same signal."""
    if os.WIFSIGNALED(status):
        _signal.signal(os.WTERMSIG(status), _signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _fail(marker: str, message: str, code: int) -> int:
    """Say why on stderr and, after the become success marker, as a failed module result (as enter_main's
    program does): Ansible then reports a task that failed for that reason."""
    import json  # pylint: disable=import-outside-toplevel  # only on failure: json costs milliseconds
    result = json.dumps({"failed": True, "rc": code, "msg": "%s: %s" % (PROGRAM, message)})
    os.write(1, ("%s\n%s\n" % (marker, result) if marker else result + "\n").encode())
    os.write(2, ("%s: %s\n" % (PROGRAM, message)).encode())
    return code


def main(argv: list, full_program) -> int:
    """argv: MARKER TARGET COMMAND [ARG...]. Exec the command inside the set (never returns then), or
    return full_program()'s exit code where the quick way does not apply."""
    if len(argv) < 3:
        return full_program()
    marker, command = argv[0], argv[2:]
    _close_inherited_fds()
    try:
        target = json_value(argv[1])
        fds = set_files(target)
    except Exception:  # pylint: disable=broad-exception-caught  # the full program says what is wrong
        return full_program()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    # Not dumpable while it holds fds from outside: processes in the set cannot ptrace it or open its
    # /proc/PID/fd (runc CVE-2016-9962). exec makes the command dumpable again.
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    entered = False
    for nstype, fd in fds.items():
        if libc.setns(fd, 0) != 0:
            if not entered:
                for unused in fds.values():
                    os.close(unused)
                return full_program()
            return _fail(marker, "set %r cannot be entered: setns (%s): %s"
                         % (target["name"], nstype, os.strerror(ctypes.get_errno()).lower()), 126)
        entered = True
        os.close(fd)
    if any(t in CHILDREN_ONLY_TYPES for t in fds):
        outside = os.getpid()
        child = os.fork()
        if child:
            _relay(os.waitpid(child, 0)[1])
        libc.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)  # the command dies with the program waiting for it
        # Our parent outside the PID namespace has no pid here (0); a reparented orphan would see 1.
        if os.getppid() != (0 if "pid" in fds else outside):
            os._exit(1)
    # Python ignores SIGPIPE and SIGXFSZ; ignored signals survive exec, so restore them as subprocess does.
    for name in ("SIGPIPE", "SIGXFSZ"):
        _signal.signal(getattr(_signal, name), _signal.SIG_DFL)
    try:
        os.execvp(command[0], command)
    except OSError as exc:  # execvp returns only by raising
        return _fail(marker, "cannot run %s in set %r: %s" % (command[0], target["name"], exc.strerror.lower()),
                     127 if exc.errno == errno.ENOENT else 126)  # the shell's codes: not found, cannot run
