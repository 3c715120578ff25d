#!/usr/bin/env python
"""Run ansible-test (sanity or units) on this collection, offline.

Usage: .venv/bin/python tests/ci/run_ansible_test.py {sanity,units,clean} [ANSIBLE-TEST ARG...]

sanity  all sanity tests on the controller's Python, then (without extra arguments) the compile
        and import tests on every other supported Python installed here (pyenv);
units   the unit tests on the controller's Python and every other supported Python installed
        here; a tests/unit without test files is reported and not run;
clean   removes this repository's work area (the copy and ansible-test's virtual environments).

Two facts from shared/notes/field-notes.md shape this script:
- ansible-test refuses a repository whose root is the collection, and a symlinked
  ansible_collections/NS/NAME. The tracked and untracked-unignored files are copied into
  ansible_collections/NS/NAME in a work area outside any git tree (ansible-test would list the
  files of an enclosing repository), and ansible-test runs there. The work area keeps
  ansible-test's virtual environments from one run to the next; the files are copied afresh.
  Work areas whose checkout no longer exists are removed.
- ansible-test bootstraps pip in its virtual environments with a get-pip.py it downloads from a
  host this machine cannot reach (ansible/ansible#77304), unless ~/.ansible/test/cache holds it.
  The stand-in written there runs ensurepip, then pip install with the arguments it was given.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import types

import yaml
from ansible.release import __version__ as ANSIBLE_CORE_VERSION

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE_TEST = pathlib.Path(sys.executable).parent / 'ansible-test'
PIP_CACHE = pathlib.Path('~/.ansible/test/cache').expanduser()
WORK_AREAS = pathlib.Path(os.environ.get('XDG_CACHE_HOME', '~/.cache')).expanduser() / 'linux-namespaces-ansible-test'
CONTROLLER_PYTHON = f'{sys.version_info[0]}.{sys.version_info[1]}'
# The file in a work area that names the checkout it serves.
CHECKOUT_RECORD = 'checkout'
# Where ansible-test --venv keeps its virtual environments, relative to the collection root.
VENVS_IN_COPY = pathlib.Path('tests', 'output', '.tmp', 'delegation')

PIP_STAND_IN = '''\
"""Stand-in for get-pip.py, written by tests/ci/run_ansible_test.py in linux.namespaces.

Bootstraps pip from this interpreter's ensurepip, then runs pip install with the arguments
ansible-test gave to get-pip.py (less get-pip's own --no-setuptools and --no-wheel).
"""
import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "ensurepip"])
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
# ensurepip of Python 3.11 and older also installs setuptools; get-pip.py would not have.
setuptools_installed = subprocess.call([sys.executable, "-m", "pip", "show", "--quiet", "setuptools"],
                                       stderr=subprocess.DEVNULL) == 0
if "--no-setuptools" in sys.argv and setuptools_installed:
    subprocess.check_call([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", "setuptools"])
'''


def pip_bootstrap_version(python_version: str) -> str:
    """Return the pip version ansible-test bootstraps into a virtual environment of that Python."""
    # pylint: disable-next=import-outside-toplevel
    from ansible_test._internal.python_requirements import get_venv_packages

    return get_venv_packages(types.SimpleNamespace(version=python_version))['pip']


def write_pip_stand_in(python_versions: list[str]) -> None:
    """Write the get-pip.py stand-in under the name ansible-test looks for, for each Python."""
    PIP_CACHE.mkdir(parents=True, exist_ok=True)
    for pip_version in sorted({pip_bootstrap_version(version) for version in python_versions}):
        target = PIP_CACHE / f'get_pip_{pip_version.replace(".", "_")}.py'
        partial = target.with_suffix('.tmp')
        partial.write_text(PIP_STAND_IN, encoding='utf-8')
        partial.replace(target)


def collection_files() -> list[str]:
    """Return the files of the collection: tracked ones and untracked ones git does not ignore."""
    listing = subprocess.run(
        ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
        cwd=REPO_ROOT, check=True, stdout=subprocess.PIPE,
    ).stdout.decode()
    names = sorted(set(filter(None, listing.split('\0'))))
    # A tracked file deleted in the work tree is still listed by git.
    return [name for name in names if os.path.lexists(REPO_ROOT / name)]


def work_area() -> pathlib.Path:
    """Return this repository's work area (one per checkout and ansible-core version)."""
    key = hashlib.sha256(f'{REPO_ROOT}\0{ANSIBLE_CORE_VERSION}'.encode()).hexdigest()[:16]
    return WORK_AREAS / key


@contextlib.contextmanager
def locked(area: pathlib.Path, wait: bool = True):
    """Hold the work area's lock (two runs must not share a copy); yield whether it was taken."""
    area.mkdir(parents=True, exist_ok=True)
    with open(area / 'lock', 'w', encoding='utf-8') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def prune_orphaned_areas() -> None:
    """Remove the work areas of checkouts that no longer exist, such as CI's and scratch clones."""
    for record in WORK_AREAS.glob(f'*/{CHECKOUT_RECORD}'):
        if pathlib.Path(record.read_text(encoding='utf-8')).exists():
            continue
        with locked(record.parent, wait=False) as taken:
            if taken:
                shutil.rmtree(record.parent)


def refresh_copy(area: pathlib.Path) -> pathlib.Path:
    """Copy the collection afresh into AREA/ansible_collections/NS/NAME, keeping ansible-test's
    virtual environments (their scripts name their own path, so they go back where they were)."""
    galaxy = yaml.safe_load((REPO_ROOT / 'galaxy.yml').read_text(encoding='utf-8'))
    copy = area / 'ansible_collections' / galaxy['namespace'] / galaxy['name']
    venvs, kept_venvs = copy / VENVS_IN_COPY, area / 'delegation'
    if venvs.is_dir():
        shutil.rmtree(kept_venvs, ignore_errors=True)
        venvs.rename(kept_venvs)
    shutil.rmtree(area / 'ansible_collections', ignore_errors=True)

    for name in collection_files():
        source, target = REPO_ROOT / name, copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)

    if kept_venvs.is_dir():
        venvs.parent.mkdir(parents=True, exist_ok=True)
        kept_venvs.rename(venvs)
    return copy


def interpreter_dirs() -> dict[str, pathlib.Path]:
    """Return the bin folder of each real interpreter from pyenv, by version ("3.8": .../bin)."""
    pyenv_root = pathlib.Path(os.environ.get('PYENV_ROOT', '~/.pyenv')).expanduser()
    found: dict[str, pathlib.Path] = {}
    for python in sorted(pyenv_root.glob('versions/3.*/bin/python3.*')):
        version = python.name[len('python'):]
        if version.replace('.', '').isdigit():
            found.setdefault(version, python.parent)
    return found


def other_pythons(command: str) -> list[str]:
    """Return the supported Pythons besides the controller's that are installed here, and say
    which are not."""
    # pylint: disable-next=import-outside-toplevel
    from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS

    available = interpreter_dirs()
    others = [version for version in SUPPORTED_PYTHON_VERSIONS if version != CONTROLLER_PYTHON]
    missing = [version for version in others if version not in available]
    if missing:
        print(f'{command}: Pythons {", ".join(missing)} are not installed here; they are not tested')
    return [version for version in others if version in available]


def ansible_test_environment(pythons: list[str]) -> dict[str, str]:
    """Return the environment for ansible-test: venv first, then real interpreters, no pyenv shims.

    The pyenv shims exit 127 under ansible-test because it drops PYENV_VERSION.
    """
    available = interpreter_dirs()
    path = [str(ANSIBLE_TEST.parent)] + [str(available[version]) for version in pythons if version in available]
    path += [entry for entry in os.environ.get('PATH', '').split(os.pathsep) if entry and 'pyenv' not in entry]
    environment = dict(os.environ, PATH=os.pathsep.join(path))
    environment.pop('PYENV_VERSION', None)
    return environment


def has_unit_tests() -> bool:
    """Tell whether tests/unit holds at least one test file."""
    unit = REPO_ROOT / 'tests' / 'unit'
    return any(unit.rglob('test_*.py')) or any(unit.rglob('*_test.py'))


def planned_runs(command: str, extra: list[str]) -> dict[str, list[str]]:
    """Return the ansible-test arguments of each run COMMAND needs, by Python version."""
    common = ['--venv', '--color', 'no']
    runs = {CONTROLLER_PYTHON: [command, '--python', CONTROLLER_PYTHON] + common + extra}
    if command == 'units':
        runs.update((python, [command, '--python', python] + common + extra) for python in other_pythons(command))
    elif not extra:
        # Modules and module_utils run on target Pythons 3.8 to 3.13: they must compile and import there.
        runs.update((python, [command, '--python', python, '--test', 'compile', '--test', 'import'] + common)
                    for python in other_pythons(command))
    return runs


def run_ansible_test(copy: pathlib.Path, arguments: list[str], environment: dict[str, str]) -> int:
    """Run ansible-test in the copy and return its exit code."""
    command = [str(ANSIBLE_TEST)] + arguments
    print('+ ' + ' '.join(command), flush=True)
    return subprocess.run(command, cwd=copy, env=environment, check=False).returncode


def keep_output(copy: pathlib.Path, command: str) -> None:
    """Keep ansible-test's results (not its temporary files) in tests/output/ansible-test/COMMAND."""
    output = copy / 'tests' / 'output'
    kept = REPO_ROOT / 'tests' / 'output' / 'ansible-test' / command
    shutil.rmtree(kept, ignore_errors=True)
    if output.is_dir():
        shutil.copytree(output, kept, symlinks=True, ignore=shutil.ignore_patterns('.tmp'))


def main() -> int:
    """Refresh the copy, prepare the pip stand-in and run the requested ansible-test command."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('command', choices=['sanity', 'units', 'clean'])
    parser.add_argument('ansible_test_args', nargs=argparse.REMAINDER)
    options = parser.parse_args()

    area = work_area()
    if options.command == 'clean':
        shutil.rmtree(area, ignore_errors=True)
        return 0
    if options.command == 'units' and not has_unit_tests():
        print('units: tests/unit holds no test file yet; ansible-test units not run')
        return 0

    runs = planned_runs(options.command, options.ansible_test_args)
    write_pip_stand_in(list(runs))
    environment = ansible_test_environment(list(runs))
    status = 0
    prune_orphaned_areas()
    with locked(area):
        (area / CHECKOUT_RECORD).write_text(str(REPO_ROOT), encoding='utf-8')
        copy = refresh_copy(area)
        for arguments in runs.values():
            status = run_ansible_test(copy, arguments, environment) or status
        keep_output(copy, options.command)
    return status


if __name__ == '__main__':
    sys.exit(main())
