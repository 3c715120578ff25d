"""The probe's entry point on the host: one call, one JSON document between two marks on stdout.

conformance/hostrun.py runs main() in one command with a base64 JSON request: {"prefix", "ids",
"subjects", "proc_mounts_before_subjects"} to probe, or {"prefix", "mode": "cleanup", "store",
"hostname"} for the leak check once the controller removed the collection's set.
"""

import base64
import json
import os
import sys
import time

from conformance.probes.features import facts, features
from conformance.probes.lib.child import describe_error
from conformance.probes.lib.context import Run
from conformance.probes.lib.errors import ProbeError, Skip
from conformance.probes.lib.observe import proc_mounts_on_host, uname_names
from conformance.probes.lib.subjects import SUBJECT_TYPES, supported_types
from conformance.probes.lib.third_party import make_subject
from conformance.probes.registry import PROPERTIES
from conformance.probes.sweep import cleanup_store, leftovers, sweep

BEGIN_MARK = "LNSPROBE-BEGIN"
END_MARK = "LNSPROBE-END"


def run_probe(fn, *args):
    started = time.monotonic()
    try:
        result = {"observed": fn(*args)}
    except Skip as exc:
        result = {"skip": exc.reason, "feature": exc.feature}
    except Exception as exc:  # one probe's failure is reported, the others still run
        result = {"error": describe_error(exc)}
    result["seconds"] = round(time.monotonic() - started, 4)
    return result


def probe_host(probe_run, request):
    wanted = request.get("ids") or sorted(PROPERTIES)
    report = {"facts": facts(), "features": features(probe_run), "results": {"kernel": {}}, "subjects": {}}
    for prop_id in wanted:
        if not PROPERTIES[prop_id].setup:
            report["results"]["kernel"][prop_id] = run_probe(PROPERTIES[prop_id].probe, probe_run)
    setup_ids = [i for i in wanted if PROPERTIES[i].setup]
    types = [t for t in SUBJECT_TYPES if t in supported_types()]
    for spec in request.get("subjects", []) if setup_ids else []:
        kind = spec["kind"]
        results = report["results"][kind] = {}
        try:
            subject = make_subject(spec, types, probe_run)
        except (ProbeError, Skip, OSError) as exc:
            report["subjects"][kind] = {"error": "the %s subject could not be made: %s" % (kind, exc)}
            for prop_id in setup_ids:
                results[prop_id] = {"error": report["subjects"][kind]["error"]}
            continue
        report["subjects"][kind] = subject.describe()
        try:
            for prop_id in setup_ids:
                results[prop_id] = run_probe(PROPERTIES[prop_id].probe, probe_run, subject)
        finally:
            subject.destroy()
    # The leak check comes later, in cleanup mode, once the controller removed the collection's set.
    report["swept"] = sweep(probe_run)
    return report


def main(argv):
    request = json.loads(base64.b64decode(argv[1]).decode()) if len(argv) > 1 else {}
    prefix = request.get("prefix") or os.environ.get("LNS_TEST_PREFIX", "lnskprobe")
    if request.get("mode") == "cleanup":
        probe_run = Run(prefix)
        report = {"removed": cleanup_store(probe_run, request.get("store")) + sweep(probe_run),
                  "leftovers": leftovers(probe_run, request.get("hostname") or uname_names()["hostname"])}
    else:
        probe_run = Run(prefix, request.get("proc_mounts_before_subjects") or proc_mounts_on_host())
        report = probe_host(probe_run, request)
    sys.stdout.write("%s\n%s\n%s\n" % (BEGIN_MARK, json.dumps(report), END_MARK))
    sys.stdout.flush()
