# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a named set is, as data: its options, its recorded state, their validation, and state.json.

Read-only: nothing here touches the system but reading the caller's ids, the clocks and a path's type. state.json
carries STATE_SCHEMA; a file without it was written by 0.1.0 and has the same fields.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import TYPES_BY_NAME

DEFAULT_STORE = "/run/linux-namespaces"
NETNS_DIR = "/run/netns"
STATE_FILE = "state.json"
STATE_SCHEMA = "linux.namespaces/set-state/1"
NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")  # used with fullmatch: "$" would accept a final newline
MAX_MAP_LINES = 340  # the kernel's limit on uid_map/gid_map lines since 4.15
MAP_FIELD = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() also accepts '²' and '٣'
# kernel/time/namespace.c: an offset's seconds lie within +-KTIME_SEC_MAX, and the clock it shifts must stay
# within 0..KTIME_SEC_MAX/2; otherwise writing /proc/self/timens_offsets fails with ERANGE.
KTIME_SEC_MAX = 9223372036
MAX_PATH_LENGTH = 4096 - 1  # PATH_MAX less the final NUL
MAX_PATH_COMPONENT = 255  # NAME_MAX
MAX_STORE_DEPTH = 64

# Options fixed when a set is made; changing one needs state=absent first.
FIXED_OPTIONS = ("types", "uid_map", "gid_map", "setgroups", "monotonic_offset", "boottime_offset",
                 "mount_proc", "mount_sysfs", "propagation")


class SetOptions(NamedTuple):
    types: Tuple[str, ...]
    hostname: Optional[str] = None
    domainname: Optional[str] = None
    uid_map: Tuple[str, ...] = ()
    gid_map: Tuple[str, ...] = ()
    setgroups: str = "allow"
    monotonic_offset: int = 0
    boottime_offset: int = 0
    mount_proc: bool = False
    mount_sysfs: bool = False
    propagation: str = "private"
    loopback: bool = True
    netns_link: bool = True

    def to_json(self) -> Dict[str, Any]:
        data = self._asdict()
        data["types"] = list(self.types)
        data["uid_map"] = list(self.uid_map)
        data["gid_map"] = list(self.gid_map)
        return data

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "SetOptions":
        """The options a state file records; a missing option takes its default, an unknown one is ignored."""
        # Field by field in order: a listing reads every set's options, and keyword arguments cost twice as much.
        return cls._make([tuple(data.get(field) or ()) if field in _LIST_OPTIONS else data.get(field, default)
                          for field, default in _OPTION_DEFAULTS])


_LIST_OPTIONS = frozenset(("types", "uid_map", "gid_map"))  # JSON lists, tuples here
_OPTION_DEFAULTS = tuple((field, SetOptions._field_defaults.get(field)) for field in SetOptions._fields)


class SetState(NamedTuple):
    name: str
    path: str
    status: str  # "creating" while being made, "ready" once complete, "removing" from the start of removal
    options: SetOptions
    inodes: Dict[str, int]
    holder_pid: Optional[int]
    created: Optional[str]
    rootless: bool = False  # an ordinary user's set: its holder's /proc/PID/ns/* are its files (rootless.py)

    @property
    def types(self) -> Tuple[str, ...]:
        return self.options.types

    @property
    def files(self) -> Dict[str, str]:
        if self.rootless:
            return {t: "/proc/%d/ns/%s" % (self.holder_pid, t) for t in self.types} if self.holder_pid else {}
        directory = self.path + "/"  # as os.path.join(path, type): a set's path never ends with '/'
        return {t: directory + t for t in self.types}


# ---------------------------------------------------------------------------------------------
# Validation: every check a module needs before it touches anything.

def validate_name(name: str) -> None:
    if "\x00" in name:
        raise ValueError("name must not contain a NUL character")
    if name in (".", "..") or not NAME_PATTERN.fullmatch(name):
        raise ValueError("name %r is not valid: use 1 to 64 letters, digits, '.', '_' or '-', "
                         "and not '.' or '..'" % name)


def parse_id_map(lines: Sequence[str], what: str) -> List[Tuple[int, int, int]]:
    """Parse 'INSIDE OUTSIDE COUNT' lines; reject malformed and overlapping ranges."""
    if len(lines) > MAX_MAP_LINES:
        raise ValueError("%s has %d lines; the kernel accepts at most %d" % (what, len(lines), MAX_MAP_LINES))
    ranges = []
    for line in lines:
        fields = str(line).split()
        if len(fields) != 3 or not all(MAP_FIELD.fullmatch(f) for f in fields):
            raise ValueError("%s line %r is not 'INSIDE OUTSIDE COUNT' (three non-negative integers)"
                             % (what, line))
        inside, outside, count = (int(f) for f in fields)
        if count == 0:
            raise ValueError("%s line %r maps no ids (COUNT is 0)" % (what, line))
        if max(inside, outside) + count > 2 ** 32 - 1:
            raise ValueError("%s line %r goes beyond the largest id 4294967294" % (what, line))
        ranges.append((inside, outside, count))
    for column, side in ((0, "inside"), (1, "outside")):
        spans = sorted((r[column], r[column] + r[2]) for r in ranges)
        for previous, following in zip(spans, spans[1:]):
            if following[0] < previous[1]:  # starts before the previous range ends
                raise ValueError("%s has overlapping ranges on the %s side" % (what, side))
    return ranges


def validate_options(options: SetOptions) -> None:
    """Raise ValueError naming the first option that cannot work."""
    unknown = [t for t in options.types if t not in TYPES_BY_NAME]
    if unknown:
        raise ValueError("unknown namespace type(s): %s; known types: %s"
                         % (", ".join(unknown), ", ".join(TYPES_BY_NAME)))
    if not options.types:
        raise ValueError("types must name at least one namespace type")
    types = set(options.types)
    if options.mount_proc and not {"mnt", "pid"} <= types:
        raise ValueError("mount_proc needs both 'mnt' and 'pid' in types")
    if options.mount_sysfs and not {"mnt", "net"} <= types:
        raise ValueError("mount_sysfs needs both 'mnt' and 'net' in types")
    if (options.monotonic_offset or options.boottime_offset) and "time" not in types:
        raise ValueError("monotonic_offset and boottime_offset need 'time' in types")
    if os.geteuid() != 0 and "user" not in types:
        raise ValueError("an ordinary user's set needs 'user' in types: only a new user namespace gives it the "
                         "capabilities the other types need")
    if (options.uid_map or options.gid_map) and "user" not in types:
        raise ValueError("uid_map and gid_map need 'user' in types")
    if (options.hostname is not None or options.domainname is not None) and "uts" not in types:
        raise ValueError("hostname and domainname need 'uts' in types")
    for label, value in (("hostname", options.hostname), ("domainname", options.domainname)):
        if value is not None and (not value or len(value.encode()) > 64 or "\x00" in value):
            raise ValueError("%s must be 1 to 64 bytes without NUL" % label)
    for label, offset, clock in (("monotonic_offset", options.monotonic_offset, time.CLOCK_MONOTONIC),
                                 ("boottime_offset", options.boottime_offset, time.CLOCK_BOOTTIME)):
        validate_time_offset(label, offset, int(time.clock_gettime(clock)))
    parse_id_map(options.uid_map, "uid_map")
    parse_id_map(options.gid_map, "gid_map")
    if options.setgroups not in ("allow", "deny"):
        raise ValueError("setgroups must be 'allow' or 'deny'")
    if options.propagation not in ("private", "slave", "shared", "unchanged"):
        raise ValueError("propagation must be private, slave, shared or unchanged")


def validate_time_offset(label: str, offset: int, clock_now: int) -> None:
    """What the kernel accepts for an offset of a clock that reads clock_now seconds on the host."""
    if not -KTIME_SEC_MAX <= offset <= KTIME_SEC_MAX:
        raise ValueError("%s %d is out of the kernel's range: -%d to %d seconds"
                         % (label, offset, KTIME_SEC_MAX, KTIME_SEC_MAX))
    if not 0 <= clock_now + offset <= KTIME_SEC_MAX // 2:
        raise ValueError("%s %d would set the clock to %d s; the kernel accepts offsets that keep it within 0 "
                         "to %d s (it reads %d s now): use %d to %d"
                         % (label, offset, clock_now + offset, KTIME_SEC_MAX // 2, clock_now, -clock_now,
                            KTIME_SEC_MAX // 2 - clock_now))


def validate_store_path(path: str) -> None:
    """Refuse a store path the kernel or the store's directories could not take, before anything is made."""
    if "\x00" in path:
        raise ValueError("store must not contain a NUL character")
    if not os.path.isabs(path):
        raise ValueError("store %r must be an absolute path" % path)
    if len(path.encode("utf-8", "surrogateescape")) > MAX_PATH_LENGTH:
        raise ValueError("store path is %d bytes long; the kernel accepts at most %d"
                         % (len(path.encode("utf-8", "surrogateescape")), MAX_PATH_LENGTH))
    components = [c for c in path.split("/") if c]
    if any(len(c.encode("utf-8", "surrogateescape")) > MAX_PATH_COMPONENT for c in components):
        raise ValueError("store path has a component longer than %d bytes" % MAX_PATH_COMPONENT)
    if len(components) > MAX_STORE_DEPTH:
        raise ValueError("store path is %d directories deep; at most %d are accepted"
                         % (len(components), MAX_STORE_DEPTH))
    # "link/" and "link/." follow the link in lstat: check the entry the path names.
    entry = os.path.normpath(path)
    if os.path.islink(entry):
        raise ValueError("store %r is a symbolic link; give the real directory" % path)
    if os.path.exists(entry) and not os.path.isdir(entry):
        raise ValueError("store %r exists and is not a directory" % path)


def effective_options(options: SetOptions) -> SetOptions:
    """The options as a set records them: the default id maps written out; for an ordinary user, setgroups
    deny and no /run/netns link."""
    if "user" not in options.types:
        return options
    if os.geteuid() != 0:
        # The kernel lets an ordinary user write gid_map only once setgroups is denied (user_namespaces(7)),
        # and /run/netns is root's.
        options = options._replace(setgroups="deny", netns_link=False)
    return options._replace(uid_map=options.uid_map or ("0 %d 1" % os.geteuid(),),
                            gid_map=options.gid_map or ("0 %d 1" % os.getegid(),))


# ---------------------------------------------------------------------------------------------
# state.json: the schema, written and read here only.

def state_to_json(state: SetState) -> Dict[str, Any]:
    document = {"schema": STATE_SCHEMA, "name": state.name, "status": state.status, "types": list(state.types),
                "inodes": state.inodes, "holder_pid": state.holder_pid, "options": state.options.to_json(),
                "created": state.created}
    if state.rootless:
        document["rootless"] = True
    return document


def state_from_json(name: str, path: str, data: Dict[str, Any]) -> SetState:
    """The set a state.json document records. KeyError, TypeError or ValueError: the document is incomplete.

    NamespaceError: it was written by a version of the collection whose schema this one cannot read.
    """
    schema = data.get("schema", STATE_SCHEMA)  # 0.1.0 wrote no schema: its fields are those of version 1
    if schema != STATE_SCHEMA:
        raise NamespaceError("set %r in %s has state schema %r; this collection reads only %r: manage the set "
                             "with the version of the collection that made it" % (name, path, schema, STATE_SCHEMA))
    return SetState(name=name, path=path, status=data["status"], options=SetOptions.from_json(data["options"]),
                    inodes={k: int(v) for k, v in data.get("inodes", {}).items()},
                    holder_pid=data.get("holder_pid"), created=data.get("created"),
                    rootless=data.get("rootless") is True)


def describe_set(state: SetState, live: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The set as modules return it: live values where known, else the recorded options."""
    options = state.options
    types = state.types
    live = live or {}
    return {
        "name": state.name,
        "path": state.path,
        "types": list(types),
        "namespaces": {t: {"inode": state.inodes.get(t), "path": p} for t, p in state.files.items()},
        "holder_pid": state.holder_pid,
        "hostname": live.get("hostname", options.hostname) if "uts" in types else None,
        "domainname": live.get("domainname", options.domainname) if "uts" in types else None,
        "loopback": live.get("loopback", options.loopback) if "net" in types else None,
        "netns_link": os.path.join(NETNS_DIR, state.name) if "net" in types and live.get("netns_link") else None,
        "mount_proc": options.mount_proc,
        "mount_sysfs": options.mount_sysfs,
        "propagation": options.propagation if "mnt" in types else None,
        "uid_map": list(options.uid_map),
        "gid_map": list(options.gid_map),
        "created": state.created,
    }


def describe_options(name: str, options: SetOptions, live: Dict[str, Any]) -> Dict[str, Any]:
    """What diff mode shows of a set: its options and live values, the same in check mode and for real."""
    types = options.types
    return {
        "name": name,
        "types": list(types),
        "hostname": live.get("hostname") if "uts" in types else None,
        "domainname": live.get("domainname") if "uts" in types else None,
        "loopback": live.get("loopback") if "net" in types else None,
        "netns_link": bool(live.get("netns_link")) if "net" in types else None,
        "mount_proc": options.mount_proc,
        "mount_sysfs": options.mount_sysfs,
        "propagation": options.propagation if "mnt" in types else None,
        "uid_map": list(options.uid_map),
        "gid_map": list(options.gid_map),
        "setgroups": options.setgroups if "user" in types else None,
        "monotonic_offset": options.monotonic_offset if "time" in types else None,
        "boottime_offset": options.boottime_offset if "time" in types else None,
    }
