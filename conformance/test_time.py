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
    offsets = dict((fields[0], fields[1:]) for fields in (line.split() for line in observed["child_timens_offsets"]))
    for name in ("monotonic", "boottime"):
        assert offsets.get(name) == [str(offset), "0"], "/proc/PID/timens_offsets shows %s for %s" % (offsets.get(name), name)
    assert _between(clocks["inside"]["monotonic"] - offset, clocks["host_before"]["monotonic"],
                    clocks["host_after"]["monotonic"]), "clock_gettime(CLOCK_MONOTONIC) inside lacks the offset"
    assert _between(clocks["inside"]["uptime"] - offset, clocks["host_before"]["uptime"] - 0.01,
                    clocks["host_after"]["uptime"] + 0.01), "/proc/uptime inside is %.2f" % clocks["inside"]["uptime"]
