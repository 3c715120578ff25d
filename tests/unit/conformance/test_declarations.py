"""Each property of the kit is declared once, beside its probe: the declaration is complete, it has
exactly one test, its needs cover every feature its probe can SKIP on, and conformance/README.md lists
the declarations as they are."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]
if str(REPOSITORY) not in sys.path:  # ansible-test runs units from a copy of the collection
    sys.path.insert(0, str(REPOSITORY))

from conformance import catalogue  # noqa: E402
from conformance.kernel_features import FEATURES  # noqa: E402
from conformance.probes import registry  # noqa: E402
from conformance.probes.lib.syscalls import NS_TYPES  # noqa: E402

KIT = REPOSITORY / "conformance"
TEST_NAME = re.compile(r"^def (test_([A-Z]+[0-9]+)_\w+)\(", re.M)
# Skip("reason" [% args], "feature"): the reason may hold one level of parentheses.
SKIP_WITH_FEATURE = re.compile(r'\bSkip\((?:[^()]|\([^()]*\))*?,\s*"([a-z0-9_]+)"\s*\)', re.S)
# subject.path("uts") and the like SKIP with the type's feature when the kernel lacks the type.
SUBJECT_FILE = re.compile(r'\.(?:path|private|ns_id|open)\("([a-z]+)"\)')


def property_tests() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(KIT.glob("test_*.py")):
        for name, prop_id in TEST_NAME.findall(path.read_text()):
            found.setdefault(prop_id, []).append(name)
    return found


def features_a_probe_can_skip_on(probe) -> set[str]:
    source = inspect.getsource(probe)
    return set(SKIP_WITH_FEATURE.findall(source)) | {
        NS_TYPES[nstype][2] for nstype in SUBJECT_FILE.findall(source) if nstype in NS_TYPES}


def test_each_declared_property_has_exactly_one_test_and_each_test_a_property():
    tests = property_tests()
    declared = set(registry.PROPERTIES)
    assert set(tests) == declared, "declared without a test: %s; tests of no declared property: %s" % (
        sorted(declared - set(tests)), sorted(set(tests) - declared))
    assert all(len(names) == 1 for names in tests.values()), tests


def test_each_property_is_declared_once_in_the_module_of_its_group():
    declarations = [(group, value.declared) for group, module in registry.GROUPS
                    for value in vars(module).values() if hasattr(value, "declared")]
    assert len(declarations) == len(registry.PROPERTIES) == 67
    misplaced = [declared.id for group, declared in declarations if re.sub(r"[0-9]+$", "", declared.id) != group]
    assert not misplaced, misplaced


def test_every_declaration_has_a_title_a_definition_and_known_needs():
    for declared in registry.PROPERTIES.values():
        assert declared.title and len(declared.title) <= 80, declared.id
        assert len(declared.definition) >= 100 and declared.definition.endswith("."), declared.id
        assert "fail" in declared.definition, "%s: the definition says nothing of what fails it" % declared.id
        assert declared.needs and set(declared.needs) <= set(FEATURES), (declared.id, declared.needs)
        assert declared.describe() == {"title": declared.title, "definition": declared.definition,
                                       "needs": list(declared.needs), "setup": declared.setup}


def test_every_feature_a_probe_can_skip_on_is_in_its_needs():
    found = dict((prop_id, features_a_probe_can_skip_on(declared.probe))
                 for prop_id, declared in registry.PROPERTIES.items())
    assert found["G5"] >= {"pidfd_open", "setns_pidfd"} and "uts_ns" in found["S2"]  # both kinds are seen
    missing = dict((prop_id, sorted(keys - set(registry.PROPERTIES[prop_id].needs)))
                   for prop_id, keys in found.items() if keys - set(registry.PROPERTIES[prop_id].needs))
    assert not missing, missing


def test_every_feature_of_the_namespace_types_is_in_the_version_table():
    assert {feature for _flag, _option, feature in NS_TYPES.values()} <= set(FEATURES)


def test_readme_lists_the_properties_as_declared():
    readme = (KIT / "README.md").read_text()
    assert catalogue.readme_with_table(readme) == readme, \
        "conformance/README.md is out of step: run python3 -m conformance.catalogue --update-readme"
    for declared in registry.PROPERTIES.values():
        assert "| %s | %s |" % (declared.id, declared.title) in readme
