"""User namespaces."""

import pytest

NESTING_ERRORS = ("ENOSPC", "EUSERS")  # EUSERS before Linux 4.9
# The kernel refuses a new user namespace once the parent is 32 levels deep: 32 or, counting the
# one made at that depth, 33 nested namespaces (6.x allows 33).
USER_NESTING = (32, 33)


def test_USER1_unmapped_ids_show_overflow(observed):
    assert observed["overflowuid"] == 65534, "kernel.overflowuid is %s here" % observed["overflowuid"]
    assert (observed["uid"], observed["gid"]) == (observed["overflowuid"], observed["overflowgid"]), \
        "unmapped, the caller is uid %(uid)s gid %(gid)s" % observed
    assert observed["root_dir_owner"] == observed["overflowuid"], "/ shows owner %s" % observed["root_dir_owner"]


def test_USER2_full_caps_only_over_owned_resources(observed):
    assert observed["cap_eff"] == observed["full_set"], "CapEff inside is %x, not the full %x" % (
        observed["cap_eff"], observed["full_set"])
    assert observed["sethostname_in_parent_uts"] == "EPERM", \
        "sethostname on a UTS namespace the new user namespace does not own gave %s" % observed["sethostname_in_parent_uts"]
    assert observed["unshare_uts"] == "OK" and observed["sethostname_in_own_uts"] == "OK", \
        "on its own UTS namespace: unshare %(unshare_uts)s, sethostname %(sethostname_in_own_uts)s" % observed


def test_USER3_maps_written_once_and_own_files(observed):
    assert observed["first_write"] == "OK", "writing uid_map gave %s" % observed["first_write"]
    assert observed["second_write"] == "EPERM", "a second uid_map write gave %s" % observed["second_write"]
    assert observed["uid_map"] == ["0", str(observed["outer"]), "1"], "uid_map reads %s" % observed["uid_map"]
    assert (observed["inside_uid"], observed["inside_gid"]) == (0, 0)
    assert observed["file_owner_on_host"] == [observed["outer"], observed["outer"]], \
        "a file made by root inside is owned by %s on the host, not %d" % (observed["file_owner_on_host"], observed["outer"])


def test_USER4_setgroups_deny_before_gid_map(observed):
    assert observed["setgroups_initially"] == "allow"
    assert observed["gid_map_with_allow"] == "EPERM", \
        "an unprivileged gid_map write with setgroups=allow gave %s" % observed["gid_map_with_allow"]
    assert observed["gid_map_after_deny"] == "OK", "after setgroups=deny the write gave %s" % observed["gid_map_after_deny"]


def test_USER5_user_ns_first_lets_unprivileged_create_others(observed):
    assert observed["without_user"] == "EPERM", "uid %(uid)s made namespaces without a user namespace: %(without_user)s" % observed
    assert observed["with_user"] == "OK", "CLONE_NEWUSER with the others gave %s" % observed["with_user"]
    not_owned = sorted(t for t, owned in observed["owned_by_new_user_ns"].items() if owned is not True)
    assert not not_owned, "not owned by the new user namespace: %s" % not_owned


def test_USER6_user_namespaces_nest_32_levels(observed):
    if not observed["at_initial_user_ns"]:
        pytest.skip("the host runs inside a user namespace: its absolute level is unknown (%d more levels "
                    "were made before %s)" % (observed["levels_created"], observed["errno"]))
    assert observed["levels_created"] in USER_NESTING, "user namespaces nested %d levels" % observed["levels_created"]
    assert observed["errno"] in NESTING_ERRORS, "the next level failed with %s" % observed["errno"]


def test_USER7_policy_gates_reported(observed):
    gates = observed["gates"]
    closed = [name for name, value in gates.items() if value is not None and (
        value == "0" if name != "kernel.apparmor_restrict_unprivileged_userns" else value == "1")]
    allowed = observed["create_user_ns"] == "OK" and observed["privileged_op_inside"] == "OK"
    if allowed:
        assert not closed, "gates %s say unprivileged user namespaces are closed, yet one worked" % closed
    else:
        assert closed, "an unprivileged user namespace failed (create %s, privileged op %s) and no gate explains it: %s" % (
            observed["create_user_ns"], observed["privileged_op_inside"], gates)


def test_USER8_setgroups_deny_is_final(observed):
    assert observed["write_deny"] == "OK", "writing deny to setgroups gave %s" % observed["write_deny"]
    assert observed["write_allow_after_deny"] == "EPERM", \
        "writing allow after deny gave %s" % observed["write_allow_after_deny"]
    assert observed["setgroups_after"] == "deny", "setgroups reads %r" % observed["setgroups_after"]


def test_USER9_gid_map_written_once(observed):
    assert observed["first_write"] == "OK", "writing gid_map gave %s" % observed["first_write"]
    assert observed["second_write"] == "EPERM", "a second gid_map write gave %s" % observed["second_write"]
    assert observed["gid_map"] == ["0", str(observed["outer"]), "1"], "gid_map reads %s" % observed["gid_map"]


def test_USER10_maps_read_in_readers_ids(observed):
    own = ["0", str(observed["outer"]), "1"]
    assert observed["read_by_host"] == own, "the host reads %s" % observed["read_by_host"]
    assert observed["read_by_itself"] == own, "the namespace itself reads %s" % observed["read_by_itself"]
    assert observed["read_by_sibling"] == ["0", str(observed["sibling_maps"]), "1"], \
        "a sibling namespace mapping the same outer id as %d reads %s" % (observed["sibling_maps"], observed["read_by_sibling"])
