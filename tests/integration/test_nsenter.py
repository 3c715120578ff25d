"""linux.namespaces.nsenter, module and become plugin, on the real kernel (root).

Sets are made with module_utils' Store in a store of this run (/run/PREFIX-nsenter) and removed in
teardown. What a command saw inside is checked against the host's view read with util-linux and
/proc, never with the collection's own code.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
COLLECTIONS = REPOSITORY / ".ansible" / "collections"
SET_TYPES = ("mnt", "uts", "ipc", "pid", "net")


def _link_collection() -> None:
    """The development layout the conftest puts on sys.path: .ansible/collections/.../linux/namespaces -> repo."""
    link = COLLECTIONS / "ansible_collections" / "linux" / "namespaces"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPOSITORY)


_link_collection()

from tests.integration.adhoc import CONTROLLER_PYTHON, INTERPRETERS, ansible_adhoc  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.creating import create_set, remove_set  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.enter import Launch, run_command  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import SetOptions  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.targets import EnterTarget, resolve_target  # noqa: E402

pytest_plugins = ("tests.fleet.pytest_plugin",)


# --- IPC keys: a local stand-in until a shared ipc_key fixture is on main ---------------------------------

@pytest.fixture(scope="session")
def ipc_key(prefix: str):
    """ipc_key(n): the run's SysV IPC key number n (0x6C, the prefix's 4 hex digits, n)."""
    return lambda number: (0x6C << 24) | (int(prefix[-4:], 16) << 8) | number


# --- observing the host with util-linux and /proc -----------------------------------------------------

def util_linux_nsenter(state_path: str, types: Tuple[str, ...], *argv: str) -> str:
    """Run argv with util-linux nsenter through the set's namespace files: an observer independent of ours."""
    options = ["--%s=%s/%s" % ({"mnt": "mount"}.get(t, t), state_path, t) for t in types]
    return subprocess.run(["nsenter", *options, "--", *argv], capture_output=True, text=True, check=True).stdout


def proc_stat_fields(stat_text: str) -> Tuple[str, List[str]]:
    """comm and the fields after it, from a /proc/PID/stat line."""
    head, unused, rest = stat_text.rpartition(")")
    return head.split("(", 1)[1], rest.split()


def host_queue_keys() -> List[int]:
    output = subprocess.run(["ipcs", "-q"], capture_output=True, text=True, check=True).stdout
    return [int(line.split()[0], 16) for line in output.splitlines() if line.startswith("0x")]


_libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT, IPC_EXCL, IPC_RMID = 0o1000, 0o2000, 0


@pytest.fixture
def host_queue(ipc_key) -> Iterator[int]:
    """A SysV message queue on the host, by the run's key; removed afterwards."""
    key = ipc_key(1)
    queue = _libc.msgget(ctypes.c_int(key), IPC_CREAT | IPC_EXCL | 0o600)
    assert queue >= 0, os.strerror(ctypes.get_errno())
    try:
        yield key
    finally:
        _libc.msgctl(queue, IPC_RMID, None)


# --- sets -----------------------------------------------------------------------------------------

class Sets:
    """Makes sets in the run's store and removes every one of them (and the store mount) afterwards."""

    def __init__(self, root: str, prefix: str) -> None:
        self.store = Store(root)
        self.prefix = prefix
        self.names: List[str] = []

    def make(self, suffix: str, **options) -> "SetInfo":
        name = "%s-%s" % (self.prefix, suffix)
        options.setdefault("types", SET_TYPES)
        options.setdefault("netns_link", False)
        self.names.append(name)
        with self.store.locked():
            state = create_set(self.store, name, SetOptions(**options))
        return SetInfo(name, state.path, json.loads(Path(state.path, "state.json").read_text()))

    def remove_all(self) -> None:
        with self.store.locked():
            for name in self.names:
                remove_set(self.store, name)
        self.store.unmount_if_empty()


class SetInfo:
    def __init__(self, name: str, path: str, state: dict) -> None:
        self.name, self.path, self.state = name, path, state
        self.types = tuple(state["types"])
        self.holder_pid: int = state["holder_pid"]


@pytest.fixture
def sets(prefix: str) -> Iterator[Sets]:
    made = Sets("/run/%s-nsenter" % prefix, prefix)
    try:
        yield made
    finally:
        made.remove_all()


@pytest.fixture
def web(sets: Sets, prefix: str) -> SetInfo:
    """A set like a small container: its own hostname and a /proc of its own PID namespace."""
    return sets.make("web", hostname=prefix + "-web", mount_proc=True)


@pytest.fixture
def marker(prefix: str) -> Iterator[Path]:
    """A path a command would create if it ran (visible on the host: sets share its file systems)."""
    path = Path("/tmp/%s-ran-%s" % (prefix, secrets.token_hex(3)))
    try:
        yield path
    finally:
        if path.exists():
            path.unlink()


# --- Ansible ---------------------------------------------------------------------------------------

def nsenter_module(args: dict, *options: str, python: str = CONTROLLER_PYTHON) -> Tuple[str, dict]:
    return ansible_adhoc("linux.namespaces.nsenter", args, *options, python=python)["localhost"]


def in_set(info: SetInfo, **args) -> dict:
    return dict(name=info.name, store=str(Path(info.path).parent), **args)


def become_options(info: SetInfo) -> List[str]:
    return ["--become", "--become-method", "linux.namespaces.nsenter", "-e", "ansible_nsenter_set=" + info.name,
            "-e", "ansible_nsenter_store=" + str(Path(info.path).parent)]


# --- the module: what a command inside sees ---------------------------------------------------------

def test_a_command_sees_the_sets_hostname(web: SetInfo, prefix: str):
    status, result = nsenter_module(in_set(web, argv=["hostname"]))
    assert status == "CHANGED", result
    assert result["stdout"] == prefix + "-web"
    assert subprocess.run(["hostname"], capture_output=True, text=True, check=False).stdout.strip() != prefix + "-web"


def test_ipcs_inside_is_empty_while_the_host_has_a_queue(web: SetInfo, host_queue: int):
    assert host_queue in host_queue_keys()
    status, result = nsenter_module(in_set(web, argv=["ipcs", "-q"]))
    assert status == "CHANGED", result
    rows = [line for line in result["stdout_lines"] if line.startswith("0x")]
    assert rows == [], result["stdout"]
    assert "%08x" % host_queue not in result["stdout"]


def test_ps_lists_only_the_sets_processes(web: SetInfo):
    status, result = nsenter_module(in_set(web, argv=["ps", "-eo", "pid=,comm="]))
    assert status == "CHANGED", result
    seen = [line.split(None, 1) for line in result["stdout_lines"]]
    holder_comm = Path("/proc/%d/comm" % web.holder_pid).read_text().strip()
    assert seen[0] == ["1", holder_comm]
    assert [comm for unused, comm in seen[1:]] == ["ps"]
    # The host counts the same members in the set's PID namespace: only the holder is left.
    pid_ns = os.readlink("/proc/%d/ns/pid" % web.holder_pid)
    members = [p for p in os.listdir("/proc") if p.isdigit() and _readlink("/proc/%s/ns/pid" % p) == pid_ns]
    assert members == [str(web.holder_pid)]


def _readlink(path: str) -> Optional[str]:
    try:
        return os.readlink(path)
    except OSError:
        return None


def test_pid_1_inside_is_the_sets_holder(web: SetInfo):
    status, result = nsenter_module(in_set(web, argv=["cat", "/proc/1/stat"]))
    assert status == "CHANGED", result
    comm_inside, fields_inside = proc_stat_fields(result["stdout"])
    comm_host, fields_host = proc_stat_fields(Path("/proc/%d/stat" % web.holder_pid).read_text())
    assert comm_inside == comm_host == "nsh:" + web.name[:11]
    assert fields_inside[19] == fields_host[19]  # start time: the same process, not one with its name
    nspid = re.search(r"^NSpid:\s+(.*)$", Path("/proc/%d/status" % web.holder_pid).read_text(), re.M).group(1).split()
    assert nspid == [str(web.holder_pid), "1"]


def test_it_returns_the_namespaces_the_command_ran_in(web: SetInfo):
    status, result = nsenter_module(in_set(web, argv=["true"]))
    assert status == "CHANGED", result
    assert result["entered"] == list(SET_TYPES)
    for nstype in SET_TYPES:
        assert result["namespaces"][nstype] == os.stat("%s/%s" % (web.path, nstype)).st_ino == result["target"][nstype]
    for nstype in ("user", "cgroup", "time"):
        assert result["namespaces"][nstype] == os.stat("/proc/self/ns/" + nstype).st_ino


def test_types_enters_only_those_namespaces(web: SetInfo, prefix: str):
    status, result = nsenter_module(in_set(web, argv=["hostname"], types=["uts"]))
    assert (status, result["stdout"], result["entered"]) == ("CHANGED", prefix + "-web", ["uts"]), result
    assert result["namespaces"]["uts"] == os.stat(web.path + "/uts").st_ino
    for nstype in ("mnt", "ipc", "pid", "net"):
        assert result["namespaces"][nstype] == os.stat("/proc/self/ns/" + nstype).st_ino


def test_where_setns_takes_no_pidfd_it_joins_type_by_type(web: SetInfo, prefix: str):
    """Kernels before 5.8 answer setns(pidfd) with EINVAL, as they do for any fd that is not nsfs."""
    with resolve_target(name=web.name, store=Store(str(Path(web.path).parent))) as real:
        not_a_pidfd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        with EnterTarget(real.what, real.types, real.inodes, real.files, pidfd=not_a_pidfd) as target:
            ran = run_command(target, Launch(argv=["hostname"]))
    assert ran.stdout.decode().strip() == prefix + "-web"
    assert {t: ran.namespaces[t] for t in SET_TYPES} == real.inodes


def test_a_non_zero_rc_fails_the_task_with_the_output(web: SetInfo):
    status, result = nsenter_module(in_set(web, cmd="echo out; echo err >&2; exit 3", shell=True))
    assert status == "FAILED", result
    assert (result["rc"], result["stdout"], result["stderr"]) == (3, "out", "err")
    assert result["msg"] == "non-zero return code"


@pytest.mark.parametrize("version", ["3.8", "3.13"])
def test_the_module_runs_on_target_python(web: SetInfo, prefix: str, version: str):
    status, result = nsenter_module(in_set(web, argv=["hostname"]), python=INTERPRETERS[version])
    assert status == "CHANGED", result
    assert result["stdout"] == prefix + "-web"


# --- the module: command semantics ------------------------------------------------------------------

def test_the_environment_is_clean_unless_inherited(web: SetInfo):
    status, result = nsenter_module(in_set(web, argv=["env"], env={"GREETING": "hello"}))
    assert status == "CHANGED", result
    assert sorted(line.split("=", 1)[0] for line in result["stdout_lines"]) == ["GREETING", "PATH"]
    status, result = nsenter_module(in_set(web, argv=["env"], inherit_env=True))
    assert status == "CHANGED", result
    assert "HOME" in [line.split("=", 1)[0] for line in result["stdout_lines"]]


def test_chdir_and_creates_are_looked_up_inside(web: SetInfo, prefix: str):
    inside_only = "/tmp/%s-inside" % prefix
    util_linux_nsenter(web.path, ("mnt",), "sh", "-c", "mkdir %s && mount -t tmpfs %s-tmpfs %s && touch %s/made"
                       % (inside_only, prefix, inside_only, inside_only))
    try:
        assert not Path(inside_only, "made").exists()
        status, result = nsenter_module(in_set(web, argv=["pwd"], chdir=inside_only))
        assert (status, result["stdout"]) == ("CHANGED", inside_only), result
        status, result = nsenter_module(in_set(web, argv=["false"], chdir=inside_only, creates="made"))
        assert (status, result["changed"]) == ("SUCCESS", False), result
        assert result["msg"] == "Did not run command since 'made' exists"
        status, result = nsenter_module(in_set(web, argv=["false"], removes=inside_only + "/absent"))
        assert (status, result["changed"]) == ("SUCCESS", False), result
    finally:
        Path(inside_only).rmdir()  # the tmpfs on it lives in the set's mount namespace only


def test_check_mode_runs_nothing(web: SetInfo, marker: Path):
    status, result = nsenter_module(in_set(web, argv=["touch", str(marker)]), "--check")
    assert status == "SKIPPED", result
    status, result = nsenter_module(in_set(web, argv=["touch", str(marker)], removes="/"), "--check")
    assert (status, result["changed"]) == ("CHANGED", True), result
    assert not marker.exists()


def test_stdin_user_and_no_new_privs(web: SetInfo):
    status, result = nsenter_module(in_set(web, cmd="cat; id -u; grep NoNewPrivs /proc/self/status", shell=True,
                                           stdin="hello", user="nobody"))
    assert status == "CHANGED", result
    assert result["stdout_lines"][0] == "hello"
    assert result["stdout_lines"][1] == "65534"
    assert result["stdout_lines"][2].split() == ["NoNewPrivs:", "1"]
    status, result = nsenter_module(in_set(web, argv=["grep", "NoNewPrivs", "/proc/self/status"], no_new_privs=False))
    assert result["stdout"].split() == ["NoNewPrivs:", "0"]


def wait_for_exec(pid: int, comm: str) -> None:
    """Until pid runs comm: a process started by unshare is in its namespaces once it has exec'd."""
    deadline = time.monotonic() + 10
    while (_read("/proc/%d/comm" % pid) or "").strip() != comm:
        assert time.monotonic() < deadline, "pid %d never ran %s" % (pid, comm)
        time.sleep(0.02)


def test_a_pid_target_enters_the_types_it_differs_in(prefix: str):
    name = prefix + "-pid"
    process = subprocess.Popen(["unshare", "--uts", "--ipc", "sh", "-c", "hostname %s && exec sleep 300" % name])
    try:
        wait_for_exec(process.pid, "sleep")
        status, result = nsenter_module({"pid": process.pid, "argv": ["hostname"]})
        assert status == "CHANGED", result
        assert result["stdout"] == name
        assert result["entered"] == ["uts", "ipc"]
        assert result["target"] == {t: os.stat("/proc/%d/ns/%s" % (process.pid, t)).st_ino for t in ("uts", "ipc")}
    finally:
        process.kill()
        process.wait()


def test_paths_target_enters_namespace_files(web: SetInfo):
    status, result = nsenter_module({"paths": {"net": web.path + "/net"}, "argv": ["ip", "-o", "link"]})
    assert status == "CHANGED", result
    assert result["entered"] == ["net"]
    assert [line.split(":")[1].strip() for line in result["stdout_lines"]] == ["lo"]


# --- the module: errors, each with nothing run ----------------------------------------------------

def test_an_unknown_set_is_an_error(sets: Sets, marker: Path, prefix: str):
    status, result = nsenter_module({"name": prefix + "-none", "store": sets.store.root,
                                     "argv": ["touch", str(marker)]})
    assert status == "FAILED"
    assert "no set named '%s-none'" % prefix in result["msg"]
    assert not marker.exists()


def test_a_set_whose_holder_died_is_an_error(sets: Sets, marker: Path):
    dead = sets.make("dead")
    os.kill(dead.holder_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path("/proc/%d" % dead.holder_pid).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    status, result = nsenter_module(in_set(dead, argv=["touch", str(marker)]))
    assert status == "FAILED"
    assert "its holder (pid %d) has exited" % dead.holder_pid in result["msg"]
    assert not marker.exists()


def test_a_pid_that_does_not_exist_is_an_error(marker: Path):
    missing = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    status, result = nsenter_module({"pid": missing, "argv": ["touch", str(marker)]})
    assert status == "FAILED"
    assert result["msg"] == "no process with pid %d" % missing
    assert not marker.exists()


def test_a_pid_that_exits_meanwhile_is_an_error(marker: Path):
    process = subprocess.Popen(["unshare", "--uts", "sleep", "300"])
    wait_for_exec(process.pid, "sleep")
    target = resolve_target(pid=process.pid)
    try:
        process.kill()
        process.wait()
        with pytest.raises(NamespaceError, match="has exited"):
            run_command(target, Launch(argv=["touch", str(marker)]))
    finally:
        target.close()
    assert not marker.exists()


def test_a_type_the_target_lacks_is_an_error(web: SetInfo, marker: Path):
    status, result = nsenter_module(in_set(web, argv=["touch", str(marker)], types=["net", "time"]))
    assert status == "FAILED"
    assert result["msg"] == "set '%s' has no time namespace (it has: mnt, uts, ipc, pid, net)" % web.name
    status, result = nsenter_module({"paths": {"net": web.path + "/uts"}, "argv": ["touch", str(marker)]})
    assert status == "FAILED"
    assert result["msg"] == "%s/uts is a uts namespace file, not net" % web.path
    assert not marker.exists()


def test_a_missing_program_is_an_error(web: SetInfo):
    status, result = nsenter_module(in_set(web, argv=["/nonexistent/program"]))
    assert status == "FAILED"
    assert "program was not found inside" in result["msg"]


# --- hygiene ----------------------------------------------------------------------------------------

def test_no_fd_of_the_caller_reaches_the_command(web: SetInfo, tmp_path: Path):
    secret = tmp_path / "secret"
    secret.write_text("not for the set")
    held = os.open(str(secret), os.O_RDONLY)
    leaked = os.dup2(held, 100)  # inheritable: only closing it before exec keeps it out
    try:
        with resolve_target(name=web.name, store=Store(str(Path(web.path).parent))) as target:
            ran = run_command(target, Launch(argv=["ls", "-l", "/proc/self/fd/"]))
    finally:
        os.close(held)
        os.close(leaked)
    entries = {int(m.group(1)): m.group(2) for m in re.finditer(r" (\d+) -> (.*)$", ran.stdout.decode(), re.M)}
    own = {fd for fd, where in entries.items() if re.fullmatch(r"/proc/\d+/fd", where)}  # ls reading the directory
    assert set(entries) - own == {0, 1, 2}, entries
    assert len(own) == 1
    # The same through the module: Ansible's own fds stay out too.
    status, result = nsenter_module(in_set(web, argv=["ls", "/proc/self/fd/"]))
    assert sorted(int(fd) for fd in result["stdout_lines"]) == [0, 1, 2, 3]


def test_the_caller_keeps_no_fd_of_a_command_that_ended(web: SetInfo):
    """What ties the command to its caller (visit.py) is let go once the command ends: a module that runs many
    commands does not run out of fds, and nothing it holds can kill a later process."""
    before = sorted(os.listdir("/proc/self/fd"))
    with resolve_target(name=web.name, store=Store(str(Path(web.path).parent))) as target:
        for unused in range(3):
            assert run_command(target, Launch(argv=["true"])).rc == 0
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_a_command_outlives_the_output_its_caller_reads(web: SetInfo):
    """The caller reading a full pipe wakes the command's side of it; only the caller's death may kill it."""
    with resolve_target(name=web.name, store=Store(str(Path(web.path).parent))) as target:
        ran = run_command(target, Launch(argv=["sh", "-c", "head -c 1048576 /dev/zero; sleep 0.2; echo done"]),
                          stdin=b"x" * 262144)
    assert ran.rc == 0
    assert len(ran.stdout) == 1048576 + len(b"done\n") and ran.stdout.endswith(b"done\n")


def _members_of(pid_ns: str, comm: str) -> List[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _readlink("/proc/%s/ns/pid" % p) == pid_ns
            and (_read("/proc/%s/comm" % p) or "").strip() == comm]


def _read(path: str) -> Optional[str]:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def test_the_command_dies_with_its_caller(web: SetInfo):
    pid_ns = os.readlink("/proc/%d/ns/pid" % web.holder_pid)
    caller = os.fork()
    if caller == 0:  # stands for the module process: runs a long command inside, then is killed
        try:
            with resolve_target(name=web.name, store=Store(str(Path(web.path).parent))) as target:
                run_command(target, Launch(argv=["sleep", "300"]))
        finally:
            os._exit(0)
    try:
        deadline = time.monotonic() + 10
        while not _members_of(pid_ns, "sleep") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _members_of(pid_ns, "sleep"), "the command never started"
    finally:
        os.kill(caller, signal.SIGKILL)
        os.waitpid(caller, 0)
    deadline = time.monotonic() + 10
    while _members_of(pid_ns, "sleep") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _members_of(pid_ns, "sleep") == []


# --- the become plugin --------------------------------------------------------------------------------

@pytest.mark.parametrize("pipelining", [False, True], ids=["no-pipelining", "pipelining"])
def test_setup_under_become_reports_the_sets_hostname(web: SetInfo, prefix: str, pipelining: bool):
    status, result = ansible_adhoc("setup", "filter=ansible_hostname", *become_options(web), pipelining=pipelining)[
        "localhost"]
    assert status == "SUCCESS", result
    assert result["ansible_facts"]["ansible_hostname"] == prefix + "-web"


def test_setup_under_become_lists_the_sets_interfaces_with_mount_sysfs(sets: Sets):
    # Fact gathering reads interfaces from /sys/class/net: without a /sys of its own, a set lists the host's.
    own_sys = sets.make("sysfs", mount_sysfs=True)
    status, result = ansible_adhoc("setup", "filter=ansible_interfaces", *become_options(own_sys))["localhost"]
    assert status == "SUCCESS", result
    assert result["ansible_facts"]["ansible_interfaces"] == ["lo"]
    status, result = ansible_adhoc("setup", "filter=ansible_interfaces")["localhost"]
    assert status == "SUCCESS", result
    assert set(result["ansible_facts"]["ansible_interfaces"]) > {"lo"}, "the host should have more than lo"


@pytest.mark.parametrize("pipelining", [False, True], ids=["no-pipelining", "pipelining"])
def test_copy_under_become_writes_into_the_sets_mount_namespace(web: SetInfo, prefix: str, pipelining: bool):
    private = "/tmp/%s-private" % prefix
    os.mkdir(private)
    try:
        util_linux_nsenter(web.path, ("mnt",), "mount", "-t", "tmpfs", prefix + "-tmpfs", private)
        dest = private + "/hello.txt"
        status, result = ansible_adhoc("copy", {"content": "from ansible\n", "dest": dest}, *become_options(web),
                                       pipelining=pipelining)["localhost"]
        assert status == "CHANGED", result
        assert util_linux_nsenter(web.path, ("mnt",), "cat", dest) == "from ansible\n"
        # With the set's PID namespace too: the set's /proc shows only its own processes.
        assert util_linux_nsenter(web.path, ("pid", "mnt"), "findmnt", "-n", "-o", "FSTYPE", private).strip() == "tmpfs"
        assert not Path(dest).exists()
    finally:
        os.rmdir(private)


def test_become_into_an_unknown_set_fails_before_the_task_runs(sets: Sets, prefix: str, marker: Path):
    options = ["--become", "--become-method", "linux.namespaces.nsenter", "-e", "ansible_nsenter_set=%s-none" % prefix,
               "-e", "ansible_nsenter_store=" + sets.store.root]
    status, result = ansible_adhoc("file", {"path": str(marker), "state": "touch"}, *options)["localhost"]
    assert status == "FAILED"
    assert result["msg"].startswith("linux.namespaces.nsenter: no set named '%s-none' in store %s" % (
        prefix, sets.store.root)), result
    assert not marker.exists()


def test_an_inherited_become_user_root_is_not_a_set_name(web: SetInfo, prefix: str):
    status, result = ansible_adhoc("setup", "filter=ansible_hostname", *become_options(web),
                                   "--become-user", "root")["localhost"]
    assert (status, result["ansible_facts"]["ansible_hostname"]) == ("SUCCESS", prefix + "-web"), result


def test_become_user_still_names_the_set_when_no_set_is_given(web: SetInfo, prefix: str):
    options = ["--become", "--become-method", "linux.namespaces.nsenter", "--become-user", web.name,
               "-e", "ansible_nsenter_store=" + str(Path(web.path).parent)]
    status, result = ansible_adhoc("setup", "filter=ansible_hostname", *options)["localhost"]
    assert (status, result["ansible_facts"]["ansible_hostname"]) == ("SUCCESS", prefix + "-web"), result


# --- the become plugin over SSH, against a fleet host -------------------------------------------------

@pytest.mark.parametrize("pipelining", [False, True], ids=["no-pipelining", "pipelining"])
def test_become_over_ssh_runs_tasks_in_a_set_on_the_remote_host(fleet_factory, prefix: str, pipelining: bool):
    fleet = fleet_factory(1)
    host = fleet.hosts[0]
    inventory = str(fleet.inventory_path)
    name = prefix + "-remote"
    results = ansible_adhoc("linux.namespaces.namespace",
                            {"name": name, "hostname": name, "mount_proc": True}, inventory=inventory)
    assert results[host.name][0] == "CHANGED", json.dumps(results)
    store = "/run/linux-namespaces/" + name
    # /tmp is the fleet host's own tmpfs: the directory goes away with the host.
    fleet.run(host, "mkdir /tmp/%s && nsenter --mount=%s/mnt mount -t tmpfs %s-tmpfs /tmp/%s"
              % (name, store, name, name))
    become = ["--become", "--become-method", "linux.namespaces.nsenter", "-e", "ansible_nsenter_set=" + name]

    status, result = ansible_adhoc("setup", "filter=ansible_hostname", *become, inventory=inventory,
                                   pipelining=pipelining)[host.name]
    assert (status, result["ansible_facts"]["ansible_hostname"]) == ("SUCCESS", name), result
    dest = "/tmp/%s/hello.txt" % name
    status, result = ansible_adhoc("copy", {"content": "over ssh\n", "dest": dest}, *become, inventory=inventory,
                                   pipelining=pipelining)[host.name]
    assert status == "CHANGED", result
    assert fleet.run(host, "nsenter --mount=%s/mnt cat %s" % (store, dest)).stdout == "over ssh\n"
    assert fleet.run(host, "test -e " + dest, check=False).returncode == 1
    assert fleet.run(host, "hostname").stdout.strip() == host.name
    # An unknown set fails the task with the reason (over ssh Ansible shows it as module_stderr).
    unknown = ["--become", "--become-method", "linux.namespaces.nsenter", "-e", "ansible_nsenter_set=%s-none" % name]
    status, result = ansible_adhoc("ping", "", *unknown, inventory=inventory, pipelining=pipelining)[host.name]
    assert status == "FAILED"
    assert result["msg"].startswith("linux.namespaces.nsenter: no set named '%s-none'" % name), result
