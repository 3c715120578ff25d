"""Mount namespaces."""


def _copied(mount):
    """The kernel copies every mount but bind mounts of mount-namespace files (they could make loops)."""
    _point, fstype, _source, root = mount
    return not (fstype == "nsfs" and root.startswith("mnt:"))


def test_MNT1_new_mount_ns_copies_table(observed):
    assert observed["stable"], "the host's mount table kept changing during the check"
    expected = [m for m in observed["host"] if _copied(m)]
    missing = [m for m in expected if m not in observed["new_namespace"]]
    extra = [m for m in observed["new_namespace"] if m not in expected]
    assert not missing and not extra, "the new namespace lacks %s and adds %s" % (missing, extra)


def test_MNT2_propagation_types(observed):
    assert observed["new_ns_mount_seen_in_first"] == {"s": True, "p": False, "sl": False}, \
        "a mount made in the new namespace reached the first under %s" % observed["new_ns_mount_seen_in_first"]
    assert observed["first_ns_mount_seen_in_new"] == {"s": True, "p": False, "sl": True}, \
        "a mount made in the first namespace reached the new one under %s" % observed["first_ns_mount_seen_in_new"]
    assert observed["bind_of_unbindable"] == "EINVAL", "binding an unbindable mount gave %s" % observed["bind_of_unbindable"]


def test_MNT3_user_ns_turns_shared_into_slave_and_locks(observed):
    assert any(o.startswith("shared:") for o in observed["before"]), "the lab mount was not shared: %s" % observed["before"]
    assert any(o.startswith("master:") for o in observed["after"]), "not a slave in the new namespaces: %s" % observed["after"]
    assert not any(o.startswith("shared:") for o in observed["after"]), "still shared: %s" % observed["after"]
    assert observed["umount_inherited"] == "EINVAL", "unmounting an inherited (locked) mount gave %s" % (
        observed["umount_inherited"])
    assert observed["umount_own"] == "OK", "unmounting its own mount gave %s" % observed["umount_own"]


def test_MNT4_mount_inside_never_on_host(observed):
    assert observed["inside_findmnt"] == [observed["source"]], "findmnt inside shows %s" % observed["inside_findmnt"]
    if observed["inside_holder_view"] is not None:
        assert observed["inside_holder_view"] == [observed["source"]]
    assert observed["host"] == [], "the mount made inside appeared on the host: %s" % observed["host"]


def test_MNT5_unmounts_propagate_like_mounts(observed):
    missing = sorted(p for p, seen in observed["mounts_propagated_before"].items() if not seen)
    assert not missing, "mounts under %s did not reach the other namespace: the lab is not shared" % missing
    failed = sorted(check for side in ("seen_in_master", "seen_in_other")
                    for check, held in observed[side].items() if not held)
    assert not failed, "unmount propagation wrong: %s (observed %s)" % (failed, observed)
