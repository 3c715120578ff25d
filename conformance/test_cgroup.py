"""Cgroup namespaces (LTP has no isolation test for them)."""


def _paths(lines):
    return [path for _hierarchy, _controllers, path in lines]


def test_CG1_cgroup_root_shows_as_slash(observed):
    seen = _paths(observed["holder_seen_from_subject"])
    assert seen and all(p == "/" for p in seen), "the set's first process sees its cgroups as %s" % seen
    assert observed["subject_cgroup_ns"] != observed["host_cgroup_ns"], \
        "the set's cgroup namespace is the host's %s" % observed["host_cgroup_ns"]
    fresh = _paths(observed["self_after_unshare"])
    assert fresh and all(p == "/" for p in fresh), "after unshare(CLONE_NEWCGROUP) /proc/self/cgroup shows %s" % fresh


def test_CG2_outside_cgroups_relative(observed):
    assert observed["seen_from_new_ns"].startswith("/.."), \
        "a process in %s (outside the namespace root) shows as %r" % (observed["host_path"], observed["seen_from_new_ns"])


def test_CG3_cgroup_ns_keeps_membership(observed):
    for how in ("create", "join"):
        assert observed[how]["after"] == observed[how]["before"], "to %s a cgroup namespace changed membership: %s -> %s" % (
            how, observed[how]["before"], observed[how]["after"])
        assert observed[how]["cgroup_ns"] != observed["host_cgroup_ns"], \
            "to %s a cgroup namespace left the process in the host's %s" % (how, observed["host_cgroup_ns"])
