"""One JSON result per host, shaped for the kernel-version x property compatibility report.

A report generator reads every `<host>.json` of a run, groups hosts by `kernel.version`, and fills
cells (property ID x subject) from `results`, counting PASS/FAIL/SKIP; `properties` gives each reported
property's title, definition, needs and setup flag (from its declaration), `needs` the features each
property relies on, and `features` their documented first kernel and whether the host has them.
"""

import datetime
import json
import re
from pathlib import Path
from typing import Dict, List

from conformance.kernel_features import FEATURES
from conformance.probes.lib.mutants import BROKEN
from conformance.probes.registry import PROPERTIES

SCHEMA = "linux.namespaces/conformance-host-result/1"
SUBJECT_MAKERS = {"kernel": "the kit's own probes (no setup under test)",
                  "reference": "util-linux unshare",
                  "collection": "linux.namespaces.namespace module",
                  "bwrap": "bubblewrap: bwrap --unshare-all --as-pid-1 --ro-bind / / --proc /proc --dev /dev "
                           "(no time namespace; the host's /sys stays visible)",
                  "runc": "runc with the default config.json of `runc spec` (no cgroup and no time namespace; "
                          "rootfs of read-only /usr and /etc binds)",
                  "nspawn": "systemd-nspawn --register=no --keep-unit --directory=/ --volatile=yes --private-network "
                            "(no user and no time namespace; a tmpfs root with the host's /usr read-only)"}
SUBJECT_MAKERS.update((kind, "util-linux unshare, test-only broken subject: %s" % how.description)
                      for kind, how in BROKEN.items())
PROPERTY_GROUP = re.compile(r"^([A-Z]+)[0-9]+$")


def property_group(prop_id: str) -> str:
    return PROPERTY_GROUP.match(prop_id).group(1)


def kernel_version(release: str) -> str:
    """'6.18' from '6.18.44-fc-v669': the column a host falls in."""
    found = re.match(r"(\d+\.\d+)", release or "")
    return found.group(1) if found else "unknown"


def iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).isoformat()


class HostReport:
    """Collects the judged results of one host and writes them as JSON."""

    def __init__(self, host_id: str, target: str, backend: str, prefix: str):
        self.host_id = host_id
        self.target = target
        self.backend = backend
        self.prefix = prefix
        self.outcome: Dict = {}
        self.results: List[Dict] = []
        self.kit_checks: List[Dict] = []

    def add(self, entry: Dict) -> None:
        (self.kit_checks if entry["id"] is None else self.results).append(entry)

    def as_dict(self) -> Dict:
        outcome = self.outcome
        facts = outcome.get("facts", {})
        matrix: Dict[str, Dict[str, str]] = {}
        summary = {"PASS": 0, "FAIL": 0, "SKIP": 0}
        for entry in self.results:
            matrix.setdefault(entry["id"], {})[entry["subject"]] = entry["result"]
            summary[entry["result"]] += 1
        subjects = {}
        for kind, description in sorted(outcome.get("subjects", {}).items()):
            subjects[kind] = dict(description, made_by=SUBJECT_MAKERS.get(kind))
        subjects["kernel"] = {"made_by": SUBJECT_MAKERS["kernel"]}
        return {
            "schema": SCHEMA,
            "host": self.host_id,
            "target": self.target,
            "backend": self.backend,
            "prefix": self.prefix,
            "started": iso(outcome["started"]) if "started" in outcome else None,
            "finished": iso(outcome["finished"]) if "finished" in outcome else None,
            "kernel": {"release": facts.get("kernel"), "version": kernel_version(facts.get("kernel")),
                       "build": facts.get("kernel_version"), "machine": facts.get("machine")},
            "distribution": facts.get("distribution"),
            "tools": {"python": facts.get("python"), "util_linux": facts.get("util_linux"),
                      "iproute2": facts.get("iproute2")},
            "privileges": {"euid": facts.get("euid"), "pid_namespace_level": facts.get("pid_ns_level"),
                           "initial_user_namespace": facts.get("at_initial_user_ns")},
            "features": dict((key, {"present": present, "description": FEATURES[key].title,
                                    "first_kernel": FEATURES[key].first_kernel})
                             for key, present in sorted(outcome.get("features", {}).items())),
            "subjects": subjects,
            "results": sorted(self.results, key=lambda e: (e["group"], _id_number(e["id"]), e["subject"])),
            "matrix": matrix,
            "needs": dict((prop_id, list(PROPERTIES[prop_id].needs)) for prop_id in sorted(matrix)),
            "properties": dict((prop_id, PROPERTIES[prop_id].describe()) for prop_id in sorted(matrix)),
            "summary": summary,
            "kit_checks": self.kit_checks,
            "round_trips": outcome.get("round_trips"),
            "cleanup": outcome.get("cleanup"),
        }

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / ("%s.json" % re.sub(r"[^A-Za-z0-9_.-]", "_", self.host_id))
        path.write_text(json.dumps(self.as_dict(), indent=1, sort_keys=True) + "\n")
        return path


def _id_number(prop_id: str) -> int:
    return int(re.sub(r"^[A-Z]+", "", prop_id))
