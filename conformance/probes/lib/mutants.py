"""Broken subjects: sets made by util-linux unshare like the reference, each with exactly one isolation
aspect broken (one option left out or changed, or one step skipped or added), so the kit can show it
fails when it should.

tests/integration/test_conformance_mutants.py runs the kit over all of them and checks which properties
each one fails.
"""

from typing import NamedTuple, Optional, Tuple


class Recipe(NamedTuple):
    """How one subject is made with `unshare`: which claimed type is left out, and which steps are skipped."""

    description: str
    # A type the subject claims but shares with the host (its unshare option is left out).
    left_out: Optional[str] = None
    set_hostname: bool = True
    mount_proc: bool = True
    # unshare --propagation VALUE; None leaves the option (and the mount namespace) out.
    propagation: Optional[str] = "private"
    time_offsets: bool = True
    # The offsets are written by the holder's shell, after it entered the namespace: the kernel refuses them.
    late_offsets: bool = False
    holder_is_pid1: bool = True
    # Its IPC namespace is also bind-mounted where the set does not say (unshare --ipc=FILE): a pin that
    # would keep the namespace, and its objects, alive after the set is gone.
    ipc_pinned: bool = False
    # (claimed type, real type): the subject publishes its real-type file as its claimed-type file.
    mislabelled: Optional[Tuple[str, str]] = None


REFERENCE = Recipe("util-linux unshare --fork --mount-proc --propagation private, hostname set, clock offsets")

BROKEN = {
    "broken-uts": Recipe("claims a UTS namespace but shares the host's (no --uts)", left_out="uts",
                         set_hostname=False),
    "broken-hostname": Recipe("its own UTS namespace, but the hostname is never set", set_hostname=False),
    "broken-ipc": Recipe("claims an IPC namespace but shares the host's (no --ipc)", left_out="ipc"),
    "broken-net": Recipe("claims a network namespace but shares the host's (no --net)", left_out="net"),
    "broken-cgroup": Recipe("claims a cgroup namespace but shares the host's (no --cgroup)", left_out="cgroup"),
    "broken-pid": Recipe("claims a PID namespace but shares the host's (no --pid)", left_out="pid"),
    "broken-pid1": Recipe("its own PID namespace, but the holder is PID 2 (a shell is PID 1)",
                          holder_is_pid1=False),
    "broken-mnt": Recipe("claims a mount namespace but shares the host's (no --mount, no --mount-proc)",
                         left_out="mnt", mount_proc=False, propagation=None),
    "broken-proc": Recipe("its own mount and PID namespaces, but /proc is not remounted (no --mount-proc)",
                          mount_proc=False),
    "broken-propagation": Recipe("its mounts are left shared (--propagation shared)", propagation="shared"),
    "broken-time": Recipe("its own time namespace, but the clock offsets are never written", time_offsets=False),
    "broken-late-offsets": Recipe("writes its clock offsets after its first process entered (refused by the kernel)",
                                  time_offsets=False, late_offsets=True),
    "broken-ipc-pinned": Recipe("its IPC namespace is also bind-mounted outside the set (unshare --ipc=FILE)",
                                ipc_pinned=True),
    "broken-label": Recipe("publishes its IPC namespace file as its UTS one (a store naming a type it lacks)",
                           mislabelled=("uts", "ipc")),
}


def recipe(kind):
    return BROKEN.get(kind, REFERENCE)
