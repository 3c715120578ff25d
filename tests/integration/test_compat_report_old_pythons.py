"""compat_report.yml over SSH fleet hosts whose Pythons differ: the kit runs on Python 3.8, 3.9 and 3.11 with no
manual step. The controller (ansible-core 2.19 on Python 3.11, pytest 9) serves 3.11 itself; for 3.8 and 3.9
the role fetches the wheels requirements/conformance-hosts.txt pins, once, into a cache, and each host imports
from the site zip of its Python. Every host reports the same checks, the SSH sessions per host do not depend
on the host's Python, the cache then serves a run without fetching, conformance_search_path still serves an
old host, and with fetching off and no search path an old host fails with a message that says what to do
while the others still report. Needs root, openssh-server (tests/fleet), the pyenv Pythons 3.8 and 3.9,
and pip on the controller reaching a package index."""

from __future__ import annotations

import json
import os
import typing
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

import tests.integration.compat_runs as single_python
from tests.fleet import Fleet, SessionCounter, next_fleet_prefix

from ansible_collections.linux.namespaces.plugins.plugin_utils import conformance_bundle

# host number -> the kit's Python there (None: the fleet's default, Debian's /usr/bin/python3, 3.11).
PYTHONS = {1: "/root/.pyenv/versions/3.8.18/bin/python3", 2: "/root/.pyenv/versions/3.9.18/bin/python3", 3: None}
MINORS = {1: "3.8", 2: "3.9", 3: "3.11"}
SUBJECTS = {"kernel", "reference", "collection"}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the conformance kit and the fleet need root")


class MixedRun(typing.NamedTuple):
    names: dict  # host number -> name
    completed: typing.Any
    report: dict
    sessions: dict
    cache: Path
    hosts_before: dict
    hosts_after: dict
    machine_after: list


def python_inventory(fleet: Fleet, path: Path) -> Path:
    """An inventory beside the fleet's that gives hosts 1 and 2 their old Python, for Ansible and the kit."""
    missing = [python for python in PYTHONS.values() if python and not os.access(python, os.X_OK)]
    assert not missing, "these interpreters are needed: %s" % missing
    lines = ["%s ansible_python_interpreter=%s conformance_python=%s" % (fleet.hosts[number - 1].name, python, python)
             for number, python in PYTHONS.items() if python]
    path.write_text("[fleet]\n" + "\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> typing.Iterator[Fleet]:
    workdir = tmp_path_factory.mktemp("oldpy")
    with Fleet(next_fleet_prefix(), len(PYTHONS), workdir) as made:
        python_inventory(made, workdir / "pythons.ini")
        yield made


def inventories(fleet: Fleet) -> list:
    return [fleet.inventory_path, fleet.root.parent / "pythons.ini"]


def run(fleet: Fleet, workdir: Path, role_prefix: str, extra_vars: dict, env: typing.Optional[dict] = None):
    """The playbook with a report directory of its own; (completed process, report or None)."""
    report_dir = workdir / "reports"
    variables = dict({"conformance_report_dir": str(report_dir), "conformance_prefix": role_prefix}, **extra_vars)
    completed = single_python.compat_report_playbook(inventories(fleet), variables, env)
    report_file = report_dir / "compat-report.json"
    return completed, json.loads(report_file.read_text()) if report_file.exists() else None


@pytest.fixture(scope="module")
def mixed(fleet, tmp_path_factory, prefix) -> MixedRun:
    workdir = tmp_path_factory.mktemp("mixed")
    cache = workdir / "cache"  # empty: the run fetches
    role_prefix = prefix + "o"
    names = dict((number, fleet.hosts[number - 1].name) for number in PYTHONS)
    before = dict((name, single_python.host_trace(fleet, name, role_prefix)) for name in names.values())
    counter = SessionCounter(workdir)
    completed, report = run(fleet, workdir, role_prefix, {"conformance_cache_dir": str(cache)},
                            counter.env(single_python.ansible_env()))
    sessions = counter.per_host(fleet.hosts)
    after = dict((name, single_python.host_trace(fleet, name, role_prefix)) for name in names.values())
    assert completed.returncode == 0, completed.stdout[-6000:]
    return MixedRun(names, completed, report, sessions, cache, before, after, single_python.machine_trace(role_prefix))


def test_every_host_reports_with_the_python_it_was_given(mixed):
    assert sorted(mixed.report["hosts"]) == sorted(mixed.names.values()) and mixed.report["missing"] == {}
    for number, name in mixed.names.items():
        host = mixed.report["hosts"][name]
        assert host["python"].rsplit(".", 1)[0] == MINORS[number], (name, host["python"])
        assert host["kit"]["caller"]["python"].startswith(PYTHONS[number] or "/usr/bin/python3")
        assert host["left_as_found"] is True


def test_each_host_imports_from_the_site_of_its_python_with_the_pinned_versions(mixed):
    pins = conformance_bundle.read_pins()
    for number, name in mixed.names.items():
        site = mixed.report["hosts"][name]["kit"]["caller"]["site"]
        assert MINORS[number] in site["pythons"], (name, site)
        if number == 3:  # served by the controller's own pytest
            assert site["zip"] == "site-3.11.zip" and site["source"].startswith("the controller's Python")
            continue
        assert site["zip"] == "site-%s.zip" % MINORS[number] and site["pythons"] == [MINORS[number]]
        shipped = dict((canonicalize_name(dist), version)
                       for dist, version in site["distributions"].items())
        assert shipped == dict((pin.name, pin.version) for pin in conformance_bundle.pins_for(pins, MINORS[number]))
    assert mixed.report["hosts"][mixed.names[1]]["kit"]["caller"]["site"]["distributions"]["pytest"].startswith("8.")


def test_the_old_python_hosts_ran_every_check_the_new_one_did(mixed, prefix):
    results = dict((number, dict(((e["id"], e["subject"]), e) for e in mixed.report["hosts"][name]["evidence"]))
                   for number, name in mixed.names.items())
    kernel_failures = {key[0] for entries in results.values() for key, e in entries.items()
                       if key[1] == "kernel" and e["result"] == "FAIL"}
    failing_here = single_python.fails_here(kernel_failures, prefix) if kernel_failures else set()
    for number, entries in results.items():
        assert sorted(entries) == sorted(results[3]), number
        assert {subject for _id, subject in entries} == SUBJECTS
        assert sum(1 for e in entries.values() if e["result"] == "PASS") > 60, number
        failed = [key for key, e in entries.items() if e["result"] == "FAIL" and key[0] not in failing_here]
        assert not failed, (number, failed)
        differing = [key for key, e in entries.items() if e["result"] != results[3][key]["result"]
                     and key[0] not in failing_here]
        assert not differing, (number, differing)


def test_ssh_sessions_per_host_do_not_depend_on_its_python(mixed):
    assert len(set(mixed.sessions.values())) == 1 and min(mixed.sessions.values()) > 0, mixed.sessions


def test_the_fetch_left_one_site_per_set_of_pins_in_the_cache(mixed):
    pins = conformance_bundle.read_pins()
    expected = sorted(conformance_bundle.cache_entry(mixed.cache, conformance_bundle.pins_for(pins, minor)).name
                      for minor in ("3.8", "3.9"))
    assert sorted(entry.name for entry in mixed.cache.iterdir()) == expected


def test_nothing_is_left_on_the_hosts_or_the_machine(mixed):
    for name in mixed.names.values():
        before, after = mixed.hosts_before[name], mixed.hosts_after[name]
        assert after["tmp"] == before["tmp"] and after["with prefix"] == [], (name, before, after)
        assert set(after["run"]) - set(before["run"]) <= {"netns"} and after["netns"] == [], (name, after)
    assert mixed.machine_after == []


def test_a_second_run_takes_the_old_pythons_sites_from_the_cache_without_fetching(mixed, fleet, tmp_path, prefix):
    listing = sorted((entry.name, entry.stat().st_mtime_ns) for entry in mixed.cache.iterdir())
    completed, report = run(fleet, tmp_path, prefix + "p", {"conformance_cache_dir": str(mixed.cache),
                                                            "conformance_fetch": False, "conformance_select": "test_S2_"})
    assert completed.returncode == 0, completed.stdout[-4000:]
    assert sorted(report["hosts"]) == sorted(mixed.names.values())
    assert report["hosts"][mixed.names[1]]["kit"]["caller"]["site"]["zip"] == "site-3.8.zip"
    assert sorted((entry.name, entry.stat().st_mtime_ns) for entry in mixed.cache.iterdir()) == listing


def test_a_search_path_serves_an_old_python_without_the_cache(mixed, fleet, tmp_path, prefix):
    """conformance_search_path as before: a directory made by pip for Python 3.8 (here the fetched one) replaces
    the controller's distributions; with fetching off and an empty cache nothing else could serve 3.8."""
    pins = conformance_bundle.pins_for(conformance_bundle.read_pins(), "3.8")
    site_dir = conformance_bundle.cache_entry(mixed.cache, pins) / "site"
    completed, report = run(fleet, tmp_path, prefix + "q", {
        "conformance_cache_dir": str(tmp_path / "empty-cache"), "conformance_fetch": False,
        "conformance_search_path": [str(site_dir)], "conformance_select": "test_S2_"})
    assert completed.returncode == 0, completed.stdout[-4000:]
    assert sorted(report["hosts"]) == sorted(mixed.names.values())
    old = report["hosts"][mixed.names[1]]
    assert old["kit"]["caller"]["site"]["source"] == "search path %s" % site_dir
    assert [(e["id"], e["result"]) for e in old["evidence"]] == [("S2", "PASS"), ("S2", "PASS")]
    assert not (tmp_path / "empty-cache").exists()


def test_with_fetching_off_and_no_search_path_an_old_host_fails_with_what_to_do(mixed, fleet, tmp_path, prefix):
    role_prefix = prefix + "r"
    old, old39, new = mixed.names[1], mixed.names[2], mixed.names[3]
    before = single_python.host_trace(fleet, old, role_prefix)
    completed, report = run(fleet, tmp_path, role_prefix, {
        "conformance_cache_dir": str(tmp_path / "empty-cache"), "conformance_fetch": False,
        "conformance_select": "test_S2_"})
    after = single_python.host_trace(fleet, old, role_prefix)
    assert completed.returncode != 0, completed.stdout[-3000:]
    assert sorted(report["hosts"]) == [new] and sorted(report["missing"]) == sorted([old, old39])
    assert [(e["id"], e["result"]) for e in report["hosts"][new]["evidence"]] == [("S2", "PASS"), ("S2", "PASS")]
    reason = report["missing"][old]
    assert reason.startswith("no result: Check that the bundle serves the kit's Python on the host: %s: " % old)
    for said in ("%s, is Python 3.8.18" % PYTHONS[1], "the bundle serves Python 3.11, 3.12, 3.13, 3.14",
                 "fetching is off and the cache %s does not hold them" % (tmp_path / "empty-cache"),
                 "give conformance_search_path a directory with pytest and pytest-testinfra for Python 3.8",
                 "allow the fetch (conformance_fetch: true)"):
        assert said in reason, (said, reason)
    assert reason.split(": ", 1)[1] in completed.stdout  # the play's output says it too
    assert after["tmp"] == before["tmp"] and after["with prefix"] == [], (before, after)
    assert not (tmp_path / "empty-cache").exists()
