"""How a property is declared, once, next to its probe (in the manner of LTP's `struct tst_test`).

    @prop("UTS2", "Names set inside are invisible outside", needs=("uts_ns", "setns"), setup=True)
    def probe_uts2(probe_run, subject):
        '''The definition: what is observed, what would make it fail, which kernel feature it needs.'''

`needs` are keys of conformance/kernel_features.py's table. setup=True: the property is about a set
of namespaces, and the probe is called once per subject (reference, collection) with the Subject;
otherwise it observes the kernel alone. Every probe also receives the run (lib/context.py).
"""

import inspect
from typing import Callable, NamedTuple, Tuple

# The /proc/PID/ns files of every type: ipc, net, uts came with setns() (3.0), mnt, pid, user in 3.8.
NS_FILES = ("setns", "user_ns")


class Property(NamedTuple):
    id: str
    title: str
    needs: Tuple[str, ...]
    setup: bool
    definition: str
    probe: Callable

    def describe(self):
        """What the per-host JSON result and the catalogue say about the property."""
        return {"title": self.title, "definition": self.definition, "needs": list(self.needs), "setup": self.setup}


def prop(prop_id, title, needs, setup=False):
    """Declare the decorated probe function as the one probe of property prop_id; its docstring is the
    property's definition."""

    def declare(probe):
        probe.declared = Property(prop_id, title, tuple(needs), setup,
                                  " ".join(inspect.cleandoc(probe.__doc__ or "").split()), probe)
        return probe

    return declare
