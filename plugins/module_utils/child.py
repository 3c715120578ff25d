# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way a forked child reports to its parent: each step's outcome as one JSON line.

A step's result, or the NamespaceError it raised (with call, nstype and errno), crosses the pipe; the
parent gets the result back or the same error raised again. Entering, probing and making a set all
use it, so the caller's own namespaces and credentials never change (docs/PITFALLS.md, P4).
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any, Callable, Dict, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError


def write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


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


class Channel:
    """A pipe carrying one outcome per line, from a child to its parent (or a go-ahead the other way)."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self._buffer = b""

    def report(self, step: Callable[[], Any]) -> bool:
        """Run step and send its outcome; True when it succeeded."""
        message, succeeded = encode_outcome(step)
        write_all(self.write_fd, message + b"\n")
        return succeeded

    def receive(self, what: str) -> Any:
        """The next outcome: its result, or its error raised; an error too when the writer died first."""
        while b"\n" not in self._buffer:
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                return decode_outcome(self._buffer, what)
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return decode_outcome(line, what)

    def keep_reading(self) -> None:
        """Close the write end, so the reader sees the end of the pipe once the other side closes it."""
        os.close(self.write_fd)
        self.write_fd = -1

    def keep_writing(self) -> None:
        os.close(self.read_fd)
        self.read_fd = -1

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.read_fd = self.write_fd = -1


def run_in_child(func: Callable[[], Any], what: str = "child") -> Any:
    """Run func in a forked child and return its JSON-serialisable result (or raise its error).

    The caller's own namespaces never change: setns and unshare happen in the child only.
    """
    channel = Channel()
    pid = os.fork()
    if pid == 0:
        try:
            channel.keep_writing()
            channel.report(func)
        finally:
            os._exit(0)
    channel.keep_reading()
    try:
        return channel.receive(what)
    finally:
        channel.close()
        os.waitpid(pid, 0)
