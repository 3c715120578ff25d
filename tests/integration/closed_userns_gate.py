# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command (as root) where the kernel refuses new user namespaces, without changing the host.

Usage: python closed_userns_gate.py COMMAND [ARG...]. The command runs in a new user namespace that maps ids
0-65535 to themselves, whose user.max_user_namespaces is 0: that sysctl is kept per user namespace, so only
the namespace made here, which dies with the command, is changed. Exits as the command does.
"""

from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWUSER = 0x10000000
IDENTITY_MAP = "0 0 65536\n"


def main(argv: list) -> int:
    unshared_read, unshared_write = os.pipe()
    mapped_read, mapped_write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWUSER) != 0:
                raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER)")
            os.write(unshared_write, b"u")
            if os.read(mapped_read, 1) != b"m":
                raise RuntimeError("the parent did not write the id maps")
            with open("/proc/sys/user/max_user_namespaces", "w") as handle:
                handle.write("0\n")
            os.execvp(argv[0], argv)
        except BaseException as exc:  # the child must never return into the caller's code
            sys.stderr.write("closed_userns_gate: %s\n" % exc)
        finally:
            os._exit(125)
    os.close(unshared_write)
    os.close(mapped_read)
    if os.read(unshared_read, 1) == b"u":
        for name in ("uid_map", "gid_map"):
            with open("/proc/%d/%s" % (child, name), "w") as handle:
                handle.write(IDENTITY_MAP)
        os.write(mapped_write, b"m")
    return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
