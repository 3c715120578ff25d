# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything namespace_facts reports: kernel, config, type and feature probes, user-namespace policy,
and where these sources disagree.
"""

from __future__ import annotations

import os

from ansible_collections.linux.namespaces.plugins.module_utils.facts_analysis import find_disagreements
from ansible_collections.linux.namespaces.plugins.module_utils.kernel_config import (
    CONFIG_NAMESPACES, config_state, read_kernel_config)
from ansible_collections.linux.namespaces.plugins.module_utils.kernel_probes import (
    IN_USE_NOTE, probe_features, probe_types)
from ansible_collections.linux.namespaces.plugins.module_utils.nstypes import NAMESPACE_TYPES
from ansible_collections.linux.namespaces.plugins.module_utils.userns_policy import NOBODY, probe_userns_policy
from ansible_collections.linux.namespaces.plugins.module_utils.verdicts import Facts


def gather(unprivileged_uid: int = NOBODY, unprivileged_gid: int = NOBODY) -> Facts:
    uname = os.uname()
    source, config = read_kernel_config(uname.release)
    facts: Facts = {
        "kernel": {"release": uname.release, "version": uname.version, "machine": uname.machine},
        "probed_as": {"uid": os.geteuid(), "root": os.geteuid() == 0},
        "kernel_config": {
            "source": source,
            "options": {name: config_state(config, name) for name in
                        [CONFIG_NAMESPACES] + [t.kernel_config for t in NAMESPACE_TYPES if t.kernel_config]},
        },
        "types": probe_types(config),
        "in_use_note": IN_USE_NOTE,
        "features": probe_features(),
        "userns_policy": probe_userns_policy(unprivileged_uid, unprivileged_gid),
    }
    facts["disagreements"] = find_disagreements(facts)
    return facts
