"""Makes the recorded per-host kit results of this directory (README.md says what they are).

python -m tests.data.compat.make_fixture LOCAL_JSON CATALOGUE_MD
LOCAL_JSON: a kit result of a real run here (`pytest conformance --hosts=local:// --lns-report-dir DIR`);
CATALOGUE_MD: the property catalogue, whose text becomes the `properties` map the kit is to carry.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

from conformance.kernel_features import FEATURES, skip_reason
from conformance.property_features import PROPERTY_FEATURES

HERE = Path(__file__).resolve().parent
# Synthetic hosts: the Debian kernels the guests of issue 11 will boot, as (host name, release, build).
SYNTHETIC = (("guest-5.10", "5.10.0-35-amd64", "#1 SMP Debian 5.10.237-1 (2025-05-19)"),
             ("guest-6.1", "6.1.0-37-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.140-1 (2025-05-22)"),
             ("guest-6.12", "6.12.38+deb13-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.12.38-1 (2025-07-16)"))


def version(release: str) -> tuple:
    return tuple(int(part) for part in re.match(r"(\d+)\.(\d+)", release).groups())


def catalogue(path: Path) -> dict:
    """ID -> {title, definition, needs, setup}: the definition is the catalogue's text, the title its first clause."""
    properties = {}
    for line in path.read_text().splitlines():
        found = re.match(r"^\| ([A-Z]+[0-9]+) \| (.+?) \| [^|]+ \|$", line) or re.match(r"^- ([A-Z]+[0-9]+) (.+)$", line)
        if not found:
            continue
        prop_id, text = found.groups()
        plain = text.replace("`", "")
        title = re.split(r"(?<=[a-z0-9)])[.;:] | \(", plain)[0].strip().rstrip(".")
        if len(title) > 70:
            title = title[:70].rsplit(" ", 1)[0] + " ..."
        properties[prop_id] = {"title": title, "definition": plain, "needs": list(PROPERTY_FEATURES.get(prop_id, ())),
                               "setup": None}
    return properties


def rewritten(document: dict, name: str, release: str, build: str) -> dict:
    """The real result as the feature table predicts it for that kernel: absent features, their properties SKIP."""
    copied = copy.deepcopy(document)
    copied.update(host=name, target="ssh://%s" % name)
    copied["kernel"].update(release=release, version="%d.%d" % version(release), build=build)
    for key, feature in copied["features"].items():
        feature["present"] = version(feature["first_kernel"] + ".0") <= version(release)
    summary = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for entry in copied["results"]:
        missing = [key for key in PROPERTY_FEATURES.get(entry["id"], ()) if not copied["features"][key]["present"]]
        if missing:
            entry.update(result="SKIP", feature=missing[0], observed={},
                         reason=skip_reason("the probe found it missing", missing[0]))
        copied["matrix"][entry["id"]][entry["subject"]] = entry["result"]
        summary[entry["result"]] += 1
    copied["summary"] = summary
    return copied


def main(local_json: str, catalogue_md: str) -> None:
    document = json.loads(Path(local_json).read_text())
    document["properties"] = catalogue(Path(catalogue_md))
    document.update(host="host-%d.%d" % version(document["kernel"]["release"]))
    hosts = [(document["host"], document)]
    hosts += [(name, rewritten(document, name, release, build)) for name, release, build in SYNTHETIC]
    for name, host in hosts:
        (HERE / ("%s.json" % name)).write_text(json.dumps(host, sort_keys=True, separators=(",", ":")) + "\n")
    assert set(FEATURES) == set(document["features"])


if __name__ == "__main__":
    main(*sys.argv[1:])
