"""The conformance kit's own bookkeeping: one test per probed property, every feature a probe names
is in the version table, the probe fits in one command line, and the JSON result's shape."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]
if str(REPOSITORY) not in sys.path:  # ansible-test runs units from a copy of the collection
    sys.path.insert(0, str(REPOSITORY))

from conformance import hostrun, kernel_features, report  # noqa: E402
from conformance.probes import lnsprobe  # noqa: E402

KIT = REPOSITORY / "conformance"
TEST_NAME = re.compile(r"^test_([A-Z]+[0-9]+)_")
# The kernel's limit on one argument of a command (MAX_ARG_STRLEN): the probe travels as one.
MAX_ARG_STRLEN = 131072


def property_tests() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(KIT.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and TEST_NAME.match(node.name):
                found.setdefault(TEST_NAME.match(node.name).group(1), []).append(node.name)
    return found


def test_each_probed_property_has_exactly_one_test():
    tests = property_tests()
    assert set(tests) == set(lnsprobe.PROBES), "probes without tests: %s; tests without probes: %s" % (
        sorted(set(lnsprobe.PROBES) - set(tests)), sorted(set(tests) - set(lnsprobe.PROBES)))
    assert all(len(names) == 1 for names in tests.values()), tests


def test_every_feature_a_probe_names_is_in_the_version_table():
    source = ast.parse(Path(lnsprobe.__file__).read_text())
    named = {node.args[1].value for node in ast.walk(source)
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Skip"
             and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)}
    named |= {feature for _flag, _option, feature in lnsprobe.NS_TYPES.values()}
    assert named and named <= set(kernel_features.FEATURES), sorted(named - set(kernel_features.FEATURES))


def test_skip_reason_names_the_kernel_that_brings_the_feature():
    assert kernel_features.skip_reason("no time namespace", "time_ns") == \
        "no time namespace: needs time namespaces (Linux 5.6+)"


def test_probe_travels_in_one_argument():
    command = hostrun.probe_command("python3", {"prefix": "lnsk0000", "ids": sorted(lnsprobe.PROBES)})
    assert max(len(word) for word in command.split()) < MAX_ARG_STRLEN
    assert len(command) < MAX_ARG_STRLEN


def test_probe_output_is_found_between_its_marks():
    stdout = "motd noise\n%s\n{\"a\": 1}\n%s\n" % (lnsprobe.BEGIN_MARK, lnsprobe.END_MARK)
    assert hostrun.parse_probe_output(stdout) == {"a": 1}
    assert hostrun.parse_probe_output("Traceback ...") is None


def test_host_result_has_the_matrix_a_report_generator_needs():
    host = report.HostReport("h1", "ssh://h1", "ssh", "lnsk0000")
    host.outcome = {"facts": {"kernel": "6.1.0-27-amd64", "distribution": {"id": "debian"}},
                    "features": {"time_ns": True}, "subjects": {"reference": {"kind": "reference"}},
                    "round_trips": {"commands": 3, "ansible_calls": 2}, "started": 0.0, "finished": 1.0}
    for prop, subject, result in (("S2", "reference", "PASS"), ("S2", "collection", "FAIL"),
                                  ("TIME1", "kernel", "SKIP")):
        host.add({"id": prop, "group": report.property_group(prop), "subject": subject, "result": result,
                  "reason": "", "test": "t", "nodeid": "n", "observed": {}, "feature": None, "notes": None,
                  "seconds": 0.1})
    result = host.as_dict()
    assert result["kernel"] == {"release": "6.1.0-27-amd64", "version": "6.1", "build": None, "machine": None}
    assert result["matrix"] == {"S2": {"reference": "PASS", "collection": "FAIL"}, "TIME1": {"kernel": "SKIP"}}
    assert result["summary"] == {"PASS": 1, "FAIL": 1, "SKIP": 1}
    assert result["features"]["time_ns"] == {"present": True, "description": "time namespaces", "first_kernel": "5.6"}
    assert [e["id"] for e in result["results"]] == ["S2", "S2", "TIME1"]
    assert result["subjects"]["reference"]["made_by"] == "util-linux unshare"
