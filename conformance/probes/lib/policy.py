"""The policy gates on user namespaces (USER7 reports them): a probe that is refused a user namespace
reads them before it may call the refusal policy; a refusal no closed gate explains is a failure."""

import os

from conformance.probes.lib.errors import ProbeError, Skip
from conformance.probes.lib.observe import read_text, unshare_user_as_root
from conformance.probes.lib.syscalls import errno_name

USER_GATES = {"user.max_user_namespaces": "/proc/sys/user/max_user_namespaces",
              "kernel.unprivileged_userns_clone": "/proc/sys/kernel/unprivileged_userns_clone",
              "kernel.apparmor_restrict_unprivileged_userns":
                  "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"}
# The value with which each gate refuses; the last two gates bind unprivileged processes only.
CLOSED_AT = {"user.max_user_namespaces": "0", "kernel.unprivileged_userns_clone": "0",
             "kernel.apparmor_restrict_unprivileged_userns": "1"}
UNPRIVILEGED_ONLY = ("kernel.unprivileged_userns_clone", "kernel.apparmor_restrict_unprivileged_userns")


def read_gates():
    """Gate name -> its value, None where the host has no such sysctl."""
    return dict((name, read_text(path).strip() if os.path.exists(path) else None)
                for name, path in USER_GATES.items())


def refused_user_ns(result, unprivileged):
    """Raise for a refused user namespace: Skip naming the closed gate that explains the refusal, else
    ProbeError (a refusal no gate explains is not policy). result: the errno name of the refusal."""
    gates = read_gates()
    closed = sorted("%s=%s" % (name, value) for name, value in gates.items()
                    if value is not None and value == CLOSED_AT[name]
                    and (unprivileged or name not in UNPRIVILEGED_ONLY))
    if closed:
        raise Skip("a user namespace is denied here (%s) by policy: %s (see USER7)" % (result, ", ".join(closed)))
    if result == "ENOSPC":
        raise Skip("a user namespace is denied here (ENOSPC): user.max_user_namespaces=%s is reached (see USER7)"
                   % gates["user.max_user_namespaces"])
    raise ProbeError("a user namespace was refused (%s) though no policy gate is closed: %s"
                     % (result, ", ".join("%s=%s" % item for item in sorted(gates.items()))))


def enter_user_ns():
    """A new user namespace where the caller is root; Skip if a policy gate forbids it."""
    try:
        unshare_user_as_root()
    except OSError as exc:
        refused_user_ns(errno_name(exc), unprivileged=os.geteuid() != 0)
