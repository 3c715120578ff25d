"""The machine, kernel and tool versions a benchmark run is measured on, for RESULTS.md."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any, Dict, List

from importlib.metadata import PackageNotFoundError, version


def first_line(argv: List[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        return "not found (%s)" % exc
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "?"


def package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def memory_mib() -> int:
    with open("/proc/meminfo") as handle:
        return int(handle.readline().split()[1]) // 1024


def describe() -> Dict[str, Any]:
    return {
        "machine": "%s, %s, %d CPUs, %d MiB" % (platform.machine(), cpu_model(), os.cpu_count() or 0, memory_mib()),
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
        "ansible-core": package("ansible-core"),
        "util-linux": first_line(["unshare", "--version"]),
        "iproute2": first_line(["ip", "-V"]),
        "pyroute2": package("pyroute2"),
        "cc": first_line(["cc", "--version"]),
        "load_average_start": os.getloadavg(),
    }
