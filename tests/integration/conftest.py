# -*- coding: utf-8 -*-
"""Integration fixtures: the run's prefix, the collection on sys.path, and a leak check for the prefix."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from typing import Any, Callable, Dict, Iterator, List

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, ".ansible", "collections")
sys.path.insert(0, COLLECTIONS)

PREFIX = os.environ.setdefault("LNS_TEST_PREFIX", "lnst" + secrets.token_hex(2))


def leftovers(prefix: str) -> List[str]:
    """What the machine still shows of the run, observed with util-linux and procps."""
    def lines(command: List[str]) -> List[str]:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.splitlines()

    found = ["mount " + m for m in lines(["findmnt", "-rn", "-o", "TARGET"]) if prefix in m]
    found += ["/run/" + e for e in os.listdir("/run") if e.startswith(prefix)]
    if os.path.isdir("/run/netns"):
        found += ["/run/netns/" + e for e in os.listdir("/run/netns") if e.startswith(prefix)]
    # Holders are named nsh:SET; other test processes carry the prefix in their command line.
    found += ["process " + p for p in lines(["pgrep", "-a", "^nsh:" + prefix]) + lines(["pgrep", "-af", prefix])]
    return found


@pytest.fixture(scope="session")
def prefix() -> str:
    return PREFIX


@pytest.fixture(scope="session", autouse=True)
def no_leaks_after_session() -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.skip("integration tests run as root")
    hostname = socket.gethostname()
    yield
    assert socket.gethostname() == hostname, "the host's hostname changed"
    assert leftovers(PREFIX) == [], "the run left things behind"


def run_module(module: str, args: Dict[str, Any], interpreter: str = sys.executable,
               check_mode: bool = False) -> Dict[str, Any]:
    """Run a module of the collection through `ansible` on localhost and return its result."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCALHOST_WARNING="0",
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
