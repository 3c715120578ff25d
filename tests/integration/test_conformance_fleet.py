"""The conformance kit on SSH hosts: three fleet hosts through an Ansible inventory, and one by
ssh://. Every subject property passes or SKIPs with a reason; the kernel column agrees with the kit
run on this machine itself (a fleet host shares its kernel: what fails here fails there, what passes
here does not fail there); round trips per host are constant; every host is left as found.
Needs root and openssh-server (tests/fleet)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ("tests.fleet.pytest_plugin",)

REPOSITORY = Path(__file__).resolve().parents[2]
# Per host: first look, probe, leak check; the namespace module makes and removes its set.
ROUND_TRIPS = {"commands": 3, "ansible_calls": 2}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the conformance kit and the fleet need root")


def run_kit(report_dir: Path, *target: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pytest", str(REPOSITORY / "conformance"), *target,
            "--lns-report-dir", str(report_dir), "-p", "no:cacheprovider", "-q"]
    # testinfra's ansible:// backend calls ansible-inventory: the one beside this Python.
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    # The fleet names its hosts PREFIX + "f<n>": the kit's own prefix must not match them, or its leak
    # check would count the fleet's mounts as the kit's leftovers. Still under the run's prefix.
    env["LNS_TEST_PREFIX"] = os.environ.get("LNS_TEST_PREFIX", "lnst") + "k"
    return subprocess.run(argv, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=600, check=False)


def kernel_failures(results: list[dict]) -> set[str]:
    return {e["id"] for e in results if e["subject"] == "kernel" and e["result"] == "FAIL"}


@pytest.fixture(scope="module")
def failing_here(tmp_path_factory) -> set[str]:
    """The kernel properties the kit finds failing on this machine (local://): the fleet's kernel."""
    report_dir = tmp_path_factory.mktemp("local")
    completed = run_kit(report_dir, "--hosts=local://", "--lns-subject=reference")
    assert completed.returncode in (0, 1), completed.stdout[-3000:] + completed.stderr[-3000:]
    return kernel_failures(json.loads((report_dir / "local.json").read_text())["results"])


def check_host_report(path: Path, output: str, failing_here: set[str]) -> dict:
    report = json.loads(path.read_text())
    failed = [(e["id"], e["subject"], e["reason"]) for e in report["results"]
              if e["result"] == "FAIL" and e["subject"] != "kernel"]
    assert not failed, "%s: %s\n%s" % (path.name, failed, output[-3000:])
    assert kernel_failures(report["results"]) <= failing_here, "%s: the kernel fails %s here only %s" % (
        path.name, sorted(kernel_failures(report["results"])), sorted(failing_here))
    unexplained = [(e["id"], e["subject"]) for e in report["results"] if e["result"] == "SKIP" and not e["reason"]]
    assert not unexplained, "SKIP without a reason: %s" % unexplained
    subjects = {e["subject"] for e in report["results"]}
    assert subjects == {"kernel", "reference", "collection"}, subjects
    assert report["round_trips"] == ROUND_TRIPS, report["round_trips"]
    assert report["cleanup"]["leftovers"] == [] and report["cleanup"]["errors"] == [], report["cleanup"]
    return report


def test_kit_on_three_ssh_hosts_through_an_inventory(fleet_factory, tmp_path, failing_here):
    fleet = fleet_factory(3)
    completed = run_kit(tmp_path / "inventory", "--hosts=ansible://all",
                        "--ansible-inventory=%s" % fleet.inventory_path, "--ssh-config=%s" % fleet.ssh_config_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode in (0, 1), output[-4000:]
    names = sorted(host.name for host in fleet.hosts)
    assert sorted(p.stem for p in (tmp_path / "inventory").glob("*.json")) == names
    for name in names:
        report = check_host_report(tmp_path / "inventory" / ("%s.json" % name), output, failing_here)
        assert report["host"] == name and report["target"] == "ansible://%s" % name


def test_kit_on_an_ssh_host(fleet_factory, tmp_path, failing_here):
    fleet = fleet_factory(1)
    host = fleet.hosts[0]
    completed = run_kit(tmp_path, "--hosts=ssh://%s" % host.name, "--ssh-config=%s" % fleet.ssh_config_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode in (0, 1), output[-4000:]
    check_host_report(tmp_path / ("%s.json" % host.name), output, failing_here)
