"""The end-of-session leak check in tests/conftest.py fails a run that leaves something behind.

Each case runs an inner pytest session (with a copy of tests/conftest.py, hence a prefix of its
own) whose only test leaks one kind of thing on purpose: the inner run must fail and name the
leak. The outer test then removes the leak itself, whatever happened.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from ansible_collections.linux.namespaces.plugins.module_utils.holder import HOLDER_COMM_PREFIX

CONFTEST = pathlib.Path(__file__).resolve().parents[1] / 'conftest.py'
INNER_TIMEOUT = 120

# The inner test records "PREFIX [DETAIL]" in the file LEAK_RECORD names, then runs its body.
INNER_TEST = '''
import ctypes
import os
import pathlib
import subprocess
import sys
import time

# Names itself like a set's holder, then waits a bounded time: it ends even if nobody stops it.
HOLDER = "import pathlib, time; pathlib.Path('/proc/self/comm').write_text('%s'); time.sleep(300)"


def test_inner(prefix, ipc_key):
    holder_comm = "{holder_comm_prefix}" + prefix
    record = pathlib.Path(os.environ["LEAK_RECORD"])
    record.write_text(prefix)
{body}
'''

# kind: (body of the inner test, what the leak report must say)
LEAKS = {
    'interface': (
        ['subprocess.run(["ip", "link", "add", prefix + "x", "type", "bridge"], check=True)'],
        'left behind: interface {prefix}x',
    ),
    'netns': (
        ['subprocess.run(["ip", "netns", "add", prefix + "n"], check=True)'],
        'left behind: /run/netns entry {prefix}n',
    ),
    'holder process': (
        ['holder = subprocess.Popen([sys.executable, "-c", HOLDER % holder_comm], start_new_session=True)',
         'record.write_text("%s %d" % (prefix, holder.pid))',
         'while pathlib.Path("/proc/%d/comm" % holder.pid).read_text().strip() != holder_comm:',
         '    time.sleep(0.01)'],
        'left behind: process {detail} ',
    ),
    'user': (
        ['subprocess.run(["useradd", "--no-create-home", prefix + "u"], check=True)'],
        'left behind: user {prefix}u',
    ),
    'ipc key': (
        ['record.write_text("%s %d" % (prefix, ipc_key(3)))',
         'assert ctypes.CDLL(None).msgget(ipc_key(3), 0o1600) >= 0  # IPC_CREAT | 0600'],
        'left behind: SysV IPC msg key {detail:#x}',
    ),
}


def run_inner_session(directory: pathlib.Path, body: list[str], wrapper: tuple[str, ...] = ()):
    """Run pytest on one test (BODY) with tests/conftest.py in DIRECTORY; return the finished process."""
    shutil.copy(CONFTEST, directory / 'conftest.py')
    (directory / 'pytest.ini').write_text('[pytest]\n')
    (directory / 'test_inner.py').write_text(INNER_TEST.format(
        body=textwrap.indent('\n'.join(body), '    '), holder_comm_prefix=HOLDER_COMM_PREFIX))
    environment = dict(os.environ, LEAK_RECORD=str(directory / 'record'))
    environment.pop('LNS_TEST_PREFIX', None)
    environment.pop('PYTEST_ADDOPTS', None)
    command = list(wrapper) + [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', str(directory)]
    return subprocess.run(command, cwd=directory, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=INNER_TIMEOUT, check=False)


def read_record(record: pathlib.Path) -> tuple[str, int | None]:
    """Return the inner run's prefix and the detail (pid or key) its test recorded, if any."""
    inner_prefix, detail = (record.read_text().split(' ') + [''])[:2]
    return inner_prefix, int(detail) if detail else None


def remove_leak(kind: str, record: pathlib.Path) -> None:
    """Remove what the inner test of KIND made; nothing to do if it recorded nothing."""
    if not record.exists():
        return
    inner_prefix, detail = read_record(record)
    if kind == 'interface':
        subprocess.run(['ip', 'link', 'del', inner_prefix + 'x'], stderr=subprocess.DEVNULL, check=False)
    elif kind == 'netns':
        subprocess.run(['ip', 'netns', 'del', inner_prefix + 'n'], stderr=subprocess.DEVNULL, check=False)
    elif kind == 'holder process' and detail is not None:
        stop_holder(detail, HOLDER_COMM_PREFIX + inner_prefix)
    elif kind == 'user':
        subprocess.run(['userdel', '--force', inner_prefix + 'u'], stderr=subprocess.DEVNULL, check=False)
    elif kind == 'ipc key' and detail is not None:
        subprocess.run(['ipcrm', '--queue-key', str(detail)], stderr=subprocess.DEVNULL, check=False)


def stop_holder(pid: int, comm: str) -> None:
    """SIGKILL PID if it still has COMM (the pid was not reused), and wait until it is gone."""
    comm_file = pathlib.Path('/proc/%d/comm' % pid)
    try:
        if comm_file.read_text().strip() != comm:
            return
        os.kill(pid, signal.SIGKILL)
    except (FileNotFoundError, ProcessLookupError):
        return
    deadline = time.monotonic() + 10
    while comm_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize('kind', sorted(LEAKS))
def test_leak_fails_the_run(kind: str, tmp_path: pathlib.Path) -> None:
    """A run that leaves KIND behind exits non-zero, and its report names the leaked thing."""
    body, report = LEAKS[kind]
    record = tmp_path / 'record'
    try:
        inner = run_inner_session(tmp_path, body)
        inner_prefix, detail = read_record(record)
        assert inner.returncode != 0, inner.stdout
        assert 'leak check for prefix %s failed' % inner_prefix in inner.stdout, inner.stdout
        report = report.format(prefix=inner_prefix, detail=detail)
        assert report in inner.stdout, inner.stdout
    finally:
        remove_leak(kind, record)


def test_clean_run_passes(tmp_path: pathlib.Path) -> None:
    """A run that removes what it made passes the leak check."""
    body = ['subprocess.run(["ip", "link", "add", prefix + "x", "type", "bridge"], check=True)',
            'subprocess.run(["ip", "link", "del", prefix + "x"], check=True)']
    try:
        inner = run_inner_session(tmp_path, body)
        assert inner.returncode == 0, inner.stdout
        assert '1 passed' in inner.stdout, inner.stdout
    finally:
        remove_leak('interface', tmp_path / 'record')


def test_a_holder_that_exited_but_is_not_reaped_is_no_leak(tmp_path: pathlib.Path) -> None:
    """A removed set's holder stays a zombie until the host's init reaps it: the check does not count it.
    Here the inner session's own child, named like a holder, exits and is never reaped while the session
    lasts."""
    body = ['pid = os.fork()',
            'if pid == 0:',
            '    pathlib.Path("/proc/self/comm").write_text(holder_comm)',
            '    os._exit(0)',
            'while pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0] != "Z":',
            '    time.sleep(0.01)',
            'assert pathlib.Path("/proc/%d/comm" % pid).read_text().strip() == holder_comm']
    inner = run_inner_session(tmp_path, body)
    assert inner.returncode == 0, inner.stdout
    assert '1 passed' in inner.stdout, inner.stdout


def test_hostname_change_fails_the_run(tmp_path: pathlib.Path) -> None:
    """A run whose host hostname changed fails. Its 'host' is a UTS namespace of its own: the
    real host's hostname is never touched."""
    body = ['subprocess.run(["hostname", prefix + "h"], check=True)']
    inner = run_inner_session(tmp_path, body, wrapper=('unshare', '--uts', '--'))
    inner_prefix = read_record(tmp_path / 'record')[0]
    assert inner.returncode != 0, inner.stdout
    assert 'host hostname/domainname changed' in inner.stdout, inner.stdout
    assert inner_prefix + 'h' in inner.stdout, inner.stdout


def test_ipc_keys_are_the_runs_own(prefix: str, ipc_key) -> None:
    """ipc_key(n) gives distinct keys that carry the run's prefix digits."""
    keys = [ipc_key(n) for n in range(256)]
    assert len(set(keys)) == 256
    assert all((key >> 8) & 0xFFFF == int(prefix[4:], 16) for key in keys)
    with pytest.raises(IndexError):
        ipc_key(256)
