# -*- coding: utf-8 -*-
"""Integration fixtures: namespace_info run as a module, and the set on a fleet host that the become tests
enter. The run's prefix, the collection on sys.path and the leak check come from tests/conftest.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Callable, Dict

import pytest

from namespace_sets import ModuleRunner
from tests.integration.adhoc import ansible_adhoc


def run_module(module: str, args: Dict[str, Any], interpreter: str = sys.executable,
               check_mode: bool = False) -> Dict[str, Any]:
    """Run a module of the collection through `ansible` on localhost and return its result."""
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_NOCOLOR="1")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-m",
               "linux.namespaces." + module, "-a", json.dumps(args), "-e",
               "ansible_python_interpreter=" + interpreter] + (["--check"] if check_mode else [])
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # failures are results
    result = json.loads(done.stdout.partition(" => ")[2])
    result["rc"] = done.returncode
    return result


@pytest.fixture(scope="session")
def ansible(run_ansible_module, run_ansible_modules) -> ModuleRunner:
    """The namespace module, run through Ansible on localhost (tests/integration/namespace_sets.py)."""
    return ModuleRunner(run_ansible_module, run_ansible_modules)


@pytest.fixture(scope="session")
def namespace_info() -> Callable[..., Dict[str, Any]]:
    """namespace_info(args, interpreter=..., check_mode=False) -> the module's result."""
    return lambda args, **kwargs: run_module("namespace_info", args, **kwargs)


@pytest.fixture
def remote_set(fleet_factory, prefix: str):
    """(fleet, host, name): a one-host fleet with a set `name` (own hostname and /tmp) on the host.

    fleet_factory comes from tests.fleet.pytest_plugin, which the test modules using this load.
    """
    fleet = fleet_factory(1)
    host = fleet.hosts[0]
    name = prefix + "-sudo"
    results = ansible_adhoc("linux.namespaces.namespace", {"name": name, "hostname": name, "mount_proc": True},
                            inventory=str(fleet.inventory_path))
    assert results[host.name][0] == "CHANGED", json.dumps(results)
    fleet.run(host, "nsenter --mount=/run/linux-namespaces/%s/mnt mount -t tmpfs %s-tmp /tmp" % (name, name))
    return fleet, host, name
