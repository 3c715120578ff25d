"""Debian kernels for qemu guests, fetched with a private apt configuration into a cache.

A kernel is chosen as `SUITE:SERIES` (`bookworm:6.1`, `trixie-backports:7`): the newest amd64
(non-cloud, non-rt) kernel image package of that suite whose release starts with SERIES. Its packages
(`linux-image-R`, plus `linux-binary-R` and `linux-modules-R` from about 6.16 on) are downloaded with
`apt-get download` and unpacked with `dpkg-deb -x`, never installed. apt reads its own sources list,
lists and cache under the cache directory; the mirror is the one this machine's own apt sources name
for Debian, read at run time. The system's apt state is left untouched.

Each unpacked kernel has a manifest (`SUITE_SERIES.json`); once it is there the kernel is used without
the network. The static busybox of the guests' initramfs comes the same way (bookworm's busybox-static).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

DEFAULT_CACHE = Path.home() / ".cache" / "linux.namespaces" / "kernels"
DEFAULT_KERNELS = ("bullseye:5.10", "bookworm:6.1", "trixie:6.12", "trixie-backports:6", "trixie-backports:7")
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
BUSYBOX_SUITE = "bookworm"
SYSTEM_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
DEBIAN_CODENAMES = ("buster", "bullseye", "bookworm", "trixie", "forky", "sid")
# linux-image-6.1.0-28-amd64, linux-image-6.12.38+deb13-amd64: the signed generic flavour only
# (-cloud-amd64 lacks 9p, which the guests' root file system needs).
IMAGE_PACKAGE = re.compile(r"^linux-image-(?P<release>(?P<series>\d+\.\d+)[.\d]*[-+][\w.+-]*?)-amd64$")
EXCLUDED_FLAVOURS = ("-cloud", "-rt", "-unsigned", "-dbg")


class KernelError(RuntimeError):
    """A kernel could not be found, downloaded or unpacked."""


@dataclass(frozen=True)
class Kernel:
    choice: str  # SUITE:SERIES as asked for
    suite: str
    release: str  # uname -r of the kernel, also its /lib/modules directory name
    version: str  # the Debian package version
    root: str  # the unpacked packages

    @property
    def vmlinuz(self) -> Path:
        # From about 7.0 Debian ships it beside the modules only.
        boot = Path(self.root) / "boot" / f"vmlinuz-{self.release}"
        return boot if boot.exists() else self.modules / "vmlinuz"

    @property
    def modules(self) -> Path:
        # Debian's packages keep modules under usr/lib/modules from trixie on and lib/modules before.
        for parent in ("usr/lib/modules", "lib/modules"):
            directory = Path(self.root) / parent / self.release
            if directory.is_dir():
                return directory
        return Path(self.root) / "lib" / "modules" / self.release


def parse_choice(choice: str) -> tuple[str, str]:
    suite, separator, series = choice.partition(":")
    if not separator or not re.fullmatch(r"[a-z]+(-[a-z]+)?", suite) or not re.fullmatch(r"\d+(\.\d+)?", series):
        raise KernelError(f"kernel {choice!r}: write SUITE:SERIES, e.g. bookworm:6.1 or trixie-backports:7")
    return suite, series


def debian_mirror(sources: Iterable[Path] = SYSTEM_SOURCES) -> str:
    """The URI this machine's apt sources use for a Debian release (not its security archive)."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files += sorted(source.glob("*.list")) + sorted(source.glob("*.sources"))
        elif source.exists():
            files.append(source)
    for path in files:
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^([\w-]+):\s*(.*)$", stanza, re.MULTILINE))
                uris, suites = fields.get("URIs", "").split(), fields.get("Suites", "").split()
                if uris and any(suite in DEBIAN_CODENAMES for suite in suites):
                    return uris[0].rstrip("/")
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(words) >= 3 and words[0] == "deb" and words[2] in DEBIAN_CODENAMES:
                    return words[1].rstrip("/")
    raise KernelError("no Debian mirror found in this machine's apt sources")


def _series_matches(release_series: str, release: str, series: str) -> bool:
    if "." in series:
        return release_series == series
    return release.split(".", 1)[0] == series


def _newest_first(name: str) -> list[int]:
    return [int(number) for number in re.findall(r"\d+", name)]


class KernelCache:
    """Kernels and busybox under `directory`; `progress` gets one line per step."""

    def __init__(self, directory: Path = DEFAULT_CACHE, *, mirror: str | None = None, progress=print) -> None:
        self.directory = Path(directory)
        self._mirror = mirror
        self.progress = progress

    # --- public interface -------------------------------------------------------------------

    def kernel(self, choice: str) -> Kernel:
        """The kernel for SUITE:SERIES, from the cache or downloaded and unpacked once."""
        suite, series = parse_choice(choice)
        manifest = self.directory / f"{suite}_{series}.json"
        if manifest.exists():
            kernel = Kernel(**json.loads(manifest.read_text()))
            if kernel.vmlinuz.exists() and kernel.modules.is_dir():
                return kernel
        self.progress(f"kernel {choice}: looking up the newest {series} kernel of {suite}")
        self._update(suite)
        image, companions = self._newest_image(suite, series, choice)
        packages = [image] + companions
        release = IMAGE_PACKAGE.match(image).group("release") + "-amd64"
        root = self.directory / f"{suite}_{release}"
        self.progress(f"kernel {choice}: downloading {', '.join(packages)}")
        debs = self._download(suite, packages)
        self._unpack(debs, root)
        kernel = Kernel(choice, suite, release, self._version(suite, image), str(root))
        if not kernel.vmlinuz.exists() or not kernel.modules.is_dir():
            raise KernelError(f"kernel {choice}: {image} has no {kernel.vmlinuz.name} or modules")
        self._depmod(kernel)
        for deb in debs:
            deb.unlink()
        manifest.write_text(json.dumps(asdict(kernel), indent=2) + "\n")
        self.progress(f"kernel {choice}: {release} ({kernel.version}) unpacked in {root}")
        return kernel

    def kernels(self, choices: Sequence[str]) -> dict[str, Kernel | KernelError]:
        """Each choice's kernel, or the error that kept it out (the others are still fetched)."""
        found: dict[str, Kernel | KernelError] = {}
        for choice in choices:
            try:
                found[choice] = self.kernel(choice)
            except (KernelError, subprocess.CalledProcessError, OSError) as error:
                found[choice] = error if isinstance(error, KernelError) else KernelError(f"kernel {choice}: {error}")
        return found

    def busybox(self) -> Path:
        """A static busybox binary."""
        binary = self.directory / "busybox" / "bin" / "busybox"
        if binary.exists():
            return binary
        self.progress(f"busybox: downloading busybox-static from {BUSYBOX_SUITE}")
        self._update(BUSYBOX_SUITE)
        debs = self._download(BUSYBOX_SUITE, ["busybox-static"])
        self._unpack(debs, binary.parents[1])
        for deb in debs:
            deb.unlink()
        if not binary.exists():
            raise KernelError("busybox-static has no bin/busybox")
        return binary

    # --- apt --------------------------------------------------------------------------------

    @property
    def mirror(self) -> str:
        if self._mirror is None:
            self._mirror = debian_mirror()
        return self._mirror

    def _apt_dir(self, suite: str) -> Path:
        return self.directory / "apt" / suite

    def _apt_options(self, suite: str) -> list[str]:
        apt_dir = self._apt_dir(suite)
        options = {
            "Dir::Etc::SourceList": apt_dir / "sources.list",
            "Dir::Etc::SourceParts": apt_dir / "sources.list.d",
            "Dir::Etc::PreferencesParts": apt_dir / "preferences.d",
            "Dir::Etc::Preferences": apt_dir / "preferences",
            "Dir::State::Lists": apt_dir / "lists",
            "Dir::Cache": apt_dir / "cache",
            # apt downloads as _apt unless told otherwise; these directories belong to root.
            "APT::Sandbox::User": "root",
            "Acquire::Languages": "none",
        }
        return [argument for key, value in options.items() for argument in ("-o", f"{key}={value}")]

    def _update(self, suite: str) -> None:
        apt_dir = self._apt_dir(suite)
        for sub in ("sources.list.d", "preferences.d", "lists/partial", "cache/archives/partial", "debs"):
            (apt_dir / sub).mkdir(parents=True, exist_ok=True)
        (apt_dir / "sources.list").write_text(f"deb [signed-by={KEYRING}] {self.mirror} {suite} main\n")
        self._apt("apt-get", suite, "update", "-q")

    def _apt(self, program: str, suite: str, *args: str, cwd: Path | None = None) -> str:
        result = subprocess.run(
            [program, *self._apt_options(suite), *args], capture_output=True, text=True, cwd=cwd, check=False
        )
        if result.returncode != 0:
            raise KernelError(f"{program} {' '.join(args)} ({suite}) failed: {result.stderr.strip()[-1000:]}")
        return result.stdout

    def _newest_image(self, suite: str, series: str, choice: str) -> tuple[str, list[str]]:
        """The newest complete kernel of the series: its image package and the companions it needs."""
        names = self._apt("apt-cache", suite, "pkgnames", "linux-").split()
        candidates = []
        for name in names:
            match = IMAGE_PACKAGE.match(name)
            if match is None or any(flavour in name for flavour in EXCLUDED_FLAVOURS):
                continue
            if _series_matches(match.group("series"), match.group("release"), series):
                candidates.append(name)
        if not candidates:
            raise KernelError(f"kernel {choice}: {suite} has no amd64 kernel image of series {series}")
        available = set(names)
        for image in sorted(candidates, key=_newest_first, reverse=True):
            release = image[len("linux-image-"):]
            depends = self._apt("apt-cache", suite, "depends", image).split()
            if f"linux-binary-{release}" not in depends:
                return image, []
            # A split kernel (from about 6.16) whose modules package the suite no longer carries is skipped.
            companions = [f"linux-binary-{release}", f"linux-modules-{release}"]
            if all(companion in available for companion in companions):
                return image, companions
        raise KernelError(f"kernel {choice}: no {series} kernel of {suite} has all its packages")

    def _version(self, suite: str, package: str) -> str:
        for line in self._apt("apt-cache", suite, "show", package).splitlines():
            if line.startswith("Version:"):
                return line.split(None, 1)[1]
        return "unknown"

    def _download(self, suite: str, packages: list[str]) -> list[Path]:
        debs_dir = self._apt_dir(suite) / "debs"
        for stale in debs_dir.glob("*.deb"):
            stale.unlink()
        self._apt("apt-get", suite, "download", "-q", *packages, cwd=debs_dir)
        debs = sorted(debs_dir.glob("*.deb"))
        if len(debs) != len(packages):
            raise KernelError(f"apt-get download of {', '.join(packages)} left {len(debs)} packages")
        return debs

    # --- unpacking --------------------------------------------------------------------------

    def _unpack(self, debs: list[Path], root: Path) -> None:
        partial = root.with_name(root.name + ".partial")
        for stale in (partial, root):
            if stale.exists():
                shutil.rmtree(stale)
        partial.mkdir(parents=True)
        for deb in debs:
            subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True, capture_output=True)
        partial.rename(root)

    def _depmod(self, kernel: Kernel) -> None:
        """modules.dep for modprobe in the guest and for the initramfs's load order."""
        depmod = shutil.which("depmod", path="/usr/sbin:/sbin:/usr/bin:/bin")
        if depmod is None:
            raise KernelError("depmod not found: install kmod")
        base = kernel.modules.parents[2]
        subprocess.run([depmod, "-b", str(base), kernel.release], check=True, capture_output=True)
