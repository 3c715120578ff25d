# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's build configuration, from /proc/config.gz or /boot/config-RELEASE."""

from __future__ import annotations

import gzip
from typing import Dict, Optional, Tuple

CONFIG_NAMESPACES = "CONFIG_NAMESPACES"


def read_kernel_config(release: str) -> Tuple[Optional[str], Dict[str, str]]:
    """(source path, {CONFIG_X: value}) from /proc/config.gz or /boot/config-RELEASE; (None, {}) if neither."""
    for path, opener in (("/proc/config.gz", gzip.open), ("/boot/config-" + release, open)):
        try:
            with opener(path, "rt") as handle:  # type: ignore[operator]
                return path, parse_kernel_config(handle.read())
        except (OSError, EOFError):
            continue
    return None, {}


def parse_kernel_config(text: str) -> Dict[str, str]:
    options = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            name, value = line.split("=", 1)
            options[name] = value.strip('"')
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            options[line[2:-len(" is not set")]] = "n"
    return options


def config_state(config: Dict[str, str], option: Optional[str]) -> str:
    """'y'/'m'/'n' as the config says; 'absent' if the config has no such option; 'unknown' without a config;
    'builtin' for a type no option controls (mnt)."""
    if option is None:
        return "builtin"
    if not config:
        return "unknown"
    return config.get(option, "absent")
