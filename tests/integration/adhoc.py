"""Running one module ad hoc through `ansible` and reading each host's result: what the nsenter and become
tests share (test_nsenter.py, test_become_sudo.py, test_become_targets.py), with the sets they enter on a
fleet host (the `remote_set` fixture in conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
COLLECTIONS = REPOSITORY / ".ansible" / "collections"
INTERPRETERS = {
    "3.8": "/root/.pyenv/versions/3.8.18/bin/python3",
    "3.11": "/root/.pyenv/versions/3.11.7/bin/python3",
    "3.13": "/root/.pyenv/versions/3.13.0/bin/python3",
}
CONTROLLER_PYTHON = INTERPRETERS["3.11"]


def ansible_program(name: str) -> str:
    program = Path(sys.executable).with_name(name)
    if not program.exists():
        pytest.fail("%s not found next to %s: run the tests with the venv's python" % (name, sys.executable))
    return str(program)


def ansible_env() -> Dict[str, str]:
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_STDOUT_CALLBACK="minimal",
                ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
                ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_HOST_KEY_CHECKING="false")


def ansible_adhoc(module: str, args: object, *options: str, inventory: Optional[str] = None,
                  python: str = CONTROLLER_PYTHON, pipelining: bool = False) -> Dict[str, Tuple[str, dict]]:
    """Run one module ad hoc; per host (status, result) from the minimal callback."""
    # As extra vars, pipelining beats what an inventory says (the fleet's turns it on).
    argv = [ansible_program("ansible"), "all" if inventory else "localhost", "-m", module,
            "-a", args if isinstance(args, str) else json.dumps(args), *options,
            "-e", json.dumps({"ansible_pipelining": pipelining, "ansible_ssh_pipelining": pipelining})]
    if inventory:
        argv += ["-i", inventory]
    else:
        argv += ["-c", "local", "-e", "ansible_python_interpreter=" + python]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=ansible_env(), check=False)
    results = {}
    decoder = json.JSONDecoder()
    for header in re.finditer(r"^(\S+) \| (\w+)!?( => |$)", completed.stdout, re.MULTILINE):
        # minimal prints a skipped host without its result
        result = decoder.raw_decode(completed.stdout, header.end())[0] if header.group(3) else {}
        results[header.group(1)] = (header.group(2), result)
    assert results, "no result from ansible (rc %d): %s%s" % (completed.returncode, completed.stdout, completed.stderr)
    return results
