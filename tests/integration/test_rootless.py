# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rootless sets (issue 14): ordinary users made by the test run the modules through Ansible (localhost, local
connection, no become) and the become plugin; sets of root and of other users are refused to them.

Ansible runs as the user with Debian's /usr/bin/python3 and the test venv's site-packages: the venv's own
interpreter lives under /root, which other users cannot reach (shared field notes).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional, Tuple

import pytest

from tests.integration.helpers import ansible_environment, ansible_program, run, run_module
from tests.integration.namespace_sets import process_alive

DISTRIBUTION_PYTHON = "/usr/bin/python3"
GATE = Path(__file__).with_name("closed_userns_gate.py")
ROOTLESS_TYPES = ["user", "uts", "ipc", "net", "mnt", "pid"]
OTHER_USER = ("to another user", "permission denied")


class OrdinaryUser(NamedTuple):
    name: str
    uid: int
    home: Path
    runtime: Path  # its XDG_RUNTIME_DIR

    @property
    def store(self) -> Path:
        return self.runtime / "linux-namespaces"


def _distribution_python_fits() -> Optional[str]:
    """Why Ansible cannot run as another user here, or None."""
    if not os.access(DISTRIBUTION_PYTHON, os.X_OK):
        return "%s is missing" % DISTRIBUTION_PYTHON
    version = subprocess.run([DISTRIBUTION_PYTHON, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=False).stdout.strip()
    if version != str(tuple(sys.version_info[:2])):
        return "%s is Python %s, the test venv's packages are for %s" % (
            DISTRIBUTION_PYTHON, version, tuple(sys.version_info[:2]))
    return None


def _stop_processes_of(uid: int) -> None:
    """SIGKILL what is left of the test's own user (a holder of a failed test): nothing else runs as it."""
    for line in run(["pgrep", "-u", str(uid)], check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line), signal.SIGKILL)


@pytest.fixture
def make_user(prefix) -> Iterator:
    """Make ordinary users named PREFIX + 'r' + n, with a home and a runtime directory of their own."""
    unfit = _distribution_python_fits()
    if unfit:
        pytest.skip("ansible cannot run as an ordinary user here: " + unfit)
    base = Path(tempfile.mkdtemp(prefix=prefix + "-rootless-"))
    base.chmod(0o755)  # the users reach their own directories through it
    made: List[OrdinaryUser] = []

    def make(number: int) -> OrdinaryUser:
        name = "%sr%d" % (prefix, number)
        home = base / ("home%d" % number)
        run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh", name])
        entry = pwd.getpwnam(name)
        user = OrdinaryUser(name, entry.pw_uid, home, base / ("run%d" % number))
        made.append(user)
        for directory in (user.home, user.runtime):
            directory.mkdir(mode=0o700)
            os.chown(directory, entry.pw_uid, entry.pw_gid)
        return user

    try:
        yield make
    finally:
        for user in made:
            _stop_processes_of(user.uid)
            # --force: userdel refuses a user whose uid another run's set maps (docs: test_isolate's user).
            run(["userdel", "--force", "--remove", user.name], check=False)
            assert run(["getent", "passwd", user.name], check=False).returncode != 0, "user %s left" % user.name
        shutil.rmtree(base)


def _user_environment(user: OrdinaryUser, runtime: bool) -> List[str]:
    environment = {key: value for key, value in ansible_environment().items()
                   if key.startswith("ANSIBLE_") or key == "LNS_TEST_PREFIX"}
    environment.update(HOME=str(user.home), USER=user.name, LOGNAME=user.name, PATH="/usr/sbin:/usr/bin:/sbin:/bin",
                       ANSIBLE_LOCAL_TEMP=str(user.home / ".ansible" / "tmp"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                       ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.tree", ANSIBLE_CALLBACK_TREE_DIR=str(user.home / "tree"),
                       PYTHONPATH=sysconfig.get_paths()["purelib"])
    if runtime:
        environment["XDG_RUNTIME_DIR"] = str(user.runtime)
    return ["%s=%s" % item for item in sorted(environment.items())]


def as_user(user: OrdinaryUser, module: str, args: object, *options: str, runtime: bool = True,
            gate_closed: bool = False) -> Tuple[str, dict]:
    """Run one module ad hoc as user, on localhost with the local connection; (status, result)."""
    argv = ["runuser", "-u", user.name, "--", "env", "-i", *_user_environment(user, runtime),
            DISTRIBUTION_PYTHON, ansible_program("ansible"), "localhost", "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=" + DISTRIBUTION_PYTHON, "-m", module,
            "-a", args if isinstance(args, str) else json.dumps(args), *options]
    if gate_closed:
        argv = [sys.executable, str(GATE), *argv]
    written = user.home / "tree" / "localhost"  # the tree callback's result of the one host
    with contextlib.suppress(FileNotFoundError):
        written.unlink()
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, cwd="/")
    try:
        result = json.loads(written.read_text())
    except (OSError, ValueError):
        raise AssertionError("no result from ansible (rc %d): %s%s"
                             % (completed.returncode, completed.stdout, completed.stderr)) from None
    if completed.returncode != 0:  # the tree callback's record keeps no "failed"
        return "FAILED", result
    return ("CHANGED" if result.get("changed") else "SUCCESS"), result


def namespace(user: OrdinaryUser, args: dict, *options: str, **kwargs) -> Tuple[str, dict]:
    return as_user(user, "linux.namespaces.namespace", args, *options, **kwargs)


def holder_processes(user: OrdinaryUser) -> List[str]:
    """The user's live processes: a removed set's holder may still be a zombie until the host's init reaps it."""
    return [pid for pid in run(["pgrep", "-u", str(user.uid)], check=False).stdout.split()
            if process_alive(int(pid))]


def assert_refused_as_another_users(status: str, result: dict) -> None:
    assert status == "FAILED", result
    assert all(words in result["msg"] for words in OTHER_USER), result
    assert "has exited" not in result["msg"], result


def test_an_ordinary_user_creates_enters_lists_and_removes_a_rootless_set(prefix, make_user):
    user = make_user(1)
    name, hostname = prefix + "-rl", prefix + "-in"
    wanted = {"name": name, "types": ROOTLESS_TYPES, "hostname": hostname, "mount_proc": True}
    try:
        status, result = namespace(user, wanted, "--check")
        assert status == "CHANGED", result
        assert os.listdir(user.runtime) == []  # check mode made no store

        status, result = namespace(user, wanted)
        assert status == "CHANGED", result
        holder = result["set"]["holder_pid"]
        assert os.stat("/proc/%d" % holder).st_uid == user.uid  # held by a process of the user's own
        assert stat.S_IMODE(user.store.stat().st_mode) == 0o700 and user.store.stat().st_uid == user.uid
        state_file = user.store / name / "state.json"
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        assert json.loads(state_file.read_text())["inodes"]["user"] == os.stat("/proc/%d/ns/user" % holder).st_ino
        assert namespace(user, wanted)[0] == "SUCCESS"  # a second run changes nothing
        hostname = prefix + "-in2"
        assert namespace(user, dict(wanted, hostname=hostname))[0] == "CHANGED"  # converged through its user ns

        status, result = as_user(user, "linux.namespaces.nsenter",
                                 {"name": name, "shell": True, "cmd": "id -u; hostname; ps -e -o pid= -o comm="})
        assert status == "CHANGED", result
        uid_inside, hostname_inside, *processes = result["stdout_lines"]
        assert (uid_inside, hostname_inside) == ("0", hostname)
        assert processes[0].split() == ["1", ("nsh:" + name)[:15]]  # its own PID namespace and /proc
        assert socket.gethostname() != hostname

        status, result = as_user(user, "ansible.builtin.command", "id -u", "--become",
                                 "--become-method", "linux.namespaces.nsenter", "-e", "ansible_nsenter_set=" + name)
        assert (status, result.get("stdout")) == ("CHANGED", "0"), result
        status, result = as_user(user, "ansible.builtin.command", "hostname", "--become",
                                 "--become-method", "linux.namespaces.nsenter", "-e", "ansible_nsenter_set=" + name)
        assert (status, result.get("stdout")) == ("CHANGED", hostname), result

        status, result = as_user(user, "linux.namespaces.namespace_info", {"type": ["uts"]})
        assert status == "SUCCESS", result
        assert [(s["name"], s["healthy"], s["holder_pid"]) for s in result["sets"]] == [(name, True, holder)]
        uts = os.stat("/proc/%d/ns/uts" % holder).st_ino
        assert [ns["set"] for ns in result["namespaces"] if ns["inode"] == uts] == [name]
    finally:
        status, result = namespace(user, {"name": name, "state": "absent"})
    assert status == "CHANGED", result
    assert holder_processes(user) == []
    assert os.listdir(user.runtime) == []  # no state file, no store directory left


def test_cross_user_access_is_refused_as_another_users(prefix, make_user):
    first, second = make_user(1), make_user(2)
    root_store, root_set = "/run/%s-rootstore" % prefix, prefix + "-root"
    user_set = prefix + "-u1"
    try:
        made = run_module("namespace", {"name": root_set, "store": root_store, "types": ["uts", "pid", "mnt"]})
        assert made.changed, made.result
        assert stat.S_IMODE(os.stat(root_store).st_mode) == 0o711
        assert stat.S_IMODE(os.stat(os.path.join(root_store, root_set, "state.json")).st_mode) == 0o600
        assert namespace(first, {"name": user_set, "types": ["user", "uts"]})[0] == "CHANGED"

        for user, store, name in ((first, root_store, root_set), (second, str(first.store), user_set)):
            in_set = {"name": name, "store": store}
            assert_refused_as_another_users(*as_user(user, "linux.namespaces.nsenter", dict(in_set, argv=["id"])))
            assert_refused_as_another_users(*as_user(user, "linux.namespaces.namespace_info", in_set))
            assert_refused_as_another_users(*namespace(user, dict(in_set, state="absent")))
            assert_refused_as_another_users(*namespace(user, dict(in_set, types=["user", "uts"])))
            status, result = as_user(user, "ansible.builtin.command", "id", "--become", "--become-method",
                                     "linux.namespaces.nsenter", "-e", "ansible_nsenter_set=" + name,
                                     "-e", "ansible_nsenter_store=" + store)
            assert status == "FAILED" and all(words in result["msg"] for words in OTHER_USER), result

        listed = run_module("namespace_info", {"store": root_store, "name": root_set}).result
        assert [s["healthy"] for s in listed["sets"]] == [True], listed
        status, result = as_user(first, "linux.namespaces.namespace_info", {"name": user_set})
        assert [s["healthy"] for s in result["sets"]] == [True], result
    finally:
        namespace(first, {"name": user_set, "state": "absent"})
        run_module("namespace", {"name": root_set, "store": root_store, "state": "absent"})
    assert not os.path.exists(root_store) and os.listdir(first.runtime) == []


def test_where_the_kernel_refuses_user_namespaces_the_failure_names_the_gate_and_leaves_nothing(prefix, make_user):
    user = make_user(1)
    host_limit = Path("/proc/sys/user/max_user_namespaces").read_text()
    wanted = {"name": prefix + "-closed", "types": ["user", "uts"]}
    checked = namespace(user, wanted, "--check", gate_closed=True)
    created = namespace(user, wanted, gate_closed=True)
    for status, result in (checked, created):
        assert status == "FAILED" and "user.max_user_namespaces is 0" in result["msg"], result
    assert checked[1]["msg"] == created[1]["msg"]  # check mode predicts the refusal the run meets
    assert os.listdir(user.runtime) == [] and holder_processes(user) == []
    assert Path("/proc/sys/user/max_user_namespaces").read_text() == host_limit


def test_without_a_runtime_directory_the_failure_says_where_to_put_the_store(prefix, make_user):
    user = make_user(1)
    assert not os.path.exists("/run/user/%d" % user.uid)
    status, result = namespace(user, {"name": prefix + "-nort", "types": ["user", "uts"]}, runtime=False)
    assert status == "FAILED" and "XDG_RUNTIME_DIR" in result["msg"] and "store" in result["msg"], result
    assert os.listdir(user.runtime) == [] and holder_processes(user) == []


def test_an_ordinary_users_set_needs_a_user_namespace(prefix, make_user):
    user = make_user(1)
    status, result = namespace(user, {"name": prefix + "-nouser", "types": ["uts"]}, "--check")
    assert status == "FAILED" and "needs 'user' in types" in result["msg"], result
    assert os.listdir(user.runtime) == []
