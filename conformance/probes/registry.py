"""Every property of the kit, from its one declaration beside its probe (declare.py).

Importing this module only defines functions: nothing runs and nothing is read on the host, so the
controller (conftest.py, hostrun.py, report.py, catalogue.py) imports it like the probe does.
"""

from conformance.probes.properties import cgroup, general, ipc, mnt, net, pid, seed, time_ns, user, uts

# In the catalogue's order: S, G, then one group per namespace type.
GROUPS = (("S", seed), ("G", general), ("UTS", uts), ("IPC", ipc), ("PID", pid), ("MNT", mnt), ("NET", net),
          ("USER", user), ("CG", cgroup), ("TIME", time_ns))

PROPERTIES = dict((value.declared.id, value.declared) for _group, module in GROUPS
                  for value in vars(module).values() if hasattr(value, "declared"))
