# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a function inside namespaces given by their files, for its result: how converge.py reads and
changes a set's live options.

The calling process joins the namespaces itself and comes back (own_namespaces.py) where it can: a fork of
the module's Python process costs more than the reading it is for (bench/RESULTS.md). Where it cannot (a
user namespace, more than one thread), a forked child joins them (child.py). Either way the caller gets
func's result as JSON carries it, or the NamespaceError it raised. Kept apart from enter.py, which runs
commands, so a module that only calls a function inside does not ship that.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.child import decode_outcome, encode_outcome, run_in_child
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPES_BY_NAME, in_enter_order
from ansible_collections.linux.namespaces.plugins.module_utils.own_namespaces import can_leave, kept


def enter_files(files: Mapping[str, str]) -> None:
    """Join the namespaces behind files ({type: nsfs path}) in an order that works.

    Every file is opened before the first setns: joining the mount namespace changes what paths mean.
    For pid and time the caller's children are the ones inside: fork afterwards.
    """
    fds = {}
    try:
        for name in in_enter_order(files):
            fds[name] = syscalls.open_namespace(files[name])
        for name, fd in fds.items():
            syscalls.setns(fd, TYPES_BY_NAME[name].flag, target=files[name])
    finally:
        for fd in fds.values():
            os.close(fd)


def call_inside(files: Mapping[str, str], func: Callable[[], Any], what: str = "namespaces") -> Any:
    """Run func inside the namespaces behind files and return its result; the caller's own namespaces are
    unchanged afterwards."""
    def entered() -> Any:
        enter_files(files)
        return func()

    if not can_leave(files):
        return run_in_child(entered, what)
    with kept(files):
        outcome = encode_outcome(entered)[0]
    return decode_outcome(outcome, what)
