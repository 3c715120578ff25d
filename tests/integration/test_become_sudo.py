"""The become plugin linux.namespaces.nsenter over SSH as a user who is not root, through sudo (root).

The fleet host's user `fleet.user` exists only on that host and may run anything as root with `sudo -n`
(tests/fleet). Sets are made on the host as root with the namespace module and go away with the host.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import List

import pytest

from tests.integration.adhoc import ansible_adhoc, ansible_env, ansible_program

pytest_plugins = ("tests.fleet.pytest_plugin",)


def as_user(fleet, set_name: str, sudo: bool = True) -> List[str]:
    return ["--become", "--become-method", "linux.namespaces.nsenter", "-e", "ansible_user=" + fleet.user,
            "-e", json.dumps({"ansible_nsenter_set": set_name, "ansible_nsenter_sudo": sudo})]


@pytest.mark.parametrize("pipelining", [False, True], ids=["no-pipelining", "pipelining"])
def test_a_user_who_is_not_root_runs_tasks_in_a_set_through_sudo(remote_set, pipelining: bool):
    fleet, host, name = remote_set
    inventory = str(fleet.inventory_path)
    assert fleet.run(host, "id -u " + fleet.user).stdout.strip() != "0"
    status, result = ansible_adhoc("setup", "filter=ansible_hostname", *as_user(fleet, name), inventory=inventory,
                                   pipelining=pipelining)[host.name]
    assert (status, result["ansible_facts"]["ansible_hostname"]) == ("SUCCESS", name), result
    dest = "/tmp/%s.txt" % name
    status, result = ansible_adhoc("copy", {"content": "through sudo\n", "dest": dest}, *as_user(fleet, name),
                                   inventory=inventory, pipelining=pipelining)[host.name]
    assert status == "CHANGED", result
    inside = fleet.run(host, "nsenter --mount=/run/linux-namespaces/%s/mnt stat -c %%U:%%s %s" % (name, dest))
    assert inside.stdout.strip() == "root:13"  # written by root, inside the set's /tmp
    assert fleet.run(host, "test -e " + dest, check=False).returncode == 1


def test_without_sudo_the_task_fails_with_the_reason(remote_set):
    fleet, host, name = remote_set
    status, result = ansible_adhoc("ping", "", *as_user(fleet, name, sudo=False),
                                   inventory=str(fleet.inventory_path))[host.name]
    assert status == "FAILED"
    # The entering program ran as the user, whose own store (in its runtime directory, which this host does not
    # make) holds no such set; the message says where root's sets are.
    assert result["msg"].startswith("linux.namespaces.nsenter: no store for uid "), result
    assert "the sets of root's store (/run/linux-namespaces) are made and entered as root" in result["msg"], result


def test_a_wrong_set_through_sudo_fails_with_the_reason(remote_set):
    fleet, host, name = remote_set
    status, result = ansible_adhoc("ping", "", *as_user(fleet, name + "-none"),
                                   inventory=str(fleet.inventory_path))[host.name]
    assert status == "FAILED"
    assert result["msg"].startswith(
        "linux.namespaces.nsenter: no set named '%s-none' in store /run/linux-namespaces" % name), result


PLAYBOOK = """
- name: raw, script, async, check and diff inside the set, as a user who is not root through sudo
  hosts: all
  gather_facts: false
  become: true
  become_method: linux.namespaces.nsenter
  tasks:
    - name: Raw
      ansible.builtin.raw: hostname
      register: raw_result
      changed_when: false
    - name: Script
      ansible.builtin.script: {script}
      register: script_result
      changed_when: false
    - name: Async
      ansible.builtin.command: hostname
      async: 60
      poll: 1
      register: async_result
      changed_when: false
    - name: Copy in check mode, with diff
      ansible.builtin.copy:
        content: "predicted\\n"
        dest: /tmp/checked.txt
        mode: "0644"
      check_mode: true
      diff: true
      register: checked
    - name: What check mode left
      ansible.builtin.stat:
        path: /tmp/checked.txt
      register: after_check
    - name: Every task ran inside the set, check mode predicted and wrote nothing
      ansible.builtin.assert:
        that:
          - raw_result.stdout | trim == ansible_nsenter_set
          - script_result.stdout | trim == ansible_nsenter_set
          - async_result.stdout == ansible_nsenter_set
          - checked.changed and checked.diff[0].after == "predicted\\n"
          - not after_check.stat.exists
"""


@pytest.mark.parametrize("pipelining", [False, True], ids=["no-pipelining", "pipelining"])
def test_raw_script_async_check_and_diff_run_inside_through_sudo(remote_set, tmp_path: Path, pipelining: bool):
    fleet, host, name = remote_set
    script = tmp_path / "hostname.sh"
    script.write_text("#!/bin/sh\nhostname\n")
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK.format(script=script))
    extra = {"ansible_user": fleet.user, "ansible_nsenter_set": name, "ansible_nsenter_sudo": True,
             "ansible_pipelining": pipelining, "ansible_ssh_pipelining": pipelining}
    completed = subprocess.run([ansible_program("ansible-playbook"), "-i", str(fleet.inventory_path), str(playbook),
                                "-e", json.dumps(extra)], capture_output=True, text=True, timeout=300,
                               env=dict(ansible_env(), ANSIBLE_STDOUT_CALLBACK="default"), check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "ok=6" in completed.stdout and "failed=0" in completed.stdout, completed.stdout
    assert fleet.run(host, "test -e /tmp/checked.txt", check=False).returncode == 1
