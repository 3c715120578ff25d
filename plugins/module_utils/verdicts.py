# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A probe's answer: {"status": "pass" | "fail" | "unknown", "reason": "..."}; "unknown" means the probe
could not tell (denied, or no privilege), never a silent pass. Every probe runs in a forked child
(child.run_in_child), so the caller's namespaces and credentials never change.
"""

from __future__ import annotations

import errno
from typing import Any, Callable, Dict, Optional, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils.child import run_in_child
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError

PASS = "pass"
FAIL = "fail"
UNKNOWN = "unknown"

Verdict = Dict[str, Any]
Facts = Dict[str, Any]


def verdict(status: str, reason: str, **details: Any) -> Verdict:
    result: Verdict = {"status": status, "reason": reason}
    result.update(details)
    return result


def errno_name(err: Optional[int]) -> Optional[str]:
    return errno.errorcode.get(err) if err else None


def run_probe(func: Callable[[], Verdict], fail_errnos: Tuple[int, ...] = (errno.ENOSYS,)) -> Verdict:
    """Run a probe in a forked child. Its error becomes 'fail' when the errno says the thing cannot be had
    here (fail_errnos: the kernel lacks or refuses it), 'unknown' otherwise (denied, or the probe broke)."""
    try:
        return run_in_child(func, "probe")
    except NamespaceError as exc:
        status = FAIL if exc.errno in fail_errnos else UNKNOWN
        return verdict(status, str(exc), errno=errno_name(exc.errno))
