"""The kit itself: it leaves every host exactly as it found it."""


def test_kit_left_the_host_as_found(host_outcome):
    cleanup = host_outcome["cleanup"]
    assert not cleanup["errors"], "cleanup did not complete: %s" % cleanup["errors"]
    assert not cleanup["leftovers"], "left on the host after the run: %s (the probe swept %s)" % (
        cleanup["leftovers"], cleanup["probe_swept"])
