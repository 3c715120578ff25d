# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live options of a present set (hostname, domainname, loopback, netns_link): read and changed in place."""

from __future__ import annotations

import os
from typing import Any, Dict

from ansible_collections.linux.namespaces.plugins.module_utils import syscalls
from ansible_collections.linux.namespaces.plugins.module_utils.binds import link_netns, unlink_netns
from ansible_collections.linux.namespaces.plugins.module_utils.inside import call_inside
from ansible_collections.linux.namespaces.plugins.module_utils.netdev import link_is_up, set_link_up
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import SetState
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store, netns_linked


def _files_to_enter(state: SetState) -> Dict[str, str]:
    """The uts and net namespaces, and a rootless set's user namespace, which gives the rights over them."""
    wanted = ("uts", "net", "user") if state.rootless else ("uts", "net")
    return {t: p for t, p in state.files.items() if t in wanted}


def observe(state: SetState) -> Dict[str, Any]:
    """The live values of the options a set converges to."""
    files = _files_to_enter(state)

    def read() -> Dict[str, Any]:
        live: Dict[str, Any] = {}
        if "uts" in files:
            live["hostname"] = os.uname().nodename
            with open("/proc/sys/kernel/domainname") as handle:
                live["domainname"] = handle.read().strip()
        if "net" in files:
            live["loopback"] = link_is_up("lo")
        return live

    live = call_inside(files, read, "reading set %s" % state.name) if files else {}
    if "net" in state.types:
        live["netns_link"] = netns_linked(state)
    return live


def converge(store: Store, state: SetState, wanted: Dict[str, Any]) -> SetState:
    """Apply the live options in wanted (already known to differ) and record them."""
    inside = {k: v for k, v in wanted.items() if k in ("hostname", "domainname", "loopback")}
    if inside:
        files = _files_to_enter(state)

        def apply() -> bool:
            if "hostname" in inside:
                syscalls.sethostname(inside["hostname"])
            if "domainname" in inside:
                syscalls.setdomainname(inside["domainname"])
            if "loopback" in inside:
                set_link_up("lo", inside["loopback"])
            return True

        call_inside(files, apply, "changing set %s" % state.name)
    if "netns_link" in wanted:
        if wanted["netns_link"]:
            link_netns(state)
        else:
            unlink_netns(state)
    state = state._replace(options=state.options._replace(**wanted))
    store.save(state)
    return state
