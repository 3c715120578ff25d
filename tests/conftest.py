"""Shared fixtures and the end-of-session leak check (docs/DESIGN.md, "Tests: conventions").

Everything a test makes carries the run's prefix ("lnst" + 4 hex digits, fixture `prefix`, also
in the environment as LNS_TEST_PREFIX); SysV IPC keys come from `ipc_key(n)`. When the session
ends, `_leak_check` fails the run if anything carrying the prefix is still on the host, if an IPC
key of the run's range still exists, or if the host's hostname or domain name changed.

This file is loaded by ansible-test units as well (it runs pytest with the collection root as
rootdir), on every target Python: standard library and pytest only, Python 3.8 syntax.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import pathlib
import pwd
import secrets
import shutil
import socket
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
PREFIX_ENV = 'LNS_TEST_PREFIX'

# A run's SysV IPC keys are 0x6CPPPPNN: PPPP the prefix's hex digits, NN the test's number n.
IPC_KEY_TAG = 0x6C << 24
IPC_KEYS_PER_RUN = 256

# Ansible as the tests run it: quiet, machine-readable, with this collection visible.
ANSIBLE_ENV = {
    'ANSIBLE_STDOUT_CALLBACK': 'full_json',
    'ANSIBLE_CALLBACK_PLUGINS': str(REPO_ROOT / 'tests' / 'callback_plugins'),
    'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1',
    'ANSIBLE_NOCOLOR': '1',
    'ANSIBLE_LOCALHOST_WARNING': 'false',
    'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
    'ANSIBLE_RETRY_FILES_ENABLED': 'false',
}
COLLECTION_PREFIX = 'linux.namespaces.'

# Where `make collection` links the collection (the Makefile exports the same path): Ansible finds
# it there, nested runs inherit it, and tests import `ansible_collections.linux.namespaces` from it.
os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', str(REPO_ROOT / '.ansible' / 'collections'))
sys.path.extend(path for path in os.environ['ANSIBLE_COLLECTIONS_PATH'].split(os.pathsep) if path not in sys.path)

_PREFIX_KEY = pytest.StashKey[str]()


def find_leaks(prefix: str) -> list[str]:
    """Return a description of each thing on the host that carries PREFIX, as util-linux, procps
    and iproute2 see it. Store paths come from module_utils/setstate.py, the holder's name from holder.py."""
    store = importlib.import_module('ansible_collections.linux.namespaces.plugins.module_utils.setstate')
    holder = importlib.import_module('ansible_collections.linux.namespaces.plugins.module_utils.holder')
    leaks = ['mount %s (%s)' % (target, fstype) for target, fstype in _mounts() if prefix in target]
    leaks += ['/run entry %s' % name for name in _listdir('/run') if prefix in name]
    leaks += ['/run/netns entry %s' % name for name in _listdir(store.NETNS_DIR) if prefix in name]
    leaks += ['store entry %s' % os.path.join(store.DEFAULT_STORE, name)
              for name in _listdir(store.DEFAULT_STORE) if prefix in name]
    leaks += ['interface %s' % name for name in _interfaces() if prefix in name]
    leaks += ['user %s' % entry.pw_name for entry in pwd.getpwall() if prefix in entry.pw_name]
    # A holder's comm is nsh: + the set's name; any other process may carry the prefix in its arguments.
    # A zombie has exited (a removed set's holder waits there until the host's init reaps it).
    leaks += ['process %s' % line for line in set(_lines(['pgrep', '-a', '^' + holder.HOLDER_COMM_PREFIX + prefix])
                                                  + _lines(['pgrep', '-af', prefix]))
              if not _is_zombie(int(line.split(' ', 1)[0]))]
    keys = ipc_key_range(prefix)
    leaks += ['SysV IPC %s key %#x' % (kind, key) for kind, key in _ipc_keys() if key in keys]
    return sorted(leaks)


def ipc_key_range(prefix: str) -> range:
    """Return the SysV IPC keys that belong to the run with PREFIX."""
    first = IPC_KEY_TAG | int(prefix[-4:], 16) << 8
    return range(first, first + IPC_KEYS_PER_RUN)


def host_names() -> tuple[str, str]:
    """Return the host's hostname and NIS domain name."""
    return socket.gethostname(), pathlib.Path('/proc/sys/kernel/domainname').read_text(encoding='ascii').strip()


def _lines(command: list[str]) -> list[str]:
    """Return COMMAND's output lines; an exit code of 1 (pgrep: nothing matched) is no error."""
    completed = subprocess.run(command, stdout=subprocess.PIPE, universal_newlines=True, check=False)
    if completed.returncode not in (0, 1):
        raise subprocess.CalledProcessError(completed.returncode, command)
    return completed.stdout.splitlines()


def _is_zombie(pid: int) -> bool:
    """Whether pid has exited but is not reaped yet (state Z in /proc/PID/stat), or is gone."""
    try:
        stat = pathlib.Path('/proc/%d/stat' % pid).read_text(encoding='ascii', errors='replace')
        return stat.rsplit(')', 1)[1].split()[0] in ('Z', 'X')
    except (OSError, IndexError):
        return True


def _mounts() -> list[tuple[str, str]]:
    return [tuple(line.split(' ', 1)) for line in _lines(['findmnt', '--raw', '--noheadings', '--output', 'TARGET,FSTYPE'])]


def _listdir(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []


def _interfaces() -> list[str]:
    # "7: lnst1a2bx@if6: <BROADCAST,..." -> "lnst1a2bx"
    return [line.split(':', 2)[1].strip().split('@', 1)[0] for line in _lines(['ip', '-o', 'link', 'show'])]


def _ipc_keys() -> list[tuple[str, int]]:
    found = []
    for kind, option in (('msg', '--queues'), ('shm', '--shmems'), ('sem', '--semaphores')):
        found += [(kind, int(key, 16)) for key in _lines(['lsipc', option, '--noheadings', '--output', 'KEY'])]
    return found


def pytest_configure(config: pytest.Config) -> None:
    """Pick the run's prefix: fresh, and carried by nothing on the host yet."""
    prefix = 'lnst' + secrets.token_hex(2)
    while find_leaks(prefix):
        prefix = 'lnst' + secrets.token_hex(2)
    config.stash[_PREFIX_KEY] = prefix
    os.environ[PREFIX_ENV] = prefix


@pytest.fixture(scope='session')
def prefix(pytestconfig: pytest.Config) -> str:
    """The run's prefix, "lnst" + 4 hex digits; every name a test makes starts with it."""
    return pytestconfig.stash[_PREFIX_KEY]


# ipc_key and the leak check read the run's prefix from the stash, not from the `prefix` fixture,
# which a test module may override (with a narrower scope, or to derive names from it).
@pytest.fixture(scope='session')
def ipc_key(pytestconfig: pytest.Config):
    """ipc_key(n) is the run's SysV IPC key number n, 0 <= n < 256."""
    keys = ipc_key_range(pytestconfig.stash[_PREFIX_KEY])

    def key(number: int) -> int:
        return keys[number]

    return key


@pytest.fixture(scope='session', autouse=True)
def _leak_check(pytestconfig: pytest.Config):
    """Fail the run when it leaves anything behind. Set up first, so it is torn down last."""
    prefix = pytestconfig.stash[_PREFIX_KEY]
    names_before = host_names()
    yield
    problems = ['left behind: ' + leak for leak in find_leaks(prefix)]
    names_after = host_names()
    if names_after != names_before:
        problems.append('host hostname/domainname changed from %s to %s' % (names_before, names_after))
    if problems:
        pytest.fail('leak check for prefix %s failed:\n  %s' % (prefix, '\n  '.join(problems)), pytrace=False)


def _ansible_environment() -> dict[str, str]:
    return dict(os.environ, **ANSIBLE_ENV)


def _ansible_command(name: str) -> str:
    """Return the Ansible program NAME next to this Python (the venv's), else the one on PATH."""
    sibling = pathlib.Path(sys.executable).parent / name
    program = str(sibling) if sibling.exists() else shutil.which(name)
    if program is None:
        pytest.fail('%s not found: run the tests with `make integration` or from .venv' % name, pytrace=False)
    return program


def _start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(command, env=_ansible_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)


def _finish_json(command: list[str], process: subprocess.Popen) -> tuple[int, dict, str]:
    stdout, stderr = process.communicate()
    try:
        output = json.loads(stdout)
    except ValueError:
        pytest.fail('%s printed no JSON (exit %d):\nstdout: %s\nstderr: %s'
                    % (command[0], process.returncode, stdout, stderr), pytrace=False)
    return process.returncode, output, stderr


def _run_json(command: list[str]) -> tuple[int, dict, str]:
    return _finish_json(command, _start(command))


def _module_command(module: str, args: dict, check: bool = False, diff: bool = False,
                    python: str | None = None) -> list[str]:
    command = [_ansible_command('ansible'), 'localhost', '-m', module, '-a', json.dumps(args)]
    if check:
        command.append('--check')
    if diff:
        command.append('--diff')
    if python:
        command += ['-e', 'ansible_python_interpreter=' + python]
    return command


def _localhost_result(module: str, output: dict, stderr: str) -> dict:
    try:
        return output['plays'][0]['tasks'][0]['hosts']['localhost']
    except (KeyError, IndexError):
        pytest.fail('no result for localhost from %s:\n%s\nstderr: %s' % (module, json.dumps(output, indent=2), stderr),
                    pytrace=False)


def _full_name(module: str) -> str:
    return module if '.' in module else COLLECTION_PREFIX + module


@pytest.fixture(scope='session')
def run_ansible_module():
    """run_ansible_module(module, args, check=False, diff=False, python=None) -> the module's result dict.

    Runs `ansible localhost -m MODULE -a JSON` on the implicit localhost: the controller's Python, or
    the target interpreter PYTHON. A short MODULE name is taken from this collection: "namespace" is
    linux.namespaces.namespace.
    """
    def run(module: str, args: dict, **options) -> dict:
        name = _full_name(module)
        output, stderr = _run_json(_module_command(name, args, **options))[1:]
        return _localhost_result(name, output, stderr)

    return run


@pytest.fixture(scope='session')
def run_ansible_modules():
    """run_ansible_modules(module, [args, ...], **options) -> their result dicts, in order.

    Like run_ansible_module, but every run is started before the first is waited for: they run at once.
    """
    def run(module: str, many_args: list, **options) -> list:
        name = _full_name(module)
        started = [(command, _start(command)) for command in (_module_command(name, args, **options)
                                                              for args in many_args)]
        return [_localhost_result(name, *_finish_json(command, process)[1:]) for command, process in started]

    return run


@dataclasses.dataclass
class PlaybookRun:
    """What ansible-playbook did: its exit code, its JSON report (plays, stats) and its stderr."""

    returncode: int
    output: dict
    stderr: str


@pytest.fixture(scope='session')
def run_playbook():
    """run_playbook(path, extra_vars, inventory=None) -> PlaybookRun.

    Without an inventory the play runs on the implicit localhost. An inventory should set
    ansible_python_interpreter: an unset one may resolve to a broken pyenv shim on this machine.
    """
    def run(path, extra_vars: dict, inventory=None) -> PlaybookRun:
        command = [_ansible_command('ansible-playbook'), str(path), '-e', json.dumps(extra_vars)]
        if inventory is not None:
            command += ['-i', str(inventory)]
        return PlaybookRun(*_run_json(command))

    return run
