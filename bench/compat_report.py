"""`make compat-report`: the audit and the compatibility report over a mixed fleet of real kernels.

    python3 -m bench.compat_report [--kernels SUITE:SERIES,...] [--cache DIR] [--results DIR]

Steps, each with a progress line and its wall time (also written to bench/results/compat_report-*.json):
fetch the Debian kernels (tests/fleet/kernels.py; the cache serves later runs without the network), boot
one qemu guest per kernel (tests/fleet/guest.py) and one namespace host on this machine's kernel
(tests/fleet/fleet.py), run playbooks/audit.yml and playbooks/compat_report.yml over all of them, write
both reports into one results folder, tear everything down (also on Ctrl-C, SIGTERM and failure).

A kernel that cannot be fetched or a guest that does not boot stays in the inventory as a host that
refuses connections, with its reason as the host variable `guest_failure`: the reports show it
unreachable, never as a pass, and the reason is in `guests.json` of the results folder and on screen.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

from bench.common import REPO, ansible_env, write_results
from tests.fleet.fleet import Fleet
from tests.fleet.guest import Guests, free_loopback_port
from tests.fleet.kernels import DEFAULT_CACHE, DEFAULT_KERNELS, Kernel, KernelCache, KernelError
from tests.fleet.ssh_hosts import unwind_on_signals

# Task names (roles/audit, roles/conformance) whose end on a host is worth a progress line.
PROGRESS_TASKS = {"Probe the kernel's namespace support": "audit probed", "Run the kit on the host": "kit done"}


def say(line: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {line}", flush=True)


class Steps:
    """Wall time per step, for the bench results."""

    def __init__(self) -> None:
        self.seconds: Dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str):
        say(f"step {name}: started")
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - started, 1)
            say(f"step {name}: {self.seconds[name]} s")


def unreachable_inventory(path: Path, failures: Dict[str, str], python: str) -> None:
    """Hosts for the kernels that have no guest: a loopback port nobody listens on, and the reason."""
    lines = ["# kernels without a guest: listed so the reports show them unreachable\n[failed_guests]\n"]
    for name, reason in failures.items():
        short = " ".join(reason.split())[:300]
        lines.append(f"{name} ansible_host=127.0.0.1 ansible_port={free_loopback_port()} guest_failure={json.dumps(short)}\n")
    lines.append(f"\n[failed_guests:vars]\nansible_user=root\nansible_python_interpreter={python}\n"
                 "ansible_ssh_common_args='-o ConnectTimeout=2 -o BatchMode=yes -o StrictHostKeyChecking=no "
                 "-o UserKnownHostsFile=/dev/null'\n")
    path.write_text("".join(lines))


def run_playbook(name: str, inventories: List[Path], extra_vars: dict, log: Path, forks: int,
                 progress: Callable[[str], None] = say) -> int:
    """Runs the playbook with its output in `log`, and a progress line per host when a task the
    per-host progress cares about ends there (the kit, the audit's probe)."""
    arguments = [word for inventory in inventories for word in ("-i", str(inventory))]
    task_progress = ""
    with open(log, "w") as output:
        playbook = subprocess.Popen(
            [str(Path(sys.executable).parent / "ansible-playbook"), str(REPO / "playbooks" / name), *arguments,
             "-f", str(forks), "-e", json.dumps(extra_vars)],
            env=ansible_env(ANSIBLE_HOST_KEY_CHECKING="false"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            for line in playbook.stdout:
                output.write(line)
                output.flush()
                if line.startswith("TASK ["):
                    task_progress = next((label for words, label in PROGRESS_TASKS.items() if words in line), "")
                result = re.match(r"^(ok|changed|fatal|failed): \[([^\]]+)\]", line)
                if result and task_progress:
                    progress(f"host {result.group(2)}: {task_progress} ({result.group(1)})")
            return playbook.wait()
        finally:
            if playbook.poll() is None:
                playbook.kill()
                playbook.wait()


def report_hosts(results: Path) -> Dict[str, dict]:
    try:
        return json.loads((results / "compat-report.json").read_text()).get("hosts", {})
    except (OSError, ValueError):
        return {}


def compat_report(kernel_choices: List[str], cache_dir: Path, results: Path, select: str, kit_forks: int,
                  progress: Callable[[str], None] = say) -> int:
    steps = Steps()
    results.mkdir(parents=True, exist_ok=True)
    prefix = "lnscr" + secrets.token_hex(2)
    failures: Dict[str, str] = {}
    status: Dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        # Entered first, so removed last: keys, configs and consoles of the fleet.
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix + "-")))
        with steps.step("kernels"):
            cache = KernelCache(cache_dir, progress=progress)
            found = cache.kernels(kernel_choices)
            busybox = cache.busybox()
        kernels: List[Kernel] = []
        for choice, kernel in found.items():
            if isinstance(kernel, KernelError):
                name = f"{prefix}-{choice.replace(':', '-').replace('.', '-')}"
                failures[name] = f"kernel not fetched: {kernel}"
                status[name] = {"kernel": choice, "status": "not fetched", "reason": str(kernel)}
                progress(f"kernel {choice}: not fetched: {kernel}")
            else:
                kernels.append(kernel)
        with steps.step("boot"):
            host = stack.enter_context(Fleet(prefix, 1, workdir))
            status[host.hosts[0].name] = {"kernel": "this machine's", "release": os.uname().release, "status": "ready"}
            progress(f"host {host.hosts[0].name} ({os.uname().release}, this machine's kernel): ready")
            guests = stack.enter_context(Guests(prefix, kernels, workdir, busybox=busybox, progress=progress))
        for guest in guests.hosts:
            if guest.name in guests.failed:
                failures[guest.name] = f"guest did not boot or answer: {guests.failed[guest.name]}"
                status[guest.name] = {"kernel": guest.kernel.choice, "release": guest.kernel.release,
                                      "status": "failed", "reason": guests.failed[guest.name]}
            else:
                status[guest.name] = {"kernel": guest.kernel.choice, "release": guest.kernel.release,
                                      "version": guest.kernel.version, "status": "ready",
                                      "boot_seconds": guests.boot_seconds[guest.name]}
        inventories = [host.inventory_path, guests.inventory_path]
        if failures:
            unreachable = workdir / "failed-guests.ini"
            unreachable_inventory(unreachable, failures, guests.python)
            inventories.append(unreachable)
        with steps.step("audit"):
            code = run_playbook("audit.yml", inventories, {"audit_report_dir": str(results)}, results / "audit.log",
                                forks=len(status) + 1)
            progress(f"audit.yml: exit {code} (log {results / 'audit.log'})")
        with steps.step("kit"):
            for name in [host.hosts[0].name] + [guest.name for guest in guests.ready]:
                progress(f"host {name}: kit running ({kit_forks} hosts at a time)")
            (results / "hosts").mkdir(exist_ok=True)
            extra = {"conformance_report_dir": str(results), "conformance_host_results_dir": str(results / "hosts"),
                     **({"conformance_select": select} if select else {})}
            code = run_playbook("compat_report.yml", inventories, extra, results / "compat-report.log", forks=kit_forks)
            progress(f"compat_report.yml: exit {code} (log {results / 'compat-report.log'})")
            for name, entry in report_hosts(results).items():
                summary = (entry.get("result") or {}).get("summary")
                progress(f"host {name} ({entry.get('release', '?')}): done: {summary or 'no result'}")
        with steps.step("teardown"):
            stack.close()
    (results / "guests.json").write_text(json.dumps({"prefix": prefix, "guests": status}, indent=2) + "\n")
    write_results("compat_report", {"kernels": kernel_choices, "steps_seconds": steps.seconds, "guests": status,
                                    "total_seconds": round(sum(steps.seconds.values()), 1)})
    for name, entry in status.items():
        progress(f"{name}: {entry['status']}" + (f": {entry['reason'][:300]}" if "reason" in entry else ""))
    say(f"results: {results} (namespace-audit.html, compat-report.html, .md, .json)")
    return 0 if (results / "compat-report.json").exists() and (results / "namespace-audit.json").exists() else 1


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.compat_report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernels", default=",".join(DEFAULT_KERNELS),
                        help="comma-separated SUITE:SERIES (default %(default)s)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="kernel cache (default %(default)s)")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    parser.add_argument("--results", type=Path, default=REPO / "reports" / f"compat-{stamp}",
                        help="results folder (default reports/compat-STAMP)")
    parser.add_argument("--select", default="", help="a pytest -k expression: only these properties of the kit")
    # Emulated guests share the machine's cores: more kits at once only slow each other down, and the
    # kit's own waits (5 s for a reference set's holder) then run out.
    parser.add_argument("--kit-forks", type=int, default=os.cpu_count() or 1,
                        help="hosts running the kit at once (default: the number of CPUs, %(default)s)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("compat-report: run as root (guests share the machine's root, the host is made of namespaces)",
              file=sys.stderr)
        return 1
    unwind_on_signals()
    try:
        return compat_report([choice for choice in args.kernels.split(",") if choice], args.cache,
                             args.results.resolve(), args.select, args.kit_forks)
    except KeyboardInterrupt:
        say("interrupted: everything was torn down")
        return 130


if __name__ == "__main__":
    sys.exit(main())
