# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entering namespaces, always in a forked single-threaded child (pitfall 4)."""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Mapping, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPES_BY_NAME, in_enter_order


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def encode_outcome(func: Callable[[], Any]) -> Tuple[bytes, bool]:
    """Run func; encode its result, or the error it raised, as one JSON document; and say if it succeeded."""
    try:
        outcome: Dict[str, Any] = {"result": func()}
    except NamespaceError as exc:
        outcome = {"error": str(exc), "call": exc.call, "nstype": exc.nstype, "errno": exc.errno}
    except Exception as exc:  # the child must always answer; the parent raises it as a NamespaceError
        outcome = {"error": "%s: %s" % (type(exc).__name__, exc)}
    return json.dumps(outcome).encode(), "error" not in outcome


def decode_outcome(raw: bytes, what: str) -> Any:
    """The result encode_outcome sent, or the NamespaceError it carried."""
    if not raw:
        raise NamespaceError("%s: the child process died without an answer" % what)
    outcome = json.loads(raw.decode())
    if "error" in outcome:
        raise NamespaceError(outcome["error"], call=outcome.get("call") or "", nstype=outcome.get("nstype"),
                             err=outcome.get("errno"))
    return outcome["result"]


def run_in_child(func: Callable[[], Any], what: str = "child") -> Any:
    """Run func in a forked child and return its JSON-serialisable result (or raise its error).

    The caller's own namespaces never change: setns and unshare happen in the child only.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            _write_all(write_end, encode_outcome(func)[0])
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        raw = _read_all(read_end)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    return decode_outcome(raw, what)


def enter_files(files: Mapping[str, str]) -> None:
    """Join the namespaces behind files ({type: nsfs path}) in an order that works.

    Every file is opened before the first setns: joining the mount namespace changes what paths mean.
    For pid and time the caller's children are the ones inside: fork afterwards.
    """
    fds = {}
    try:
        for name in in_enter_order(files):
            fds[name] = syscalls.open_namespace(files[name])
        for name, fd in fds.items():
            syscalls.setns(fd, TYPES_BY_NAME[name].flag, target=files[name])
    finally:
        for fd in fds.values():
            os.close(fd)


def call_inside(files: Mapping[str, str], func: Callable[[], Any], what: str = "namespaces") -> Any:
    """Run func inside the namespaces behind files, in a child; return its result."""
    def entered() -> Any:
        enter_files(files)
        return func()

    return run_in_child(entered, what)
