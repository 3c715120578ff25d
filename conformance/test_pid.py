"""PID namespaces."""

import pytest

from conformance.kernel_features import skip_reason

NESTING_ERRORS = ("ENOSPC", "EUSERS")  # EUSERS before Linux 4.9


def test_PID1_first_process_is_pid1_parent_0(observed):
    assert (observed["pid"], observed["ppid"]) == (1, 0), "the first process has pid %(pid)s, parent %(ppid)s" % observed


def test_PID2_unshare_moves_children_not_caller(observed):
    assert observed["pid_after"] == observed["pid_before"], "the caller's PID changed"
    assert observed["ns_after"] == observed["ns_before"], "unshare(CLONE_NEWPID) moved the caller"
    assert observed["first_child_pid"] == 1, "the first child has PID %s" % observed["first_child_pid"]
    if observed["for_children_before"] is None:
        pytest.skip(skip_reason("the caller stays and its child is PID 1", "pid_for_children"))
    assert observed["for_children_after"] != observed["for_children_before"], "pid_for_children did not change"
    assert observed["first_child_ns"] == observed["for_children_after"], \
        "the first child is not in the namespace pid_for_children names"


def test_PID3_procfs_inside_shows_only_namespace(observed):
    assert observed["listed"] == sorted([observed["self"], observed["helper"]]), \
        "a procfs mounted inside lists %s" % observed["listed"]
    assert observed["host_proc_mounts_after"] == observed["host_proc_mounts_before"], \
        "the host's /proc had %(host_proc_mounts_before)d procfs mounts, now %(host_proc_mounts_after)d" % observed


def test_PID4_outside_processes_invisible_esrch(observed):
    inside = observed["from_inside"]
    assert inside["pid"] == 1 and inside["getppid"] == 0
    assert inside["kill_probe"] == "ESRCH", "kill(host pid %d, 0) from inside gave %s" % (
        observed["probe_pid"], inside["kill_probe"])
    assert inside["kill_parent"] == "ESRCH", "kill(parent's host pid, 0) from inside gave %s" % inside["kill_parent"]


def test_PID5_init_ignores_signals_without_handler(observed):
    assert observed["inside"]["alive_after_inside_signals"], "PID 1 died of signals sent from inside"
    assert observed["alive_after_parent_sigterm"], "PID 1 died of SIGTERM (no handler) from the parent namespace"
    assert observed["killed_by"] == 9, "SIGKILL from the parent namespace did not kill PID 1: %s" % observed["killed_by"]


def test_PID6_killing_init_kills_namespace(observed):
    assert observed["members_before"], "PID 1's children were not found from the host"
    assert observed["alive_after_init_killed"] == [], "still alive after PID 1 was killed: %s" % (
        observed["alive_after_init_killed"])


def test_PID7_orphans_reparented_to_pid1(observed):
    orphan = observed["orphan"]
    assert orphan["ppid_before"] == observed["middle_pid"], "the orphan's first parent was %s" % orphan["ppid_before"]
    assert orphan["ppid_after"] == observed["pid1"] == 1, "the orphan was re-parented to %s" % orphan["ppid_after"]
    assert observed["reaped_by_pid1"] == orphan["pid"], "PID 1 could not reap the orphan"


def test_PID8_fork_after_init_exit_fails(observed):
    assert observed["first_pid"] == 1
    assert observed["fork_after_pid1_exit"] == "ENOMEM", "fork after PID 1 exited gave %s" % observed["fork_after_pid1_exit"]


def test_PID9_pid_namespaces_nest_32_levels(observed):
    if not observed["procfs_of_initial_pid_ns"]:
        pytest.skip("/proc here belongs to a nested PID namespace: absolute levels are unknown, so the "
                    "32-level bound cannot be checked (%d levels were made below it before %s)" % (
                        observed["levels_below_procfs"], observed["errno"]))
    assert observed["levels_below_procfs"] == 32, "PID namespaces nested to level %d (the probe started at %d)" % (
        observed["levels_below_procfs"], observed["start_level"])
    assert observed["errno"] in NESTING_ERRORS, "the next level failed with %s" % observed["errno"]


def test_PID10_nspid_lists_pid_per_level(observed):
    expected = [str(observed["host_pid"]), str(observed["inner_pid_at_level1"]), str(observed["inner_pid_at_level2"])]
    assert observed["NSpid"] == expected, "NSpid is %s, expected %s" % (observed["NSpid"], expected)
    assert observed["NStgid"] == expected, "NStgid is %s, expected %s" % (observed["NStgid"], expected)


def test_PID11_killing_middle_init_ends_levels_below_only(observed):
    assert len(observed["killed_middle_and_below"]) == 4, \
        "expected the middle PID 1, the inner PID 1 and its two members: %s" % observed["killed_middle_and_below"]
    assert not observed["alive_below_after"], "alive after the middle PID 1 was killed: %s" % observed["alive_below_after"]
    assert len(observed["outer_level"]) == 2, "expected the outer PID 1 and its other member: %s" % observed["outer_level"]
    assert not observed["outer_level_dead_after"], "the outer level lost %s" % observed["outer_level_dead_after"]
