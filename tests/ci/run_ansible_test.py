#!/usr/bin/env python
"""Run ansible-test (sanity or units) on this collection, offline.

Usage: .venv/bin/python tests/ci/run_ansible_test.py {sanity,units} [ANSIBLE-TEST ARG...]

Two facts from shared/notes/field-notes.md shape this script:
- ansible-test refuses a repository whose root is the collection, and a symlinked
  ansible_collections/NS/NAME. The tracked and untracked-unignored files are copied into a
  temporary ansible_collections/NS/NAME, and ansible-test runs there.
- ansible-test bootstraps pip in its virtual environments with a get-pip.py it downloads from a
  host this machine cannot reach (ansible/ansible#77304), unless ~/.ansible/test/cache holds it.
  The stand-in written there runs ensurepip, then pip install with the arguments it was given.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import types

import yaml

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE_TEST = pathlib.Path(sys.executable).parent / 'ansible-test'
PIP_CACHE = pathlib.Path('~/.ansible/test/cache').expanduser()
CONTROLLER_PYTHON = f'{sys.version_info[0]}.{sys.version_info[1]}'

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
if "--no-setuptools" in sys.argv:
    # ensurepip of Python 3.11 and older also installs setuptools; get-pip.py would not have.
    subprocess.call([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", "setuptools"])
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


def copy_collection(destination_root: pathlib.Path) -> pathlib.Path:
    """Copy the collection to DESTINATION_ROOT/ansible_collections/NS/NAME and return that path."""
    galaxy = yaml.safe_load((REPO_ROOT / 'galaxy.yml').read_text(encoding='utf-8'))
    copy = destination_root / 'ansible_collections' / galaxy['namespace'] / galaxy['name']
    for name in collection_files():
        source = REPO_ROOT / name
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
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


def ansible_test_environment(extra_bin_dirs: list[pathlib.Path]) -> dict[str, str]:
    """Return the environment for ansible-test: venv first, then real interpreters, no pyenv shims.

    The pyenv shims exit 127 under ansible-test because it drops PYENV_VERSION.
    """
    path = [str(ANSIBLE_TEST.parent)] + [str(directory) for directory in extra_bin_dirs]
    path += [entry for entry in os.environ.get('PATH', '').split(os.pathsep) if entry and 'pyenv' not in entry]
    environment = dict(os.environ, PATH=os.pathsep.join(path))
    environment.pop('PYENV_VERSION', None)
    return environment


def has_unit_tests() -> bool:
    """Tell whether tests/unit holds at least one test file."""
    unit = REPO_ROOT / 'tests' / 'unit'
    return any(unit.rglob('test_*.py')) or any(unit.rglob('*_test.py'))


def unit_test_pythons() -> tuple[list[str], list[str]]:
    """Return the Pythons units run on (the controller's first) and the supported ones not installed."""
    # pylint: disable-next=import-outside-toplevel
    from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS

    available = interpreter_dirs()
    others = [version for version in SUPPORTED_PYTHON_VERSIONS if version != CONTROLLER_PYTHON]
    return [CONTROLLER_PYTHON] + [v for v in others if v in available], [v for v in others if v not in available]


def run_ansible_test(copy: pathlib.Path, arguments: list[str], environment: dict[str, str]) -> int:
    """Run ansible-test in the copy and return its exit code."""
    command = [str(ANSIBLE_TEST)] + arguments
    print('+ ' + ' '.join(command), flush=True)
    return subprocess.run(command, cwd=copy, env=environment, check=False).returncode


def keep_output(copy: pathlib.Path, command: str) -> None:
    """Keep ansible-test's results in tests/output/ansible-test/COMMAND after the copy is removed."""
    output = copy / 'tests' / 'output'
    kept = REPO_ROOT / 'tests' / 'output' / 'ansible-test' / command
    shutil.rmtree(kept, ignore_errors=True)
    if output.is_dir():
        shutil.copytree(output, kept, symlinks=True, ignore=shutil.ignore_patterns('.tmp'))


def main() -> int:
    """Copy the collection, prepare the pip stand-in and run the requested ansible-test command."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('command', choices=['sanity', 'units'])
    parser.add_argument('ansible_test_args', nargs=argparse.REMAINDER)
    options = parser.parse_args()

    if options.command == 'units':
        if not has_unit_tests():
            print('units: tests/unit holds no test file yet; ansible-test units not run')
            return 0
        pythons, missing = unit_test_pythons()
        if missing:
            print(f'units: Pythons {", ".join(missing)} are not installed here; units run on {", ".join(pythons)}')
    else:
        pythons = [CONTROLLER_PYTHON]

    write_pip_stand_in(pythons)
    available = interpreter_dirs()
    environment = ansible_test_environment([available[v] for v in pythons if v in available])

    with tempfile.TemporaryDirectory(prefix='lns-ansible-test-') as temporary:
        copy = copy_collection(pathlib.Path(temporary))
        status = 0
        for python in pythons:
            arguments = [options.command, '--venv', '--python', python, '--color', 'no'] + options.ansible_test_args
            status = run_ansible_test(copy, arguments, environment) or status
        keep_output(copy, options.command)
    return status


if __name__ == '__main__':
    sys.exit(main())
