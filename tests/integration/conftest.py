# -*- coding: utf-8 -*-
"""Integration fixtures of namespace_info's tests. The run's prefix, the collection on sys.path and the
leak check come from tests/conftest.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Callable, Dict

import pytest


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
def namespace_info() -> Callable[..., Dict[str, Any]]:
    """namespace_info(args, interpreter=..., check_mode=False) -> the module's result."""
    return lambda args, **kwargs: run_module("namespace_info", args, **kwargs)
