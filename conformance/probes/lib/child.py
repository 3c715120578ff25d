"""Forked children that report back: probes do namespace work in a child so the probe itself never
changes namespace (a multithreaded or moved process could not undo it; docs/PITFALLS.md, P4)."""

import json
import os
import select
import signal
import struct
import time
import traceback

from conformance.probes.lib.errors import ProbeError, Skip
from conformance.probes.lib.syscalls import clone_fork


class Channel:
    """Length-prefixed JSON messages over a pipe pair (works across fork)."""

    def __init__(self, read_fd, write_fd):
        self.read_fd = read_fd
        self.write_fd = write_fd

    def send(self, obj):
        data = json.dumps(obj).encode()
        data = struct.pack("!Q", len(data)) + data
        while data:
            data = data[os.write(self.write_fd, data):]

    def _read_exact(self, size, deadline):
        chunks = b""
        while len(chunks) < size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                raise ProbeError("timed out waiting for a probe child")
            chunk = os.read(self.read_fd, size - len(chunks))
            if not chunk:
                raise ProbeError("a probe child exited without reporting")
            chunks += chunk
        return chunks

    def recv(self, timeout=30):
        deadline = time.monotonic() + timeout
        (size,) = struct.unpack("!Q", self._read_exact(8, deadline))
        return json.loads(self._read_exact(size, deadline).decode())


# The children this process forked and has not reaped yet, whichever probe forked them: like the
# kernel's own list of a process's children it belongs to the process, and the sweep kills them.
LIVE_CHILDREN = set()


class Child:
    """fn(channel, *args) in a forked child. Messages go both ways; the return value is the last.

    The child never returns into the caller's code: it reports and _exits. Skip and errors raised in
    the child are raised again in the parent by result().
    """

    def __init__(self, fn, *args, **kwargs):
        up_r, up_w = os.pipe()
        down_r, down_w = os.pipe()
        clone_flags = kwargs.get("clone_flags")
        pid = clone_fork(clone_flags) if clone_flags else os.fork()
        if pid == 0:
            os.close(up_r)
            os.close(down_w)
            _child_main(Channel(down_r, up_w), fn, args)
        os.close(up_w)
        os.close(down_r)
        self.pid = pid
        self.channel = Channel(up_r, down_w)
        self.reaped = False
        LIVE_CHILDREN.add(self)

    def recv(self, timeout=30):
        """The child's next message (a Skip or error it reported is raised here)."""
        return _payload(self.channel.recv(timeout), "msg")

    def send(self, obj):
        self.channel.send({"msg": obj})

    def result(self, timeout=60):
        try:
            message = self.channel.recv(timeout)
        finally:
            self.wait()
        return _payload(message, "done")

    def wait(self, timeout=10):
        """Reap the child; returns its wait status (None if it had to be killed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._done()
                return status
            time.sleep(0.005)
        self.kill()
        return None

    def kill(self):
        if not self.reaped:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self._done()

    def _done(self):
        self.reaped = True
        LIVE_CHILDREN.discard(self)
        for fd in (self.channel.read_fd, self.channel.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def _payload(message, kind):
    """The value of a child's message of this kind ("msg" or "done"); reported Skip/errors raise."""
    if "skip" in message:
        raise Skip(message["skip"], message.get("feature"))
    if "error" in message:
        raise ProbeError(message["error"])
    if kind not in message:
        raise ProbeError("expected a %r message from a probe child, got %r" % (kind, message))
    return message[kind]


class ChildChannel(Channel):
    def send(self, obj):
        Channel.send(self, {"msg": obj})

    def recv(self, timeout=60):
        return Channel.recv(self, timeout)["msg"]


def _child_main(channel, fn, args):
    status = 0
    try:
        try:
            report = {"done": fn(ChildChannel(channel.read_fd, channel.write_fd), *args)}
        except Skip as exc:
            report = {"skip": exc.reason, "feature": exc.feature}
        except BaseException as exc:  # the child must report anything, then _exit
            report = {"error": describe_error(exc)}
        Channel.send(channel, report)
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def describe_error(exc):
    """The error and where in the probe it happened (errors from children keep their own place)."""
    if isinstance(exc, ProbeError):
        return str(exc)
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return "%s: %s (%s line %d, in %s)" % (type(exc).__name__, exc, os.path.basename(frame.filename),
                                           frame.lineno, frame.name)


def in_child(fn, *args, **kwargs):
    """Run fn(*args) in a forked child and return its result."""
    return Child(lambda _channel: fn(*args), **kwargs).result()
