"""namespace_facts on this host, checked against util-linux and the kernel's own files, on target Pythons 3.8 to 3.13.

Runs as root. The module changes nothing on the host; what util-linux creates here dies with its process.
"""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import socket
import subprocess
import sys

import pytest

from tests.fleet import run_prefix

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
PYENV = pathlib.Path("/root/.pyenv/versions")
TARGET_PYTHONS = {"3.8": PYENV / "3.8.18/bin/python3", "3.13": PYENV / "3.13.0/bin/python3",
                  "controller": pathlib.Path(sys.executable)}
ALL_TYPES = ("mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time")
# util-linux unshare's option per type; pid and time take effect in children only: --fork.
UNSHARE_OPTIONS = {"mnt": ["--mount"], "uts": ["--uts"], "ipc": ["--ipc"], "pid": ["--pid", "--fork"],
                   "net": ["--net"], "user": ["--user"], "cgroup": ["--cgroup"], "time": ["--time", "--fork"]}
NOBODY = "65534"


def ansible_env() -> dict:
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".ansible" / "collections"))
    return env


def ansible_program(name: str) -> str:
    return str(pathlib.Path(sys.executable).parent / name)


def namespace_facts(python: pathlib.Path, *options: str) -> dict:
    """The result of one `ansible localhost -m linux.namespaces.namespace_facts` run under python."""
    if not python.exists():
        pytest.fail("target interpreter %s is missing" % python)
    completed = subprocess.run(
        [ansible_program("ansible"), "localhost", "-o", "-m", "linux.namespaces.namespace_facts",
         "-e", "ansible_python_interpreter=%s" % python, *options],
        env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    line = next((line for line in completed.stdout.splitlines() if line.startswith("localhost | ")), "")
    assert " | SUCCESS => " in line, "module failed (exit %d):\n%s\n%s" % (
        completed.returncode, completed.stdout, completed.stderr)
    return json.loads(line.split(" => ", 1)[1])


@pytest.fixture(scope="module", params=sorted(TARGET_PYTHONS))
def result(request) -> dict:
    return namespace_facts(TARGET_PYTHONS[request.param])


@pytest.fixture(scope="module")
def facts() -> dict:
    return namespace_facts(TARGET_PYTHONS["controller"])["ansible_facts"]["linux_namespaces"]


def util_linux_creates(nstype: str) -> bool:
    completed = subprocess.run(["unshare", *UNSHARE_OPTIONS[nstype], "true"], check=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return completed.returncode == 0


def test_all_eight_types_creatable_on_every_target_python(result):
    assert result["changed"] is False
    types = result["ansible_facts"]["linux_namespaces"]["types"]
    assert sorted(types) == sorted(ALL_TYPES)
    assert {name: entry["creatable"]["status"] for name, entry in types.items()} == {name: "pass" for name in ALL_TYPES}
    assert all(entry["present"] for entry in types.values())


@pytest.mark.parametrize("nstype", ALL_TYPES)
def test_creatable_agrees_with_util_linux_unshare(facts, nstype):
    assert (facts["types"][nstype]["creatable"]["status"] == "pass") == util_linux_creates(nstype)


@pytest.mark.parametrize("nstype", ALL_TYPES)
def test_presence_and_limit_agree_with_proc(facts, nstype):
    entry = facts["types"][nstype]
    assert entry["present"] == os.path.exists("/proc/self/ns/" + nstype)
    limit = pathlib.Path("/proc/sys/user/max_%s_namespaces" % nstype)
    assert entry["max"] == (int(limit.read_text()) if limit.exists() else None)
    assert entry["in_use"] >= 1  # this test process is in one of each


def test_kernel_release_and_config_agree_with_uname_and_config_file(facts):
    assert facts["kernel"]["release"] == os.uname().release
    config = facts["kernel_config"]
    candidates = [pathlib.Path("/proc/config.gz"), pathlib.Path("/boot/config-" + os.uname().release)]
    readable = next((path for path in candidates if os.access(str(path), os.R_OK)), None)
    if readable is None:
        assert config["source"] is None
        assert set(config["options"].values()) == {"unknown"}
        return
    assert config["source"] == str(readable)
    opener = gzip.open if readable.suffix == ".gz" else open
    with opener(str(readable), "rt") as handle:
        lines = set(handle.read().splitlines())
    for option, value in config["options"].items():
        if value in ("y", "m"):
            assert "%s=%s" % (option, value) in lines
        elif value == "n":
            assert "# %s is not set" % option in lines
        else:
            assert not any(line.startswith(option + "=") for line in lines)


def test_unprivileged_user_namespace_verdict_agrees_with_util_linux(facts):
    # Independent probe: as nobody, a user namespace (root inside) and a UTS namespace, then sethostname.
    name = run_prefix() + "-probe"
    completed = subprocess.run(
        ["setpriv", "--reuid", NOBODY, "--regid", NOBODY, "--clear-groups",
         "unshare", "--user", "--map-root-user", "--uts", "hostname", name],
        check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    policy = facts["userns_policy"]
    assert (policy["unprivileged"]["status"] == "pass") == (completed.returncode == 0), completed.stdout
    assert policy["probe_uid"] == int(NOBODY)
    assert policy["sysctls"]["user.max_user_namespaces"] == pathlib.Path(
        "/proc/sys/user/max_user_namespaces").read_text().strip()
    assert socket.gethostname() != name


def release_tuple(release: str) -> tuple:
    return tuple(int(part) for part in release.split("-")[0].split(".")[:3])


def test_features_of_this_kernel_version_are_found(facts):
    # A mainline feature as old as the running kernel or older must be found by its probe here.
    running = release_tuple(facts["kernel"]["release"])
    expected = {name: "pass" for name, result in facts["features"].items()
                if release_tuple(result["first_kernel"]) <= running}
    assert expected, "no feature as old as kernel %s" % facts["kernel"]["release"]
    assert {name: facts["features"][name]["status"] for name in expected} == expected
    cgroup = facts["features"]["cgroup_v2"]
    cgroup2_mounts = [line.split(" - ")[0].split()[4] for line in pathlib.Path("/proc/self/mountinfo").read_text(
    ).splitlines() if line.split(" - ")[1].split()[0] == "cgroup2"]
    assert cgroup["mount_point"] in cgroup2_mounts


def test_host_can_run_isolate_and_nothing_disagrees(facts):
    assert facts["isolate"]["status"] == "pass", facts["isolate"]["reason"]
    assert facts["disagreements"] == []


def test_a_limit_of_zero_makes_creation_fail_and_is_explained():
    # In a throwaway user namespace (root inside, the host's root outside) user.max_uts_namespaces is
    # that namespace's own: 0 there forbids new UTS namespaces to everything inside, util-linux included.
    script = ("echo 0 > /proc/sys/user/max_uts_namespaces && "
              "if unshare --uts true 2>/dev/null; then echo UNSHARE=pass; else echo UNSHARE=fail; fi && "
              'exec "$@"')
    completed = subprocess.run(
        ["unshare", "--user", "--map-root-user", "sh", "-c", script, "sh", ansible_program("ansible"), "localhost",
         "-o", "-m", "linux.namespaces.namespace_facts", "-e", "ansible_python_interpreter=%s" % sys.executable],
        env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    lines = completed.stdout.splitlines()
    assert "UNSHARE=fail" in lines, completed.stdout + completed.stderr
    facts = json.loads(next(line for line in lines if " | SUCCESS => " in line).split(" => ", 1)[1])[
        "ansible_facts"]["linux_namespaces"]
    uts = facts["types"]["uts"]
    assert uts["max"] == 0
    assert uts["creatable"]["status"] == "fail" and uts["creatable"]["errno"] == "ENOSPC"
    assert "user.max_uts_namespaces is 0" in uts["creatable"]["reason"]
    assert facts["types"]["ipc"]["creatable"]["status"] == "pass"
    expected = {("runtime", "probe")}
    if facts["kernel_config"]["source"]:  # CONFIG_UTS_NS=y against the 0 limit
        expected.add(("config", "policy"))
    assert {tuple(d["between"]) for d in facts["disagreements"] if d["subject"] == "uts"} == expected
    assert facts["isolate"]["status"] == "fail"
    assert facts["isolate"]["blockers"] == ["uts namespace: " + uts["creatable"]["reason"]]


def test_check_mode_gives_the_same_answers():
    checked = namespace_facts(TARGET_PYTHONS["controller"], "--check")
    assert checked["changed"] is False
    types = checked["ansible_facts"]["linux_namespaces"]["types"]
    assert all(entry["creatable"]["status"] == "pass" for entry in types.values())


def test_module_changes_nothing_on_the_host():
    # The unprivileged probe sets a hostname, in its own UTS namespace only.
    before = (socket.gethostname(), pathlib.Path("/proc/sys/kernel/domainname").read_text())
    namespace_facts(TARGET_PYTHONS["controller"])
    assert (socket.gethostname(), pathlib.Path("/proc/sys/kernel/domainname").read_text()) == before
