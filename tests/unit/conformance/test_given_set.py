"""The kit run by a caller that makes the collection's set itself (the conformance role): the set's
module arguments come from the kit, and the kit's prefix stays out of the set's names."""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]
if str(REPOSITORY) not in sys.path:  # ansible-test runs units from a copy of the collection
    sys.path.insert(0, str(REPOSITORY))

from conformance import given_set  # noqa: E402
from conformance.collection import CollectionSet, GivenCollectionSet  # noqa: E402
from conformance.probes.lib.subjects import SUBJECT_TYPES, TIME_OFFSET, supported_types  # noqa: E402


def test_set_arguments_are_the_kits_own_and_the_kit_prefix_is_not_in_the_set_names():
    arguments = given_set.set_arguments("lnst0a0b")
    module_args = arguments["module_args"]
    types = [t for t in SUBJECT_TYPES if t in supported_types()]
    assert module_args == CollectionSet(None, "", "", "lnst0a0b", types, TIME_OFFSET).module_args()
    assert module_args["state"] == "present" and module_args["hostname"] == module_args["name"]
    kit_prefix = arguments["kit_prefix"]
    assert kit_prefix.startswith("lnst0a0b")
    assert kit_prefix not in module_args["name"] and kit_prefix not in module_args["store"]
    # The holder's comm is "nsh:" + the first 11 characters of the set name (DESIGN.md).
    assert not ("nsh:" + module_args["name"])[:15].startswith(("nsh:" + kit_prefix)[:15])


def test_a_given_set_is_observed_but_never_made_or_removed_by_the_kit():
    given = GivenCollectionSet("lnst0a0b-col", "/run/lnst0a0b-store")
    assert given.create() == {} and given.remove() == {} and given.calls == 0
    assert not given.made_by_kit
    assert given.spec() == {"kind": "collection", "store": "/run/lnst0a0b-store", "name": "lnst0a0b-col",
                            "hostname": "lnst0a0b-col"}
