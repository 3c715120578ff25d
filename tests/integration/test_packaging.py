"""The collection as a user gets it: built with ansible-galaxy, installed, and run from the installed copy.

The tarball is listed (no link, no development file, only the top-level entries a user needs). The
installed copy, with ANSIBLE_COLLECTIONS_PATH naming only it and a working directory outside the
repository, runs the main playbook (present, present again, absent) and the conformance kit. Needs root
(the playbook makes namespaces). Everything the runs make carries the run's prefix.
"""

from __future__ import annotations

import json
import os
import sys
import tarfile
from pathlib import Path

import pytest

from tests.integration.helpers import REPO, RECAP_LINE, ansible_program, run
from tests.integration.isolate_subject import Subject, leftovers, remove_leftovers

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the playbook makes namespaces: root only")

# What a user needs, and what ansible-galaxy adds (MANIFEST.json, FILES.json). requirements/ holds only
# the conformance role's host pins.
EXPECTED_TOP_LEVEL = {"FILES.json", "MANIFEST.json", "LICENSE", "README.md", "changelogs", "conformance", "docs",
                      "meta", "playbooks", "plugins", "requirements", "roles"}
DEVELOPMENT_FILES = {"Makefile", ".ansible-lint", ".gitignore", "isolate.yml", "requirements/controller.in",
                     "requirements/controller.txt", "requirements/conformance-hosts.in"}
DEVELOPMENT_DIRECTORIES = {".ansible", ".venv", ".ci", ".git", ".hypothesis", "tests", "bench", "__pycache__"}
# The warnings the repository's tests silence elsewhere must not appear here: nothing is silenced.
SILENCERS = ("ANSIBLE_LOCALHOST_WARNING", "ANSIBLE_INVENTORY_UNPARSED_WARNING", "ANSIBLE_DEPRECATION_WARNINGS",
             "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_CONFIG", "PYTHONPATH")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The tarball `ansible-galaxy collection build` makes from the repository."""
    output = tmp_path_factory.mktemp("build")
    run([ansible_program("ansible-galaxy"), "collection", "build", "--output-path", str(output), str(REPO)],
        cwd=str(output))
    tarballs = list(output.glob("linux-namespaces-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]


@pytest.fixture(scope="module")
def members(built) -> list:
    with tarfile.open(built) as tarball:
        return tarball.getmembers()


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory) -> Path:
    """The collections path the tarball is installed into with `ansible-galaxy collection install`."""
    collections = tmp_path_factory.mktemp("collections")
    run([ansible_program("ansible-galaxy"), "collection", "install", "--offline", "-p", str(collections),
         str(built)], cwd=str(collections), env=user_environment(collections))
    return collections


def user_environment(collections: Path) -> dict:
    environment = {name: value for name, value in os.environ.items() if name not in SILENCERS}
    environment.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
    return environment


def test_tarball_holds_no_link(members):
    links = [member.name for member in members if member.issym() or member.islnk()]
    assert links == []
    assert all(member.isfile() or member.isdir() for member in members)


def test_tarball_holds_only_what_a_user_needs(members):
    names = [member.name for member in members]
    assert {name.split("/", 1)[0] for name in names} == EXPECTED_TOP_LEVEL
    assert [name for name in names if name in DEVELOPMENT_FILES] == []
    assert [name for name in names if DEVELOPMENT_DIRECTORIES & set(name.split("/"))] == []
    assert [name for name in names if name.endswith(".pyc")] == []
    assert "requirements/conformance-hosts.txt" in names  # the conformance role reads it


def test_manifest_names_no_placeholder_address(built):
    with tarfile.open(built) as tarball:
        info = json.load(tarball.extractfile("MANIFEST.json"))["collection_info"]
    for key in ("repository", "homepage", "issues", "documentation"):
        assert info[key] is None or "example" not in info[key], (key, info[key])


def test_installed_copy_is_the_tarballs(installed, members):
    root = installed / "ansible_collections" / "linux" / "namespaces"
    assert root.is_dir() and not root.is_symlink()
    listed = run([ansible_program("ansible-galaxy"), "collection", "list", "linux.namespaces", "--format", "json"],
                 cwd=str(installed), env=user_environment(installed)).stdout
    assert list(json.loads(listed)) == [str(installed / "ansible_collections")]
    files = {member.name for member in members if member.isfile()}
    assert {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()} >= files - {"FILES.json"}


def isolate_from_installed(installed: Path, workdir: Path, extra_vars: dict) -> tuple:
    """`ansible-playbook linux.namespaces.isolate` on this host the way `make isolate` runs it: (recap, output)."""
    completed = run([ansible_program("ansible-playbook"), "-i", "localhost,", "-c", "local", "linux.namespaces.isolate",
                     "-e", json.dumps(dict(extra_vars, ansible_python_interpreter=sys.executable))],
                    check=False, cwd=str(workdir), env=user_environment(installed))
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "[WARNING]" not in output and "[DEPRECATION WARNING]" not in output, output
    recap = {match.group(1): int(match.group(3)) for match in RECAP_LINE.finditer(completed.stdout)}
    return recap, output


def test_isolate_runs_from_the_installed_copy(installed, prefix, ipc_key, tmp_path):
    subject = Subject(prefix, "pkg", 20, ipc_key)
    try:
        changed, output = isolate_from_installed(installed, tmp_path, subject.extra_vars)
        assert changed["localhost"] > 0
        assert "every row shows isolation" in output
        assert run(["nsenter", f"--uts={subject.file('uts')}", "hostname"]).stdout.strip() == "container"
        changed, output = isolate_from_installed(installed, tmp_path, subject.extra_vars)
        assert changed["localhost"] == 0, output
        changed, output = isolate_from_installed(installed, tmp_path, dict(subject.extra_vars, isolate_state="absent"))
        assert changed["localhost"] > 0
        assert leftovers(subject) == []
        assert not subject.store.exists()
    finally:
        remove_leftovers(subject)


def test_conformance_kit_runs_from_the_installed_copy(installed, tmp_path):
    kit = installed / "ansible_collections" / "linux" / "namespaces" / "conformance"
    completed = run([sys.executable, "-m", "pytest", str(kit), "-c", os.devnull, "--rootdir", str(kit.parent),
                     "--hosts=local://", "-k", "UTS", "-p", "no:cacheprovider", "-q"],
                    check=False, cwd=str(tmp_path), env=user_environment(installed))
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert " passed" in output and " failed" not in output, output
    assert str(REPO) not in output, output
