# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store option, shared by every module that works on named sets."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  store:
    description:
      - Directory of the store of named sets, the same for every module that makes, lists or enters them.
      - M(linux.namespaces.namespace) mounts a private tmpfs there on first use and unmounts it when its
        last set is removed. Must not be a symbolic link.
      - The directories the module made for the store are removed with it; a directory that was there
        before stays. A store holds at most 10,000 sets; a set beyond that, or beyond the room of its
        64 MiB tmpfs, fails with a message that says the store is full.
    type: path
    default: /run/linux-namespaces
"""
