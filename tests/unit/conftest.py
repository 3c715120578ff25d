"""For the unit tests: fake linux_namespaces facts (a healthy root audit on 6.18 that tests then break), and a
source tree written from a dict."""

from __future__ import annotations

import copy
import importlib.util
import pathlib
import sys
import textwrap

import pytest

# ansible-test units puts the collection on the path; plain pytest finds it through the
# .ansible/collections link the README sets up.
if importlib.util.find_spec("ansible_collections") is None:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / ".ansible" / "collections"))

from ansible_collections.linux.namespaces.plugins.module_utils.features import KERNEL_FEATURES
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import NAMESPACE_TYPES

OPTIONS = ["CONFIG_NAMESPACES"] + [t.kernel_config for t in NAMESPACE_TYPES if t.kernel_config]


def _healthy(release: str) -> dict:
    return {
        "kernel": {"release": release, "version": "#1 SMP", "machine": "x86_64"},
        "probed_as": {"uid": 0, "root": True},
        "kernel_config": {"source": "/proc/config.gz", "options": {name: "y" for name in OPTIONS}},
        "types": {t.name: {
            "present": True,
            "creatable": {"status": "pass", "reason": "unshare worked"},
            "first_kernel": t.first_kernel,
            "kernel_config": t.kernel_config,
            "config": "y" if t.kernel_config else "builtin",
            "max_sysctl": t.max_sysctl,
            "max": 96365,
            "in_use": 1,
        } for t in NAMESPACE_TYPES},
        "in_use_note": "",
        "features": {f.name: {"status": "pass", "reason": "probe worked", "first_kernel": f.first_kernel}
                     for f in KERNEL_FEATURES},
        "userns_policy": {
            "sysctls": {"user.max_user_namespaces": "96365", "kernel.unprivileged_userns_clone": None,
                        "kernel.apparmor_restrict_unprivileged_userns": None},
            "closed_gates": [],
            "probe_uid": 65534,
            "create": {"status": "pass", "reason": "created"},
            "privileged_operation": {"status": "pass", "reason": "sethostname worked"},
            "unprivileged": {"status": "pass", "reason": "both worked"},
        },
        "disagreements": [],
        "isolate": {"status": "pass", "reason": "all good", "blockers": []},
    }


@pytest.fixture
def make_facts():
    """make_facts(release="6.18.44") -> a fresh healthy facts dict to modify."""
    def make(release: str = "6.18.44") -> dict:
        return copy.deepcopy(_healthy(release))
    return make


@pytest.fixture
def write_tree(tmp_path):
    """write_tree({"dir/name.py": source, ...}) writes the files (sources dedented) under tmp_path; returns it."""
    def write(files: dict) -> pathlib.Path:
        for name, source in files.items():
            path = tmp_path.joinpath(*name.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        return tmp_path
    return write
