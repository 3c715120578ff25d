# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running one module on localhost through the `ansible` ad-hoc command, as a user would.

Results come from callback_plugins/lns_result.py: the full result, diff and warnings included, which
the ad-hoc output hides. Check mode, diff mode and the target interpreter are the command's own options.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

from helpers import COLLECTIONS_PATH, REPO, ansible_environment, ansible_program

CALLBACK_DIR = Path(__file__).resolve().parent / "callback_plugins"
RESULT_MARKER = "LNS_RESULT "  # what callback_plugins/lns_result.py prints before each result


def link_collection() -> None:
    """Make the repository visible to Ansible as linux.namespaces (the repo root is the collection)."""
    link = COLLECTIONS_PATH / "ansible_collections" / "linux" / "namespaces"
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)


def adhoc_environment() -> Dict[str, str]:
    return dict(ansible_environment(), ANSIBLE_STDOUT_CALLBACK="lns_result",
                ANSIBLE_CALLBACK_PLUGINS=str(CALLBACK_DIR), ANSIBLE_LOAD_CALLBACK_PLUGINS="1")


class AdhocRun(NamedTuple):
    """One `ansible localhost -m MODULE` run: its task result as the callback printed it."""

    rc: int
    status: str  # ok, changed, failed (from the callback)
    result: Dict[str, Any]
    stdout: str
    stderr: str

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def msg(self) -> str:
        return str(self.result.get("msg", ""))

    @property
    def warnings(self) -> List[str]:
        return [str(w) for w in self.result.get("warnings") or ()]


class AnsibleRunner:
    """Runs one module on localhost; several at once with run_parallel."""

    def command(self, module: str, args: Dict[str, Any], check: bool = False, diff: bool = False,
                python: Optional[str] = None, verbose: bool = False) -> List[str]:
        cmd = [ansible_program("ansible"), "localhost", "-m", module, "-a", json.dumps(args)]
        if verbose:
            cmd.append("-vvv")
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if python:
            cmd += ["-e", "ansible_python_interpreter=%s" % python]
        return cmd

    def start(self, module: str, args: Dict[str, Any], **kwargs: Any) -> "subprocess.Popen[str]":
        return subprocess.Popen(self.command(module, args, **kwargs), env=adhoc_environment(), cwd=str(REPO),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def finish(process: "subprocess.Popen[str]") -> AdhocRun:
        stdout, stderr = process.communicate(timeout=300)
        results = [json.loads(line[len(RESULT_MARKER):]) for line in stdout.splitlines()
                   if line.startswith(RESULT_MARKER)]
        if len(results) != 1:
            raise AssertionError("expected one task result from ansible (rc %s)\nstdout:\n%s\nstderr:\n%s"
                                 % (process.returncode, stdout, stderr))
        return AdhocRun(process.returncode, results[0]["status"], results[0]["result"], stdout, stderr)

    def run(self, module: str, args: Dict[str, Any], **kwargs: Any) -> AdhocRun:
        return self.finish(self.start(module, args, **kwargs))

    def run_parallel(self, module: str, many_args: Sequence[Dict[str, Any]], **kwargs: Any) -> List[AdhocRun]:
        processes = [self.start(module, args, **kwargs) for args in many_args]
        return [self.finish(p) for p in processes]
