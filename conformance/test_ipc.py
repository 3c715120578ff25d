"""IPC namespaces: System V objects, POSIX message queues, IPC sysctls."""


def test_IPC1_same_key_distinct_objects(observed):
    for kind, made in observed["create_same_key_inside"].items():
        assert made == "OK", "creating %s key 0x%08x inside gave %s: it is the host's object" % (
            kind, observed["keys"][kind], made)
    for kind, untouched in observed["host_objects_untouched"].items():
        assert untouched, "the host's %s object changed" % kind


def test_IPC2_objects_visible_only_in_their_namespace(observed):
    for kind, seen in observed["objects"].items():
        assert seen["inside"], "`ipcs` inside does not list the %s made there" % kind
        assert not seen["host"], "the host lists the %s made inside" % kind
        assert not seen["sibling"], "a sibling IPC namespace lists the %s made inside" % kind


def test_IPC3_posix_mqueues_per_namespace(observed):
    assert observed["inside_opens_host_queue"] == "ENOENT", \
        "mq_open of the host's queue inside gave %s" % observed["inside_opens_host_queue"]
    assert observed["inside_create"] == "OK", "creating a queue inside gave %s" % observed["inside_create"]
    assert observed["host_opens_inside_queue"] == "ENOENT", \
        "mq_open of the inside queue on the host gave %s" % observed["host_opens_inside_queue"]


def test_IPC4_proc_sysvipc_follows_setns(observed):
    assert observed["before_setns_has_host_key"], "/proc/sysvipc/msg lacks the host's queue before setns"
    assert not observed["after_setns_has_host_key"], "after setns, /proc/sysvipc/msg still lists the host's queue"
    assert observed["after_setns_has_inside_key"], "after setns, /proc/sysvipc/msg lacks the queue made inside"


def test_IPC5_ipc_sysctls_per_namespace(observed):
    assert observed["read_inside"] == observed["written_inside"], "inside reads %s after writing %s" % (
        observed["read_inside"], observed["written_inside"])
    assert observed["host_after"] == observed["host_before"], "the host's IPC sysctls changed to %s" % observed["host_after"]


def test_IPC6_objects_destroyed_with_namespace(observed):
    kernel, first = observed["kernel"], observed["kernel"]["first"]
    made = dict((kind, first[kind]) for kind in ("mqueue", "shm_locked", "msg", "sem"))
    assert set(made.values()) == {"OK"}, "making the objects in the first namespace gave %s" % made
    for kind, key in kernel["keys"].items():
        assert key in kernel["listed_through_pin"][kind], \
            "the pinned namespace does not list its %s of key 0x%08x" % (kind, key)
    assert kernel["while_first_ns_pinned"] == {"mqueue": "EMFILE", "shm_locked": "ENOMEM"}, \
        "while the first namespace lived another one got %s: the budgets do not bind" % kernel["while_first_ns_pinned"]
    assert kernel["after_first_ns_died"] == {"mqueue": "OK", "shm_locked": "OK"}, \
        "after the namespace died its objects still held their budgets: %s" % kernel["after_first_ns_died"]
    assert not kernel["dead_ns_held_by"], "the namespace %s, its message queue and semaphore set, live on: %s" % (
        first["ns"], kernel["dead_ns_held_by"])
    assert not observed["set"]["beyond_the_set"], \
        "the set's IPC namespace %s is also held by %s: it and its objects would outlive the set" % (
            observed["set"]["ns"], "; ".join(observed["set"]["beyond_the_set"]))


def test_IPC7_messages_stay_in_their_namespace_queue(observed):
    sent, received = observed["sent"], observed["received"]
    assert received["set"] == [sent["set"]], "the set's queue of key 0x%08x gave %s" % (observed["key"], received["set"])
    assert received["host"] == [sent["host"]], "the host's queue of key 0x%08x gave %s" % (observed["key"], received["host"])
