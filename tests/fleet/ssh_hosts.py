"""What the namespace hosts (fleet.py) and the qemu guests (guest.py) share: a group of SSH hosts reached
through the group's own ssh_config, started by `with` and torn down when it ends."""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Sequence


def unwind_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, so every `with` of a host group tears it down, also
    when the program was started in the background (where SIGINT is ignored by default)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.default_int_handler)


class SshHostGroup:
    """Hosts with a `name`, reached as `ssh -F ssh_config_path NAME`. A subclass builds them (`_build`), stops
    them (`_stop_hosts`) and lists what of them is left (`leftovers`); files live under `root`."""

    prefix: str
    workdir: Path
    root: Path
    ssh_config_path: Path
    control_dir: Path | None
    hosts: list[Any]
    command_timeout: float = 60  # seconds a command over ssh may take
    error: type = RuntimeError  # what teardown raises when something is left
    # Set once the group's names and directory are known to be free: only then does teardown remove
    # anything carrying them (never another group that uses the same prefix).
    _claimed = False

    def _build(self) -> None:
        raise NotImplementedError

    def _stop_hosts(self) -> None:
        raise NotImplementedError

    def leftovers(self) -> list[str]:
        raise NotImplementedError

    def login_users(self) -> Sequence[str]:
        return ("root",)

    def _claim(self, taken: str) -> None:
        """Make the group's directory, its claim on the prefix (`taken` says why it may exist already), and the
        ssh control directory."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.root.mkdir(mode=0o700)
        except FileExistsError:
            raise self.error(f"{self.root} exists: {taken}") from None
        self._claimed = True
        # ssh control sockets need a short path (sun_path is 108 bytes, ssh adds a suffix).
        self.control_dir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-ssh-", dir="/tmp"))

    def start(self) -> None:
        try:
            self._build()
        except BaseException:
            self.teardown()
            raise

    def teardown(self) -> None:
        """Stop every host and remove every file of the group; safe to call again. Raises `error` naming what
        is left if anything is."""
        if not self._claimed:
            return
        self.close_control_masters(self.login_users())
        self._stop_hosts()
        for directory in (self.control_dir, self.root):
            if directory is not None and directory.exists():
                shutil.rmtree(directory)
        leftovers = self.leftovers()
        if leftovers:
            raise self.error(f"{type(self).__name__} {self.root.name} teardown left: {leftovers}")

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.teardown()

    def ssh_command(self, host: Any, cmd: str | Sequence[str]) -> list[str]:
        """argv running `cmd` (a shell string, or an argv to quote) on `host` (a host or its name) over ssh."""
        name = host if isinstance(host, str) else host.name
        remote = cmd if isinstance(cmd, str) else shlex.join(cmd)
        return ["ssh", "-F", str(self.ssh_config_path), name, "--", remote]

    def run(self, host: Any, cmd: str | Sequence[str], *, check: bool = True, timeout: float | None = None,
            input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.ssh_command(host, cmd), input=input, capture_output=True, text=True, check=check,
                              timeout=timeout or self.command_timeout)

    def close_control_masters(self, users: Sequence[str] = ("root",)) -> None:
        """Ends the ssh master of each host and login user (ControlPath's %C hashes the user too)."""
        if self.control_dir is None or not self.control_dir.exists() or not any(self.control_dir.iterdir()):
            return
        closers = [subprocess.Popen(["ssh", "-F", str(self.ssh_config_path), "-l", user, "-O", "exit", host.name],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for host in self.hosts for user in users]
        for closer in closers:
            closer.wait()
