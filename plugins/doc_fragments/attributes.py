# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes of the modules that change a Linux host's kernel state and predict it exactly."""

from __future__ import annotations


class ModuleDocFragment:
    # Check mode and diff predict the real run; the kernel interfaces used are Linux's.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    support: full
    platforms: [linux]
"""
