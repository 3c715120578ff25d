"""A test module may override `prefix` with a narrower scope (as test_isolate.py does): the run's
ipc_key and the session's leak check keep working, on the run's own prefix."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope='module')
def prefix(prefix: str) -> str:
    """This module's names: the run's prefix and "m"."""
    return prefix + 'm'


def test_override_extends_the_runs_prefix(prefix: str, ipc_key) -> None:
    """The override sees the run's prefix, and ipc_key still gives the run's keys."""
    run_prefix = os.environ['LNS_TEST_PREFIX']
    assert prefix == run_prefix + 'm'
    assert (ipc_key(0) >> 8) & 0xFFFF == int(run_prefix[4:], 16)
