"""A third-party subject whose tool is missing is not runnable, with the tool named: an error (the
kit's properties FAIL for it), never a skip or a pass."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[3]
if str(REPOSITORY) not in sys.path:  # ansible-test runs units from a copy of the collection
    sys.path.insert(0, str(REPOSITORY))

from conformance.probes.lib import third_party  # noqa: E402
from conformance.probes.lib.context import Run  # noqa: E402
from conformance.probes.lib.errors import ProbeError  # noqa: E402


@pytest.mark.parametrize("kind", third_party.THIRD_PARTY)
def test_missing_tool_is_an_error_naming_it(monkeypatch, kind):
    monkeypatch.setattr(third_party.shutil, "which", lambda _tool: None)
    with pytest.raises(ProbeError, match="%s is not installed on the host" % kind):
        third_party.make_subject({"kind": kind, "hostname": "lnsunit-" + kind}, ["uts"], Run("lnsunit"))
