"""S: the properties the seed tutorial demonstrates (docs/SEED.md); they must pass on every supported host."""

from conformance.kernel_features import FEATURES

SEED_FEATURES = {"mnt": "mnt_ns", "uts": "uts_ns", "ipc": "ipc_ns", "pid": "pid_ns", "net": "net_ns", "user": "user_ns"}
CLONED_TYPES = ("uts", "ipc", "net", "mnt", "pid")


def test_S1_plain_clone_shares_every_namespace(observed):
    parent, child = observed["parent"], observed["child"]
    assert set(child) == set(parent), "the child lists other namespace files: %s vs %s" % (sorted(child), sorted(parent))
    differing = sorted(t for t in parent if child[t] != parent[t])
    assert not differing, "a child made without CLONE_NEW* flags is in other %s namespaces" % differing


def test_S2_hostname_inside_never_on_host(observed):
    assert observed["inside"] == observed["expected"], \
        "`uname -n` inside is %r, the set was made with %r" % (observed["inside"], observed["expected"])
    assert observed["host_after"] == observed["host_before"], \
        "the host's name changed from %r to %r" % (observed["host_before"], observed["host_after"])
    assert observed["host_hostname_cmd"] != observed["expected"], "the host shows the namespace's hostname"


def test_S3_message_queues_separate_by_key(observed):
    assert observed["host_key"] not in observed["inside_keys"], \
        "the host's queue 0x%08x is listed inside" % observed["host_key"]
    assert observed["inside_key"] not in observed["host_keys_after"], \
        "the queue made inside (0x%08x) is listed on the host" % observed["inside_key"]


def test_S4_first_process_is_pid1_with_parent_0(observed):
    nspid = observed["nspid"]
    assert observed["holder_in_subject_pid_ns"], "the holder is not in the set's PID namespace"
    assert len(nspid) >= 2 and nspid[-1] == 1, "NSpid of the first process is %s, not ending in 1" % nspid
    assert nspid[0] == observed["holder_host_pid"] != 1, "the host does not see it under an ordinary PID: %s" % nspid
    assert observed["inside_pid1"] == [1, 0], "inside, `ps -p 1` shows pid,ppid %s" % observed["inside_pid1"]


def test_S5_pid_namespace_without_private_proc_shows_host(observed):
    assert observed["lists_probe_pid"], "inside, %s with the host's /proc does not list the host process %d" % (
        observed["observer"], observed["probe_pid"])
    assert observed["listed_without_private_proc"] > observed["namespace_members"], \
        "with the host's /proc, %s lists only %d processes" % (observed["observer"], observed["listed_without_private_proc"])


def test_S6_private_proc_inside_leaves_host_proc(observed, notes):
    notes["host_proc_mounts_as_found"] = observed["host_proc_mounts_before"]
    assert observed["inside_ps"] == observed["expected_inner_pids"], \
        "ps inside lists %s; the namespace's processes are %s" % (observed["inside_ps"], observed["expected_inner_pids"])
    groups, on_host = observed["subject_root_peer_groups"], observed["host_mounts_in_those_groups"]
    assert not observed["subject_root_shared"], \
        "the set's root mount is shared (%s; host mounts in that peer group now: %s): a /proc mounted inside " \
        "propagates to every peer" % (", ".join(groups), ", ".join(on_host) or "none")
    # Exactly the procfs mounts the host had before the set was made (one on a plain host).
    assert observed["host_proc_mounts_after"] == observed["host_proc_mounts_before"], \
        "procfs mounts on the host's /proc: %d as found, %d with the set" % (
            observed["host_proc_mounts_before"], observed["host_proc_mounts_after"])
    assert observed["host_ps_lists_probe"], "the host's ps no longer lists host processes"


def test_S7_seed_types_exist_and_can_be_created(observed, notes):
    notes["seed_minimum_kernel"] = dict((t, FEATURES[f].first_kernel) for t, f in SEED_FEATURES.items())
    notes["host_kernel"] = observed["kernel"]
    missing = sorted(t for t, found in observed["types"].items() if not found["file"])
    assert not missing, "no /proc/self/ns file for %s" % missing
    failed = dict((t, found["create"]) for t, found in observed["types"].items() if found["create"] != "OK")
    assert not failed, "creating with CLONE_NEW* failed: %s" % failed


def test_S8_clone_unshare_setns_behave_as_described(observed):
    clone = observed["clone"]
    for nstype in CLONED_TYPES:
        assert clone["child"][nstype] != clone["parent"][nstype], "clone(CLONE_NEW%s) child shares %s" % (nstype.upper(), nstype)
    for nstype in ("user", "cgroup", "time"):
        if nstype in clone["parent"]:
            assert clone["child"][nstype] == clone["parent"][nstype], "clone moved the child into a new %s namespace" % nstype
    assert clone["child_pid"] == 1, "the child of clone(CLONE_NEWPID) has PID %s" % clone["child_pid"]
    moved = observed["unshare"]
    for nstype in ("uts", "ipc", "net"):
        assert moved["after"][nstype] != moved["before"][nstype], "unshare did not move the caller to a new %s ns" % nstype
    assert moved["after_pid_unshare"]["pid"] == moved["after"]["pid"], "unshare(CLONE_NEWPID) moved the caller itself"
    assert moved["first_child_pid"] == 1, "the first child after unshare(CLONE_NEWPID) has PID %s" % moved["first_child_pid"]
    joined = observed["setns"]
    assert joined["joined"] == observed["original_uts"] != joined["left"], "setns did not join the original UTS namespace"
    assert joined["wrong_type"] == "EINVAL", "setns with a UTS fd and CLONE_NEWIPC gave %s" % joined["wrong_type"]
