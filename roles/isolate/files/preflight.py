# What the isolate role must know about a host before it changes anything, as one JSON line.
# Run by the role as `PYTHON -c SOURCE STORE NAME VETH_NAME` with the Python that runs Ansible's
# modules there (Python 3.8 or later, standard library only).
import json
import os
import shutil
import sys
import sysconfig


def pyroute2_error():
    """Why pyroute2 cannot be imported here, or None when it can (0.9 cannot on Python 3.8)."""
    try:
        import pyroute2  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    except Exception as exc:  # pylint: disable=broad-except
        return "%s: %s" % (type(exc).__name__, exc)
    return None


def main():
    store, name, veth_name = sys.argv[1:4]
    executable = os.path.realpath(sys.executable)
    print(json.dumps({
        "euid": os.geteuid(),
        "python": sys.executable,
        "python_version": "%d.%d" % sys.version_info[:2],
        "store_exists": os.path.lexists(store),
        "set_exists": os.path.lexists(os.path.join(store, name, "state.json")),
        "veth_host_end_exists": os.path.lexists(os.path.join("/sys/class/net", veth_name)),
        "pyroute2_error": pyroute2_error(),
        "in_venv": sys.prefix != sys.base_prefix,
        # PEP 668: this Python's distribution manages its packages; pip must not touch them.
        "externally_managed": os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")),
        "distribution_python": sys.prefix == "/usr" and executable.startswith("/usr/bin/"),
        "apt": shutil.which("apt-get") is not None,
    }))


main()
