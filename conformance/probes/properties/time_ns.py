"""TIME: time namespaces and their clock offsets (Linux 5.6+)."""

import os
import select
import signal
import time

from conformance.probes.declare import prop
from conformance.probes.lib.child import Child, in_child
from conformance.probes.lib.errors import Skip
from conformance.probes.lib.observe import need_root, ns_id, ns_ids, nsenter, read_text, write_text
from conformance.probes.lib.subjects import TIME_OFFSET
from conformance.probes.lib.syscalls import (
    CLONE_NEWTIME, clock_nanosleep_until, outcome, setns, timerfd_absolute, unshare)


OFFSET_CLOCKS = {"monotonic": 1, "monotonic_raw": 4, "monotonic_coarse": 6, "boottime": 7}
REAL_CLOCKS = {"realtime": 0, "realtime_coarse": 5}


def _clocks():
    values = dict((n, time.clock_gettime(c)) for n, c in list(OFFSET_CLOCKS.items()) + list(REAL_CLOCKS.items()))
    values["uptime"] = float(read_text("/proc/uptime").split()[0])
    return values


def time_lab(probe_run):
    """One time-namespace experiment shared by TIME1..TIME3 (run once per probe run)."""
    if probe_run.time_lab:
        return probe_run.time_lab
    if not os.path.exists("/proc/self/ns/time"):
        raise Skip("the kernel has no time namespace", "time_ns")
    need_root()

    def member(channel):
        channel.recv()
        channel.send(_clocks())
        channel.recv()
        return None

    def experiment():
        before = ns_ids()
        unshare(CLONE_NEWTIME)
        after = ns_ids()
        realtime = outcome(write_text, "/proc/self/timens_offsets", "realtime %d 0" % TIME_OFFSET)
        write_text("/proc/self/timens_offsets", "monotonic %d 0\nboottime %d 0" % (TIME_OFFSET, TIME_OFFSET))
        child = Child(member)
        child_ns = ns_id("/proc/%d/ns/time" % child.pid)
        host_before = _clocks()
        child.send("read")
        inside = child.recv()
        host_after = _clocks()
        offsets_file = read_text("/proc/%d/timens_offsets" % child.pid).splitlines()
        late_write = outcome(write_text, "/proc/self/timens_offsets", "monotonic 1 0")
        child.send("exit")
        child.result()
        return {"before": before, "after": after, "child_time_ns": child_ns,
                "realtime_offset_write": realtime, "late_offset_write": late_write,
                "clocks": {"host_before": host_before, "inside": inside, "host_after": host_after},
                "child_timens_offsets": offsets_file}

    probe_run.time_lab.update(in_child(experiment))
    probe_run.time_lab["offset"] = TIME_OFFSET
    return probe_run.time_lab


@prop("TIME1", "unshare(CLONE_NEWTIME) moves the children, not the caller", needs=("time_ns",))
def probe_time1(probe_run):
    """After unshare the caller's time namespace is read and a child is forked. It fails if the caller
    moved or the child is not in the caller's time_for_children namespace. Needs time namespaces."""
    lab = time_lab(probe_run)
    return {"time_before": lab["before"].get("time"), "time_after": lab["after"].get("time"),
            "for_children_before": lab["before"].get("time_for_children"),
            "for_children_after": lab["after"].get("time_for_children"), "child_time_ns": lab["child_time_ns"]}


@prop("TIME2", "Only the monotonic and boot clocks are offset", needs=("time_ns",))
def probe_time2(probe_run):
    """In a time namespace with a ten-day offset a member reads every clock between two host reads. It
    fails if a monotonic or boot clock is not shifted by the offset, a realtime clock is shifted, or a
    realtime offset can be written. Needs time namespaces."""
    lab = time_lab(probe_run)
    return {"offset": lab["offset"], "clocks": lab["clocks"], "offset_clocks": sorted(OFFSET_CLOCKS),
            "real_clocks": sorted(REAL_CLOCKS), "realtime_offset_write": lab["realtime_offset_write"]}


@prop("TIME3", "Offsets are frozen once a process entered", needs=("time_ns",))
def probe_time3(probe_run):
    """timens_offsets is written again after the first process entered the namespace. It fails unless the
    write gives EACCES. Needs time namespaces."""
    lab = time_lab(probe_run)
    return {"late_offset_write": lab["late_offset_write"]}


@prop("TIME4", "The set's clock offsets are seen everywhere", needs=("time_ns", "setns_time"), setup=True)
def probe_time4(probe_run, subject):
    """The set's offsets are read from the holder's timens_offsets, from clock_gettime of a member and from
    /proc/uptime through nsenter. It fails if any of them does not show the offset the set was made
    with. Needs time namespaces and setns into a time namespace."""
    """The set's offsets, seen by its members: clock_gettime, /proc/uptime, /proc/PID/timens_offsets."""
    path = subject.path("time")

    def member_clocks():
        setns(os.open(path, os.O_RDONLY), CLONE_NEWTIME)
        return in_child(_clocks)  # a child made after setns runs in the time namespace

    holder_offsets = read_text("/proc/%d/timens_offsets" % subject.holder_pid).splitlines() \
        if subject.holder_pid else None
    host_before = _clocks()
    uptime_nsenter = float(nsenter({"time": path}, ["cat", "/proc/uptime"]).split()[0])
    inside = in_child(member_clocks)
    host_after = _clocks()
    return {"offset": TIME_OFFSET, "holder_timens_offsets": holder_offsets, "uptime_via_nsenter": uptime_nsenter,
            "clocks": {"host_before": host_before, "inside": inside, "host_after": host_after}}


# TIME6: a timer is armed this far past the member's own clock, and given this long to fire (the set's offset,
# ten days, is what it would wait if the kernel ignored the offset).
TIMER_DELAY = 0.05
TIMER_WAIT = 5


def _absolute_timers():
    """In the caller's time namespace: how long an absolute timerfd and an absolute clock_nanosleep on
    CLOCK_MONOTONIC, each armed at the clock's reading plus TIMER_DELAY, take to fire."""
    monotonic = OFFSET_CLOCKS["monotonic"]
    now = time.clock_gettime(monotonic)
    fd = timerfd_absolute(monotonic, now + TIMER_DELAY)
    try:
        fired = bool(select.select([fd], [], [], TIMER_WAIT)[0])
    finally:
        os.close(fd)
    timerfd = {"fired": fired, "seconds": time.clock_gettime(monotonic) - now}
    started = time.clock_gettime(monotonic)
    sleeper = os.fork()
    if sleeper == 0:
        signal.alarm(TIMER_WAIT)  # its default action ends a sleeper whose timer does not fire
        os._exit(clock_nanosleep_until(monotonic, started + TIMER_DELAY))
    status = os.waitpid(sleeper, 0)[1]
    nanosleep = {"fired": os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
                 "seconds": time.clock_gettime(monotonic) - started,
                 "status": os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)}
    return {"monotonic_inside": now, "timerfd": timerfd, "clock_nanosleep": nanosleep}


@prop("TIME6", "Absolute timers honour the set's clock offsets", needs=("time_ns", "setns_time"), setup=True)
def probe_time6(probe_run, subject):
    """A member of the set reads CLOCK_MONOTONIC and arms an absolute timer at that reading plus 0.05 s,
    once as a timerfd and once with clock_nanosleep(TIMER_ABSTIME) (LTP timerfd04, clock_nanosleep03); the
    host's monotonic clock is read before and after. It fails if the member's clock does not carry the
    offset the set was made with, or if a timer fires before its 0.05 s or not within 5 s (a kernel that
    ignored the offset would make it wait the offset, ten days, or fire at once). Needs time namespaces
    and setns into a time namespace."""
    path = subject.path("time")

    def member_timers():
        setns(os.open(path, os.O_RDONLY), CLONE_NEWTIME)
        return in_child(_absolute_timers)  # a child made after setns runs in the time namespace

    host_before = time.clock_gettime(OFFSET_CLOCKS["monotonic"])
    timers = in_child(member_timers)
    timers.update(offset=TIME_OFFSET, delay=TIMER_DELAY, wait=TIMER_WAIT, host_monotonic_before=host_before,
                  host_monotonic_after=time.clock_gettime(OFFSET_CLOCKS["monotonic"]))
    return timers


@prop("TIME5", "Garbage and out-of-range offsets are refused", needs=("time_ns",))
def probe_time5(probe_run):
    """Before any process enters a new time namespace, /proc/self/timens_offsets gets unparsable text, an
    unknown clock id, nanoseconds of a full second, an offset putting the clock before zero and one past
    the kernel's range (LTP timens01; late writes are TIME3). It fails unless the first three give EINVAL,
    the last two ERANGE, and a valid offset is still accepted afterwards. Needs time namespaces."""
    if not os.path.exists("/proc/self/ns/time"):
        raise Skip("the kernel has no time namespace", "time_ns")
    need_root()

    def experiment():
        unshare(CLONE_NEWTIME)
        before_zero = int(time.clock_gettime(OFFSET_CLOCKS["monotonic"])) + 3600
        writes = {"garbage": "not an offset", "unknown_clock": "9 1 0",
                  "nanoseconds_of_a_second": "monotonic 1 1000000000",
                  "before_zero": "monotonic -%d 0" % before_zero, "past_range": "boottime %d 0" % (1 << 62)}
        found = dict((label, outcome(write_text, "/proc/self/timens_offsets", text)) for label, text in writes.items())
        found["valid_afterwards"] = outcome(write_text, "/proc/self/timens_offsets", "monotonic 1 0")
        return {"writes": writes, "outcomes": found}

    return in_child(experiment)
