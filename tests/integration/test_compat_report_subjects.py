"""The compatibility report from a real run of the kit on this machine over reference, collection, bwrap,
runc and systemd-nspawn: the subjects and what made them come from the kit's result, and every result where
a third-party tool differs from util-linux's reference set is in the findings, named with the tool that made
the set and the kit's reason. Needs root, bwrap, runc and systemd-nspawn."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.linux.namespaces.plugins.plugin_utils import compat_report
from ansible_collections.linux.namespaces.plugins.plugin_utils.report_output import render_template

REPOSITORY = Path(__file__).resolve().parents[2]
# In the order the report shows them: kernel, reference, collection, then the others by name.
THIRD_PARTY = ("bwrap", "nspawn", "runc")
TOOLS = ("bwrap", "systemd-nspawn", "runc")

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="the conformance kit needs root"),
              pytest.mark.skipif(not all(shutil.which(tool) for tool in TOOLS),
                                 reason="needs bwrap, runc and systemd-nspawn (make deps installs them)")]


def rows(report: dict) -> dict:
    return dict((row["id"], row) for group in report["groups"] for row in group["rows"])


@pytest.fixture(scope="module")
def kit_result(tmp_path_factory, prefix) -> dict:
    report_dir = tmp_path_factory.mktemp("subjects")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", str(REPOSITORY / "conformance"), "--hosts=local://",
         "--lns-subjects=reference,collection," + ",".join(THIRD_PARTY), "--lns-report-dir", str(report_dir),
         "-p", "no:cacheprovider", "-q"],
        cwd=REPOSITORY, env=dict(os.environ, LNS_TEST_PREFIX=prefix + "s"), capture_output=True, text=True,
        timeout=600, check=False)
    # Exit status 1: some property failed, which the report must then show.
    assert completed.returncode in (0, 1), completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads((report_dir / "local.json").read_text())


@pytest.fixture(scope="module")
def report(kit_result) -> dict:
    return compat_report.build_report({"local": kit_result})


def test_the_reports_subjects_are_the_kits_with_what_made_them(kit_result, report):
    made_by = dict((s["subject"], s["made_by"]) for s in report["subjects"])
    assert list(made_by) == ["kernel", "reference", "collection"] + list(THIRD_PARTY)
    assert made_by == dict((subject, kit_result["subjects"][subject]["made_by"]) for subject in made_by)


def test_every_result_where_a_third_party_tool_differs_is_a_finding_explained_by_its_tool(kit_result, report):
    made_by = dict((s["subject"], s["made_by"]) for s in report["subjects"])
    listed = dict(((item["id"], kind), item["reasons"]) for kind in ("findings", "skips")
                  for item in report["findings"][kind])
    differing = [e for e in kit_result["results"] if e["subject"] in THIRD_PARTY and e["result"] != "PASS"]
    # runc's default config.json makes no cgroup namespace (its made_by says so): at least that differs.
    assert [e["id"] for e in differing if e["subject"] == "runc" and e["id"].startswith("CG")]
    for entry in differing:
        kind = "findings" if entry["result"] == "FAIL" else "skips"
        explained = "%s (made by %s) %s on local: %s" % (
            entry["subject"], made_by[entry["subject"]], entry["result"], entry["reason"])
        assert explained in listed[(entry["id"], kind)], (entry["id"], listed.get((entry["id"], kind)))
    for item in report["findings"]["findings"]:
        failing = [s for s, counts in rows(report)[item["id"]]["cells"][item["kernel"]]["subjects"].items()
                   if counts.get("FAIL")]
        for subject in (s for s in failing if s in THIRD_PARTY):
            assert "points at %s: the tool, not the kernel" % subject in item["what"], item


def test_the_per_subject_table_shows_where_the_sets_differ(kit_result, report):
    text = render_template("markdown", "compat_report.md.j2", report, compat_report.TEMPLATE_HELPERS)
    kernel = report["kernels"][0]
    header = "| property | %s |" % " | ".join("%s %s" % (kernel, s) for s in ("reference", "collection") + THIRD_PARTY)
    assert header in text
    by_property: dict = {}
    for entry in kit_result["results"]:
        by_property.setdefault(entry["id"], {})[entry["subject"]] = "1 %s" % entry["result"]
    for prop_id, results in by_property.items():
        if set(results) != {"kernel"}:
            cells = [results.get(subject, "-") for subject in ("reference", "collection") + THIRD_PARTY]
            assert "| %s | %s |" % (prop_id, " | ".join(cells)) in text, prop_id
