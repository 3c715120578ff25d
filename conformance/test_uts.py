"""UTS namespaces: hostname and NIS domain name."""


def test_UTS1_new_uts_ns_copies_names(observed):
    assert observed["ns_after"] != observed["ns_before"], "unshare(CLONE_NEWUTS) did not make a new namespace"
    assert observed["inside"] == observed["before"], "the new namespace starts with %s, the parent had %s" % (
        observed["inside"], observed["before"])


def test_UTS2_names_set_inside_invisible_outside(observed):
    assert observed["inside"] == observed["set"], "inside reads %s after setting %s" % (observed["inside"], observed["set"])
    assert observed["host_after"] == observed["host_before"], "the host's names changed to %s" % observed["host_after"]
    assert observed["sibling"] == observed["host_before"], "a sibling namespace sees %s" % observed["sibling"]


def test_UTS3_without_new_uts_ns_change_is_shared(observed):
    assert observed["after_child_set"] == observed["set"], \
        "a child sharing the namespace set %r, its parent reads %r" % (observed["set"], observed["after_child_set"])
    assert observed["host"] != observed["set"], "the host's name changed"


def test_UTS4_uts_ns_needs_cap_sys_admin_or_user_ns(observed):
    assert observed["unshare_uts"] == "EPERM", "uid %d created a UTS namespace: %s" % (observed["uid"], observed["unshare_uts"])
    assert observed["unshare_user_uts"] == "OK", "with a new user namespace it gave %s" % observed["unshare_user_uts"]
    assert observed["sethostname_inside"] == "OK", "sethostname inside gave %s" % observed["sethostname_inside"]
