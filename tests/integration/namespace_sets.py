# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the `namespace` module's integration tests.

Observations go through util-linux, iproute2 and /proc, never through the collection's own code, so
a bug there cannot hide itself. A TestStore removes what its tests made, then sweeps by force and
reports what it had to sweep: a leak fails the test that caused it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Set

from helpers import run

MODULE = "linux.namespaces.namespace"
ALL_TYPES = ("mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time")  # the eight types
HOLDER_COMM_PREFIX = "nsh:"  # docs/DESIGN.md: the holder's comm is nsh: + 11 characters of the name
NETNS_DIR = "/run/netns"


def sh(cmd: Sequence[str]) -> str:
    """A tool's output; the test fails with its output when it exits non-zero."""
    return run(list(cmd)).stdout.strip()


def inode(path: str) -> int:
    """The namespace identity behind a file (what `stat -L` shows)."""
    return os.stat(path).st_ino


def nsenter_option(nstype: str) -> str:
    return "--mount" if nstype == "mnt" else "--" + nstype


def nsenter(files: Mapping[str, str], cmd: Sequence[str]) -> str:
    """Run cmd with util-linux nsenter inside the namespaces behind files ({type: path}).

    With a pid file nsenter forks before exec (its default), so cmd runs inside that PID namespace.
    """
    options = ["%s=%s" % (nsenter_option(t), p) for t, p in files.items()]
    return sh(["nsenter"] + options + ["--"] + list(cmd))


def mounts(fstype: Optional[str] = None) -> List[Dict[str, str]]:
    """The host's mount table as findmnt reads it: [{"target", "source", "fstype"}]."""
    cmd = ["findmnt", "-J", "-l", "-o", "TARGET,SOURCE,FSTYPE"] + (["-t", fstype] if fstype else [])
    out = run(cmd, check=False).stdout  # findmnt exits 1 when nothing matches
    return json.loads(out)["filesystems"] if out.strip() else []


def nsfs_inode(source: str) -> Optional[int]:
    """The inode in findmnt's nsfs source, e.g. nsfs[net:[4026532181]] -> 4026532181."""
    if "[" not in source:
        return None
    return int(source.rstrip("]").rsplit("[", 1)[1])


def mounts_under(path: str) -> List[Dict[str, str]]:
    root = os.path.realpath(path)  # findmnt names mount points with symlinks resolved
    return [m for m in mounts() if m["target"] == root or m["target"].startswith(root + "/")]


def nsfs_mounts_of(inodes: Set[int], marker: str) -> List[Dict[str, str]]:
    """nsfs mounts of these namespaces at paths holding marker (the run's prefix).

    Namespace inode numbers are reused once a namespace is freed, so mounts others make later
    could carry the same number: only paths with our prefix are ours.
    """
    return [m for m in mounts("nsfs") if nsfs_inode(m["source"]) in inodes and marker in m["target"]]


def is_mount_point(path: str) -> bool:
    return any(m["target"] == os.path.realpath(path) for m in mounts())


def process_alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def process_ns_inode(pid: int, nstype: str) -> Optional[int]:
    try:
        return inode("/proc/%d/ns/%s" % (pid, nstype))
    except OSError:
        return None


def comm(pid: int) -> str:
    try:
        with open("/proc/%d/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def holders_named(comm_prefix: str) -> List[int]:
    """Live processes whose comm starts with comm_prefix (holders are named nsh: + the set name)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and comm(int(entry)).startswith(comm_prefix) and process_alive(int(entry)):
            found.append(int(entry))
    return found


def wait_until(condition, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.02)


def children_of(pid: int) -> List[int]:
    with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
        return [int(p) for p in handle.read().split()]


class ModuleResult:
    """One `ansible localhost -m MODULE` run: its task result (tests/conftest.py's full_json callback)."""

    def __init__(self, result: Dict[str, Any]) -> None:
        self.result = result

    @property
    def status(self) -> str:
        if self.result.get("failed"):
            return "failed"
        return "changed" if self.result.get("changed") else "ok"

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def msg(self) -> str:
        return str(self.result.get("msg", ""))

    @property
    def warnings(self) -> List[str]:
        return [str(w) for w in self.result.get("warnings") or ()]


def no_traceback(run: ModuleResult) -> bool:
    """fail_json, not a crash: no module_stderr, no traceback (fail_json's placeholder says 'unavailable')."""
    return "module_stderr" not in run.result and "Traceback" not in json.dumps(run.result)


class ModuleRunner:
    """The namespace module through tests/conftest.py's run_ansible_module and run_ansible_modules."""

    def __init__(self, run_one: Callable[..., Dict[str, Any]], run_many: Callable[..., List[Dict[str, Any]]]) -> None:
        self._run_one = run_one
        self._run_many = run_many

    def run(self, args: Dict[str, Any], **options: Any) -> ModuleResult:
        return ModuleResult(self._run_one(MODULE, args, **options))

    def run_parallel(self, many_args: Sequence[Dict[str, Any]], **options: Any) -> List[ModuleResult]:
        return [ModuleResult(r) for r in self._run_many(MODULE, list(many_args), **options)]


class TestStore:
    """A store under the run's prefix, and the sets tests make in it."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self, runner: ModuleRunner, prefix: str, path: str) -> None:
        self.runner = runner
        self.prefix = prefix
        self.path = path
        self.made: List[str] = []

    def name(self, tag: str) -> str:
        return "%s-%s" % (self.prefix, tag)

    def args(self, name: str, **options: Any) -> Dict[str, Any]:
        if name not in self.made:
            self.made.append(name)
        return dict(options, name=name, store=self.path)

    def run(self, name: str, check: bool = False, diff: bool = False, python: Optional[str] = None,
            **options: Any) -> ModuleResult:
        return self.runner.run(self.args(name, **options), check=check, diff=diff, python=python)

    def present(self, name: str, **options: Any) -> ModuleResult:
        """Create (or converge) a set and insist it worked."""
        run = self.run(name, **options)
        assert run.status in ("ok", "changed"), run.result
        return run

    def absent(self, name: str, **kwargs: Any) -> ModuleResult:
        return self.run(name, state="absent", **kwargs)

    def set_dir(self, name: str) -> str:
        return os.path.join(self.path, name)

    def file(self, name: str, nstype: str) -> str:
        return os.path.join(self.path, name, nstype)

    def state(self, name: str) -> Dict[str, Any]:
        with open(os.path.join(self.set_dir(name), "state.json")) as handle:
            return json.load(handle)

    def mounted(self) -> bool:
        return is_mount_point(self.path)

    def cleanup(self) -> List[str]:
        """state=absent for every set made, then a forced sweep; returns what had to be forced."""
        leaks = []
        existing = self._set_dirs()
        for name in self.made:
            if name not in existing and not os.path.lexists(os.path.join(NETNS_DIR, name)):
                continue  # removed by the test already: another state=absent would only cost time
            run = self.absent(name)
            if run.status not in ("ok", "changed"):
                leaks.append("state=absent of %s failed: %s" % (name, run.msg))
        leaks += self.sweep()
        return leaks

    def sweep(self) -> List[str]:
        leaks = []
        found = self._set_dirs()
        for name in found:
            leaks.append("set directory %s" % self.set_dir(name))
            holder = self._recorded_holder(name)
            if holder is not None:
                leaks.append("holder pid %d of %s" % (holder, name))
                os.kill(holder, signal.SIGKILL)
        for mount in sorted(mounts_under(self.path), key=lambda m: -len(m["target"])):
            if mount["target"] != os.path.realpath(self.path):
                leaks.append("mount %s" % mount["target"])
            subprocess.run(["umount", "-l", mount["target"]], check=False)
        for name in set(self.made) | set(found):
            link = os.path.join(NETNS_DIR, name)
            if os.path.lexists(link):
                leaks.append("netns entry %s" % link)
                subprocess.run(["umount", "-l", link], check=False, stderr=subprocess.DEVNULL)
                os.unlink(link)
        if os.path.isdir(self.path) and not os.path.islink(self.path):
            if os.listdir(self.path):
                leaks.append("files in %s: %s" % (self.path, os.listdir(self.path)))
                subprocess.run(["rm", "-rf", "--one-file-system", self.path], check=False)
            else:
                os.rmdir(self.path)
        return leaks

    def _set_dirs(self) -> List[str]:
        if not self.mounted():
            return []
        return [e for e in os.listdir(self.path) if os.path.isdir(self.set_dir(e))]

    def _recorded_holder(self, name: str) -> Optional[int]:
        """The recorded holder pid, only if that process is still our holder."""
        try:
            state = self.state(name)
        except (OSError, ValueError):
            return None
        pid = state.get("holder_pid")
        recorded = (state.get("inodes") or {}).get("pid")
        if not pid or not process_alive(pid) or not comm(pid).startswith(HOLDER_COMM_PREFIX):
            return None
        return pid if recorded is None or process_ns_inode(pid, "pid") == recorded else None


@contextlib.contextmanager
def store_at(runner: ModuleRunner, prefix: str, tag: str, parent: str = "/run") -> Iterator[TestStore]:
    """A store at PARENT/PREFIX-TAG that is left clean however the test ends; leaks fail the test."""
    store = TestStore(runner, prefix, "%s/%s-%s" % (parent, prefix, tag))
    try:
        yield store
    finally:
        leaks = store.cleanup()
        assert not leaks, "left behind after the test: %s" % "; ".join(leaks)


def kill_started(process: "subprocess.Popen[Any]") -> None:
    """End a process this test started (by its pid), and reap it."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def start_pid_namespace_process() -> "tuple[subprocess.Popen[Any], int]":
    """util-linux `unshare --pid --fork sleep`: returns the unshare process and the sleep, PID 1 of a new ns."""
    process = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", "sleep", "1000"])
    try:
        wait_until(lambda: bool(children_of(process.pid)), what="unshare's child")
        child = children_of(process.pid)[0]
        wait_until(lambda: comm(child) == "sleep", what="the child to exec sleep")
    except BaseException:
        kill_started(process)
        raise
    return process, child


@contextlib.contextmanager
def pinned(paths: Sequence[str]) -> Iterator[None]:
    """Hold the namespaces behind paths open, so their inode numbers cannot be reused meanwhile."""
    fds = [os.open(p, os.O_RDONLY) for p in paths]
    try:
        yield
    finally:
        for fd in fds:
            os.close(fd)


@contextlib.contextmanager
def adopting_orphans() -> Iterator[None]:
    """Make the test process the subreaper of what its children leave behind.

    A holder is orphaned when the module's creator process exits; inside this block it becomes our
    child instead of the host init's, so the test decides when a killed holder is reaped.
    """
    from ansible_collections.linux.namespaces.plugins.module_utils import syscalls

    syscalls.set_child_subreaper(True)
    try:
        yield
    finally:
        syscalls.set_child_subreaper(False)
