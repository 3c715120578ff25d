"""Time namespaces (Linux 5.6+)."""

SLACK = 0.5  # seconds: clocks are read just before and after the member reads its own


def _between(value, low, high):
    return low - SLACK <= value <= high + SLACK


def test_TIME1_unshare_moves_children_only(observed):
    assert observed["time_after"] == observed["time_before"], "unshare(CLONE_NEWTIME) moved the caller"
    assert observed["for_children_after"] != observed["for_children_before"], "time_for_children did not change"
    assert observed["child_time_ns"] == observed["for_children_after"], "the child is not in time_for_children"


def test_TIME2_only_monotonic_and_boottime_offset(observed):
    clocks, offset = observed["clocks"], observed["offset"]
    for name in observed["offset_clocks"]:
        assert _between(clocks["inside"][name] - offset, clocks["host_before"][name], clocks["host_after"][name]), \
            "%s inside is %.3f, the host read %.3f..%.3f with offset %d" % (
                name, clocks["inside"][name], clocks["host_before"][name], clocks["host_after"][name], offset)
    for name in observed["real_clocks"]:
        assert _between(clocks["inside"][name], clocks["host_before"][name], clocks["host_after"][name]), \
            "%s is offset inside: %.3f vs %.3f" % (name, clocks["inside"][name], clocks["host_before"][name])
    assert observed["realtime_offset_write"] == "EINVAL", "a realtime offset write gave %s" % observed["realtime_offset_write"]


def test_TIME3_offsets_frozen_after_first_process(observed):
    assert observed["late_offset_write"] == "EACCES", \
        "writing offsets after a process entered gave %s" % observed["late_offset_write"]


def test_TIME4_offsets_visible_everywhere(observed):
    offset, clocks = observed["offset"], observed["clocks"]
    if observed["holder_timens_offsets"] is not None:
        offsets = dict((f[0], f[1:]) for f in (line.split() for line in observed["holder_timens_offsets"]))
        for name in ("monotonic", "boottime"):
            assert offsets.get(name) == [str(offset), "0"], \
                "/proc/PID/timens_offsets of the set's first process shows %s for %s" % (offsets.get(name), name)
    for name in ("monotonic", "boottime"):
        assert _between(clocks["inside"][name] - offset, clocks["host_before"][name], clocks["host_after"][name]), \
            "clock_gettime(%s) inside is %.3f, the host read %.3f..%.3f, offset %d" % (
                name, clocks["inside"][name], clocks["host_before"][name], clocks["host_after"][name], offset)
    for label, uptime in (("a member", clocks["inside"]["uptime"]), ("nsenter", observed["uptime_via_nsenter"])):
        assert _between(uptime - offset, clocks["host_before"]["uptime"] - 0.01, clocks["host_after"]["uptime"] + 0.01), \
            "/proc/uptime read by %s is %.2f, the host's %.2f, offset %d" % (
                label, uptime, clocks["host_before"]["uptime"], offset)


def test_TIME5_bad_offsets_refused(observed):
    expected = {"garbage": "EINVAL", "unknown_clock": "EINVAL", "nanoseconds_of_a_second": "EINVAL",
                "before_zero": "ERANGE", "past_range": "ERANGE", "valid_afterwards": "OK"}
    wrong = dict((label, got) for label, got in observed["outcomes"].items() if expected.get(label) != got)
    assert not wrong, "timens_offsets writes gave %s; expected %s" % (wrong, expected)


def test_TIME6_absolute_timers_honour_offsets(observed):
    offset, inside = observed["offset"], observed["monotonic_inside"]
    assert _between(inside - offset, observed["host_monotonic_before"], observed["host_monotonic_after"]), \
        "CLOCK_MONOTONIC inside is %.3f, the host read %.3f..%.3f: the set's offset %d is not in effect" % (
            inside, observed["host_monotonic_before"], observed["host_monotonic_after"], offset)
    for timer in ("timerfd", "clock_nanosleep"):
        fired = observed[timer]
        assert fired["fired"], "the absolute %s armed %.2f s ahead did not fire within %d s (%s)" % (
            timer, observed["delay"], observed["wait"], fired)
        assert fired["seconds"] >= observed["delay"], "the absolute %s armed %.2f s ahead fired after %.3f s" % (
            timer, observed["delay"], fired["seconds"])
