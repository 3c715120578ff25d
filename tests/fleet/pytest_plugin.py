"""pytest fixtures for fleets of SSH test hosts.

Load with `pytest_plugins = ("tests.fleet.pytest_plugin",)` (tests/conftest.py or a test module).
`fleet_factory(count)` builds a fleet and the fixture removes every fleet it built, pass or fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.fleet.fleet import Fleet, FleetError, next_fleet_prefix


class FleetFactory:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.fleets: list[Fleet] = []

    def __call__(self, count: int, **options: Any) -> Fleet:
        fleet = Fleet(next_fleet_prefix(), count, self.workdir, **options)
        self.fleets.append(fleet)
        fleet.start()
        return fleet

    def close(self) -> None:
        failures = []
        for fleet in reversed(self.fleets):
            try:
                fleet.teardown()
            except Exception as error:  # noqa: BLE001 - every fleet gets its teardown, then all failures
                failures.append(f"{fleet.prefix}: {error!r}")
        if failures:
            raise FleetError("; ".join(failures))


@pytest.fixture
def fleet_factory(tmp_path: Path) -> Iterator[FleetFactory]:
    factory = FleetFactory(tmp_path)
    yield factory
    factory.close()
