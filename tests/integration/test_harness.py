"""The fixtures of tests/conftest.py that run Ansible, and the collection's visibility to Ansible."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_prefix_is_fresh_and_exported(prefix: str) -> None:
    """The run's prefix is "lnst" + 4 hex digits, and subprocesses find it in LNS_TEST_PREFIX."""
    assert re.fullmatch(r'lnst[0-9a-f]{4}', prefix)
    assert os.environ['LNS_TEST_PREFIX'] == prefix


def test_collection_is_visible_to_ansible() -> None:
    """ansible-galaxy finds linux.namespaces at this repository (what `make collection` sets up)."""
    galaxy = pathlib.Path(sys.executable).parent / 'ansible-galaxy'
    listing = subprocess.run([str(galaxy), 'collection', 'list', 'linux.namespaces', '--format', 'json'],
                             check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    paths = [pathlib.Path(root) / 'linux' / 'namespaces' for root, found in json.loads(listing).items()
             if 'linux.namespaces' in found]
    assert [path.resolve() for path in paths] == [REPO_ROOT]


def test_module_result_is_returned(run_ansible_module, prefix: str) -> None:
    """run_ansible_module returns the module's own result."""
    result = run_ansible_module('ansible.builtin.ping', {'data': prefix})
    assert result['ping'] == prefix
    assert not result.get('failed')


def test_check_and_diff_reach_the_module(run_ansible_module, tmp_path: pathlib.Path, prefix: str) -> None:
    """check=True changes nothing yet predicts the change; diff=True returns the diff."""
    target = tmp_path / 'file'
    target.write_text('first\n')
    result = run_ansible_module('ansible.builtin.lineinfile', {'path': str(target), 'line': prefix},
                                check=True, diff=True)
    assert result['changed'] is True
    assert result['diff'][0]['after'] == 'first\n%s\n' % prefix
    assert target.read_text() == 'first\n'


def test_module_failure_is_returned(run_ansible_module, tmp_path: pathlib.Path) -> None:
    """A failing module gives its failed result and message, not an exception."""
    result = run_ansible_module('ansible.builtin.file', {'path': str(tmp_path / 'missing'), 'state': 'file'})
    assert result['failed'] is True
    assert 'is absent' in result['msg']


def test_playbook_gets_extra_vars(run_playbook, tmp_path: pathlib.Path, prefix: str) -> None:
    """run_playbook passes extra vars and returns the JSON report on the implicit localhost."""
    playbook = tmp_path / 'play.yml'
    playbook.write_text('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                        '    - ansible.builtin.debug:\n        msg: "{{ word }}"\n')
    run = run_playbook(playbook, {'word': prefix})
    assert run.returncode == 0, run.stderr
    assert run.output['plays'][0]['tasks'][0]['hosts']['localhost']['msg'] == prefix
    assert run.output['stats']['localhost']['ok'] == 1


def test_playbook_uses_given_inventory(run_playbook, tmp_path: pathlib.Path, prefix: str) -> None:
    """run_playbook runs on the hosts of the inventory it is given."""
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('%s ansible_connection=local ansible_python_interpreter=%s\n' % (prefix, sys.executable))
    playbook = tmp_path / 'play.yml'
    playbook.write_text('- hosts: all\n  gather_facts: false\n  tasks:\n'
                        '    - ansible.builtin.debug:\n        var: inventory_hostname\n')
    run = run_playbook(playbook, {}, inventory=inventory)
    assert run.returncode == 0, run.stderr
    assert list(run.output['stats']) == [prefix]
