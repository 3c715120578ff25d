# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conformance kit packed for hosts: one tarball that runs there without the internet.

Controller side only. The tarball holds the kit (`kit/conformance/`), the pure-Python distributions it
runs with (pytest-testinfra, pytest and what they require, copied from the controller's Python or from
given directories) in `site.zip`, which Python imports from without unpacking it, and `bundle.json`. A
host runs it with `PYTHONPATH=DIR/site.zip:DIR/kit python3 -m pytest DIR/kit/conformance --hosts=local://`.

Which host Pythons the bundle serves is computed from the distributions' metadata: a Python version is
served when every shipped distribution accepts it (Requires-Python) and every requirement that applies to
it (markers such as `python_version < "3.11"`) is shipped.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

try:  # packaging comes with pytest, which a bundle needs anyway
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
except ImportError as error:
    PACKAGING_ERROR: Optional[ImportError] = error
else:
    PACKAGING_ERROR = None

ROOTS = ("pytest-testinfra", "pytest")
# Host Pythons considered: the kit's probe needs 3.8 at least.
CANDIDATE_PYTHONS = tuple("3.%d" % minor for minor in range(8, 15))
KIT_DIR = Path(__file__).resolve().parents[2] / "conformance"
SKIPPED_PARTS = {"__pycache__"}
SITE_ZIP = "site.zip"


class BundleError(Exception):
    """The bundle cannot be built (a missing or compiled distribution, no kit)."""


def _distributions(search_path: Optional[Sequence[str]]) -> Dict[str, importlib.metadata.Distribution]:
    """Installed distributions by canonical name; the first found on the path wins, as for imports."""
    found: Dict[str, importlib.metadata.Distribution] = {}
    for dist in importlib.metadata.distributions(path=list(search_path) if search_path else sys.path):
        name = dist.metadata.get("Name")
        if name:
            found.setdefault(canonicalize_name(name), dist)
    return found


def _applies(requirement: Requirement, environment: Dict[str, str]) -> bool:
    return requirement.marker is None or requirement.marker.evaluate(dict(environment, extra=""))


def _requirements(dist: importlib.metadata.Distribution) -> List[Requirement]:
    return [Requirement(text) for text in dist.requires or []]


def required_closure(installed: Dict[str, importlib.metadata.Distribution],
                     roots: Iterable[str] = ROOTS) -> Dict[str, importlib.metadata.Distribution]:
    """The roots and everything they require here (this Python's markers), by canonical name."""
    environment = default_environment()
    wanted = [canonicalize_name(root) for root in roots]
    closure: Dict[str, importlib.metadata.Distribution] = {}
    while wanted:
        name = wanted.pop()
        if name in closure:
            continue
        if name not in installed:
            raise BundleError("%s is not installed for %s: install pytest and pytest-testinfra there"
                              % (name, sys.executable))
        closure[name] = installed[name]
        wanted += [canonicalize_name(r.name) for r in _requirements(installed[name]) if _applies(r, environment)]
    return closure


def served_pythons(closure: Dict[str, importlib.metadata.Distribution],
                   candidates: Sequence[str] = CANDIDATE_PYTHONS) -> List[str]:
    """The Python versions (X.Y) on which the shipped distributions are complete and accepted."""
    served = []
    for version in candidates:
        environment = dict(default_environment(), python_version=version, python_full_version=version + ".0")
        accepted = all(version + ".0" in SpecifierSet(dist.metadata.get("Requires-Python") or "")
                       for dist in closure.values())
        complete = all(canonicalize_name(r.name) in closure
                       and closure[canonicalize_name(r.name)].version in r.specifier
                       for dist in closure.values() for r in _requirements(dist) if _applies(r, environment))
        if accepted and complete:
            served.append(version)
    return served


def _files(dist: importlib.metadata.Distribution) -> List[Path]:
    """The distribution's files inside its site directory (no scripts, no bytecode caches)."""
    wheel = dist.read_text("WHEEL") or ""
    name = dist.metadata["Name"]
    if "Root-Is-Purelib: true" not in wheel:
        raise BundleError("%s %s is not a pure-Python distribution: it cannot be shipped to other hosts"
                          % (name, dist.version))
    if dist.files is None:
        raise BundleError("%s %s has no RECORD of its files" % (name, dist.version))
    return [Path(str(entry)) for entry in dist.files
            if not str(entry).startswith("..") and not SKIPPED_PARTS & set(Path(str(entry)).parts)]


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def build_bundle(path: str, search_path: Optional[Sequence[str]] = None, kit_dir: Path = KIT_DIR) -> Dict[str, Any]:
    """Write the tarball at path; returns what it holds and which host Pythons it serves."""
    if PACKAGING_ERROR is not None:
        raise BundleError("packaging is not installed for %s (pytest needs it too): %s" % (sys.executable, PACKAGING_ERROR))
    if not (kit_dir / "conftest.py").is_file():
        raise BundleError("the conformance kit is not at %s (a collection built without conformance/?)" % kit_dir)
    closure = required_closure(_distributions(search_path))
    pythons = served_pythons(closure)
    if not pythons:
        raise BundleError("the distributions of %s serve no host Python of %s" % (sys.executable, CANDIDATE_PYTHONS))
    distributions = dict((dist.metadata["Name"], dist.version) for dist in closure.values())
    kit_files = sorted(p for p in kit_dir.rglob("*") if p.is_file() and not SKIPPED_PARTS & set(p.parts)
                       and p.suffix != ".pyc")
    site_zip = io.BytesIO()
    with zipfile.ZipFile(site_zip, "w", zipfile.ZIP_STORED) as site:  # the tarball compresses it
        for dist in closure.values():
            root = Path(str(dist.locate_file("")))
            for relative in _files(dist):
                site.write(str(root / relative), str(relative))
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:  # built for one run: speed over size
        _add_bytes(archive, SITE_ZIP, site_zip.getvalue())
        for kit_file in kit_files:
            archive.add(str(kit_file), arcname=os.path.join("kit", "conformance", str(kit_file.relative_to(kit_dir))),
                        recursive=False)
        manifest = {"distributions": distributions, "pythons": pythons, "built_with": sys.version.split()[0]}
        _add_bytes(archive, "bundle.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
    return dict(manifest, path=path, kit_files=len(kit_files))
