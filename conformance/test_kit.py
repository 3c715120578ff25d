"""The kit itself: it leaves every host exactly as it found it."""


def test_kit_left_the_host_as_found(host_outcome):
    cleanup = host_outcome["cleanup"]
    assert not cleanup["errors"], "cleanup did not complete: %s" % cleanup["errors"]
    left = cleanup["probe_leftovers"] + cleanup["leftovers"]
    assert not left, "left on the host after the run: %s (swept: %s)" % (left, cleanup["probe_swept"])
