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
      - Default for root C(/run/linux-namespaces).
      - Default for an ordinary user (a rootless set) C(linux-namespaces) in the user's runtime directory,
        C($XDG_RUNTIME_DIR), else C(/run/user/UID) if it exists and belongs to the user; without either the
        task fails and names them. Such a store is a plain directory of mode 0700 owned by the user (an
        ordinary user can mount nothing), so each set is held by its holder process (its C(/proc/PID/ns/*) are
        the set's namespace files) and the store holds the state files only. Its parent directory must exist.
      - An ordinary user cannot read, enter, change or remove the sets of another user's store (root's
        included); the task fails saying so.
      - The directories the module made for root's store are removed with it; a directory that was there
        before stays. A store holds at most 10,000 sets; a set beyond that, or beyond the room of its
        64 MiB tmpfs, fails with a message that says the store is full.
    type: path
"""
