"""A fleet of SSH test hosts made of namespaces on this machine.

Each host is a network, UTS, mount and PID namespace whose PID 1 is its own sshd, listening on a
veth address on a bridge that only the fleet uses. Killing a host's PID 1 ends its PID namespace,
so teardown is one SIGKILL per host plus deleting the bridge and the veths.

    with Fleet(next_fleet_prefix(), 3, tmp_path) as fleet:
        fleet.run(fleet.hosts[0], "hostname")                       # over ssh, CompletedProcess
        ansible-playbook -i fleet.inventory_path ...                # INI inventory, group `fleet`
        pytest --hosts=ssh://NAME --ssh-config=fleet.ssh_config_path   # testinfra; also ssh -F
        nsenter -t host.pid -a ...                                  # enter a host from the machine

A host sees the machine's files, except: its own /run and /tmp (tmpfs), /sys (of its network
namespace), /etc as an overlay (see below), /etc/hostname, /etc/hosts, /etc/machine-id, /var/lib/dbus/machine-id, and /root as a
private overlay with its own ~/.ssh and plain shell startup files. Root in each host is root of the
machine's user namespace: it can create namespaces of its own. Each host also has a user who is not
root, `fleet.user`, known only there (/etc is an overlay of the machine's whose upper layer holds the
host's own passwd, group, shadow and sudoers): it logs in with the fleet's key (`-e ansible_user=` + fleet.user)
and may run anything as root through `sudo -n`.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.fleet.ssh_hosts import SshHostGroup

MAX_INTERFACE_NAME = 15
MAX_HOSTS = 200
SSH_PORT = 22
STATE_FILE = "state.json"
PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]*$")

USER_HOME = "/run/fleet/user-home"  # on the host's own /run
FIRST_USER_ID = 61000

# host-init.sh: runs as PID 1 of a new host, then becomes its sshd. Arguments: name, address/len, unowned
# gateway, fleet directory, where the host sees it (the workdir may sit under /tmp, which the host
# covers with its own tmpfs), sshd binary, the name and uid of the user who is not root.
HOST_INIT = r"""
set -eu
name=$1 address=$2 gateway=$3 fleet_dir=$4 inside=$5 sshd=$6 user=$7 uid=$8
# The controller writes a line once eth0 has been moved into this network namespace.
read -r _
exec </dev/null
echo "$name" > /proc/sys/kernel/hostname
# The copied mount table holds nsfs mounts of the machine's namespaces (ip netns, stores of other
# tests): detach them, or this host would keep those namespaces alive after their owners remove them.
pinned=$(findmnt -rn -t nsfs -o TARGET || true)  # findmnt fails when it finds none
if [ -n "$pinned" ]; then umount -l $pinned 2>/dev/null || true; fi
# Private /run and /tmp: the host's /run/netns, /run/linux-namespaces and other hosts' files
# stay out of sight, and what tests write here goes away with the host.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p -m 0755 /run/sshd /run/fleet/home-upper /run/fleet/home-work "$inside"
mount --bind "$fleet_dir" "$inside"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
# The machine's /sys lists the machine's interfaces (Ansible's network facts read it): mount a
# sysfs of this network namespace, carrying the mounts below /sys (cgroup hierarchies) over.
below_sys=$(findmnt -rn -o TARGET -R /sys | awk 'NR > 1 { t[NR] = $0 }
    END { for (i in t) { top = 1; for (j in t) if (i != j && index(t[i], t[j] "/") == 1) top = 0; if (top) print t[i] } }')
number=0
for target in $below_sys; do
    number=$((number + 1)); mkdir -p /run/fleet/sys-stash/$number
    mount --move "$target" /run/fleet/sys-stash/$number
done
mount -t sysfs sysfs /sys
number=0
for target in $below_sys; do
    number=$((number + 1)); mount --move /run/fleet/sys-stash/$number "$target"
done
dir=$inside/$name
# /etc becomes a private overlay whose upper layer holds this host's account files (they add the user
# who is not root): a bind mount of one file would be detached when the machine replaces its own
# /etc/passwd (useradd renames a new file over it).
mkdir -p /run/fleet/etc-upper /run/fleet/etc-work
cp -p "$dir/passwd" "$dir/group" "$dir/shadow" /run/fleet/etc-upper/
if [ -e /etc/sudoers ]; then cp -p "$dir/sudoers" /run/fleet/etc-upper/; fi
mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/fleet/etc-upper,workdir=/run/fleet/etc-work /etc
mount --bind "$dir/hostname" /etc/hostname
mount --bind "$dir/hosts" /etc/hosts
mount --bind "$dir/machine-id" /etc/machine-id
# Ansible reads this one before /etc/machine-id.
if [ -e /var/lib/dbus/machine-id ]; then
    mount --bind "$dir/machine-id" /var/lib/dbus/machine-id
fi
# root's home becomes a private overlay: /root/.ssh and ~/.ansible/tmp never touch the real /root.
chmod --reference=/root /run/fleet/home-upper
# Its own shell startup files: a plain root shell, as on a fresh machine, whatever the machine's are.
cp "$inside/.bashrc" "$inside/.profile" /run/fleet/home-upper/
mount -t overlay overlay \
    -o lowerdir=/root,upperdir=/run/fleet/home-upper,workdir=/run/fleet/home-work /root
mkdir -p -m 0700 /root/.ssh
mount --bind "$dir/dot-ssh" /root/.ssh
# The user who is not root exists only in this host's /etc; its home is on this host's /run, so nothing
# of it outlives the host.
mkdir -p -m 0700 "$USER_HOME/.ssh"
cp "$dir/dot-ssh/authorized_keys" "$USER_HOME/.ssh/"
chown -R "$uid:$uid" "$USER_HOME"
ip link set lo up
ip address add "$address" dev eth0
ip link set eth0 up
# An address nobody owns: Ansible finds a default IPv4 route, and nothing can leave.
ip route add default via "$gateway"
exec "$sshd" -D -e -f "$inside/sshd_config" -o ListenAddress="${address%/*}"
""".replace("$USER_HOME", USER_HOME)

SSHD_CONFIG = """\
# sshd of a fleet test host; ListenAddress is given per host on the command line.
Port {port}
HostKey {host_key}
PidFile none
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes yes
UseDNS no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 50
Subsystem sftp internal-sftp
LogLevel ERROR
"""

SUDOERS = """\
# /etc/sudoers of a fleet test host: root, and the fleet's user who is not root, without a password.
Defaults env_reset
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
root ALL=(ALL:ALL) ALL
{user} ALL=(ALL:ALL) NOPASSWD: ALL
"""

HOST_BASHRC = "# root's ~/.bashrc on a fleet test host: a plain shell, PATH as sshd sets it.\n"
HOST_PROFILE = '# ~/.profile on a fleet test host.\nif [ -n "$BASH" ] && [ -f ~/.bashrc ]; then . ~/.bashrc; fi\n'

SSH_CLIENT_OPTIONS = """\
    User root
    Port {port}
    IdentityFile {identity}
    IdentitiesOnly yes
    IdentityAgent none
    PasswordAuthentication no
    KbdInteractiveAuthentication no
    BatchMode yes
    UserKnownHostsFile {known_hosts}
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    UpdateHostKeys no
    ControlMaster auto
    ControlPath {control_dir}/%C
    ControlPersist 60s
    ConnectTimeout 10
    ServerAliveInterval 5
    ServerAliveCountMax 3
    LogLevel ERROR
"""


class FleetError(RuntimeError):
    """A fleet could not be built or removed."""


@dataclass(frozen=True)
class FleetHost:
    name: str
    address: str
    pid: int  # host-side pid of its PID 1, the sshd
    interface: str  # host end of its veth, a port of the fleet's bridge
    start_time: str  # /proc/PID/stat field 22: tells this PID 1 from a later process with its pid


def random_prefix(stem: str = "lnst") -> str:
    return stem + secrets.token_hex(2)


_fleet_numbers = itertools.count(1)
_prefix_of_this_process = random_prefix()


def run_prefix() -> str:
    """The test run's prefix: LNS_TEST_PREFIX (set by tests/conftest.py), else one for this process."""
    return os.environ.get("LNS_TEST_PREFIX") or _prefix_of_this_process


def next_fleet_prefix() -> str:
    """A prefix for one more fleet of this run: the run's prefix, `f`, a number."""
    return f"{run_prefix()}f{next(_fleet_numbers)}"


def default_python() -> str:
    system_python = Path("/usr/bin/python3")
    return str(system_python) if system_python.exists() else sys.executable


def _unused_user_id() -> int:
    """A user and group id that neither the machine's /etc/passwd nor its /etc/group uses."""
    used = set()
    for account_file in ("/etc/passwd", "/etc/group"):
        used.update(int(line.split(":")[2]) for line in Path(account_file).read_text().splitlines() if line.count(":") >= 3)
    return next(number for number in itertools.count(FIRST_USER_ID) if number not in used)


def find_sshd() -> str:
    sshd = shutil.which("sshd", path="/usr/sbin:/usr/local/sbin:/sbin:" + os.environ.get("PATH", ""))
    if sshd is None:
        raise FleetError("sshd not found: install openssh-server (make deps does)")
    return sshd


def _process_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _listens(pid: int, address: str, port: int) -> bool:
    """Whether a TCP socket listens on address:port in the network namespace of `pid`."""
    wanted = f"{int(ipaddress.IPv4Address(address)).to_bytes(4, 'big')[::-1].hex().upper()}:{port:04X}"
    try:
        table = Path(f"/proc/{pid}/net/tcp").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return any(fields[1] == wanted and fields[3] == "0A" for fields in (line.split() for line in table.splitlines()[1:]))


def _ip(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], input=stdin, capture_output=True, text=True, check=False)


def _used_ipv4_networks() -> list[ipaddress.IPv4Network]:
    used = []
    for entry in json.loads(_ip("-j", "-4", "address", "show").stdout or "[]"):
        for info in entry.get("addr_info", []):
            used.append(ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}", strict=False))
    for route in json.loads(_ip("-j", "-4", "route", "show", "table", "all").stdout or "[]"):
        if route.get("dst", "default") != "default":
            used.append(ipaddress.ip_network(route["dst"], strict=False))
    return used


def pick_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.64.0.0/10 that no address or route of this machine overlaps."""
    used = _used_ipv4_networks()
    for unused in range(200):
        candidate = ipaddress.ip_network(f"10.{random.randrange(64, 128)}.{random.randrange(256)}.0/24")
        if not any(candidate.overlaps(network) for network in used):
            return candidate
    raise FleetError("no free 10.64.0.0/10 subnet found for the fleet")


class Fleet(SshHostGroup):
    """N SSH test hosts; `with Fleet(prefix, count, workdir) as fleet:` builds and always removes them.

    Everything lives under `workdir/fleet-PREFIX` (keys, configs, inventory, logs, state) and a
    short control-socket directory in /tmp; interfaces are `PREFIXbr` and `PREFIXhN`, hostnames
    `PREFIX-hN`. With `bound_to_caller` (the default) the hosts die with the calling thread even if it
    is killed; the CLI's `up` turns that off so the hosts outlive it until `down`.
    """

    error = FleetError

    def __init__(
        self,
        prefix: str,
        count: int,
        workdir: Path,
        *,
        sshd: str | None = None,
        python: str | None = None,
        bound_to_caller: bool = True,
        start_timeout: float = 20.0,
    ) -> None:
        if not PREFIX_PATTERN.match(prefix):
            raise FleetError(f"prefix {prefix!r}: use lowercase letters and digits, starting with a letter")
        if not 1 <= count <= MAX_HOSTS:
            raise FleetError(f"count {count}: a fleet has 1 to {MAX_HOSTS} hosts")
        longest = f"{prefix}h{count}"
        if len(longest) > MAX_INTERFACE_NAME:
            raise FleetError(f"prefix {prefix!r} too long: interface {longest!r} exceeds {MAX_INTERFACE_NAME} characters")
        self.prefix = prefix
        self.count = count
        self.workdir = Path(workdir)
        self.root = self.workdir / f"fleet-{prefix}"
        # The hosts' view of root; its name puts the prefix in each sshd's command line.
        self.root_inside = f"/run/fleet/{prefix}"
        self.bridge = f"{prefix}br"
        self.sshd = sshd
        self.python = python or default_python()
        self.bound_to_caller = bound_to_caller
        self.start_timeout = start_timeout
        self.inventory_path = self.root / "inventory.ini"
        self.user = f"{prefix}u"
        self.user_id = FIRST_USER_ID
        self.ssh_config_path = self.root / "ssh_config"
        self.hosts: list[FleetHost] = []
        self.subnet: ipaddress.IPv4Network | None = None
        self.control_dir: Path | None = None
        self._launchers: list[subprocess.Popen] = []
        # Set once the fleet's names and directory are known to be free: only then does teardown
        # remove anything carrying them (never another fleet that uses the same prefix).
        self._claimed = False

    # --- public interface -------------------------------------------------------------------

    @property
    def controller_address(self) -> str:
        """The machine's own address on the fleet bridge."""
        return str(self._subnet[1])

    @property
    def unowned_gateway(self) -> str:
        """The hosts' default gateway: on the bridge's subnet, owned by nobody."""
        return str(self._subnet[254])

    def login_users(self) -> tuple[str, ...]:
        return ("root", self.user)

    def _stop_hosts(self) -> None:
        self._delete_interfaces()
        self._kill_hosts()

    def leftovers(self) -> list[str]:
        """What of this fleet still exists on the machine (empty after a teardown)."""
        found = []
        present = self._present_interfaces()
        found += [f"interface {name}" for name in present]
        found += [f"process {host.pid} ({host.name})" for host in self.hosts if self._is_alive(host)]
        root_text = str(self.root)
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            if any(field == root_text or field.startswith(root_text + "/") for field in line.split()):
                found.append(f"mount {line}")
        for directory in (self.control_dir, self.root):
            if directory is not None and directory.exists():
                found.append(f"directory {directory}")
        return found

    def save_state(self) -> None:
        state = {
            "prefix": self.prefix,
            "count": self.count,
            "subnet": str(self.subnet) if self.subnet else None,
            "control_dir": str(self.control_dir) if self.control_dir else None,
            "python": self.python,
            "hosts": [asdict(host) for host in self.hosts],
        }
        temporary = self.root / (STATE_FILE + ".new")
        temporary.write_text(json.dumps(state, indent=2) + "\n")
        temporary.replace(self.root / STATE_FILE)

    @classmethod
    def from_state(cls, prefix: str, workdir: Path) -> Fleet:
        """The fleet `up` left in `workdir`, ready for `teardown`."""
        fleet = cls(prefix, 1, workdir)
        state_path = fleet.root / STATE_FILE
        if not state_path.exists():
            raise FleetError(f"no fleet state at {state_path}")
        state = json.loads(state_path.read_text())
        fleet.count = state["count"]
        fleet.python = state["python"]
        fleet.subnet = ipaddress.ip_network(state["subnet"]) if state["subnet"] else None
        fleet.control_dir = Path(state["control_dir"]) if state["control_dir"] else None
        fleet.hosts = [FleetHost(**host) for host in state["hosts"]]
        fleet._claimed = True
        return fleet

    # --- building ---------------------------------------------------------------------------

    @property
    def _subnet(self) -> ipaddress.IPv4Network:
        if self.subnet is None:
            raise FleetError("the fleet has no subnet yet")
        return self.subnet

    def _names(self) -> list[str]:
        return [f"{self.prefix}-h{number}" for number in range(1, self.count + 1)]

    def _addresses(self) -> list[str]:
        return [str(self._subnet[number + 1]) for number in range(1, self.count + 1)]

    def _interfaces(self) -> list[str]:
        return [f"{self.prefix}h{number}" for number in range(1, self.count + 1)]

    def _build(self) -> None:
        sshd = self.sshd or find_sshd()
        in_use = self._present_interfaces()
        if in_use:
            raise FleetError(f"interfaces {', '.join(in_use)} exist: prefix {self.prefix} is in use")
        self._claim(f"a fleet {self.prefix} is up there (run down) or left over")
        self.subnet = pick_subnet()
        self.save_state()
        self._write_keys()
        self._write_configs()
        self._launch_hosts(sshd)
        self._connect_network()
        self._release_hosts()
        self._wait_for_sshd()

    def _write_keys(self) -> None:
        keygens = [
            subprocess.Popen(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{self.prefix}-{role}", "-f", str(self.root / key)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for role, key in (("host", "ssh_host_ed25519_key"), ("client", "id_ed25519"))
        ]
        for keygen in keygens:
            output, unused = keygen.communicate()
            if keygen.returncode != 0:
                raise FleetError(f"ssh-keygen failed: {output.decode(errors='replace')}")

    def _write_configs(self) -> None:
        names, addresses = self._names(), self._addresses()
        client_key = (self.root / "id_ed25519.pub").read_text()
        host_key = (self.root / "ssh_host_ed25519_key.pub").read_text().split()
        etc_hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n" + "".join(
            f"{address} {name}\n" for name, address in zip(names, addresses)
        )
        self.user_id = _unused_user_id()
        accounts = {
            "passwd": f"{self.user}:x:{self.user_id}:{self.user_id}:fleet test user:{USER_HOME}:/bin/sh\n",
            "group": f"{self.user}:x:{self.user_id}:\n",
            "shadow": f"{self.user}:*:20000:0:99999:7:::\n",  # sudo's PAM account check needs an entry
        }
        for name in names:
            host_dir = self.root / name
            (host_dir / "dot-ssh").mkdir(mode=0o700, parents=True)
            authorized_keys = host_dir / "dot-ssh" / "authorized_keys"
            authorized_keys.write_text(client_key)
            authorized_keys.chmod(0o600)
            (host_dir / "hostname").write_text(name + "\n")
            (host_dir / "hosts").write_text(etc_hosts)
            (host_dir / "machine-id").write_text(secrets.token_hex(16) + "\n")
            for account_file, line in accounts.items():
                machine_file = Path("/etc", account_file)
                copy = host_dir / account_file
                copy.write_text(machine_file.read_text() + line)
                copy.chmod(machine_file.stat().st_mode & 0o777)
                os.chown(copy, 0, machine_file.stat().st_gid)
            sudoers = host_dir / "sudoers"
            sudoers.write_text(SUDOERS.format(user=self.user))
            sudoers.chmod(0o440)
        (self.root / "host-init.sh").write_text(HOST_INIT)
        (self.root / ".bashrc").write_text(HOST_BASHRC)
        (self.root / ".profile").write_text(HOST_PROFILE)
        (self.root / "sshd_config").write_text(
            SSHD_CONFIG.format(port=SSH_PORT, host_key=f"{self.root_inside}/ssh_host_ed25519_key")
        )
        (self.root / "known_hosts").write_text(
            "".join(f"{name},{address} {host_key[0]} {host_key[1]}\n" for name, address in zip(names, addresses))
        )
        host_blocks = "".join(f"Host {name} {address}\n    HostName {address}\n" for name, address in zip(names, addresses))
        network_pattern = str(self._subnet.network_address).rsplit(".", 1)[0] + ".*"
        self.ssh_config_path.write_text(
            f"# ssh_config of fleet {self.prefix}: ssh -F {self.ssh_config_path} {names[0]}\n"
            + host_blocks
            + f"Host {self.prefix}-h* {network_pattern}\n"
            + SSH_CLIENT_OPTIONS.format(
                port=SSH_PORT,
                identity=self.root / "id_ed25519",
                known_hosts=self.root / "known_hosts",
                control_dir=self.control_dir,
            )
        )
        # ansible_ssh_args (not _common_args) replaces Ansible's default ControlPersist arguments, so
        # Ansible adds no ControlPath of its own and ssh takes every setting from the fleet's file.
        self.inventory_path.write_text(
            f"# fleet {self.prefix}: made by tests/fleet, removed with it\n[fleet]\n"
            + "".join(f"{name} ansible_host={address}\n" for name, address in zip(names, addresses))
            + "\n[fleet:vars]\n"
            + "ansible_user=root\n"
            + f"ansible_python_interpreter={self.python}\n"
            + f"ansible_ssh_args='-F {self.ssh_config_path}'\n"
            + "ansible_ssh_pipelining=true\n"
        )

    def _launch_hosts(self, sshd: str) -> None:
        prefix_len = self._subnet.prefixlen
        tie = ["setpriv", "--pdeathsig", "KILL"] if self.bound_to_caller else []
        for name, address in zip(self._names(), self._addresses()):
            host_dir = self.root / name
            with open(host_dir / "log", "wb") as log:
                launcher = subprocess.Popen(
                    [
                        *tie,
                        "unshare", "--net", "--uts", "--mount", "--pid", "--fork", "--kill-child",
                        "--mount-proc", "--propagation", "private",
                        "sh", str(self.root / "host-init.sh"),
                        name, f"{address}/{prefix_len}", self.unowned_gateway, str(self.root), self.root_inside,
                        sshd, self.user, str(self.user_id),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self._launchers.append(launcher)
        deadline = time.monotonic() + self.start_timeout
        for name, address, interface, launcher in zip(self._names(), self._addresses(), self._interfaces(), self._launchers):
            pid = self._pid_one_of(launcher, name, deadline)
            start_time = _process_start_time(pid)
            if start_time is None:
                raise FleetError(f"{name}: PID 1 ({pid}) ended during start; log: {self._log_tail(name)}")
            self.hosts.append(FleetHost(name, address, pid, interface, start_time))
        self.save_state()

    def _pid_one_of(self, launcher: subprocess.Popen, name: str, deadline: float) -> int:
        children = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children")
        while True:
            if launcher.poll() is not None:
                raise FleetError(f"{name}: unshare exited with {launcher.returncode}; log: {self._log_tail(name)}")
            pids = children.read_text().split()
            if pids:
                return int(pids[0])
            if time.monotonic() > deadline:
                raise FleetError(f"{name}: unshare made no PID 1 in time")
            time.sleep(0.001)

    def _connect_network(self) -> None:
        commands = [
            f"link add {self.bridge} type bridge",
            f"address add {self.controller_address}/{self._subnet.prefixlen} dev {self.bridge}",
            f"link set {self.bridge} up",
        ]
        for host in self.hosts:
            commands.append(f"link add {host.interface} type veth peer name eth0 netns {host.pid}")
            commands.append(f"link set {host.interface} master {self.bridge} up")
        result = _ip("-batch", "-", stdin="\n".join(commands) + "\n")
        if result.returncode != 0:
            raise FleetError(f"building the fleet network failed: {result.stderr.strip()}")

    def _release_hosts(self) -> None:
        for launcher in self._launchers:
            launcher.stdin.write(b"ready\n")
            launcher.stdin.close()

    def _wait_for_sshd(self) -> None:
        """Until each sshd listens (seen in its own /proc/PID/net/tcp, no traffic) and accepts."""
        deadline = time.monotonic() + self.start_timeout
        waiting = list(zip(self.hosts, self._launchers))
        while waiting:
            still_waiting = []
            for host, launcher in waiting:
                if launcher.poll() is not None:
                    raise FleetError(f"{host.name}: exited with {launcher.returncode}; log: {self._log_tail(host.name)}")
                if not _listens(host.pid, host.address, SSH_PORT):
                    still_waiting.append((host, launcher))
            waiting = still_waiting
            if waiting:
                if time.monotonic() > deadline:
                    names = ", ".join(host.name for host, unused in waiting)
                    raise FleetError(f"sshd not listening after {self.start_timeout} s on: {names}")
                time.sleep(0.005)
        for host in self.hosts:
            try:
                with socket.create_connection((host.address, SSH_PORT), timeout=max(1.0, deadline - time.monotonic())):
                    pass
            except OSError as error:
                raise FleetError(f"{host.name}: sshd listens but {host.address}:{SSH_PORT} refuses: {error}") from None

    def _log_tail(self, name: str) -> str:
        try:
            return (self.root / name / "log").read_text(errors="replace")[-2000:].strip()
        except FileNotFoundError:
            return "(no log)"

    # --- removing ---------------------------------------------------------------------------

    def _present_interfaces(self) -> list[str]:
        ours = {self.bridge, *self._interfaces()}
        links = json.loads(_ip("-j", "link", "show").stdout or "[]")
        return [link["ifname"] for link in links if link["ifname"] in ours]

    def _delete_interfaces(self) -> None:
        present = self._present_interfaces()
        if present:
            # A veth may vanish on its own meanwhile (its host died): -force goes on past that.
            _ip("-force", "-batch", "-", stdin="".join(f"link delete {name}\n" for name in present))

    def _is_alive(self, host: FleetHost) -> bool:
        return _process_start_time(host.pid) == host.start_time

    def _kill_hosts(self) -> None:
        for host in self.hosts:
            if self._is_alive(host):
                os.kill(host.pid, signal.SIGKILL)
        # Launchers whose PID 1 was never recorded (a start that failed midway): with --kill-child,
        # killing unshare kills its child.
        for launcher in self._launchers[len(self.hosts):]:
            if launcher.poll() is None:
                launcher.kill()
        for launcher in self._launchers:
            if launcher.stdin and not launcher.stdin.closed:
                launcher.stdin.close()
            launcher.wait()
        deadline = time.monotonic() + 5
        while any(self._is_alive(host) for host in self.hosts) and time.monotonic() < deadline:
            time.sleep(0.005)
