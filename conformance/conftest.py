"""pytest plugin of the conformance kit.

Tests are named after the property they check (`test_PID8_...`) and take the `observed` fixture: the
facts the probe gathered for that property on one host (testinfra's `host`) and one subject. Whether a
property is checked on the subjects (reference, collection) or on the kernel alone is the probe
declaration's `setup` flag (conformance/probes/registry.py). All hosts are probed once, in parallel, at the first test; tests then judge.
"""

import os
import re
import secrets
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from conformance.collection import CollectionsPath
from conformance.hostrun import HostRun
from conformance.kernel_features import skip_reason
from conformance.probes.lib.mutants import BROKEN
from conformance.probes.lib.third_party import THIRD_PARTY
from conformance.probes.registry import PROPERTIES
from conformance.report import HostReport, property_group

PROPERTY_TEST = re.compile(r"^test_([A-Z]+[0-9]+)_")
SUBJECTS = ("reference", "collection") + THIRD_PARTY + tuple(BROKEN)
KIT = pytest.StashKey["Kit"]()
OBSERVED = pytest.StashKey[Dict]()
NOTES = pytest.StashKey[Dict]()


def property_id(test_name: str) -> Optional[str]:
    found = PROPERTY_TEST.match(test_name)
    return found.group(1) if found else None


def testinfra_host(item):
    """The testinfra host an item runs on (None if it is not parametrized with one)."""
    host = item.callspec.params.get("_testinfra_host") if hasattr(item, "callspec") else None
    return host if hasattr(host, "backend") else None


def host_python(host) -> str:
    """The Python that runs the probe on host when --lns-python is not given."""
    if host.backend.NAME == "local":
        return sys.executable
    if host.backend.NAME == "ansible":
        configured = host.backend.get_variables().get("ansible_python_interpreter", "")
        if configured and not configured.startswith("auto"):
            return configured
    return "python3"


def host_key(host) -> str:
    return host.backend.get_pytest_id()


def pytest_addoption(parser):
    group = parser.getgroup("lns", "linux.namespaces conformance kit")
    group.addoption("--lns-subjects", "--lns-subject", dest="lns_subject", default="reference,collection",
                    help="comma-separated subjects checked beside the kernel: reference (util-linux unshare), "
                         "collection (the namespace module), bwrap (bubblewrap), runc (an OCI runtime), "
                         "nspawn (systemd-nspawn), and "
                         "the test-only broken subjects of "
                         "conformance/probes/lib/mutants.py (%s). Default: reference,collection"
                         % ", ".join(BROKEN))
    group.addoption("--lns-report-dir", default=None, help="write one JSON result per host to DIR/<host>.json")
    group.addoption("--lns-python", default=None,
                    help="Python 3.8+ on the hosts that runs the probe (default: the controller's Python on "
                         "local://, the inventory's ansible_python_interpreter on ansible://, else python3)")
    group.addoption("--lns-parallel", type=int, default=8, help="hosts probed at the same time (default: 8)")
    group.addoption("--lns-collection-set", default=None, metavar="NAME",
                    help="the collection subject is this existing set, made by the caller with the module "
                         "arguments `python3 -m conformance.given_set args` prints, and removed by the caller "
                         "after the run (needs --lns-collection-store; the kit then calls no ansible)")
    group.addoption("--lns-collection-store", default=None, metavar="PATH",
                    help="the store of --lns-collection-set")


class Kit:
    """The run: prefix, subjects, which properties were collected, and each host's outcome."""

    def __init__(self, config):
        self.config = config
        self.prefix = os.environ.get("LNS_TEST_PREFIX") or "lnsk%s" % secrets.token_hex(2)
        self.subjects: List[str] = [s.strip() for s in config.getoption("lns_subject").split(",") if s.strip()]
        unknown = sorted(set(self.subjects) - set(SUBJECTS))
        if unknown:
            raise pytest.UsageError("--lns-subjects: unknown %s (choose from %s)" % (unknown, ", ".join(SUBJECTS)))
        given = (config.getoption("lns_collection_set"), config.getoption("lns_collection_store"))
        if any(given) and not all(given):
            raise pytest.UsageError("--lns-collection-set and --lns-collection-store go together")
        self.given_set: Optional[Tuple[str, str]] = given if all(given) else None
        self.ids: List[str] = []
        self.hosts: Dict[str, object] = {}
        self.runs: Dict[str, HostRun] = {}
        self.reports: Dict[str, HostReport] = {}
        self.lock = threading.Lock()

    def subjects_for(self, prop_id: str) -> List[str]:
        return list(self.subjects) if PROPERTIES[prop_id].setup else ["kernel"]

    def run_all_hosts(self) -> None:
        """Probe every collected host once (in parallel); later calls return at once."""
        with self.lock:
            if self.runs:
                return
            collections_path = CollectionsPath() if "collection" in self.subjects and not self.given_set else None
            try:
                for key, host in self.hosts.items():
                    python = self.config.getoption("lns_python") or host_python(host)
                    self.runs[key] = HostRun(host, self.prefix, self.subjects, self.ids, python,
                                             collections_path.value if collections_path else None, self.given_set)
                workers = max(1, min(self.config.getoption("lns_parallel"), len(self.runs)))
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    for run, error in zip(self.runs.values(), pool.map(_execute, self.runs.values())):
                        if error:
                            run.outcome = {"error": error}
            finally:
                if collections_path:
                    collections_path.close()
            for key, run in self.runs.items():
                backend = run.host.backend
                report = HostReport(backend.get_hostname(), key, backend.NAME, self.prefix)
                report.outcome = run.outcome
                self.reports[key] = report

    def outcome(self, host) -> Dict:
        self.run_all_hosts()
        return self.runs[host_key(host)].outcome


def _execute(run: HostRun) -> Optional[str]:
    try:
        run.execute()
    except Exception as exc:  # a host that cannot be reached fails its own tests, not the others'
        return "the kit could not run on %s: %s: %s" % (host_key(run.host), type(exc).__name__, exc)
    return None


def pytest_configure(config):
    if config.getoption("lns_subject", None) is not None:
        config.stash[KIT] = Kit(config)


def pytest_generate_tests(metafunc):
    if "subject" in metafunc.fixturenames:
        prop_id = property_id(metafunc.function.__name__)
        if prop_id not in PROPERTIES:
            raise pytest.UsageError("%s names no property with a probe" % metafunc.function.__name__)
        metafunc.parametrize("subject", metafunc.config.stash[KIT].subjects_for(prop_id))


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: probe only what will be judged
def pytest_collection_modifyitems(session, config, items):
    kit = config.stash[KIT]
    kit.ids = sorted({property_id(item.originalname) for item in items} - {None})
    for item in items:
        host = testinfra_host(item)
        if host is not None:
            kit.hosts.setdefault(host_key(host), host)
        prop_id = property_id(item.originalname)
        if prop_id:
            item.user_properties.append(("property", prop_id))
            item.user_properties.append(("subject", item.callspec.params.get("subject")))


@pytest.fixture
def host_outcome(request, host) -> Dict:
    """Everything the kit learned on this host (facts, features, results, cleanup)."""
    outcome = request.config.stash[KIT].outcome(host)
    if "error" in outcome:
        pytest.fail(outcome["error"], pytrace=False)
    return outcome


@pytest.fixture
def observed(request, host_outcome, subject) -> Dict:
    """The probe's facts for this test's property on this host and subject; SKIP/FAIL as reported."""
    prop_id = property_id(request.node.originalname)
    entry = host_outcome["results"].get(subject, {}).get(prop_id)
    if entry is None:
        pytest.fail("the probe reported nothing for %s on the %s subject" % (prop_id, subject), pytrace=False)
    request.node.stash[OBSERVED] = entry
    if "skip" in entry:
        feature = entry.get("feature")
        pytest.skip(skip_reason(entry["skip"], feature) if feature else entry["skip"])
    if "error" in entry:
        return Unobserved(entry["error"])
    return entry["observed"]


class Unobserved(dict):
    """What a test gets when the observation failed: its first look FAILs the test with the reason
    (a failure of the property's check, not an error of the test's setup)."""

    def __init__(self, error: str):
        dict.__init__(self)
        self.error = error

    def __getitem__(self, key):
        pytest.fail("not observed: %s" % self.error, pytrace=False)

    get = __getitem__


@pytest.fixture
def notes(request) -> Dict:
    """Extra values a test adds to its JSON result (e.g. documented versions beside observed ones)."""
    return request.node.stash.setdefault(NOTES, {})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if KIT not in item.config.stash:
        return
    failed_setup = report.when == "setup" and not report.passed
    if report.when != "call" and not failed_setup:
        return
    host = testinfra_host(item)
    if host is None:
        return
    kit = item.config.stash[KIT]
    kit.run_all_hosts()
    prop_id = property_id(item.originalname)
    entry = item.stash.get(OBSERVED, {})
    result = "PASS" if report.passed else "SKIP" if report.skipped else "FAIL"
    kit.reports[host_key(host)].add({
        "id": prop_id,
        "group": property_group(prop_id) if prop_id else None,
        "subject": item.callspec.params.get("subject"),
        "test": item.originalname,
        "nodeid": item.nodeid,
        "result": result,
        "reason": _reason(report),
        "observed": entry.get("observed"),
        "feature": entry.get("feature"),
        "notes": item.stash.get(NOTES, None),
        "seconds": entry.get("seconds"),
    })


def _reason(report) -> str:
    if report.passed:
        return ""
    if report.skipped and isinstance(report.longrepr, tuple):
        return report.longrepr[2].replace("Skipped: ", "", 1)
    crash = getattr(report.longrepr, "reprcrash", None)
    return crash.message if crash is not None else str(report.longrepr)


def pytest_sessionfinish(session):
    kit = session.config.stash.get(KIT, None)
    directory = session.config.getoption("lns_report_dir", None)
    if kit is None or not directory:
        return
    for report in kit.reports.values():
        report.write(Path(directory))


def pytest_terminal_summary(terminalreporter, config):
    kit = config.stash.get(KIT, None)
    if kit is None or not kit.runs:
        return
    terminalreporter.section("linux.namespaces conformance")
    for key, run in sorted(kit.runs.items()):
        outcome = run.outcome
        facts = outcome.get("facts", {})
        trips = outcome.get("round_trips") or {}
        terminalreporter.write_line("%s: kernel %s, %s; %s commands + %s ansible calls; prefix %s" % (
            key, facts.get("kernel"), (facts.get("distribution") or {}).get("pretty_name"),
            trips.get("commands"), trips.get("ansible_calls"), kit.prefix))
        counts: Dict[str, Dict[str, int]] = {}
        for entry in kit.reports[key].results:
            counts.setdefault(entry["subject"], {"PASS": 0, "FAIL": 0, "SKIP": 0})[entry["result"]] += 1
        for subject, count in sorted(counts.items()):
            terminalreporter.write_line("  %-11s PASS %3d  FAIL %3d  SKIP %3d" % (
                subject, count["PASS"], count["FAIL"], count["SKIP"]))
