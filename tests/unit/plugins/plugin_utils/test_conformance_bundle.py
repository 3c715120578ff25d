"""The kit's bundle: which distributions it ships, which host Pythons they serve, what the tarball holds.
Distributions are fake ones in a temporary site directory, given as the search path."""

from __future__ import annotations

import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from ansible_collections.linux.namespaces.plugins.plugin_utils import conformance_bundle


def install(site: Path, name: str, version: str, requires_python: str = "", requires: tuple = (),
            pure: bool = True) -> None:
    """A distribution as pip leaves it: a module file and its .dist-info (METADATA, WHEEL, RECORD)."""
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


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    install(site, "pytest-testinfra", "10.2.2", ">=3.9", ("pytest>=6", "paramiko; extra == 'paramiko'"))
    install(site, "pytest", "9.2.0", ">=3.10", ('exceptiongroup>=1; python_version < "3.11"', "pluggy<2,>=1.6",
                                                'colorama>=0.4; sys_platform == "win32"'))
    install(site, "pluggy", "1.7.0", ">=3.10")
    install(site, "unrelated", "1.0")
    return site


def test_ships_the_roots_and_what_they_require_on_this_python(site):
    closure = conformance_bundle.required_closure(conformance_bundle._distributions([str(site)]))
    assert sorted(closure) == ["pluggy", "pytest", "pytest-testinfra"]


def test_serves_the_pythons_every_distribution_accepts_and_needs_nothing_more_on(site):
    closure = conformance_bundle.required_closure(conformance_bundle._distributions([str(site)]))
    # 3.8 and 3.9: pytest refuses them; 3.10: pytest needs exceptiongroup, which is not shipped.
    assert conformance_bundle.served_pythons(closure) == ["3.11", "3.12", "3.13", "3.14"]
    install(site, "exceptiongroup", "1.2.0", ">=3.7")
    closure = conformance_bundle.required_closure(conformance_bundle._distributions([str(site)]),
                                                  ("pytest-testinfra", "exceptiongroup"))
    assert conformance_bundle.served_pythons(closure)[0] == "3.10"


def test_a_too_old_shipped_version_does_not_serve(site):
    (site / "pluggy-1.7.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: pluggy\nVersion: 1.5.0\n")
    closure = conformance_bundle.required_closure(conformance_bundle._distributions([str(site)]))
    assert conformance_bundle.served_pythons(closure) == []


def test_tarball_holds_the_kit_the_distributions_and_a_manifest(site, tmp_path):
    path = tmp_path / "kit.tar.gz"
    built = conformance_bundle.build_bundle(str(path), [str(site)])
    assert built["pythons"] == ["3.11", "3.12", "3.13", "3.14"]
    assert built["distributions"] == {"pytest-testinfra": "10.2.2", "pytest": "9.2.0", "pluggy": "1.7.0"}
    with tarfile.open(path) as archive:
        names = set(archive.getnames())
        manifest = json.load(archive.extractfile("bundle.json"))
        site = set(zipfile.ZipFile(io.BytesIO(archive.extractfile("site.zip").read())).namelist())
    assert manifest["pythons"] == built["pythons"] and manifest["built_with"] == sys.version.split()[0]
    assert {"pytest.py", "pluggy.py", "pytest_testinfra.py", "pytest-9.2.0.dist-info/METADATA"} <= site
    assert {"kit/conformance/conftest.py", "kit/conformance/given_set.py", "kit/conformance/probes/lnsprobe.py"} <= names
    assert not any("unrelated" in name or "bin/" in name or "__pycache__" in name for name in names | site)
    assert len([name for name in names if name.startswith("kit/")]) == built["kit_files"]


def test_refuses_compiled_or_missing_distributions(site, tmp_path):
    install(site, "iniconfig", "2.3.1", ">=3.10", pure=False)
    (site / "pytest-9.2.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pytest\nVersion: 9.2.0\nRequires-Dist: iniconfig\n")
    with pytest.raises(conformance_bundle.BundleError, match="iniconfig 2.3.1 is not a pure-Python distribution"):
        conformance_bundle.build_bundle(str(tmp_path / "kit.tar.gz"), [str(site)])
    (site / "pytest-9.2.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pytest\nVersion: 9.2.0\nRequires-Dist: tomli\n")
    with pytest.raises(conformance_bundle.BundleError, match="tomli is not installed"):
        conformance_bundle.build_bundle(str(tmp_path / "kit.tar.gz"), [str(site)])
