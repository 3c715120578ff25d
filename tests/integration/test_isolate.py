"""isolate.yml, the project's main command, on the real kernel.

Each row of the play's table is checked here with independent tools (util-linux nsenter, ipcs, ps,
ip, findmnt and /proc), never by reading what the play printed. Needs root.

Everything carries the run's prefix (LNS_TEST_PREFIX, else "lnst" + 4 hex digits): the set's name,
its store, the veth, the SysV IPC keys. Each fixture removes what it made with the play's absent run
and then, whatever that did, by hand.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fleet import Fleet, next_fleet_prefix, run_prefix

REPO = Path(__file__).resolve().parents[2]
MAIN_PLAYBOOK = REPO / "isolate.yml"
COLLECTIONS_PATH = REPO / ".ansible" / "collections"
HOLDER_COMM_PREFIX = "nsh:"
INSIDE_HOSTNAME = "container"
# SysV IPC keys of a run: 0x6CPPPPNN, PPPP the prefix's hex digits, NN a number per use.
IPC_KEY_TAG = 0x6C << 24
RECAP_LINE = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces, mounts and veths need root")


# --- the run's names ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prefix() -> str:
    """LNS_TEST_PREFIX (set by tests/conftest.py), else one "lnst" + 4 hex digits for this process."""
    return run_prefix()


def ipc_key(prefix: str, number: int) -> int:
    return IPC_KEY_TAG | int(prefix[-4:], 16) << 8 | number


class Subject:
    """One isolated environment the play makes: its names and the extra vars that say them."""

    def __init__(self, prefix: str, suffix: str, queue_number: int, veth: bool = False) -> None:
        self.prefix = prefix
        self.name = f"{prefix}-{suffix}"
        self.store = Path(f"/run/{prefix}-store-{suffix}")
        self.queue_key = ipc_key(prefix, queue_number)
        self.veth = veth
        self.veth_name = f"{prefix}{suffix[0]}v"
        self.host_address, self.peer_address = free_point_to_point(prefix, queue_number)

    @property
    def extra_vars(self) -> dict:
        variables = {
            "isolate_name": self.name,
            "isolate_store": str(self.store),
            "isolate_queue_key": "0x%08x" % self.queue_key,
            "isolate_veth": self.veth,
        }
        if self.veth:
            variables.update(isolate_veth_name=self.veth_name,
                             isolate_veth_address=str(self.host_address),
                             isolate_veth_peer_address=str(self.peer_address))
        return variables

    def file(self, nstype: str) -> str:
        return str(self.store / self.name / nstype)

    def holder_pid(self) -> int:
        """PID 1 of the set as the host sees it, found by its name in ps (not by the store's state)."""
        wanted = (HOLDER_COMM_PREFIX + self.name)[:15]
        pids = [int(pid) for pid, comm in ps_pid_comm() if comm == wanted]
        assert len(pids) == 1, f"expected one holder named {wanted}, ps shows {pids}"
        return pids[0]


def free_point_to_point(prefix: str, number: int) -> tuple:
    """A /30 in 10.254.0.0/16 for this run that no address or route of the machine overlaps."""
    used = []
    for line in run(["ip", "-4", "-o", "address", "show"]).stdout.splitlines():
        used.append(ipaddress.ip_network(line.split()[3], strict=False))
    for line in run(["ip", "-4", "route", "show", "table", "all"]).stdout.splitlines():
        destination = line.split()[0]
        if destination != "default" and re.match(r"^[\d./]+$", destination):
            used.append(ipaddress.ip_network(destination, strict=False))
    base = int(ipaddress.IPv4Address("10.254.0.0"))
    start = int(prefix[-4:], 16) * 16 + number * 4
    for step in range(0, 65536, 4):
        network = ipaddress.ip_network((base + (start + step) % 65536, 30))
        if not any(network.overlaps(other) for other in used):
            hosts = list(network.hosts())
            return ipaddress.ip_interface(f"{hosts[0]}/30"), ipaddress.ip_interface(f"{hosts[1]}/30")
    raise RuntimeError("no free /30 in 10.254.0.0/16")


# --- running things -----------------------------------------------------------------------------

def run(argv, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)
    if check and completed.returncode != 0:
        raise AssertionError(f"{argv} exited {completed.returncode}: {completed.stdout}{completed.stderr}")
    return completed


def ansible_environment() -> dict:
    environment = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="false",
                       ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_RETRY_FILES_ENABLED="false")
    environment.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_PATH))
    return environment


def ansible_playbook(playbook, extra_vars: dict, inventory=None) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ansible-playbook; return the process and the recap per host."""
    program = Path(sys.executable).with_name("ansible-playbook")
    argv = [str(program) if program.exists() else "ansible-playbook", str(playbook), "-e", json.dumps(extra_vars)]
    if inventory is not None:
        argv += ["-i", str(inventory)]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=ansible_environment(),
                               cwd=REPO)
    recap = {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)), "unreachable": int(m.group(4)),
                          "failed": int(m.group(5))}
             for m in RECAP_LINE.finditer(completed.stdout.rpartition("PLAY RECAP")[2])}
    return completed, recap


def play_on_localhost(subject: Subject, state: str = "present") -> tuple[subprocess.CompletedProcess, dict]:
    # The venv's Python runs the modules, as `make isolate` does: it has pyroute2.
    extra_vars = dict(subject.extra_vars, isolate_state=state, ansible_python_interpreter=sys.executable)
    completed, recap = ansible_playbook(MAIN_PLAYBOOK, extra_vars)
    assert completed.returncode == 0, f"isolate.yml ({state}) failed:\n{completed.stdout}\n{completed.stderr}"
    assert recap.get("localhost", {}).get("failed") == 0, completed.stdout
    return completed, recap


def ps_pid_comm() -> list:
    return [tuple(line.split(None, 1)) for line in run(["ps", "-e", "-o", "pid=,comm="]).stdout.splitlines()]


def queue_keys(argv_prefix=()) -> set:
    """Keys of the SysV message queues `ipcs -q` lists (run inside namespaces with an nsenter prefix)."""
    output = run([*argv_prefix, "ipcs", "-q"]).stdout
    return {int(line.split()[0], 16) for line in output.splitlines() if line.startswith("0x")}


def interface_names(argv_prefix=()) -> set:
    output = run([*argv_prefix, "ip", "-o", "link", "show"]).stdout
    return {line.split(":", 2)[1].strip().split("@", 1)[0] for line in output.splitlines()}


_libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000


def make_queue(key: int) -> None:
    """A message queue with that key in the caller's IPC namespace (ipcmk cannot choose the key)."""
    if _libc.msgget(ctypes.c_int32(key).value, IPC_CREAT | 0o600) == -1:
        raise OSError(ctypes.get_errno(), "msgget 0x%08x" % key)


def remove_queue(key: int) -> None:
    run(["ipcrm", "-Q", "0x%08x" % key], check=False)


# --- cleanup that trusts nothing the play did ---------------------------------------------------

def remove_leftovers(subject: Subject) -> None:
    """Remove by hand whatever of the subject is still on the machine."""
    for pid, comm in ps_pid_comm():
        if comm == (HOLDER_COMM_PREFIX + subject.name)[:15]:
            os.kill(int(pid), signal.SIGKILL)
    targets = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for target in reversed(targets):
        if target == str(subject.store) or target.startswith(f"{subject.store}/") \
                or target == f"/run/netns/{subject.name}":
            run(["umount", "-l", target], check=False)
    netns_entry = Path("/run/netns", subject.name)
    if netns_entry.exists():
        netns_entry.unlink()
    if subject.veth_name in interface_names():
        run(["ip", "link", "delete", subject.veth_name], check=False)
    remove_queue(subject.queue_key)
    if subject.store.is_dir():
        shutil.rmtree(subject.store)


def leftovers(subject: Subject) -> list:
    """What of the subject the machine still shows."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        target = line.split()[4]
        if target.startswith(str(subject.store)) or target == f"/run/netns/{subject.name}":
            found.append(f"mount {target}")
    found += [f"holder {pid}" for pid, comm in ps_pid_comm() if comm == (HOLDER_COMM_PREFIX + subject.name)[:15]]
    if Path("/run/netns", subject.name).exists():
        found.append(f"/run/netns/{subject.name}")
    found += [f"interface {name}" for name in interface_names() if name == subject.veth_name]
    if subject.queue_key in queue_keys():
        found.append("queue 0x%08x" % subject.queue_key)
    return found


@contextlib.contextmanager
def made_by_the_play(subject: Subject):
    """The subject made by isolate.yml; removed by its absent run, then by hand, whatever happened."""
    try:
        yield play_on_localhost(subject)
    finally:
        try:
            play_on_localhost(subject, "absent")
        finally:
            remove_leftovers(subject)


@pytest.fixture(scope="module")
def plain(prefix):
    subject = Subject(prefix, "plain", 1)
    with made_by_the_play(subject) as first_run:
        yield subject, first_run


@pytest.fixture(scope="module")
def linked(prefix):
    subject = Subject(prefix, "linked", 2, veth=True)
    with made_by_the_play(subject) as first_run:
        yield subject, first_run


# --- the rows of the table ----------------------------------------------------------------------

def test_first_run_makes_the_set_and_shows_the_table(plain):
    subject, (completed, recap) = plain
    assert recap["localhost"]["changed"] > 0
    assert "every row shows isolation" in completed.stdout


def test_hostname_inside_differs_from_the_hosts(plain):
    subject, _ = plain
    inside = run(["nsenter", f"--uts={subject.file('uts')}", "hostname"]).stdout.strip()
    assert inside == INSIDE_HOSTNAME
    assert socket.gethostname() != INSIDE_HOSTNAME
    assert run(["hostname"]).stdout.strip() == socket.gethostname()


def test_queue_made_on_the_host_is_absent_inside(plain, prefix):
    subject, _ = plain
    key = ipc_key(prefix, 10)
    make_queue(key)
    try:
        assert key in queue_keys()
        assert key not in queue_keys(["nsenter", f"--ipc={subject.file('ipc')}"])
    finally:
        remove_queue(key)
    # The play's own queue lived only while the play observed.
    assert subject.queue_key not in queue_keys()


def test_first_process_inside_is_pid_1_and_an_ordinary_pid_on_the_host(plain):
    subject, _ = plain
    holder = subject.holder_pid()
    assert holder != 1
    inside = run(["nsenter", "-t", str(holder), "-p", "-m", "ps", "-e", "-o", "pid=,comm="]).stdout.split("\n")
    assert inside[0].split() == ["1", (HOLDER_COMM_PREFIX + subject.name)[:15]]
    nspid = next(line for line in Path(f"/proc/{holder}/status").read_text().splitlines() if line.startswith("NSpid:"))
    assert nspid.split()[1:] == [str(holder), "1"]


def test_proc_inside_lists_only_the_sets_processes(plain):
    subject, _ = plain
    set_pid_namespace = os.stat(subject.file("pid")).st_ino
    expected = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/pid").st_ino != set_pid_namespace:
                    continue
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:  # ended meanwhile, or not ours to read (this machine's PID 1)
                continue
            expected.add(int(re.search(r"^NSpid:.*\s(\d+)$", status, re.MULTILINE).group(1)))
    # Only the mount namespace is entered: `ls` itself stays outside the set's PID namespace.
    listed = {int(e) for e in run(["nsenter", f"--mount={subject.file('mnt')}", "ls", "/proc"]).stdout.split()
              if e.isdigit()}
    assert 1 in listed
    assert listed == expected
    # The host's /proc is still the host's: one procfs, listing this test's own process.
    assert str(os.getpid()) in os.listdir("/proc")
    host_top = run(["findmnt", "-n", "-r", "-o", "MAJ:MIN", "--mountpoint", "/proc"]).stdout.split()[-1]
    inside_top = run(["findmnt", "-N", str(subject.holder_pid()), "-n", "-r", "-o", "MAJ:MIN",
                      "--mountpoint", "/proc"]).stdout.split()[-1]
    assert inside_top != host_top


def test_ps_inside_sees_fewer_processes_than_on_the_host(plain):
    subject, _ = plain
    inside = run(["nsenter", "-t", str(subject.holder_pid()), "-p", "-m", "ps", "-e", "-o", "pid="]).stdout.split()
    host = run(["ps", "-e", "-o", "pid="]).stdout.split()
    assert len(inside) == 2  # the holder and ps
    assert len(host) > len(inside)


def test_network_inside_has_only_loopback(plain):
    subject, _ = plain
    assert interface_names(["nsenter", f"--net={subject.file('net')}"]) == {"lo"}


def test_second_run_changes_nothing(plain):
    subject, _ = plain
    _, recap = play_on_localhost(subject)
    assert recap["localhost"]["changed"] == 0, recap


# --- the veth option ----------------------------------------------------------------------------

def test_veth_peer_is_the_only_interface_besides_loopback(linked):
    subject, _ = linked
    assert interface_names(["nsenter", f"--net={subject.file('net')}"]) == {"lo", "eth0"}
    assert subject.veth_name in interface_names()


def test_veth_reaches_the_host_both_ways(linked):
    subject, _ = linked
    inside = ["nsenter", f"--net={subject.file('net')}"]
    run(["ping", "-c", "1", "-W", "2", str(subject.peer_address.ip)])
    run([*inside, "ping", "-c", "1", "-W", "2", str(subject.host_address.ip)])


def test_veth_gives_no_default_route_inside(linked):
    subject, _ = linked
    inside = ["nsenter", f"--net={subject.file('net')}"]
    assert run([*inside, "ip", "-4", "route", "show", "default"]).stdout.strip() == ""
    assert run([*inside, "ip", "-6", "route", "show", "default"]).stdout.strip() == ""
    # No route out: the kernel refuses without sending anything.
    refused = run([*inside, "ip", "route", "get", "192.0.2.1"], check=False)
    assert refused.returncode != 0 and "unreachable" in refused.stderr.lower()
    routes = run([*inside, "ip", "-4", "route", "show"]).stdout.splitlines()
    assert [line.split()[0] for line in routes] == [str(subject.peer_address.network)]


def test_veth_second_run_changes_nothing(linked):
    subject, _ = linked
    _, recap = play_on_localhost(subject)
    assert recap["localhost"]["changed"] == 0, recap


# --- removal ------------------------------------------------------------------------------------

def test_absent_leaves_nothing(prefix):
    subject = Subject(prefix, "gone", 3, veth=True)
    try:
        play_on_localhost(subject)
        assert leftovers(subject), "the present run made nothing to remove"
        make_queue(subject.queue_key)  # as if a run had been killed before it removed its queue
        _, recap = play_on_localhost(subject, "absent")
        assert recap["localhost"]["changed"] > 0
        assert leftovers(subject) == []
        _, recap = play_on_localhost(subject, "absent")
        assert recap["localhost"]["changed"] == 0
    finally:
        remove_leftovers(subject)


# --- over SSH -----------------------------------------------------------------------------------

FLEET_SIZE = 3


def on(fleet: Fleet, host, command: str) -> str:
    return fleet.run(host, command).stdout


def test_isolate_over_ssh_on_three_hosts(prefix, tmp_path):
    subject = Subject(prefix, "fleet", 4)
    holder_comm = (HOLDER_COMM_PREFIX + subject.name)[:15]
    find_holder = f"ps -e -o pid=,comm= | awk '$2 == \"{holder_comm}\" {{print $1}}'"
    with Fleet(next_fleet_prefix(), FLEET_SIZE, tmp_path) as fleet:
        completed, recap = ansible_playbook("linux.namespaces.isolate", subject.extra_vars, fleet.inventory_path)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        names = [host.name for host in fleet.hosts]
        assert sorted(recap) == sorted(names)
        assert all(recap[name]["failed"] == 0 and recap[name]["changed"] > 0 for name in names), recap

        key = ipc_key(prefix, 11)
        make_queue_remotely = (f"python3 -c 'import ctypes; "
                               f"assert ctypes.CDLL(None).msgget(ctypes.c_int32({key}).value, 0o1600) >= 0'")
        for host in fleet.hosts:
            assert on(fleet, host, f"nsenter --uts={subject.file('uts')} hostname").strip() == INSIDE_HOSTNAME
            assert on(fleet, host, "hostname").strip() == host.name
            try:
                on(fleet, host, make_queue_remotely)
                assert "0x%08x" % key in on(fleet, host, "ipcs -q")
                assert "0x%08x" % key not in on(fleet, host, f"nsenter --ipc={subject.file('ipc')} ipcs -q")
            finally:
                fleet.run(host, "ipcrm -Q 0x%08x" % key, check=False)
            holder = on(fleet, host, find_holder).split()
            assert len(holder) == 1 and holder[0] != "1"
            inside = on(fleet, host, f"nsenter -t {holder[0]} -p -m ps -e -o pid=,comm=").splitlines()
            assert [line.split() for line in inside][0] == ["1", holder_comm]
            assert len(inside) == 2
            links = on(fleet, host, f"nsenter --net={subject.file('net')} ip -o link show").splitlines()
            assert [line.split(":")[1].strip() for line in links] == ["lo"]

        _, recap = ansible_playbook("linux.namespaces.isolate", subject.extra_vars, fleet.inventory_path)
        assert all(recap[name]["changed"] == 0 and recap[name]["failed"] == 0 for name in names), recap

        completed, recap = ansible_playbook("linux.namespaces.isolate", dict(subject.extra_vars, isolate_state="absent"),
                                            fleet.inventory_path)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        for host in fleet.hosts:
            assert on(fleet, host, find_holder).strip() == ""
            assert on(fleet, host, f"findmnt -n -r -o TARGET | grep -c '^{subject.store}' || true").strip() == "0"
            assert "0x%08x" % subject.queue_key not in on(fleet, host, "ipcs -q")
