"""The sysv_queue module: queues checked with ipcs, never with the module's own code. Needs root only for nsenter."""

from __future__ import annotations

import pytest

from tests.integration.helpers import queue_keys, remove_queue, run_module


@pytest.fixture
def key(ipc_key):
    number = ipc_key(30)
    remove_queue(number)
    yield number
    remove_queue(number)


def test_check_mode_makes_nothing(key):
    checked = run_module("sysv_queue", {"key": "0x%08x" % key}, check=True, diff=True)
    assert checked.changed and not checked.failed
    assert checked.result["diff"] == {"before": {"key": "0x%08x" % key, "present": False},
                                      "after": {"key": "0x%08x" % key, "present": True}}
    assert key not in queue_keys()


def test_present_makes_the_queue_once(key):
    made = run_module("sysv_queue", {"key": str(key)})
    assert made.changed and made.result["key"] == "0x%08x" % key
    assert key in queue_keys()
    again = run_module("sysv_queue", {"key": "0x%08x" % key})
    assert not again.changed and again.result["id"] == made.result["id"]


def test_absent_removes_it_once(key):
    run_module("sysv_queue", {"key": "0x%08x" % key})
    checked = run_module("sysv_queue", {"key": "0x%08x" % key, "state": "absent"}, check=True)
    assert checked.changed and key in queue_keys()
    removed = run_module("sysv_queue", {"key": "0x%08x" % key, "state": "absent"})
    assert removed.changed and removed.result["id"] is None
    assert key not in queue_keys()
    assert not run_module("sysv_queue", {"key": "0x%08x" % key, "state": "absent"}).changed


@pytest.mark.parametrize("bad_key, message", [
    ("0", "0 is IPC_PRIVATE"),
    ("0x1ffffffff", "32-bit"),
    ("queue", "is not a number"),
])
def test_bad_key_fails(bad_key, message):
    refused = run_module("sysv_queue", {"key": bad_key})
    assert refused.failed and message in refused.result["msg"]


def test_bad_mode_fails(key):
    refused = run_module("sysv_queue", {"key": "0x%08x" % key, "mode": "0999"})
    assert refused.failed and "octal" in refused.result["msg"]
    assert key not in queue_keys()
