"""The initramfs of a qemu guest: static busybox, the kernel's 9p and virtio modules, and an init.

The init loads the modules, mounts this machine's root read-only over virtio-9p, puts a writable
layer on it (tmpfs on /run, /tmp, /var/tmp, /root, /dev/shm) and `switch_root`s into it: in a chroot
the kernel would refuse new user namespaces. The guest's own files (hostname, hosts, machine-id, ssh
host key, authorized_keys, sshd_config, the second stage) travel inside the initramfs and are copied
to /run/guest before the switch; the second stage runs the machine's /bin/sh and ends as sshd.
"""

from __future__ import annotations

import gzip
import lzma
import stat
import subprocess
from pathlib import Path

# What the guest needs before its root is mounted.
EARLY_MODULES = ("virtio_pci", "virtio_net", "9pnet_virtio", "9p")
ROOT_TAG = "hostroot"
GUEST_DIR = "/run/guest"

INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
for module in $(cat /modules/order); do
    insmod "/modules/$module" || echo "guest init: insmod $module failed"
done
fail() { echo "guest init: $*"; sleep 1; poweroff -f; }
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=loose __ROOT_TAG__ /newroot || fail "no 9p root"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /newroot/run || fail "no /run"
mkdir -p __GUEST_DIR__ && cp -a /guest/. /newroot__GUEST_DIR__/ || fail "no guest files"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/var/tmp
# The kernel's unpacked package may sit under /root (the default cache), which the guest covers next.
mkdir -p /newroot__GUEST_DIR__/kernel
mount --bind "/newroot$(cat /guest/modules-root)" /newroot__GUEST_DIR__/kernel || fail "no modules"
mount -t tmpfs -o mode=0700 tmpfs /newroot/root
mount --move /dev /newroot/dev
umount /proc
exec switch_root /newroot /bin/sh __GUEST_DIR__/stage2.sh
"""

# Runs as PID 1 on the machine's root (read-only) and ends as the guest's sshd.
STAGE2 = r"""set -u
guest=__GUEST_DIR__
exec </dev/null >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || true
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
hostname "$(cat $guest/hostname)"
mount --bind $guest/hostname /etc/hostname
mount --bind $guest/hosts /etc/hosts
mount --bind $guest/machine-id /etc/machine-id
# Ansible reads this one before /etc/machine-id.
if [ -e /var/lib/dbus/machine-id ]; then mount --bind $guest/machine-id /var/lib/dbus/machine-id; fi
# The machine's root has no modules of this kernel: the kernel's module loader (veth, bridge...)
# calls a modprobe that reads them from the unpacked package.
printf '#!/bin/sh\nexec /usr/sbin/modprobe -d %s/kernel "$@"\n' $guest > $guest/modprobe
chmod 0755 $guest/modprobe
echo $guest/modprobe > /proc/sys/kernel/modprobe
mkdir -p -m 0700 /root/.ssh
cp $guest/authorized_keys /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
printf '# a plain root shell on a guest\n' > /root/.bashrc
mkdir -p -m 0755 /run/sshd
ip link set lo up
ip link set eth0 up
ip address add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
echo "guest ready: $(hostname) $(uname -r)"
exec /usr/sbin/sshd -D -e -f $guest/sshd_config
"""


class InitramfsError(RuntimeError):
    """The initramfs could not be built."""


def _load_order(modules_dir: Path, wanted: tuple[str, ...]) -> list[Path]:
    """The module files to insmod for `wanted`, dependencies first."""
    dependencies: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        path, unused, needs = line.partition(":")
        dependencies[path] = needs.split()
        by_name[Path(path).name.split(".ko", 1)[0].replace("-", "_")] = path
    order: list[str] = []

    def visit(path: str) -> None:
        if path in order:
            return
        # modules.dep lists a module's dependencies in reverse load order.
        for needed in reversed(dependencies.get(path, [])):
            visit(needed)
        order.append(path)

    # A module that is no file is built in (7.x packages ship no modules.builtin to check against); if
    # it is missing after all, the guest's console says the 9p root or eth0 is missing.
    for name in wanted:
        if name in by_name:
            visit(by_name[name])
    return [modules_dir / path for path in order]


def _module_bytes(path: Path) -> bytes:
    """The module uncompressed: busybox's insmod takes plain .ko files only."""
    data = path.read_bytes()
    if path.suffix == ".xz":
        return lzma.decompress(data)
    if path.suffix == ".zst":
        return subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    if path.suffix == ".gz":
        return gzip.decompress(data)
    return data


class _Cpio:
    """A cpio archive in the "newc" format, the one the kernel unpacks."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.inode = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        encoded = name.encode() + b"\0"
        fields = (self.inode, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
        header = b"070701" + b"".join(b"%08X" % field for field in fields)
        self.inode += 1
        self.parts.append(header + encoded + b"\0" * (-(len(header) + len(encoded)) % 4))
        self.parts.append(data + b"\0" * (-len(data) % 4))

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def device(self, name: str, major: int, minor: int) -> None:
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def bytes(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return b"".join(self.parts)


def build_initramfs(
    destination: Path, *, busybox: Path, modules_dir: Path, guest_files: dict[str, bytes | str]
) -> Path:
    """Writes the initramfs to `destination`; `guest_files` land in /run/guest of the guest."""
    if not busybox.exists():
        raise InitramfsError(f"no busybox at {busybox}")
    archive = _Cpio()
    for directory in ("bin", "dev", "modules", "guest"):
        archive.directory(directory)
    archive.device("dev/console", 5, 1)
    archive.file("bin/busybox", busybox.read_bytes(), 0o755)
    archive.file("init", INIT.replace("__ROOT_TAG__", ROOT_TAG).replace("__GUEST_DIR__", GUEST_DIR).encode(), 0o755)
    names = []
    for number, module in enumerate(_load_order(modules_dir, EARLY_MODULES)):
        name = f"{number:02d}-{module.name.split('.ko', 1)[0]}.ko"
        archive.file(f"modules/{name}", _module_bytes(module))
        names.append(name)
    archive.file("modules/order", ("\n".join(names) + "\n").encode())
    files = dict(guest_files, **{"stage2.sh": STAGE2.replace("__GUEST_DIR__", GUEST_DIR), "modules-root": f"{modules_dir.parents[2]}\n"})
    for name, content in files.items():
        mode = 0o600 if name.endswith("_key") else 0o644
        archive.file(f"guest/{name}", content.encode() if isinstance(content, str) else content, mode)
    destination.write_bytes(archive.bytes())
    return destination
