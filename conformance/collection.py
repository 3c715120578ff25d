"""The collection subject: a named set made on the host by the collection's own `namespace` module.

The kit drives the module the way an operator would, with the `ansible` command on the controller and
the same connection testinfra uses for the host, so local://, ssh:// and ansible:// targets all work.
It never imports the collection's code: the set is observed on the host with util-linux and the probe.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

MODULE = "linux.namespaces.namespace"
COLLECTION_ROOT = Path(__file__).resolve().parents[1]


class AnsibleUnavailable(Exception):
    """The host cannot be driven with the ansible command (reason in the message)."""


def ansible_command() -> str:
    beside_python = Path(sys.executable).parent / "ansible"
    found = str(beside_python) if beside_python.exists() else shutil.which("ansible")
    if not found:
        raise AnsibleUnavailable("the ansible command is not installed on the controller")
    return found


class CollectionsPath:
    """ANSIBLE_COLLECTIONS_PATH that finds linux.namespaces: the user's, the checkout's, or a
    temporary directory with a link to this checkout (removed by close())."""

    def __init__(self) -> None:
        self.temporary: Optional[str] = None
        if os.environ.get("ANSIBLE_COLLECTIONS_PATH"):
            self.value = os.environ["ANSIBLE_COLLECTIONS_PATH"]
        elif COLLECTION_ROOT.parent.name == "linux" and COLLECTION_ROOT.parents[1].name == "ansible_collections":
            self.value = str(COLLECTION_ROOT.parents[2])
        else:
            self.temporary = tempfile.mkdtemp(prefix="lns-conformance-")
            namespace_dir = Path(self.temporary, "ansible_collections", "linux")
            namespace_dir.mkdir(parents=True)
            (namespace_dir / "namespaces").symlink_to(COLLECTION_ROOT)
            self.value = self.temporary

    def close(self) -> None:
        if self.temporary:
            shutil.rmtree(self.temporary, ignore_errors=True)
            self.temporary = None


def ansible_target(host, python: str) -> Tuple[str, List[str]]:
    """(host pattern, ansible CLI arguments) that reach the same host as testinfra's `host`."""
    backend = host.backend
    become = ["--become"] if backend.sudo else []
    if backend.NAME == "local":
        # The module runs with the controller's Python, as the implicit localhost does.
        return "localhost", ["-i", "localhost,", "-c", "local",
                             "-e", "ansible_python_interpreter=%s" % sys.executable] + become
    if backend.NAME in ("ssh", "safe-ssh", "paramiko"):
        spec = backend.host
        extra = {"ansible_host": spec.name, "ansible_python_interpreter": python}
        if spec.user:
            extra["ansible_user"] = spec.user
        if spec.port:
            extra["ansible_port"] = int(spec.port)
        if getattr(backend, "ssh_config", None):
            extra["ansible_ssh_common_args"] = "-F %s" % backend.ssh_config
        if getattr(backend, "ssh_identity_file", None):
            extra["ansible_ssh_private_key_file"] = backend.ssh_identity_file
        return spec.name, ["-i", "%s," % spec.name, "-c", "ssh", "-e", json.dumps(extra)] + become
    if backend.NAME == "ansible":
        inventory = ["-i", backend.ansible_inventory] if backend.ansible_inventory else []
        return backend.host, inventory + become
    raise AnsibleUnavailable("the %s connection has no ansible equivalent in the kit" % backend.NAME)


ONE_LINE_RESULT = re.compile(r"^(\S+) \| (SUCCESS|CHANGED|FAILED!|UNREACHABLE!) => (\{.*\})$")


def run_module(host, python: str, collections_path: str, args: Dict) -> Dict:
    """Run the namespace module once on host; returns its result (raises on a failed run)."""
    pattern, target_args = ansible_target(host, python)
    argv = [ansible_command(), pattern] + target_args + ["--one-line", "-m", MODULE, "-a", json.dumps(args)]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_RETRY_FILES_ENABLED="0")
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300, check=False)
    results = [ONE_LINE_RESULT.match(line) for line in proc.stdout.decode().splitlines()]
    results = [found for found in results if found]
    if len(results) != 1:
        raise AnsibleUnavailable("ansible %s exited %d: %s" % (
            MODULE, proc.returncode, (proc.stderr + proc.stdout).decode().strip()[-2000:]))
    status, result = results[0].group(2), json.loads(results[0].group(3))
    if status in ("FAILED!", "UNREACHABLE!"):
        raise AnsibleUnavailable("%s %s %s" % (MODULE, status.rstrip("!").lower(), result.get("msg") or result))
    return result


class CollectionSet:
    """One set on one host, made with the module and removed with it (state: absent)."""

    def __init__(self, host, python: str, collections_path: str, prefix: str, types: List[str], time_offset: int):
        self.host = host
        self.python = python
        self.collections_path = collections_path
        self.name = "%s-col" % prefix
        self.store = "/run/%s-store" % prefix
        self.types = types
        self.time_offset = time_offset
        self.calls = 0
        self.made_by_kit = True

    def spec(self) -> Dict:
        """What the probe needs to find and observe the set."""
        return {"kind": "collection", "store": self.store, "name": self.name, "hostname": self.name}

    def module_args(self) -> Dict:
        """The namespace module's arguments that make the set the probe expects."""
        args = {"name": self.name, "types": self.types, "hostname": self.name, "mount_proc": True,
                "store": self.store, "state": "present"}
        if "time" in self.types:
            args.update(monotonic_offset=self.time_offset, boottime_offset=self.time_offset)
        return args

    def create(self) -> Dict:
        self.calls += 1
        return run_module(self.host, self.python, self.collections_path, self.module_args())

    def remove(self) -> Dict:
        self.calls += 1
        return run_module(self.host, self.python, self.collections_path,
                          {"name": self.name, "store": self.store, "state": "absent"})


class GivenCollectionSet(CollectionSet):
    """A set the caller made with the module and removes after the run (--lns-collection-set): the
    linux.namespaces.conformance role makes it over its own connection with module_args(), so the kit
    running on the host needs no ansible there. The kit only observes it."""

    def __init__(self, name: str, store: str):
        CollectionSet.__init__(self, None, "", "", "", [], 0)
        self.name = name
        self.store = store
        self.made_by_kit = False

    def create(self) -> Dict:
        return {}

    def remove(self) -> Dict:
        return {}
