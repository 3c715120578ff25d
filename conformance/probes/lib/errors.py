"""The two ways an observation ends without facts: the property cannot be checked here, or it was not
observed."""


class Skip(Exception):
    """The property cannot be checked here; feature names the missing kernel feature, if any."""

    def __init__(self, reason, feature=None):
        Exception.__init__(self, reason)
        self.reason = reason
        self.feature = feature


class ProbeError(Exception):
    """An observation could not be made (an observer failed): the property is not shown to hold."""
