"""qemu guests that boot real Debian kernels, beside the namespace hosts of fleet.py.

Each guest is a qemu-system-x86_64 process: the kernel from tests/fleet/kernels.py, an initramfs from
tests/fleet/initramfs.py, this machine's root shared read-only over virtio-9p, and qemu's user network
in restricted mode (nothing routes outside) with one forwarded port on 127.0.0.1 to the guest's sshd.
KVM is used when the CPU offers vmx or svm and /dev/kvm opens; otherwise software emulation (TCG).

    with Guests(prefix, [kernel_a, kernel_b], workdir) as guests:
        guests.run(guests.hosts[0], "uname -r")                     # over ssh, CompletedProcess
        ansible-playbook -i guests.inventory_path ...               # INI inventory, group `guests`

A guest that does not boot or answer is reported in `guests.failed` (name -> reason) and left out
of the inventory; the others still come up.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from tests.fleet.fleet import PREFIX_PATTERN, SSH_CLIENT_OPTIONS, SSHD_CONFIG, default_python
from tests.fleet.initramfs import GUEST_DIR, ROOT_TAG, InitramfsError, build_initramfs
from tests.fleet.kernels import Kernel
from tests.fleet.ssh_hosts import SshHostGroup

GUEST_MEMORY_MB = 1024
# mitigations=off: these are throwaway test machines, and under software emulation the page-table
# switches of the CPU-bug mitigations make every system call markedly slower.
KERNEL_COMMAND_LINE = "console=ttyS0 panic=-1 loglevel=4 rdinit=/init mitigations=off"


class GuestError(RuntimeError):
    """Guests could not be built or removed."""


@dataclass(frozen=True)
class GuestHost:
    name: str
    kernel: Kernel
    port: int  # on 127.0.0.1, forwarded to the guest's port 22
    directory: Path


def use_kvm() -> bool:
    """Whether guests can boot under KVM: the CPU must offer vmx or svm (without, /dev/kvm may open
    and still fail to boot a Linux guest)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    if not re.search(r"^flags\s*:.*\b(vmx|svm)\b", flags, re.MULTILINE):
        return False
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError:
        return False
    return True


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def guest_name(prefix: str, kernel: Kernel) -> str:
    """PREFIX-kMAJOR-MINOR: the kernel series in the host name shows which column a host is."""
    major, minor = re.match(r"(\d+)\.(\d+)", kernel.release).groups()
    return f"{prefix}-k{major}-{minor}"


class Guests(SshHostGroup):
    """qemu guests, one per kernel; `with Guests(prefix, kernels, workdir) as guests:` boots and always
    removes them. Files live under `workdir/guests-PREFIX`, ssh control sockets in a short /tmp
    directory. qemu dies with the calling thread (parent-death signal) even if that is killed."""

    command_timeout = 120  # a command under software emulation is slow
    error = GuestError

    def __init__(
        self,
        prefix: str,
        kernels: Sequence[Kernel],
        workdir: Path,
        *,
        busybox: Path,
        python: str | None = None,
        boot_timeout: float = 120.0,
        parallel: int | None = None,
        progress: Callable[[str], None] = print,
    ) -> None:
        if not PREFIX_PATTERN.match(prefix):
            raise GuestError(f"prefix {prefix!r}: use lowercase letters and digits, starting with a letter")
        names = [guest_name(prefix, kernel) for kernel in kernels]
        if len(set(names)) != len(names):
            raise GuestError(f"two kernels of one series: {names}")
        self.prefix = prefix
        self.kernels = list(kernels)
        self.workdir = Path(workdir)
        self.root = self.workdir / f"guests-{prefix}"
        self.busybox = busybox
        self.python = python or default_python()
        self.boot_timeout = boot_timeout
        # TCG keeps one host core busy per booting guest.
        self.parallel = parallel or max(1, os.cpu_count() or 1)
        self.progress = progress
        self.kvm = use_kvm()
        self.inventory_path = self.root / "inventory.ini"
        self.ssh_config_path = self.root / "ssh_config"
        self.hosts: list[GuestHost] = []
        self.failed: dict[str, str] = {}
        self.boot_seconds: dict[str, float] = {}
        self.control_dir: Path | None = None
        self._processes: dict[str, subprocess.Popen] = {}
        self._claimed = False

    # --- public interface -------------------------------------------------------------------

    @property
    def qemu_pids(self) -> list[int]:
        return [process.pid for process in self._processes.values()]

    @property
    def ready(self) -> list[GuestHost]:
        return [host for host in self.hosts if host.name not in self.failed]

    def _stop_hosts(self) -> None:
        for process in self._processes.values():
            if process.poll() is None:
                process.kill()
            process.wait()

    def leftovers(self) -> list[str]:
        found = [f"qemu {process.pid}" for process in self._processes.values() if process.poll() is None]
        found += [f"directory {d}" for d in (self.control_dir, self.root) if d is not None and d.exists()]
        return found

    def console_tail(self, name: str, characters: int = 1500) -> str:
        try:
            return (self.root / name / "console.log").read_text(errors="replace")[-characters:].strip()
        except FileNotFoundError:
            return "(no console log)"

    # --- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        if shutil.which("qemu-system-x86_64") is None:
            raise GuestError("qemu-system-x86_64 not found: install qemu-system-x86 (make compat-report does)")
        self._claim(f"guests {self.prefix} are up there or left over")
        self._write_keys()
        for kernel in self.kernels:
            name = guest_name(self.prefix, kernel)
            self.hosts.append(GuestHost(name, kernel, free_loopback_port(), self.root / name))
        self._write_configs()
        self._boot_all()
        self._write_inventory()

    def _write_keys(self) -> None:
        for role, key in (("host", "ssh_host_ed25519_key"), ("client", "id_ed25519")):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{self.prefix}-{role}", "-f", str(self.root / key)],
                stdin=subprocess.DEVNULL, capture_output=True, check=True,
            )

    def _write_configs(self) -> None:
        host_key = (self.root / "ssh_host_ed25519_key.pub").read_text().split()
        (self.root / "known_hosts").write_text(
            "".join(f"{host.name} {host_key[0]} {host_key[1]}\n" for host in self.hosts)
        )
        blocks = "".join(
            f"Host {host.name}\n    HostName 127.0.0.1\n    HostKeyAlias {host.name}\n    Port {host.port}\n"
            for host in self.hosts
        )
        # Port comes from each host's block: ssh keeps the first value it reads.
        options = SSH_CLIENT_OPTIONS.format(
            port=22, identity=self.root / "id_ed25519", known_hosts=self.root / "known_hosts", control_dir=self.control_dir
        ).replace("    Port 22\n", "")
        self.ssh_config_path.write_text(
            f"# ssh_config of guests {self.prefix}: ssh -F {self.ssh_config_path} NAME\n"
            + blocks + f"Host {self.prefix}-*\n" + options
        )

    def _write_inventory(self) -> None:
        self.inventory_path.write_text(
            f"# guests {self.prefix}: made by tests/fleet/guest.py, removed with them\n[guests]\n"
            # ssh finds each host's address, port and host key alias in the ssh_config block of its name.
            + "".join(f"{host.name}\n" for host in self.ready)
            + "\n[guests:vars]\n"
            + "ansible_user=root\n"
            + f"ansible_python_interpreter={self.python}\n"
            + f"ansible_ssh_args='-F {self.ssh_config_path}'\n"
            + "ansible_ssh_pipelining=true\n"
        )

    def _guest_files(self, host: GuestHost) -> dict[str, bytes | str]:
        etc_hosts = f"127.0.0.1 localhost {host.name}\n::1 localhost ip6-localhost ip6-loopback\n"
        return {
            "hostname": host.name + "\n",
            "hosts": etc_hosts,
            "machine-id": secrets.token_hex(16) + "\n",
            "authorized_keys": (self.root / "id_ed25519.pub").read_text(),
            "ssh_host_ed25519_key": (self.root / "ssh_host_ed25519_key").read_bytes(),
            "sshd_config": SSHD_CONFIG.format(port=22, host_key=f"{GUEST_DIR}/ssh_host_ed25519_key"),
        }

    def _boot_all(self) -> None:
        """Boots `parallel` guests at a time. qemu is started from this thread: its parent-death signal
        fires when the thread that started it ends."""
        pending = list(self.hosts)
        booting: dict[str, float] = {}
        while pending or booting:
            while pending and len(booting) < self.parallel:
                host = pending.pop(0)
                try:
                    self._launch(host)
                    booting[host.name] = time.monotonic()
                except (GuestError, InitramfsError, OSError, subprocess.SubprocessError) as error:
                    self._fail(host, str(error))
            for host in [host for host in self.hosts if host.name in booting]:
                started = booting[host.name]
                process = self._processes[host.name]
                if process.poll() is not None:
                    self._fail(host, f"qemu exited with {process.returncode}: {self._reason(host)}")
                elif time.monotonic() - started > self.boot_timeout:
                    process.kill()
                    process.wait()
                    self._fail(host, f"no ssh answer after {self.boot_timeout:.0f} s: {self._reason(host)}")
                elif self._answers(host):
                    self.boot_seconds[host.name] = round(time.monotonic() - started, 1)
                    self.progress(f"guest {host.name} ({host.kernel.release}): ready in {self.boot_seconds[host.name]} s")
                else:
                    continue
                del booting[host.name]
            if booting:
                time.sleep(0.5)

    def _fail(self, host: GuestHost, reason: str) -> None:
        self.failed[host.name] = reason
        self.progress(f"guest {host.name} ({host.kernel.release}): failed: {reason}")

    def _qemu_command(self, host: GuestHost, initramfs: Path) -> list[str]:
        acceleration = ["-accel", "kvm", "-cpu", "host"] if self.kvm else ["-accel", "tcg", "-cpu", "max"]
        return [
            "setpriv", "--pdeathsig", "KILL",
            "qemu-system-x86_64", "-name", host.name, *acceleration,
            "-m", str(GUEST_MEMORY_MB), "-smp", "1", "-nodefaults", "-no-user-config", "-no-reboot",
            "-display", "none", "-monitor", "none", "-serial", f"file:{host.directory / 'console.log'}",
            "-kernel", str(host.kernel.vmlinuz), "-initrd", str(initramfs), "-append", KERNEL_COMMAND_LINE,
            "-virtfs", f"local,path=/,mount_tag={ROOT_TAG},security_model=none,readonly=on,multidevs=remap",
            "-netdev", f"user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{host.port}-:22",
            "-device", "virtio-net-pci,netdev=net0",
        ]

    def _launch(self, host: GuestHost) -> None:
        host.directory.mkdir(mode=0o700)
        initramfs = build_initramfs(
            host.directory / "initramfs.cpio", busybox=self.busybox, modules_dir=host.kernel.modules,
            guest_files=self._guest_files(host),
        )
        self.progress(f"guest {host.name} ({host.kernel.release}): booting ({'KVM' if self.kvm else 'TCG'})")
        with open(host.directory / "qemu.log", "wb") as log:
            self._processes[host.name] = subprocess.Popen(
                self._qemu_command(host, initramfs), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    def _answers(self, host: GuestHost) -> bool:
        """An ssh banner on the forwarded port (qemu accepts the connection before the guest listens),
        then a command over ssh."""
        try:
            with socket.create_connection(("127.0.0.1", host.port), timeout=2) as connection:
                if not connection.recv(4).startswith(b"SSH-"):
                    return False
        except OSError:
            return False
        return self.run(host, "true", check=False, timeout=60).returncode == 0

    def _reason(self, host: GuestHost) -> str:
        console = self.console_tail(host.name, 600)
        qemu_log = (host.directory / "qemu.log").read_text(errors="replace").strip()[-400:]
        return f"console: {console or '(empty)'}; qemu: {qemu_log or '(empty)'}"
