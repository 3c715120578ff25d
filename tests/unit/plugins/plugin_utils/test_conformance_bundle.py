"""The kit's bundle: which distributions a site ships, which host Pythons each site serves, which site a host
Python is given, the pins per Python, and what the tarball holds. Distributions are fake ones in temporary
site directories (the controller's, given as the search path, and fetched ones laid in the cache as pip
would leave them); nothing is fetched here (tests/integration/test_compat_report_old_pythons.py fetches)."""

from __future__ import annotations

import io
import json
import py_compile
import sys
import tarfile
import zipfile
import zipimport
from pathlib import Path

import pytest

from ansible_collections.linux.namespaces.plugins.plugin_utils import conformance_bundle

LATER = ["3.11", "3.12", "3.13", "3.14"]
PINS = """\
# a comment
pytest==8.3.5 ; python_version < "3.9" \\
    --hash=sha256:aa
pytest==9.2.0 ; python_version >= "3.9" --hash=sha256:bb
pluggy==1.5.0 ; python_version < "3.11" --hash=sha256:cc --hash=sha256:dd
pytest-testinfra==8.1.0 ; python_version < "3.11" --hash=sha256:ee
exceptiongroup==1.2.0 ; python_version < "3.11" --hash=sha256:ff
"""


def install(site: Path, name: str, version: str, requires_python: str = "", requires: tuple = (),
            pure: bool = True) -> None:
    """A distribution as pip leaves it: a module file and its .dist-info (METADATA, WHEEL, RECORD)."""
    site.mkdir(parents=True, exist_ok=True)
    module = name.replace("-", "_")
    (site / ("%s.py" % module)).write_text("VERSION = %r\n" % version)
    info = site / ("%s-%s.dist-info" % (module, version))
    info.mkdir()
    metadata = ["Metadata-Version: 2.1", "Name: %s" % name, "Version: %s" % version]
    metadata += ["Requires-Python: %s" % requires_python] if requires_python else []
    metadata += ["Requires-Dist: %s" % requirement for requirement in requires]
    (info / "METADATA").write_text("\n".join(metadata) + "\n")
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: %s\n" % ("true" if pure else "false"))
    (info / "RECORD").write_text("".join("%s,,\n" % path for path in (
        "%s.py" % module, "%s/METADATA" % info.name, "%s/WHEEL" % info.name, "%s/RECORD" % info.name,
        "../../../bin/%s" % module)))


def install_controller_like(site: Path) -> None:
    """pytest 9 and pytest-testinfra 10 as on a controller with Python 3.11: nothing for Python 3.10 and older."""
    install(site, "pytest-testinfra", "10.2.2", ">=3.9", ("pytest>=6", "paramiko; extra == 'paramiko'"))
    install(site, "pytest", "9.2.0", ">=3.10", ('exceptiongroup>=1; python_version < "3.11"', "pluggy<2,>=1.6",
                                                'colorama>=0.4; sys_platform == "win32"'))
    install(site, "pluggy", "1.7.0", ">=3.10")
    install(site, "unrelated", "1.0")


def install_pinned_for_38(site: Path) -> None:
    """What the pins above give Python 3.8 (and 3.9, 3.10 for pluggy, testinfra, exceptiongroup)."""
    install(site, "pytest-testinfra", "8.1.0", ">=3.8", ("pytest!=3.0.2",))
    install(site, "pytest", "8.3.5", ">=3.8", ('exceptiongroup>=1; python_version < "3.11"', "pluggy<2,>=1.5"))
    install(site, "pluggy", "1.5.0", ">=3.8")
    install(site, "exceptiongroup", "1.2.0", ">=3.7")


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site"
    install_controller_like(site)
    return site


@pytest.fixture
def pins_file(tmp_path):
    path = tmp_path / "conformance-hosts.txt"
    path.write_text(PINS)
    return path


def installed(site: Path) -> dict:
    return conformance_bundle.installed_distributions([str(site)])


def test_ships_the_roots_and_what_they_require_on_each_python(site):
    assert sorted(conformance_bundle.closure_for(installed(site), "3.11")) == ["pluggy", "pytest", "pytest-testinfra"]
    install(site, "exceptiongroup", "1.2.0", ">=3.7")
    closure = conformance_bundle.closure_for(installed(site), "3.10")
    assert sorted(closure) == ["exceptiongroup", "pluggy", "pytest", "pytest-testinfra"]


def test_a_site_serves_the_pythons_every_distribution_accepts_and_needs_nothing_more_on(site):
    served = conformance_bundle.Site("controller", installed(site), conformance_bundle.CANDIDATE_PYTHONS)
    assert sorted(served.closures, key=conformance_bundle.python_key) == LATER
    # 3.8 and 3.9: pytest refuses them; 3.10: pytest needs exceptiongroup there, which is not shipped.
    assert served.refusals == {"3.8": "pytest 9.2.0 needs Python >=3.10", "3.9": "pytest 9.2.0 needs Python >=3.10",
                               "3.10": "exceptiongroup is not installed there"}
    install(site, "exceptiongroup", "1.2.0", ">=3.7")
    served = conformance_bundle.Site("controller", installed(site), conformance_bundle.CANDIDATE_PYTHONS)
    assert sorted(served.closures, key=conformance_bundle.python_key) == ["3.10"] + LATER


def test_a_too_old_shipped_version_does_not_serve(site):
    (site / "pluggy-1.7.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: pluggy\nVersion: 1.5.0\n")
    served = conformance_bundle.Site("controller", installed(site), LATER)
    assert served.closures == {}
    assert served.refusals["3.12"] == "pytest 9.2.0 needs pluggy<2,>=1.6, not 1.5.0"


def test_each_python_is_given_the_first_site_that_serves_it(site, tmp_path):
    old = tmp_path / "old"
    install_pinned_for_38(old)
    controller = conformance_bundle.Site("controller", installed(site), conformance_bundle.CANDIDATE_PYTHONS)
    # The pinned site serves 3.8 to 3.14 by its metadata, but it is offered only the Pythons of its pins.
    pinned = conformance_bundle.Site("pins", installed(old), ["3.8", "3.9", "3.10", "3.11"])
    assert sorted(pinned.closures, key=conformance_bundle.python_key) == ["3.8", "3.9", "3.10", "3.11"]
    site_for = conformance_bundle.assign_pythons([controller, pinned])
    assert dict((version, chosen.source) for version, chosen in site_for.items()) == dict(
        [(v, "pins") for v in ("3.8", "3.9", "3.10")] + [(v, "controller") for v in LATER])
    assert list(site_for) == ["3.8", "3.9", "3.10"] + LATER  # ordered by version, not as text
    assert (controller.pythons, pinned.pythons) == (LATER, ["3.8", "3.9", "3.10"])
    assert (controller.name, pinned.name) == ("site-3.11.zip", "site-3.8.zip")
    # A site ships what the Pythons it is given need: the pinned one also exceptiongroup, the controller's not.
    assert sorted(pinned.shipped()) == ["exceptiongroup", "pluggy", "pytest", "pytest-testinfra"]
    assert pinned.describe()["distributions"] == {"exceptiongroup": "1.2.0", "pluggy": "1.5.0", "pytest": "8.3.5",
                                                  "pytest-testinfra": "8.1.0"}
    # In the other order the pinned site takes every Python it serves.
    assert set(conformance_bundle.assign_pythons([pinned, controller]).values()) == {pinned, controller}
    assert pinned.pythons == ["3.8", "3.9", "3.10", "3.11"] and controller.pythons == LATER[1:]


def test_pins_are_chosen_by_the_python_version_markers(pins_file):
    pins = conformance_bundle.read_pins(pins_file)
    assert [(pin.name, pin.version, pin.hashes) for pin in pins][:3] == [
        ("pytest", "8.3.5", ("sha256:aa",)), ("pytest", "9.2.0", ("sha256:bb",)),
        ("pluggy", "1.5.0", ("sha256:cc", "sha256:dd"))]

    def chosen(version):
        return ["%s==%s" % (pin.name, pin.version) for pin in conformance_bundle.pins_for(pins, version)]
    assert chosen("3.8") == ["exceptiongroup==1.2.0", "pluggy==1.5.0", "pytest==8.3.5", "pytest-testinfra==8.1.0"]
    assert chosen("3.10") == ["exceptiongroup==1.2.0", "pluggy==1.5.0", "pytest==9.2.0", "pytest-testinfra==8.1.0"]
    assert chosen("3.14") == ["pytest==9.2.0"]
    assert conformance_bundle.pins_for(pins, "3.8")[2].line() == "pytest==8.3.5 --hash=sha256:aa"


@pytest.mark.parametrize("line", ["pytest>=8 --hash=sha256:aa", "pytest==8.3.5", "pytest==8.3.5,<9 --hash=sha256:aa"])
def test_pins_must_be_exact_and_hashed(tmp_path, line):
    path = tmp_path / "pins.txt"
    path.write_text(line + "\n")
    with pytest.raises(conformance_bundle.BundleError, match="is not an exact pin with its hashes"):
        conformance_bundle.read_pins(path)


def test_the_repositorys_pins_serve_every_python_from_38_once_fetched():
    """requirements/conformance-hosts.txt names, for each Python 3.8+, pytest and pytest-testinfra pins."""
    pins = conformance_bundle.read_pins()
    for version in conformance_bundle.CANDIDATE_PYTHONS:
        names = {pin.name for pin in conformance_bundle.pins_for(pins, version)}
        assert {"pytest", "pytest-testinfra", "pluggy", "iniconfig", "packaging"} <= names, version
        assert ({"exceptiongroup", "tomli"} <= names) == (conformance_bundle.python_key(version) < (3, 11)), version
    assert not conformance_bundle.pins_for(pins, "3.7")


def lay_in_cache(cache: Path, pins_file: Path, version: str, installer) -> Path:
    """A fetched site as fetch_site leaves it in the cache, for the pins of that Python."""
    pins = conformance_bundle.pins_for(conformance_bundle.read_pins(pins_file), version)
    site = conformance_bundle.cache_entry(cache, pins) / "site"
    installer(site)
    return site


def test_a_python_the_controller_does_not_serve_gets_the_site_of_its_pins_from_the_cache(site, pins_file, tmp_path):
    cache = tmp_path / "cache"
    lay_in_cache(cache, pins_file, "3.8", install_pinned_for_38)
    sites, unserved = conformance_bundle.plan_sites(["3.8", "3.12"], [str(site)], cache, False, pins_file)
    assert unserved == {}
    site_for = conformance_bundle.assign_pythons(sites)
    assert [s.name for s in sites] == ["site-3.11.zip", "site-3.8.zip"]
    # 3.8 alone has the pins of its site: 3.9 and 3.10 would have another (pytest 9.2.0).
    assert sites[1].pythons == ["3.8"] and site_for["3.12"] is sites[0]
    assert "conformance-hosts.txt, fetched into %s" % cache in sites[1].source


def test_with_fetching_off_an_uncached_python_is_unserved_with_the_reason(site, pins_file, tmp_path):
    cache = tmp_path / "cache"
    sites, unserved = conformance_bundle.plan_sites(["3.7", "3.9", "3.11"], [str(site)], cache, False, pins_file)
    assert len(sites) == 1 and not cache.exists()
    assert unserved["3.7"] == "the kit needs Python 3.8 or later"
    assert unserved["3.9"] == (
        "search path %s: pytest 9.2.0 needs Python >=3.10; the distributions conformance-hosts.txt pins for it: "
        "fetching is off and the cache %s does not hold them" % (site, cache))
    assert sorted(unserved) == ["3.7", "3.9"]


def test_a_cache_that_does_not_hold_its_pins_is_not_used(site, pins_file, tmp_path):
    cache = tmp_path / "cache"
    lay_in_cache(cache, pins_file, "3.8", lambda path: install(path, "pytest", "8.3.5", ">=3.8"))
    _sites, unserved = conformance_bundle.plan_sites(["3.8"], [str(site)], cache, False, pins_file)
    assert "does not hold exceptiongroup==1.2.0, pluggy==1.5.0, pytest-testinfra==8.1.0" in unserved["3.8"]


def test_tarball_holds_the_kit_a_site_zip_per_range_and_a_manifest(site, pins_file, tmp_path):
    cache = tmp_path / "cache"
    lay_in_cache(cache, pins_file, "3.8", install_pinned_for_38)
    path = tmp_path / "kit.tar.gz"
    built = conformance_bundle.build_bundle(str(path), [str(site)], ["3.8", "3.13"], cache, False,
                                            pins_path=pins_file)
    assert built["pythons"] == ["3.8"] + LATER and built["unserved"] == {}
    assert built["site_for"] == dict([("3.8", "site-3.8.zip")] + [(v, "site-3.11.zip") for v in LATER])
    assert built["sites"]["site-3.11.zip"]["distributions"] == {"pytest-testinfra": "10.2.2", "pytest": "9.2.0",
                                                                "pluggy": "1.7.0"}
    assert built["sites"]["site-3.8.zip"]["pythons"] == ["3.8"]
    with tarfile.open(path) as archive:
        names = set(archive.getnames())
        manifest = json.load(archive.extractfile("bundle.json"))
        zips = dict((name, set(zipfile.ZipFile(io.BytesIO(archive.extractfile(name).read())).namelist()))
                    for name in ("site-3.8.zip", "site-3.11.zip"))
    assert manifest["site_for"] == built["site_for"] and manifest["sites"] == built["sites"]
    assert manifest["built_with"] == sys.version.split()[0]
    assert {"pytest.py", "pluggy.py", "pytest_testinfra.py", "pytest-9.2.0.dist-info/METADATA"} <= zips["site-3.11.zip"]
    assert {"exceptiongroup.py", "pytest-8.3.5.dist-info/METADATA"} <= zips["site-3.8.zip"]
    assert {"kit/conformance/conftest.py", "kit/conformance/given_set.py", "kit/conformance/probes/main.py"} <= names
    assert not any("unrelated" in name or "bin/" in name or "__pycache__" in name
                   for name in names.union(*zips.values()))
    assert len([name for name in names if name.startswith("kit/")]) == built["kit_files"]


def test_a_bundle_that_serves_none_of_the_hosts_pythons_says_why_for_each(pins_file, tmp_path):
    empty = tmp_path / "empty"
    built = conformance_bundle.build_bundle(str(tmp_path / "kit.tar.gz"), [str(empty)], ["3.9", "3.12"],
                                            tmp_path / "cache", False, pins_path=pins_file)
    assert built["site_for"] == {} and built["sites"] == {}
    assert built["unserved"]["3.12"] == "search path %s: pytest is not installed there; the distributions " \
        "conformance-hosts.txt pins for it: fetching is off and the cache %s does not hold them" % (empty, tmp_path / "cache")
    assert sorted(built["unserved"]) == ["3.12", "3.9"]
    # Asked for no Python, a bundle must serve some.
    with pytest.raises(conformance_bundle.BundleError, match="no site serves any host Python"):
        conformance_bundle.build_bundle(str(tmp_path / "kit.tar.gz"), [str(tmp_path / "empty")], [],
                                        tmp_path / "cache", False, pins_path=pins_file)


def test_refuses_compiled_distributions(site, tmp_path):
    install(site, "iniconfig", "2.3.1", ">=3.10", pure=False)
    (site / "pytest-9.2.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pytest\nVersion: 9.2.0\nRequires-Dist: iniconfig\n")
    with pytest.raises(conformance_bundle.BundleError, match="iniconfig 2.3.1 is not a pure-Python distribution"):
        conformance_bundle.build_bundle(str(tmp_path / "kit.tar.gz"), [str(site)])


def test_a_site_zip_holds_the_controllers_fresh_bytecode_which_this_python_imports_without_compiling(
        site, pins_file, tmp_path):
    module = site / "pluggy.py"
    py_compile.compile(str(module), doraise=True)  # the controller's __pycache__ file, as after an import
    stale = site / "pytest.py"
    py_compile.compile(str(stale), doraise=True)
    stale.write_text("VERSION = 'changed since compiled'\n")
    cache = tmp_path / "cache"
    py_compile.compile(str(lay_in_cache(cache, pins_file, "3.8", install_pinned_for_38) / "pluggy.py"), doraise=True)
    path = tmp_path / "kit.tar.gz"
    conformance_bundle.build_bundle(str(path), [str(site)], ["3.8", "3.13"], cache, False, pins_path=pins_file)
    site_zip = tmp_path / "site.zip"
    with tarfile.open(path) as archive:
        site_zip.write_bytes(archive.extractfile("site-3.11.zip").read())
        assert not any(name.endswith(".pyc") for name in  # a site for other Pythons than this one
                       zipfile.ZipFile(io.BytesIO(archive.extractfile("site-3.8.zip").read())).namelist())
    names = set(zipfile.ZipFile(site_zip).namelist())
    assert "pluggy.pyc" in names and "pytest.pyc" not in names and "pytest_testinfra.pyc" not in names
    importer = zipimport.zipimporter(str(site_zip))
    assert importer.get_filename("pluggy").endswith("pluggy.pyc")  # the entry it took the code from
    assert importer.get_filename("pytest").endswith("pytest.py")
