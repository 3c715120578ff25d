"""The kit run by a caller that makes the collection's set itself (the conformance role): the set's
module arguments come from the kit, the kit's prefix stays out of the set's names, and the table of
features per property covers what the probes can SKIP on."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]
if str(REPOSITORY) not in sys.path:  # ansible-test runs units from a copy of the collection
    sys.path.insert(0, str(REPOSITORY))

from conformance import given_set, report  # noqa: E402
from conformance.collection import CollectionSet, GivenCollectionSet  # noqa: E402
from conformance.kernel_features import FEATURES  # noqa: E402
from conformance.probes import lnsprobe  # noqa: E402
from conformance.property_features import PROPERTY_FEATURES  # noqa: E402

SUBJECT_ACCESSORS = {"path", "private", "ns_id", "open"}


def features_named_by_each_probe() -> dict[str, set[str]]:
    """Per property: the features its probe function SKIPs on by name, and the namespace types whose
    subject file it asks for (a missing type SKIPs with that type's feature)."""
    named: dict[str, set[str]] = {}
    for node in ast.parse(Path(lnsprobe.__file__).read_text()).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        ids = [d.args[0].value for d in node.decorator_list
               if isinstance(d, ast.Call) and getattr(d.func, "id", None) == "probe"]
        if not ids:
            continue
        found = named.setdefault(ids[0], set())
        for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
            literal = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            feature = call.args[1] if len(call.args) > 1 else None
            if getattr(call.func, "id", None) == "Skip" and isinstance(feature, ast.Constant):
                found.add(feature.value)
            if getattr(call.func, "attr", None) in SUBJECT_ACCESSORS and literal and literal[0] in lnsprobe.NS_TYPES:
                found.add(lnsprobe.NS_TYPES[literal[0]][2])
    return named


def test_every_property_has_its_features_and_they_are_known():
    assert set(PROPERTY_FEATURES) == set(lnsprobe.PROBES)
    unknown = {key for keys in PROPERTY_FEATURES.values() for key in keys} - set(FEATURES)
    assert not unknown, unknown


def test_every_feature_a_probe_names_is_listed_for_its_property():
    named = features_named_by_each_probe()
    assert named["G5"] >= {"pidfd_open", "setns_pidfd"} and "uts_ns" in named["S2"]  # the scan sees both kinds
    missing = {prop_id: sorted(keys - set(PROPERTY_FEATURES[prop_id])) for prop_id, keys in named.items()
               if keys - set(PROPERTY_FEATURES[prop_id])}
    assert not missing, missing


def test_host_result_names_the_features_of_each_reported_property():
    host = report.HostReport("h1", "local://", "local", "lnsk0000")
    host.outcome = {"facts": {"kernel": "6.18.44"}}
    host.add({"id": "G5", "group": "G", "subject": "kernel", "result": "PASS", "reason": "", "test": "t",
              "nodeid": "n", "observed": {}, "feature": None, "notes": None, "seconds": 0.1})
    assert host.as_dict()["needs"] == {"G5": ["pidfd_open", "setns_pidfd"]}


def test_set_arguments_are_the_kits_own_and_the_kit_prefix_is_not_in_the_set_names():
    arguments = given_set.set_arguments("lnst0a0b")
    module_args = arguments["module_args"]
    types = [t for t in lnsprobe.SUBJECT_TYPES if t in lnsprobe.supported_types()]
    assert module_args == CollectionSet(None, "", "", "lnst0a0b", types, lnsprobe.TIME_OFFSET).module_args()
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
