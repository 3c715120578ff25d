# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the hardening tests (issue 14) share: running a module the way Ansible runs it on a target,
under a timeout and in its own process group, judging its result, and snapshotting the host.

A module is driven only through its interface (module arguments in, result JSON out): the module's
file is run by this Python with an ANSIBLE_MODULE_ARGS file, as Ansible's local connection runs it.
Observations use util-linux, iproute2 and /proc, never the collection's own code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Tuple

import pytest

from helpers import ansible_environment, interface_names
from namespace_sets import HOLDER_COMM_PREFIX, NETNS_DIR, comm, mounts, process_alive

MODULE_PACKAGE = "ansible_collections.linux.namespaces.plugins.modules."
RUN_TIMEOUT = float(os.environ.get("LNS_HARDEN_TIMEOUT", "10"))  # seconds a module run may take before it is a hang
# Text that only an uncaught exception puts in a result (ansible-core 2.19 wraps one in "Module failed:").
CRASH_MARKERS = ("Traceback (most recent call last)", "Module failed:")


@dataclasses.dataclass
class ModuleOutcome:
    """One module run: its JSON result (None when it printed none), exit code, stderr, and whether it hung."""

    module: str
    args: Dict[str, Any]
    result: Optional[Dict[str, Any]]
    returncode: Optional[int]
    stderr: str
    hung: bool

    @property
    def failed(self) -> bool:
        return self.result is None or bool(self.result.get("failed"))

    @property
    def msg(self) -> str:
        return str((self.result or {}).get("msg", ""))

    def crash(self) -> Optional[str]:
        """Why this run is not a clean result (a hang, a crash, a failure without a message), or None."""
        if self.hung:
            return "hang: no result within %s s" % RUN_TIMEOUT
        if self.result is None:
            return "no JSON result, exit %s: %s" % (self.returncode, last_lines(self.stderr))
        text = json.dumps(self.result) + self.stderr
        for marker in CRASH_MARKERS:
            if marker in text:
                return "crash (%s): %s" % (marker, last_lines(self.result.get("exception") or self.msg or self.stderr))
        if self.returncode not in (0, 1):
            return "exit code %s" % self.returncode
        if self.failed and not self.msg.strip():
            return "failed without a msg: %s" % json.dumps(self.result)[:500]
        return None

    def describe(self) -> str:
        return "%s %s" % (self.module, json.dumps(shortened(self.args), default=repr))


def shortened(value: Any) -> Any:
    """VALUE with every long string cut to its start and length, so a finding stays readable."""
    if isinstance(value, str) and len(value) > 100:
        return "%s...(%d characters)" % (value[:60], len(value))
    if isinstance(value, dict):
        return {key: shortened(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shortened(item) for item in value]
    return value


def last_lines(text: str, count: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


def module_env() -> Dict[str, str]:
    return dict(os.environ, PYTHONPATH=ansible_environment()["ANSIBLE_COLLECTIONS_PATH"].split(":")[0])


def start_module(module: str, args: Dict[str, Any], check: bool = False) -> "tuple[subprocess.Popen[str], str]":
    """Start MODULE with ARGS in a new session (its own process group); returns it and its args file."""
    handle, args_file = tempfile.mkstemp(prefix="lns-harden-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check)}, out)
    process = subprocess.Popen([sys.executable, "-m", MODULE_PACKAGE + module, args_file], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=module_env(),
                               cwd="/", start_new_session=True)
    return process, args_file


def finish_module(module: str, args: Dict[str, Any], process: "subprocess.Popen[str]", args_file: str,
                  timeout: float = RUN_TIMEOUT) -> ModuleOutcome:
    """Wait for a started module; on a timeout its whole process group is killed and the run is a hang."""
    hung = False
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        hung = True
        kill_group(process.pid)
        stdout, stderr = process.communicate()
    finally:
        os.unlink(args_file)
    try:
        result = json.loads(stdout)
    except ValueError:
        result = None
    return ModuleOutcome(module, args, result, process.returncode, stderr, hung)


def run_module(module: str, args: Dict[str, Any], check: bool = False, timeout: float = RUN_TIMEOUT) -> ModuleOutcome:
    process, args_file = start_module(module, args, check)
    return finish_module(module, args, process, args_file, timeout)


def kill_group(pgid: int) -> None:
    """SIGKILL the process group this test started (its leader's pid is the group id)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- what the host holds of a run ----------------------------------------------------------------


def holders(prefix: str) -> FrozenSet[int]:
    """Live holder processes whose set name starts with PREFIX (a comm holds 15 characters: nsh: + 11)."""
    wanted = (HOLDER_COMM_PREFIX + prefix)[:15]
    return frozenset(int(e) for e in os.listdir("/proc")
                     if e.isdigit() and comm(int(e)).startswith(wanted) and process_alive(int(e)))


def ipc_keys() -> FrozenSet[int]:
    found = set()
    for option in ("--queues", "--shmems", "--semaphores"):
        out = subprocess.run(["lsipc", option, "--noheadings", "--output", "KEY"], capture_output=True, text=True,
                             check=False).stdout
        found.update(int(key, 16) for key in out.split())
    return frozenset(found)


def snapshot(prefix: str, keys: range) -> Dict[str, FrozenSet[Any]]:
    """Everything of the run's on the host: mounts, /run and /run/netns entries, interfaces, holders, IPC keys."""
    return {
        "mounts": frozenset("%s (%s)" % (m["target"], m["fstype"]) for m in mounts() if prefix in m["target"]),
        "run entries": frozenset(e for e in os.listdir("/run") if prefix in e),
        "netns entries": frozenset(e for e in _listdir(NETNS_DIR) if prefix in e),
        "interfaces": frozenset(i for i in interface_names() if prefix in i),
        "holders": holders(prefix),
        "ipc keys": frozenset(k for k in ipc_keys() if k in keys),
    }


def changes(before: Dict[str, FrozenSet[Any]], after: Dict[str, FrozenSet[Any]]) -> List[str]:
    """What differs between two snapshots, in words; empty when nothing changed."""
    found = []
    for kind in before:
        gained, lost = after[kind] - before[kind], before[kind] - after[kind]
        if gained:
            found.append("new %s: %s" % (kind, sorted(gained, key=str)))
        if lost:
            found.append("gone %s: %s" % (kind, sorted(lost, key=str)))
    return found


def _listdir(directory: str) -> List[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []


def descendants(pid: int) -> List[int]:
    """PID's live descendants, read from /proc/PID/task/*/children."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        try:
            tasks = os.listdir("/proc/%d/task" % current)
        except OSError:
            continue
        for task in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (current, task)) as handle:
                    children = [int(p) for p in handle.read().split()]
            except OSError:
                continue
            found += children
            queue += children
    return found


def traces(store: str, name: str) -> Dict[str, Any]:
    """What the host holds of one set: its store entry, nsfs mounts, holders, /run/netns entry."""
    set_dir = os.path.join(store, name)
    return {
        "store entry": os.path.lexists(set_dir),
        "mounts": sorted(m["target"] for m in mounts() if m["target"].startswith(set_dir + "/")),
        "holders": sorted(holders(name)),
        "netns entry": os.path.lexists(os.path.join(NETNS_DIR, name)),
    }


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll CONDITION until true or TIMEOUT; returns its last value (no assertion on how long it took)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def record_findings(name: str, findings: List[str]) -> None:
    """Keep a test's findings in tests/output/hardening/NAME.txt for the integrator (and FINDINGS.md)."""
    directory = os.path.join(os.path.dirname(__file__), "..", "output", "hardening")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name + ".txt"), "w") as out:
        out.write("\n\n".join(findings) + ("\n" if findings else ""))


def sweep(tag: str, keys: range) -> List[str]:
    """Remove by force what carries TAG (holders, mounts, /run/netns entries, interfaces, /run and /tmp
    entries) and the IPC keys of KEYS; returns what it found. Only the test's own things carry TAG."""
    found = []
    for pid in holders(tag):
        found.append("holder %d (%s)" % (pid, comm(pid)))
        os.kill(pid, signal.SIGKILL)
    for target in sorted({m["target"] for m in mounts() if tag in m["target"]}, key=len, reverse=True):
        found.append("mount " + target)
        subprocess.run(["umount", "-l", target], check=False, stderr=subprocess.DEVNULL)
    for entry in _listdir(NETNS_DIR):
        if tag in entry:
            found.append("/run/netns entry " + entry)
            os.unlink(os.path.join(NETNS_DIR, entry))
    for interface in interface_names():
        if tag in interface:
            found.append("interface " + interface)
            subprocess.run(["ip", "link", "del", interface], check=False, stderr=subprocess.DEVNULL)
    for key in ipc_keys():
        if key in keys:
            found.append("IPC key %#x" % key)
            subprocess.run(["ipcrm", "-Q", "%#x" % key], check=False, stderr=subprocess.DEVNULL)
    for entry in os.listdir("/run"):
        if tag in entry:
            found.append("/run entry " + entry)
            subprocess.run(["rm", "-rf", "--one-file-system", os.path.join("/run", entry)], check=False)
    return found


@contextlib.contextmanager
def swept_store(tag: str) -> Iterator[str]:
    """The store /run/TAGs for a test module's sets; afterwards nothing carrying TAG may be left."""
    try:
        yield "/run/%ss" % tag
    finally:
        swept = sweep(tag, range(0))  # also after a failure: nothing of the test may stay
    assert not swept, "left behind: %s" % swept


def store_fixtures(letter: str) -> Tuple[Any, Any]:
    """The module-scoped fixtures `tag` (the run's prefix and letter) and `store` (a swept store named with the tag)
    of one hardening test file: `tag, store = store_fixtures("k")`."""
    @pytest.fixture(scope="module")
    def tag(prefix: str) -> str:
        return prefix + letter

    @pytest.fixture(scope="module")
    def store(tag: str) -> Iterator[str]:  # pylint: disable=redefined-outer-name
        with swept_store(tag) as path:
            yield path

    return tag, store
