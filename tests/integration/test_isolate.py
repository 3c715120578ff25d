"""isolate.yml, the project's main command, on the real kernel.

Each row of the play's table is checked here with independent tools (util-linux nsenter, ipcs, ps,
ip, findmnt and /proc), never by reading what the play printed. Needs root.

Everything carries the run's prefix (LNS_TEST_PREFIX, else "lnst" + 4 hex digits): the set's name,
its store, the veth, the SysV IPC keys. Each fixture removes what it made with the play's absent run
and then, whatever that did, by hand.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
from pathlib import Path

import pytest

from tests.fleet import Fleet, next_fleet_prefix, run_prefix
from tests.integration.helpers import (
    REPO, PlayRun, ansible_playbook, interface_names, make_queue, queue_keys,
    remove_queue, run)
from tests.integration.isolate_subject import HOLDER_COMM_PREFIX, Subject, leftovers, remove_leftovers

MAIN_PLAYBOOK = REPO / "isolate.yml"
INSIDE_HOSTNAME = "container"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces, mounts and veths need root")


# --- the run's names ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prefix() -> str:
    """LNS_TEST_PREFIX (set by tests/conftest.py), else one "lnst" + 4 hex digits for this process."""
    return run_prefix()


def play_on_localhost(subject: Subject, state: str = "present", python: str = sys.executable,
                      options=()) -> PlayRun:
    # By default the venv's Python runs the modules, as `make isolate` does: it has pyroute2.
    extra_vars = dict(subject.extra_vars, isolate_state=state, ansible_python_interpreter=python)
    played = ansible_playbook(MAIN_PLAYBOOK, extra_vars, options=options)
    output = played.completed.stdout + played.completed.stderr
    assert played.completed.returncode == 0, f"isolate.yml ({state}) failed:\n{output}"
    assert played.recap.get("localhost", {}).get("failed") == 0, output
    return played


def assert_left_nothing(subject: Subject) -> None:
    """Nothing of the subject is on the host, its store directory included."""
    assert leftovers(subject) == []
    assert not subject.store.exists()


@contextlib.contextmanager
def made_by_the_play(subject: Subject):
    """The subject made by isolate.yml; removed by its absent run, then by hand, whatever happened."""
    try:
        subject.first_run = play_on_localhost(subject)
        yield subject
    finally:
        try:
            play_on_localhost(subject, "absent")
        finally:
            remove_leftovers(subject)


@pytest.fixture(scope="module")
def plain(prefix, ipc_key):
    subject = Subject(prefix, "plain", 1, ipc_key)
    with made_by_the_play(subject) as made:
        yield made


@pytest.fixture(scope="module")
def linked(prefix, ipc_key):
    subject = Subject(prefix, "linked", 2, ipc_key, veth=True)
    with made_by_the_play(subject) as made:
        yield made


# --- the rows of the table ----------------------------------------------------------------------

def test_first_run_makes_the_set_and_shows_the_table(plain):
    assert plain.first_run.recap["localhost"]["changed"] > 0
    assert "every row shows isolation" in plain.first_run.completed.stdout


def test_hostname_inside_differs_from_the_hosts(plain):
    subject = plain
    inside = run(["nsenter", f"--uts={subject.file('uts')}", "hostname"]).stdout.strip()
    assert inside == INSIDE_HOSTNAME
    assert socket.gethostname() != INSIDE_HOSTNAME
    assert run(["hostname"]).stdout.strip() == socket.gethostname()


def test_queue_made_on_the_host_is_absent_inside(plain, ipc_key):
    subject = plain
    key = ipc_key(10)
    make_queue(key)
    try:
        assert key in queue_keys()
        assert key not in queue_keys(["nsenter", f"--ipc={subject.file('ipc')}"])
    finally:
        remove_queue(key)
    # The play's own queue lived only while the play observed.
    assert subject.queue_key not in queue_keys()


def test_first_process_inside_is_pid_1_and_an_ordinary_pid_on_the_host(plain):
    subject = plain
    holder = subject.holder_pid()
    assert holder != 1
    inside = run(["nsenter", "-t", str(holder), "-p", "-m", "ps", "-e", "-o", "pid=,comm="]).stdout.split("\n")
    assert inside[0].split() == ["1", (HOLDER_COMM_PREFIX + subject.name)[:15]]
    nspid = next(line for line in Path(f"/proc/{holder}/status").read_text().splitlines() if line.startswith("NSpid:"))
    assert nspid.split()[1:] == [str(holder), "1"]


def test_proc_inside_lists_only_the_sets_processes(plain):
    subject = plain
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
    subject = plain
    inside = run(["nsenter", "-t", str(subject.holder_pid()), "-p", "-m", "ps", "-e", "-o", "pid="]).stdout.split()
    host = run(["ps", "-e", "-o", "pid="]).stdout.split()
    assert len(inside) == 2  # the holder and ps
    assert len(host) > len(inside)


def test_network_inside_has_only_loopback(plain):
    subject = plain
    assert interface_names(["nsenter", f"--net={subject.file('net')}"]) == {"lo"}


def test_sys_inside_shows_only_the_sets_interfaces(plain):
    subject = plain
    inside = run(["nsenter", f"--mount={subject.file('mnt')}", "ls", "-1", "/sys/class/net"]).stdout.split()
    assert inside == ["lo"]
    assert set(os.listdir("/sys/class/net")) > {"lo"}  # the host's /sys still shows the host's


def test_second_run_changes_nothing(plain):
    subject = plain
    recap = play_on_localhost(subject).recap
    assert recap["localhost"]["changed"] == 0, recap


# --- the veth option ----------------------------------------------------------------------------

def test_veth_peer_is_the_only_interface_besides_loopback(linked):
    subject = linked
    assert interface_names(["nsenter", f"--net={subject.file('net')}"]) == {"lo", "eth0"}
    assert subject.veth_name in interface_names()


def test_veth_reaches_the_host_both_ways(linked):
    subject = linked
    inside = ["nsenter", f"--net={subject.file('net')}"]
    run(["ping", "-c", "1", "-W", "2", str(subject.peer_address.ip)])
    run([*inside, "ping", "-c", "1", "-W", "2", str(subject.host_address.ip)])


def test_veth_gives_no_default_route_inside(linked):
    subject = linked
    inside = ["nsenter", f"--net={subject.file('net')}"]
    assert run([*inside, "ip", "-4", "route", "show", "default"]).stdout.strip() == ""
    assert run([*inside, "ip", "-6", "route", "show", "default"]).stdout.strip() == ""
    # No route out: the kernel refuses without sending anything.
    refused = run([*inside, "ip", "route", "get", "192.0.2.1"], check=False)
    assert refused.returncode != 0 and "unreachable" in refused.stderr.lower()
    routes = run([*inside, "ip", "-4", "route", "show"]).stdout.splitlines()
    assert [line.split()[0] for line in routes] == [str(subject.peer_address.network)]


def test_veth_second_run_changes_nothing(linked):
    subject = linked
    recap = play_on_localhost(subject).recap
    assert recap["localhost"]["changed"] == 0, recap


# --- removal ------------------------------------------------------------------------------------

def test_absent_leaves_nothing(prefix, ipc_key):
    subject = Subject(prefix, "gone", 3, ipc_key, veth=True)
    try:
        play_on_localhost(subject)
        assert leftovers(subject), "the present run made nothing to remove"
        make_queue(subject.queue_key)  # as if a run had been killed before it removed its queue
        recap = play_on_localhost(subject, "absent").recap
        assert recap["localhost"]["changed"] > 0
        assert leftovers(subject) == []
        recap = play_on_localhost(subject, "absent").recap
        assert recap["localhost"]["changed"] == 0
    finally:
        remove_leftovers(subject)


# --- the traps: no pyroute2, a user who is not root, check mode ---------------------------------

# Debian's own Python: other users can run it (pyenv's are under /root, mode 700).
DISTRIBUTION_PYTHON = "/usr/bin/python3"


def imports_pyroute2(python: str) -> bool:
    return run([python, "-c", "import pyroute2"], check=False).returncode == 0


def fresh_venv(directory: Path, *options: str) -> str:
    """The Python of a new virtual environment of Debian's Python: it has no pyroute2."""
    run([DISTRIBUTION_PYTHON, "-m", "venv", *options, str(directory)])
    python = str(directory / "bin" / "python")
    assert not imports_pyroute2(python)
    return python


def failing_play(extra_vars: dict) -> tuple:
    """isolate.yml on this host, which must fail there: (the run, its output)."""
    played = ansible_playbook(MAIN_PLAYBOOK, extra_vars)
    output = played.completed.stdout + played.completed.stderr
    assert played.completed.returncode != 0, output
    assert played.recap["localhost"]["failed"] == 1, output
    return played, output


def test_veth_without_pyroute2_present_then_absent_leaves_nothing(prefix, ipc_key, tmp_path):
    subject = Subject(prefix, "nopyroute2", 5, ipc_key, veth=True)
    python = fresh_venv(tmp_path / "venv")
    try:
        made = play_on_localhost(subject, python=python)
        assert "every row shows isolation" in made.completed.stdout
        assert subject.veth_name in interface_names()
        assert imports_pyroute2(python)  # the role put pyroute2 into that Python's virtual environment
        # Removal with a Python that has no pyroute2 at all.
        removed = play_on_localhost(subject, "absent", python=fresh_venv(tmp_path / "bare", "--without-pip"))
        assert removed.recap["localhost"]["changed"] > 0
        assert_left_nothing(subject)
    finally:
        remove_leftovers(subject)


def test_pyroute2_missing_and_not_to_be_installed_fails_before_any_change(prefix, ipc_key, tmp_path):
    subject = Subject(prefix, "refused", 8, ipc_key, veth=True)
    python = fresh_venv(tmp_path / "bare", "--without-pip")
    extra_vars = dict(subject.extra_vars, ansible_python_interpreter=python, isolate_pyroute2_install=False)
    try:
        played, output = failing_play(extra_vars)
        assert "isolate_pyroute2_install is false" in output and "Nothing was changed" in output, output
        assert played.recap["localhost"]["changed"] == 0, output
        assert_left_nothing(subject)
    finally:
        remove_leftovers(subject)


def test_a_failure_after_the_set_was_made_takes_it_back(prefix, ipc_key):
    subject = Subject(prefix, "failing", 9, ipc_key, veth=True)
    # The veth module refuses one address for both ends, after the set has been made.
    extra_vars = dict(subject.extra_vars, ansible_python_interpreter=sys.executable,
                      isolate_veth_peer_address=str(subject.host_address))
    try:
        output = failing_play(extra_vars)[1]
        assert "rescued=1" in output.rpartition("PLAY RECAP")[2], output
        assert "Link the set's network namespace to the host: address" in output, output
        assert_left_nothing(subject)
    finally:
        remove_leftovers(subject)


@pytest.fixture
def ordinary_user(prefix):
    """A test-prefixed user without a home, removed afterwards."""
    name = f"{prefix}u"
    run(["useradd", "--no-create-home", "--shell", "/bin/sh", name])
    try:
        yield name
    finally:
        # --force: userdel takes a process of another user namespace whose uid_map covers the user's uid
        # (a set's holder made by another run) for one of the user's, and refuses; the user runs nothing.
        run(["userdel", "--force", name])
        assert run(["getent", "passwd", name], check=False).returncode != 0, f"user {name} is left behind"


def test_run_as_another_user_fails_with_the_clear_message_and_leaves_nothing(prefix, ipc_key, ordinary_user):
    subject = Subject(prefix, "rootless", 6, ipc_key, veth=True)
    # The role's tasks become that user (su needs no password from root; pipelining needs no shared files).
    as_user = dict(subject.extra_vars, ansible_python_interpreter=DISTRIBUTION_PYTHON, isolate_become=True,
                   ansible_become_method="su", ansible_become_user=ordinary_user, ansible_pipelining=True)
    try:
        for state in ("present", "absent"):
            played, output = failing_play(dict(as_user, isolate_state=state))
            assert played.recap["localhost"]["changed"] == 0, output
            assert "needs root" in output and "run as root" in output, output
            assert_left_nothing(subject)
    finally:
        remove_leftovers(subject)


def test_check_mode_predicts_the_run_and_changes_nothing(prefix, ipc_key, tmp_path):
    subject = Subject(prefix, "checked", 7, ipc_key, veth=True)
    python = fresh_venv(tmp_path / "venv")
    try:
        predicted = play_on_localhost(subject, python=python, options=["--check"]).recap["localhost"]["changed"]
        assert_left_nothing(subject)
        assert not imports_pyroute2(python)
        assert play_on_localhost(subject, python=python).recap["localhost"]["changed"] == predicted > 0

        assert play_on_localhost(subject, python=python, options=["--check"]).recap["localhost"]["changed"] == 0

        made = leftovers(subject)
        predicted = play_on_localhost(subject, "absent", options=["--check"]).recap["localhost"]["changed"]
        assert leftovers(subject) == made
        assert play_on_localhost(subject, "absent").recap["localhost"]["changed"] == predicted > 0
        assert_left_nothing(subject)
    finally:
        remove_leftovers(subject)


# --- over SSH -----------------------------------------------------------------------------------

FLEET_SIZE = 3


def on(fleet: Fleet, host, command: str) -> str:
    return fleet.run(host, command).stdout


def test_isolate_over_ssh_on_three_hosts(prefix, ipc_key, tmp_path):
    subject = Subject(prefix, "fleet", 4, ipc_key)
    holder_comm = (HOLDER_COMM_PREFIX + subject.name)[:15]
    find_holder = f"ps -e -o pid=,comm= | awk '$2 == \"{holder_comm}\" {{print $1}}'"
    with Fleet(next_fleet_prefix(), FLEET_SIZE, tmp_path) as fleet:
        played = ansible_playbook("linux.namespaces.isolate", subject.extra_vars, fleet.inventory_path)
        assert played.completed.returncode == 0, played.completed.stdout + played.completed.stderr
        recap = played.recap
        names = [host.name for host in fleet.hosts]
        assert sorted(recap) == sorted(names)
        assert all(recap[name]["failed"] == 0 and recap[name]["changed"] > 0 for name in names), recap

        key = ipc_key(11)
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

        recap = ansible_playbook("linux.namespaces.isolate", subject.extra_vars, fleet.inventory_path).recap
        assert all(recap[name]["changed"] == 0 and recap[name]["failed"] == 0 for name in names), recap

        removed = ansible_playbook("linux.namespaces.isolate", dict(subject.extra_vars, isolate_state="absent"),
                                   fleet.inventory_path)
        assert removed.completed.returncode == 0, removed.completed.stdout + removed.completed.stderr
        for host in fleet.hosts:
            assert on(fleet, host, find_holder).strip() == ""
            assert on(fleet, host, f"findmnt -n -r -o TARGET | grep -c '^{subject.store}' || true").strip() == "0"
            assert "0x%08x" % subject.queue_key not in on(fleet, host, "ipcs -q")
