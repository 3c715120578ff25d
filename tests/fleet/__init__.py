"""SSH test hosts made of namespaces, for integration tests and benchmarks (see fleet.py)."""

from tests.fleet.fleet import Fleet, FleetError, FleetHost, next_fleet_prefix, random_prefix, run_prefix
from tests.fleet.sessions import SessionCounter

__all__ = ["Fleet", "FleetError", "FleetHost", "SessionCounter", "next_fleet_prefix", "random_prefix", "run_prefix"]
