"""The conformance kit's own bookkeeping: SKIP reasons name kernels, the probe package travels in one
command line without its docstrings and comments, importing it does nothing on the host,
and the JSON result's shape."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]
if str(REPOSITORY) not in sys.path:  # ansible-test runs units from a copy of the collection
    sys.path.insert(0, str(REPOSITORY))

from conformance import hostrun, kernel_features, report  # noqa: E402
from conformance.probes import main, registry  # noqa: E402

KIT = REPOSITORY / "conformance"
# The kernel's limit on one argument of a command (MAX_ARG_STRLEN): the probe travels as one.
MAX_ARG_STRLEN = 131072


def test_skip_reason_names_the_kernel_that_brings_the_feature():
    assert kernel_features.skip_reason("no time namespace", "time_ns") == \
        "no time namespace: needs time namespaces (Linux 5.6+)"


def test_probe_travels_in_one_argument():
    command = hostrun.probe_command("python3", {"prefix": "lnsk0000", "ids": sorted(registry.PROPERTIES)})
    assert max(len(word) for word in command.split()) < MAX_ARG_STRLEN
    assert len(command) < MAX_ARG_STRLEN


def test_the_probe_package_and_nothing_else_is_shipped_under_its_own_names():
    sources = hostrun.shipped_sources()
    assert set(sources) == {"conformance", "conformance.probes", "conformance.probes.lib",
                            "conformance.probes.properties"} | {
        "conformance.probes." + str(path.relative_to(KIT / "probes").with_suffix("")).replace("/", ".")
        for path in (KIT / "probes").rglob("*.py") if path.name != "__init__.py"}
    assert sources["conformance.probes"][0] and not sources["conformance.probes.main"][0]
    assert sources["conformance.probes.main"][1] == "conformance/probes/main.py"


def test_shipped_code_keeps_its_lines_and_drops_docstrings_and_comments():
    source = (KIT / "probes" / "properties" / "uts.py").read_text()
    shipped = hostrun.code_only(source)
    assert shipped.count("\n") == source.count("\n")
    assert registry.PROPERTIES["UTS2"].definition.split()[0] in source
    assert '"""' not in shipped and "# " not in shipped
    for number, (line, original) in enumerate(zip(shipped.splitlines(), source.splitlines()), 1):
        assert line.strip() in ("", '""') or original.startswith(line), "line %d changed: %r" % (number, line)
    compile(shipped, "uts.py", "exec")


def test_importing_the_probe_package_touches_nothing_on_the_host():
    check = ("import conformance.probes.main, conformance.probes.lib.syscalls as syscalls;"
             "assert syscalls.libc.cache_info().currsize == 0, 'libc was loaded at import'")
    subprocess.run([sys.executable, "-c", check], cwd=str(REPOSITORY), check=True)


def test_probe_output_is_found_between_its_marks():
    stdout = "motd noise\n%s\n{\"a\": 1}\n%s\n" % (main.BEGIN_MARK, main.END_MARK)
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
    assert result["needs"] == {"S2": ["uts_ns"], "TIME1": ["time_ns"]}
    assert result["properties"]["S2"] == registry.PROPERTIES["S2"].describe()
    assert set(result["properties"]) == {"S2", "TIME1"}
