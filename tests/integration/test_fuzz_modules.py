# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generated arguments for every option of every module that touches the host (issue 14).

Property: each run is a clean failure (failed, a msg, no traceback, exit 0 or 1, within the timeout)
that changed nothing of the run's on the host, or a success that did what it says (checked with
util-linux, iproute2 and /proc); a success is undone afterwards and must leave nothing behind.

Hypothesis runs with a fixed seed (derandomize), no database and no shrinking; every example runs,
its findings are collected, and the test fails at the end listing them all (also written to
tests/output/hardening/). LNS_FUZZ_SCALE multiplies the example counts (default 1).
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import subprocess
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from hardening import changes, ipc_keys, record_findings, run_module, snapshot, sweep
from helpers import free_point_to_point, interface_names
from namespace_sets import mounts, process_alive

SCALE = float(os.environ.get("LNS_FUZZ_SCALE", "1"))
MISSING = object()  # an option left out of the arguments
ALL_TYPES = ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"]
TARGET_TYPES = ["mnt", "uts", "ipc", "pid", "net", "time"]
UID_PROBE = ["sh", "-c", "echo $(id -u) $(id -g)"]


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=max(1, int(examples * SCALE)), derandomize=True, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                    report_multiple_bugs=True)


# --- values ----------------------------------------------------------------------------------------

HOSTILE_TEXT = st.sampled_from(["", " ", "a\x00b", "\x00", "x" * 5000, "..", "../..", "a/b", "-n", "\n", "é",
                                "'", '"', "$(id)", "%s%n", "\udcff"])
WRONG_TYPES = st.sampled_from([[], ["a"], {"a": 1}, 3.5, -1, 2 ** 64, True, None])
INTS = st.sampled_from([0, 1, -1, 65534, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 63, 2 ** 64, -2 ** 63 - 1, -2 ** 64,
                        "abc", "0x10", "1e3", "", "4294967295"])
BOOLS = st.sampled_from([True, False, "yes", "no", "maybe", 2, [], "\x00"])


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.just(MISSING), strategy)


def arguments(**options: st.SearchStrategy) -> st.SearchStrategy:
    """A module's arguments: each option generated, or left out when its strategy gives MISSING."""
    return st.fixed_dictionaries(options).map(lambda drawn: {k: v for k, v in drawn.items() if v is not MISSING})


def tagged_names(tag: str) -> st.SearchStrategy:
    """Names that carry the tag (so whatever a run makes is the test's), plus hostile ones."""
    suffix = st.text(alphabet=st.sampled_from("ab-_.9/ \x00\n'é"), max_size=12)
    return st.one_of(suffix.map(lambda s: tag + s), HOSTILE_TEXT.map(lambda s: tag + s),
                     st.sampled_from(["", tag + "x" * 300, "../" + tag, tag + "/..", "/" + tag]), WRONG_TYPES)


def hostile_paths(fuzz_files: Dict[str, str]) -> st.SearchStrategy:
    fuzz_dir, fifo, regular = fuzz_files["dir"], fuzz_files["fifo"], fuzz_files["file"]
    return st.sampled_from([fifo, regular, regular + "/below", fuzz_dir, fuzz_dir + "/a\x00b",
                            fuzz_dir + "/" + "d/" * 2500, fuzz_dir + "/" + "n" * 300, "relative/path", "",
                            "/proc/self/ns/net", "/dev/null", fuzz_dir + "/new/deeper"])


@pytest.fixture(scope="module")
def tag(prefix: str) -> str:
    return prefix + "f"


@pytest.fixture(scope="module")
def fuzz_files(tmp_path_factory, tag) -> Dict[str, str]:
    """A directory carrying the tag with a FIFO, a regular file and a non-empty directory in it."""
    directory = str(tmp_path_factory.mktemp(tag))
    fifo, regular = os.path.join(directory, "fifo"), os.path.join(directory, "file")
    os.mkfifo(fifo)
    with open(regular, "w") as out:
        out.write("not a namespace\n")
    os.mkdir(os.path.join(directory, "full"))
    with open(os.path.join(directory, "full", "keep"), "w") as out:
        out.write("x")
    return {"dir": directory, "fifo": fifo, "file": regular, "full": os.path.join(directory, "full")}


@pytest.fixture(scope="module")
def keys(ipc_key) -> range:
    return range(ipc_key(200), ipc_key(255) + 1)


@pytest.fixture(scope="module")
def clean_after(tag, keys) -> Iterator[None]:
    yield
    swept = sweep(tag, keys)
    assert not swept, "the fuzz tests left behind: %s" % swept


@pytest.fixture(scope="module")
def target_set(prefix, clean_after) -> Iterator[Dict[str, Any]]:
    """A set for nsenter and veth to aim at; its names carry the prefix but not the fuzz tag."""
    store, name = "/run/%st" % prefix, "%st-set" % prefix
    made = run_module("namespace", {"name": name, "store": store, "types": TARGET_TYPES})
    assert made.result and not made.failed, made.result or made.stderr
    try:
        yield dict(made.result["set"], store=store)
    finally:
        removed = run_module("namespace", {"name": name, "store": store, "state": "absent"})
        assert removed.result and not removed.failed, removed.result or removed.stderr
        assert not sweep("%st" % prefix, range(0)), "the target set left traces"


def run_and_judge(module: str, args: Dict[str, Any], check: bool, tag: str, keys: range,
                  verify: Callable[[Dict[str, Any], Dict[str, Any], bool], List[str]],
                  undo: Callable[[Dict[str, Any]], List[str]]) -> List[str]:
    """Run one example and return its findings; whatever it left is swept so the next starts clean."""
    before = snapshot(tag, keys)
    outcome = run_module(module, args, check=check)
    problems = []
    crash = outcome.crash()
    if crash:
        problems.append(crash)
    elif not outcome.failed:
        problems += verify(args, outcome.result, check)
        if not check:
            problems += undo(args)
    changed = changes(before, snapshot(tag, keys))
    if changed:
        problems.append("host changed: " + "; ".join(changed))
    if problems:
        sweep(tag, keys)
        return ["%s%s\n  -> %s" % (outcome.describe(), " (check mode)" if check else "", "\n  -> ".join(problems))]
    return []


def run_examples(name: str, strategy: st.SearchStrategy, count: int, explicit: List[Dict[str, Any]],
                 judge: Callable[[Dict[str, Any], bool], List[str]]) -> None:
    """Run COUNT generated examples plus the EXPLICIT ones, in normal or check mode; fail listing every finding."""
    findings: List[str] = []
    tried = []

    def one(args: Dict[str, Any], check: bool) -> None:
        tried.append(1)
        findings.extend(judge(args, check))

    for args in explicit:
        one = example(args=args, check=False)(one)
    fuzz = fuzz_settings(count)(given(args=strategy, check=st.booleans())(one))
    fuzz()
    record_findings(name, ["%d inputs tried" % len(tried)] + findings)
    assert not findings, "%d of %d inputs went wrong:\n%s" % (len(findings), len(tried), "\n".join(findings))


# --- namespace ---------------------------------------------------------------------------------------


def nsfs_mount_inodes() -> Dict[str, str]:
    return {m["target"]: m["source"] for m in mounts("nsfs")}


def verify_namespace(args: Dict[str, Any], result: Dict[str, Any], check: bool) -> List[str]:
    if check or args.get("state") == "absent":
        return []
    problems = []
    made = result.get("set") or {}
    pinned = nsfs_mount_inodes()
    for nstype, entry in (made.get("namespaces") or {}).items():
        if "[%s]" % entry["inode"] not in pinned.get(entry["path"], ""):
            problems.append("%s namespace file %s is not an nsfs mount of inode %s"
                            % (nstype, entry["path"], entry["inode"]))
    if "pid" in made.get("types", []) and not process_alive(made.get("holder_pid") or 0):
        problems.append("no live holder")
    paths = {t: e["path"] for t, e in (made.get("namespaces") or {}).items()}
    if "uts" in paths and isinstance(args.get("hostname"), str):
        seen = subprocess.run(["nsenter", "--uts=" + paths["uts"], "hostname"], capture_output=True, text=True,
                              check=False).stdout
        if seen.strip() != args["hostname"]:
            problems.append("hostname inside is %r, not %r" % (seen.strip(), args["hostname"]))
    if "time" in paths:
        shown = subprocess.run(["nsenter", "--time=" + paths["time"], "cat", "/proc/self/timens_offsets"],
                               capture_output=True, text=True, check=False).stdout.split()
        applied = {shown[i]: int(shown[i + 1]) * 10 ** 9 + int(shown[i + 2]) for i in range(0, len(shown), 3)}
        for clock in ("monotonic", "boottime"):
            wanted = args.get(clock + "_offset", 0)
            if isinstance(wanted, int) and not isinstance(wanted, bool) and applied.get(clock) != wanted * 10 ** 9:
                problems.append("%s offset %r recorded, the kernel applies %s ns" % (clock, wanted, applied.get(clock)))
    return problems


def test_namespace_module_under_generated_arguments(tag, keys, fuzz_files, clean_after):
    store = "/run/%ss" % tag
    stores = st.one_of(st.just(store), st.just(store), hostile_paths(fuzz_files),
                       st.just(fuzz_files["full"]), WRONG_TYPES)
    maps = st.one_of(st.just(["0 100000 65536"]), st.just(["0 0 4294967295"]), st.just(["0 0 1", "0 0 1"]),
                     st.lists(HOSTILE_TEXT, max_size=2), WRONG_TYPES)
    strategy = arguments(
        name=tagged_names(tag + "-"), store=stores,
        state=optional(st.sampled_from(["present", "present", "absent", "gone", ""])),
        types=optional(st.one_of(st.lists(st.sampled_from(ALL_TYPES), max_size=8), st.lists(HOSTILE_TEXT, max_size=2),
                                 st.just("net"), WRONG_TYPES)),
        hostname=optional(st.one_of(st.text(max_size=70), HOSTILE_TEXT, WRONG_TYPES)),
        domainname=optional(st.one_of(st.text(max_size=70), HOSTILE_TEXT)),
        uid_map=optional(maps), gid_map=optional(maps),
        setgroups=optional(st.sampled_from(["allow", "deny", "both", ""])),
        monotonic_offset=optional(INTS), boottime_offset=optional(INTS),
        mount_proc=optional(BOOLS), mount_sysfs=optional(BOOLS), loopback=optional(BOOLS), netns_link=optional(BOOLS),
        propagation=optional(st.sampled_from(["private", "slave", "shared", "unchanged", "rshared", "\x00"])),
    )

    def undo(args: Dict[str, Any]) -> List[str]:
        if args.get("state") == "absent":
            return []
        removed = run_module("namespace", dict(args, state="absent"))
        return [] if removed.result and not removed.failed else ["state=absent after it failed: %s %s"
                                                                 % (removed.msg, removed.stderr[-800:])]

    explicit = [
        {"name": tag + "-nul\x00x", "store": store},
        {"name": tag + "-a", "store": store + "/a\x00b"},
        {"name": tag + "-a", "store": fuzz_files["dir"] + "/" + "d/" * 2500},
        {"name": tag + "-a", "store": fuzz_files["fifo"]},
        {"name": tag + "-a", "store": fuzz_files["full"]},
        {"name": tag + "-t", "store": store, "types": ["time"], "monotonic_offset": 2 ** 64},
        {"name": tag + "-t", "store": store, "types": ["time"], "boottime_offset": -2 ** 64},
        {"name": tag + "-t", "store": store, "types": ["time"], "monotonic_offset": 2 ** 62},
        {"name": tag + "-t", "store": store, "types": ["time"], "monotonic_offset": "garbage"},
        {"name": tag + "-u", "store": store, "types": ["user"], "uid_map": ["0 0 4294967295"]},
        {"name": tag + "-h", "store": store, "types": ["uts"], "hostname": "h\x00x"},
    ]
    run_examples("namespace", strategy, 40, explicit,
                 lambda args, check: run_and_judge("namespace", args, check, tag, keys, verify_namespace, undo))


# --- nsenter -----------------------------------------------------------------------------------------


def expected_ids(args: Dict[str, Any]) -> Optional[List[int]]:
    """The uid and gid UID_PROBE must print when the arguments are valid, or None when they are not."""
    ids = []
    for key, lookup in (("user", lambda n: pwd.getpwnam(n).pw_uid), ("group", lambda n: grp.getgrnam(n).gr_gid)):
        value = args.get(key)
        if value is None:
            ids.append(None)
        elif isinstance(value, str) and value.isdigit() and int(value) < 2 ** 32 - 1:
            ids.append(int(value))
        else:
            try:
                ids.append(lookup(str(value)))
            except (KeyError, ValueError):
                return None
    return ids


def verify_nsenter(args: Dict[str, Any], result: Dict[str, Any], check: bool) -> List[str]:
    problems = []
    if not check and result.get("rc") != 0:
        problems.append("success with rc %r" % result.get("rc"))
    if check or args.get("argv") != UID_PROBE or not result.get("changed"):  # not run: creates/removes said so
        return problems
    wanted = expected_ids(args)
    if wanted is None:
        return problems + ["user %r / group %r are not valid, yet the command ran as %r"
                           % (args.get("user"), args.get("group"), result.get("stdout"))]
    try:
        uid, gid = (int(x) for x in str(result.get("stdout")).split())
    except ValueError:
        return problems + ["the command ran, but printed %r instead of its uid and gid" % result.get("stdout")]
    if wanted[0] is not None and uid != wanted[0]:
        problems.append("user %r asked for, the command ran as uid %d" % (args["user"], uid))
    if wanted[0] is None and args.get("user") is None and uid != 0:
        problems.append("no user asked for, the command ran as uid %d" % uid)
    if wanted[1] is not None and gid != wanted[1]:
        problems.append("group %r asked for, the command ran as gid %d" % (args["group"], gid))
    return problems


def test_nsenter_module_under_generated_arguments(tag, keys, fuzz_files, target_set):
    files = {t: e["path"] for t, e in target_set["namespaces"].items()}
    holder = target_set["holder_pid"]
    paths = st.one_of(st.just({"net": files["net"], "uts": files["uts"]}),
                      st.dictionaries(st.sampled_from(ALL_TYPES + ["bogus", ""]),
                                      st.one_of(st.sampled_from(list(files.values())), st.just(fuzz_files["file"]),
                                                st.just(fuzz_files["dir"]), st.just("/proc/%d/ns/uts" % holder),
                                                WRONG_TYPES), max_size=3),
                      WRONG_TYPES, st.just("net=" + files["net"]))
    strategy = arguments(
        name=optional(st.one_of(st.just(target_set["name"]), st.just(target_set["name"]), tagged_names(tag))),
        store=optional(st.one_of(st.just(target_set["store"]), hostile_paths(fuzz_files))),
        pid=optional(st.one_of(st.just(holder), INTS)), paths=optional(paths),
        types=optional(st.one_of(st.lists(st.sampled_from(TARGET_TYPES), max_size=3),
                                 st.lists(HOSTILE_TEXT, max_size=1))),
        argv=st.one_of(st.just(UID_PROBE), st.just(UID_PROBE), st.just(UID_PROBE),
                       st.lists(HOSTILE_TEXT, max_size=3), st.just(["/nonexistent"]), st.just([]), st.just(MISSING)),
        cmd=optional(st.sampled_from(["id -u", "echo 'unbalanced", 'echo "x', "true\x00x", "", "  ", "echo $(id)"])),
        shell=optional(BOOLS), chdir=optional(hostile_paths(fuzz_files)),
        stdin=optional(st.one_of(st.text(max_size=20), HOSTILE_TEXT)), stdin_add_newline=optional(BOOLS),
        strip_empty_ends=optional(BOOLS),
        env=optional(st.one_of(st.dictionaries(HOSTILE_TEXT, st.one_of(HOSTILE_TEXT, WRONG_TYPES), max_size=2),
                               st.just({"A=B": "c"}), WRONG_TYPES)),
        inherit_env=optional(BOOLS),
        user=optional(st.one_of(st.sampled_from(["0", "root", "nobody", "65534", "4294967295", "4294967294", "-1",
                                                 "99999999999", "nosuchuser", "a\x00b", ""]), WRONG_TYPES)),
        group=optional(st.sampled_from(["0", "root", "nogroup", "65534", "4294967295", "-1", "nosuchgroup", ""])),
        no_new_privs=optional(BOOLS),
        creates=optional(st.one_of(st.sampled_from(["/nonexistent*", "[", "/etc/host*"]), HOSTILE_TEXT)),
        removes=optional(st.one_of(st.sampled_from(["/nonexistent*", "[", "/etc/host*"]), HOSTILE_TEXT)),
    )
    name = target_set["name"]
    explicit = [
        {"pid": 1, "argv": UID_PROBE},
        {"name": name, "store": target_set["store"], "argv": UID_PROBE, "user": "4294967295"},
        {"name": name, "store": target_set["store"], "argv": UID_PROBE, "group": "4294967295"},
        {"name": name, "store": target_set["store"], "argv": UID_PROBE, "user": "nobody"},
        {"name": name, "store": target_set["store"], "cmd": "echo 'unbalanced"},
        {"paths": {"net": fuzz_files["fifo"]}, "argv": UID_PROBE},
        {"paths": {"net": files["net"], "uts": 5}, "argv": UID_PROBE},
        {"paths": ["net"], "argv": UID_PROBE},
        {"name": tag + "\x00", "store": target_set["store"], "argv": UID_PROBE},
        {"name": name, "store": target_set["store"], "argv": ["true\x00x"]},
        {"name": name, "store": fuzz_files["dir"] + "/" + "d/" * 2500, "argv": UID_PROBE},
    ]
    run_examples("nsenter", strategy, 45, explicit,
                 lambda args, check: run_and_judge("nsenter", args, check, tag, keys, verify_nsenter, lambda _: []))


def test_nsenter_on_a_fifo_in_check_mode_is_no_hang(tag, keys, fuzz_files):
    findings = run_and_judge("nsenter", {"paths": {"net": fuzz_files["fifo"]}, "argv": ["true"]}, True, tag, keys,
                             verify_nsenter, lambda _: [])
    record_findings("nsenter-fifo-check", findings)
    assert not findings, findings


# --- veth --------------------------------------------------------------------------------------------


def link_names_in(net_file: str) -> set:
    out = subprocess.run(["nsenter", "--net=" + net_file, "ip", "-o", "link"], capture_output=True, text=True,
                         check=False).stdout
    return {line.split(":", 2)[1].strip().split("@", 1)[0] for line in out.splitlines()}


def test_veth_module_under_generated_arguments(prefix, tag, keys, fuzz_files, target_set):
    net = target_set["namespaces"]["net"]["path"]
    host_cidr, peer_cidr = (str(a) for a in free_point_to_point(prefix, 3))
    ifnames = st.one_of(st.just(tag + "v"), st.text(alphabet=st.sampled_from("ab9-._ /\x00:é"), max_size=9)
                        .map(lambda s: tag + s), st.just(tag + "x" * 10), WRONG_TYPES)
    addresses = st.one_of(st.just([]), st.lists(st.sampled_from(["10.254.0.300/30", "garbage", "1.2.3.4/99", "::1/200",
                                                                 "\x00", "", "fe80::1/64"]), max_size=2), WRONG_TYPES)
    strategy = arguments(
        name=ifnames, peer_name=optional(st.one_of(ifnames, st.just("eth1"), HOSTILE_TEXT)),
        namespace=optional(st.one_of(st.just(target_set["name"]), tagged_names(tag))),
        store=optional(st.one_of(st.just(target_set["store"]), hostile_paths(fuzz_files))),
        netns_path=optional(st.sampled_from([net, fuzz_files["fifo"], fuzz_files["file"], fuzz_files["dir"],
                                             target_set["namespaces"]["uts"]["path"], "a\x00b"])),
        addresses=optional(st.one_of(st.just([host_cidr]), addresses)),
        peer_addresses=optional(st.one_of(st.just([peer_cidr]), st.just([host_cidr]), addresses)),
        state=optional(st.sampled_from(["present", "present", "absent", "up"])),
    )

    def verify(args: Dict[str, Any], result: Dict[str, Any], check: bool) -> List[str]:
        if check or args.get("state") == "absent":
            return [] if check or args["name"] not in interface_names() else ["the host end still exists"]
        problems = []
        if args["name"] not in interface_names():
            problems.append("no host interface %r" % args["name"])
        peer = args.get("peer_name", "eth0")
        target = args.get("netns_path") or net
        if peer not in link_names_in(target):
            problems.append("no peer %r in %s" % (peer, target))
        return problems

    def undo(args: Dict[str, Any]) -> List[str]:
        if args.get("state") == "absent":
            return []
        removed = run_module("veth", dict(args, state="absent"))
        return [] if removed.result and not removed.failed else ["state=absent failed: %s" % removed.msg]

    explicit = [
        {"name": tag + "\x00v", "netns_path": net},
        {"name": tag + "v", "netns_path": fuzz_files["fifo"]},
        {"name": tag + "v", "peer_name": "a\x00b", "netns_path": net},
        {"name": tag + "v", "netns_path": net, "addresses": [host_cidr], "peer_addresses": [peer_cidr]},
    ]
    run_examples("veth", strategy, 30, explicit,
                 lambda args, check: run_and_judge("veth", args, check, tag, keys, verify, undo))


def test_veth_on_a_fifo_in_check_mode_is_no_hang(tag, keys, fuzz_files):
    findings = run_and_judge("veth", {"name": tag + "v", "netns_path": fuzz_files["fifo"]}, True, tag, keys,
                             lambda *_: [], lambda _: [])
    record_findings("veth-fifo-check", findings)
    assert not findings, findings


# --- sysv_queue --------------------------------------------------------------------------------------


def test_sysv_queue_module_under_generated_arguments(tag, keys, clean_after):
    # Only keys of the run's range parse to a key: any other key could be another program's queue.
    ours = st.sampled_from([keys[0], keys[1]])
    key_texts = st.one_of(ours.map(hex), ours.map(str), ours.map(lambda k: "0X%X" % k), ours.map(oct),
                          st.sampled_from(["", "0", "0x", "1e5", "0b102", "a\x00b", "2**32", "4294967296",
                                           "-2147483649", " 0x12 ", "\n"]),
                          st.sampled_from([[], ["0x1"], {"a": 1}, 0.5, None, True]))
    strategy = arguments(key=key_texts, state=optional(st.sampled_from(["present", "absent", "gone"])),
                         mode=optional(st.one_of(st.sampled_from(["0600", "0777", "0o600", "1777", "-1", "rw", "\x00",
                                                                  "99999999", "0x1ff", "", "600"]), WRONG_TYPES)))

    def listed(args: Dict[str, Any]) -> bool:
        return int(args["key"], 0) & 0xFFFFFFFF in ipc_keys()

    def verify(args: Dict[str, Any], result: Dict[str, Any], check: bool) -> List[str]:
        if check:
            return []
        present = listed(args)
        if args.get("state", "present") == "present" and not present:
            return ["success, but no queue with key %s" % args["key"]]
        if args.get("state") == "absent" and present:
            return ["success, but the queue with key %s is still there" % args["key"]]
        return []

    def undo(args: Dict[str, Any]) -> List[str]:
        if args.get("state", "present") == "present":
            subprocess.run(["ipcrm", "-Q", "0x%08x" % (int(args["key"], 0) & 0xFFFFFFFF)], check=False)
        return []

    explicit = [{"key": "a\x00b"}, {"key": hex(keys[0]), "mode": "0o1777"}, {"key": "4294967296"}]
    run_examples("sysv_queue", strategy, 25, explicit,
                 lambda args, check: run_and_judge("sysv_queue", args, check, tag, keys, verify, undo))


# --- namespace_info and namespace_facts ----------------------------------------------------------------


def read_only(keys_wanted: List[str]) -> Callable[[Dict[str, Any], Dict[str, Any], bool], List[str]]:
    def verify(args: Dict[str, Any], result: Dict[str, Any], check: bool) -> List[str]:
        missing = [key for key in keys_wanted if key not in json.dumps(list(result))]
        return ["success without %s" % missing] if missing else []
    return verify


def test_namespace_info_module_under_generated_arguments(tag, keys, fuzz_files, target_set):
    strategy = arguments(
        type=optional(st.one_of(st.lists(st.sampled_from(ALL_TYPES), max_size=3), st.lists(HOSTILE_TEXT, max_size=1),
                                WRONG_TYPES)),
        pid=optional(st.one_of(st.just(target_set["holder_pid"]), st.just(os.getpid()), INTS)),
        name=optional(st.one_of(st.just(target_set["name"]), tagged_names(tag))),
        tree=optional(st.sampled_from(["owner", "parent", "both", "\x00"])), relations=optional(BOOLS),
        store=optional(st.one_of(st.just(target_set["store"]), hostile_paths(fuzz_files))),
    )
    explicit = [{"store": fuzz_files["fifo"]}, {"store": fuzz_files["dir"] + "/" + "d/" * 2500},
                {"name": "a\x00b"}, {"pid": 1}, {"pid": 2 ** 64}]
    run_examples("namespace_info", strategy, 25, explicit,
                 lambda args, check: run_and_judge("namespace_info", args, check, tag, keys,
                                                   read_only(["namespaces", "sets", "leaks"]), lambda _: []))


def test_namespace_facts_module_under_generated_arguments(tag, keys, clean_after):
    ids = st.one_of(INTS, WRONG_TYPES)
    strategy = arguments(unprivileged_uid=optional(ids), unprivileged_gid=optional(ids))
    explicit = [{"unprivileged_uid": 4294967295}, {"unprivileged_uid": 0}, {"unprivileged_gid": -1}]
    run_examples("namespace_facts", strategy, 8, explicit,
                 lambda args, check: run_and_judge("namespace_facts", args, check, tag, keys,
                                                   read_only(["ansible_facts"]), lambda _: []))
