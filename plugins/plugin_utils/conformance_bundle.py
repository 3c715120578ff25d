# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conformance kit packed for hosts: one tarball that runs there without the internet.

Controller side only. The tarball holds the kit (`kit/conformance/`), one site zip per range of host
Pythons (the pure-Python distributions the kit runs with there: pytest-testinfra, pytest and what they
require on those Pythons; Python imports them from the zip without unpacking it), and `bundle.json`. A
host runs it with `PYTHONPATH=DIR/SITE:DIR/kit python3 -m pytest DIR/kit/conformance --hosts=local://`,
SITE being the zip that `site_for` names for its Python. Beside each module the controller's own Python has
compiled (its fresh `__pycache__` file), a site zip holds that bytecode as an unchecked hash-based `.pyc`
(PEP 552): a host Python of the same version imports it without compiling pytest and testinfra afresh on
every run (the role runs Python there with PYTHONDONTWRITEBYTECODE), another version compiles the source.

Sites, in the order a host Python is given one (the first that serves it):
1. the controller's distributions: its Python's sys.path, or the given search path;
2. for each host Python the first does not serve, the distributions requirements/conformance-hosts.txt
   pins for it: pure wheels that pip, run by the controller's Python, installs once into a cache directory
   (`pip install --target --no-deps --require-hashes` for that Python version), so pip decides nothing the
   pins do not say. Each such site is given the Pythons whose pins are its own.

A site serves a Python version when the roots and everything they require under that Python's markers
(such as `python_version < "3.11"`) are there, in versions the requirements accept, and each accepts that
Python (Requires-Python).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple

try:  # packaging comes with pytest and with ansible-core
    from packaging.markers import Marker, default_environment
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
except ImportError as error:
    PACKAGING_ERROR: Optional[ImportError] = error
else:
    PACKAGING_ERROR = None

ROOTS = ("pytest-testinfra", "pytest")
OLDEST_PYTHON = (3, 8)  # the kit's probe needs 3.8 at least
# Host Pythons a bundle is computed for, beside those asked for.
CANDIDATE_PYTHONS = tuple("3.%d" % minor for minor in range(OLDEST_PYTHON[1], 15))
COLLECTION_ROOT = Path(__file__).resolve().parents[2]
KIT_DIR = COLLECTION_ROOT / "conformance"
PINS_FILE = COLLECTION_ROOT / "requirements" / "conformance-hosts.txt"
SKIPPED_PARTS = {"__pycache__"}
PIP_TIMEOUT = 600

Distributions = Dict[str, importlib.metadata.Distribution]


class BundleError(Exception):
    """The bundle cannot be built (a compiled distribution, no kit, unreadable pins)."""


class NotServed(Exception):
    """Why a site does not serve a host Python."""


def default_cache_dir() -> Path:
    """Where fetched sites are kept: $XDG_CACHE_HOME (or ~/.cache)/linux.namespaces/conformance-hosts."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "linux.namespaces" / "conformance-hosts"


def python_key(version: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def python_environment(version: str) -> Dict[str, str]:
    """The marker environment of Python X.Y on a host like the controller (Linux, CPython)."""
    return dict(default_environment(), python_version=version, python_full_version=version + ".0", extra="")


def _applies(requirement: Requirement, environment: Dict[str, str]) -> bool:
    return requirement.marker is None or requirement.marker.evaluate(environment)


def _requirements(dist: importlib.metadata.Distribution) -> List[Requirement]:
    return [Requirement(text) for text in dist.requires or []]


def installed_distributions(search_path: Optional[Sequence[str]]) -> Distributions:
    """Installed distributions by canonical name; the first found on the path wins, as for imports."""
    found: Distributions = {}
    for dist in importlib.metadata.distributions(path=list(search_path) if search_path else sys.path):
        name = dist.metadata.get("Name")
        if name:
            found.setdefault(canonicalize_name(name), dist)
    return found


def closure_for(installed: Distributions, version: str, roots: Iterable[str] = ROOTS) -> Distributions:
    """The roots and everything they require on Python X.Y, by canonical name; NotServed says what is missing."""
    environment = python_environment(version)
    wanted = [canonicalize_name(root) for root in roots]
    closure: Distributions = {}
    while wanted:
        name = wanted.pop()
        if name in closure:
            continue
        if name not in installed:
            raise NotServed("%s is not installed there" % name)
        dist = installed[name]
        requires_python = dist.metadata.get("Requires-Python") or ""
        if version + ".0" not in SpecifierSet(requires_python):
            raise NotServed("%s %s needs Python %s" % (dist.metadata["Name"], dist.version, requires_python))
        closure[name] = dist
        for requirement in _requirements(dist):
            if not _applies(requirement, environment):
                continue
            needed = canonicalize_name(requirement.name)
            if needed in installed and installed[needed].version not in requirement.specifier:
                raise NotServed("%s %s needs %s, not %s" % (dist.metadata["Name"], dist.version, requirement,
                                                            installed[needed].version))
            wanted.append(needed)
    return closure


class Site:
    """A set of distributions, the Pythons it may be given (offered) and, among them, those it serves."""

    def __init__(self, source: str, installed: Distributions, offered: Iterable[str]) -> None:
        self.source = source
        self.closures: Dict[str, Distributions] = {}
        self.refusals: Dict[str, str] = {}
        for version in offered:
            try:
                self.closures[version] = closure_for(installed, version)
            except NotServed as refusal:
                self.refusals[version] = str(refusal)
        self.pythons: List[str] = []  # the Pythons the bundle gives this site: see assign_pythons

    @property
    def name(self) -> str:
        """The site's zip in the bundle, after the oldest Python it is given."""
        return "site-%s.zip" % self.pythons[0]

    def shipped(self) -> Distributions:
        """What the site ships: the distributions the Pythons it is given need."""
        shipped: Distributions = {}
        for version in self.pythons:
            shipped.update(self.closures[version])
        return shipped

    def describe(self) -> Dict[str, Any]:
        return {"pythons": self.pythons, "source": self.source,
                "distributions": dict(sorted((d.metadata["Name"], d.version) for d in self.shipped().values()))}


def assign_pythons(sites: Sequence[Site]) -> Dict[str, Site]:
    """Each Python some site serves -> the first site that serves it; sets each site's `pythons`."""
    chosen: Dict[str, Site] = {}
    for site in sites:
        site.pythons = sorted((version for version in site.closures if version not in chosen), key=python_key)
        chosen.update((version, site) for version in site.pythons)
    return dict(sorted(chosen.items(), key=lambda item: python_key(item[0])))


class Pin(NamedTuple):
    """One line of the pins file: an exact version of a distribution, its wheel hashes, for which Pythons."""
    name: str
    version: str
    hashes: Tuple[str, ...]
    marker: Optional[Marker]

    def line(self) -> str:
        return " ".join(["%s==%s" % (self.name, self.version)] + ["--hash=%s" % digest for digest in self.hashes])


def read_pins(path: Path = PINS_FILE) -> List[Pin]:
    """The pins file's lines (`NAME==VERSION ; MARKER --hash=sha256:...`, continued with backslashes)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise BundleError("cannot read the pins of the hosts' distributions: %s" % exc) from exc
    pins = []
    for line in text.replace("\\\n", " ").splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        hashes = tuple(word.split("=", 1)[1] for word in words if word.startswith("--hash="))
        requirement = Requirement(" ".join(word for word in words if not word.startswith("--hash=")))
        exact = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        if len(requirement.specifier) != 1 or not exact or not hashes:
            raise BundleError("%s: %r is not an exact pin with its hashes" % (path, line.strip()))
        pins.append(Pin(canonicalize_name(requirement.name), exact[0], hashes, requirement.marker))
    return pins


def pins_for(pins: Sequence[Pin], version: str) -> Tuple[Pin, ...]:
    environment = python_environment(version)
    return tuple(sorted((pin for pin in pins if pin.marker is None or pin.marker.evaluate(environment)),
                        key=lambda pin: pin.name))


def pip_install_pins(requirements: Path, target: Path, version: str) -> None:
    """Install exactly the pinned wheels (pure ones, for Python X.Y) into target, with the controller's pip."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
               "--target", str(target), "--python-version", version, "--implementation", "py", "--abi", "none",
               "--platform", "any", "--only-binary=:all:", "--no-deps", "--require-hashes", "--no-compile",
               "-r", str(requirements)]
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=PIP_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NotServed("pip (%s) could not fetch them: %s" % (sys.executable, exc)) from exc
    if done.returncode != 0:
        raise NotServed("pip (%s) could not fetch them (exit %d): %s" % (
            sys.executable, done.returncode, (done.stderr or done.stdout).strip()[-1500:]))


def requirements_text(pins: Sequence[Pin]) -> str:
    return "".join(pin.line() + "\n" for pin in pins)


def cache_entry(cache_dir: Path, pins: Sequence[Pin]) -> Path:
    """The cache's directory for this set of pins; its `site` holds them once fetched."""
    return cache_dir / ("pins-%s" % hashlib.sha256(requirements_text(pins).encode()).hexdigest()[:16])


def fetch_site(pins: Sequence[Pin], version: str, cache_dir: Path, fetch: bool) -> Path:
    """The site directory with exactly these pins, made once in the cache (pip for Python `version`)."""
    entry = cache_entry(cache_dir, pins)
    if not entry.is_dir():
        if not fetch:
            raise NotServed("fetching is off and the cache %s does not hold them" % cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".fetch-", dir=str(cache_dir)))
        try:
            (scratch / "requirements.txt").write_text(requirements_text(pins))
            pip_install_pins(scratch / "requirements.txt", scratch / "site", version)
            try:
                scratch.rename(entry)  # all or nothing: a run sees a whole site or none
            except OSError:
                if not entry.is_dir():  # else another run made it first
                    raise
        finally:
            shutil.rmtree(str(scratch), ignore_errors=True)
    site = entry / "site"
    installed = installed_distributions([str(site)])
    wrong = ["%s==%s" % (pin.name, pin.version) for pin in pins
             if pin.name not in installed or installed[pin.name].version != pin.version]
    if wrong:
        raise NotServed("the cache %s does not hold %s: remove it to fetch again" % (entry, ", ".join(wrong)))
    return site


def _unserved(version: str, sites: Sequence[Site], pinned: Mapping[str, str]) -> str:
    """Why no site of the bundle serves Python `version`."""
    if python_key(version)[:2] < OLDEST_PYTHON:
        return "the kit needs Python %d.%d or later" % OLDEST_PYTHON
    reasons = ["%s: %s" % (site.source, site.refusals[version]) for site in sites if version in site.refusals]
    return "; ".join(reasons + [pinned[version]] if version in pinned else reasons)


def plan_sites(requested: Sequence[str], search_path: Optional[Sequence[str]], cache_dir: Path, fetch: bool,
               pins_path: Path = PINS_FILE) -> Tuple[List[Site], Dict[str, str]]:
    """The sites for the host Pythons `requested` (X.Y) and why any of them is not served."""
    offered = sorted(set(CANDIDATE_PYTHONS) | {v for v in requested if python_key(v)[:2] >= OLDEST_PYTHON},
                     key=python_key)
    source = "search path %s" % ", ".join(search_path) if search_path else "the controller's Python %s" % sys.executable
    sites = [Site(source, installed_distributions(search_path), offered)]
    pinned_reasons: Dict[str, str] = {}
    missing = [v for v in requested if v in offered and v not in sites[0].closures]
    if missing:
        pins = read_pins(pins_path)
        # The Pythons that share their pins share a site.
        groups: Dict[Tuple[str, ...], List[str]] = {}
        for version in offered:
            groups.setdefault(tuple(pin.line() for pin in pins_for(pins, version)), []).append(version)
        for version in missing:
            chosen = pins_for(pins, version)
            if not chosen:
                pinned_reasons[version] = "%s pins nothing for it" % pins_path.name
                continue
            if version in pinned_reasons or any(version in site.closures or version in site.refusals
                                                for site in sites[1:]):
                continue  # its pins were tried already, for another Python
            group = groups[tuple(pin.line() for pin in chosen)]
            try:
                site_dir = fetch_site(chosen, version, cache_dir, fetch)
            except NotServed as refusal:
                pinned_reasons.update((v, "the distributions %s pins for it: %s" % (pins_path.name, refusal)) for v in group)
                continue
            sites.append(Site("%s, fetched into %s" % (pins_path.name, site_dir.parent), installed_distributions(
                [str(site_dir)]), group))
    unserved = dict((version, _unserved(version, sites, pinned_reasons)) for version in requested
                    if not any(version in site.closures for site in sites))
    return sites, unserved


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


def shippable_bytecode(source: Path) -> Optional[bytes]:
    """The controller's bytecode of source as an unchecked hash-based .pyc, which zipimport takes without comparing
    times; None when the controller has not compiled it, or compiled an older version of it."""
    try:
        cached = Path(importlib.util.cache_from_source(str(source))).read_bytes()
        status = source.stat()
    except (OSError, NotImplementedError):
        return None
    header_fresh = (cached[:4] == importlib.util.MAGIC_NUMBER and cached[4:8] == bytes(4)  # timestamp-based
                    and int.from_bytes(cached[8:12], "little") == int(status.st_mtime) & 0xFFFFFFFF
                    and int.from_bytes(cached[12:16], "little") == status.st_size & 0xFFFFFFFF)
    if not header_fresh:
        return None
    unchecked_hash = (1).to_bytes(4, "little")  # PEP 552 flags: hash-based, source not checked
    return cached[:4] + unchecked_hash + importlib.util.source_hash(source.read_bytes()) + cached[16:]


def _site_zip(site: Site) -> bytes:
    with_bytecode = "%d.%d" % sys.version_info[:2] in site.pythons  # no other Python could use it
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_STORED) as archive:  # the tarball compresses it
        for dist in site.shipped().values():
            root = Path(str(dist.locate_file("")))
            for relative in _files(dist):
                archive.write(str(root / relative), str(relative))
                bytecode = shippable_bytecode(root / relative) if with_bytecode and relative.suffix == ".py" else None
                if bytecode is not None:
                    archive.writestr(str(relative.with_suffix(".pyc")), bytecode)
    return data.getvalue()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def build_bundle(path: str, search_path: Optional[Sequence[str]] = None, pythons: Sequence[str] = (),
                 cache_dir: Optional[Path] = None, fetch: bool = True, kit_dir: Path = KIT_DIR,
                 pins_path: Path = PINS_FILE) -> Dict[str, Any]:
    """Write the tarball at path for the host Pythons `pythons` (X.Y; none: those the controller's distributions
    serve). Returns what it holds, which site serves which Python, and why a Python asked for is not served."""
    if PACKAGING_ERROR is not None:
        raise BundleError("packaging is not installed for %s: %s" % (sys.executable, PACKAGING_ERROR))
    if not (kit_dir / "conftest.py").is_file():
        raise BundleError("the conformance kit is not at %s (a collection built without conformance/?)" % kit_dir)
    requested = sorted(set(pythons), key=python_key)
    sites, unserved = plan_sites(requested, search_path, cache_dir or default_cache_dir(), fetch, pins_path)
    site_for = assign_pythons(sites)
    if not site_for and not requested:
        raise BundleError("no site serves any host Python: %s" % "; ".join(
            "%s: %s" % (site.source, refusal) for site in sites for refusal in sorted(set(site.refusals.values()))))
    sites = [site for site in sites if site.pythons]
    kit_files = sorted(p for p in kit_dir.rglob("*") if p.is_file() and not SKIPPED_PARTS & set(p.parts)
                       and p.suffix != ".pyc")
    manifest = {"built_with": sys.version.split()[0],
                "pythons": list(site_for),
                "site_for": dict((version, site.name) for version, site in site_for.items()),
                "sites": dict((site.name, site.describe()) for site in sites)}
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:  # built for one run: speed over size
        for site in sites:
            _add_bytes(archive, site.name, _site_zip(site))
        for kit_file in kit_files:
            archive.add(str(kit_file), arcname=os.path.join("kit", "conformance", str(kit_file.relative_to(kit_dir))),
                        recursive=False)
        _add_bytes(archive, "bundle.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
    return dict(manifest, path=path, kit_files=len(kit_files), unserved=unserved)
