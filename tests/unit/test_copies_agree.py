"""Facts the kit and the collection each keep a copy of, on purpose, agree.

The kit observes the collection and never imports it (tests/unit/test_import_graph.py), so the kernel
constants and tables it needs are its own copies, and the two sides of a file one writes and the other
reads each name its schema. This file is where the copies meet: a change on one side that the other
does not follow fails here.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
if str(REPOSITORY) not in sys.path:  # ansible-test runs units from a copy of the collection
    sys.path.insert(0, str(REPOSITORY))

from ansible_collections.linux.namespaces.plugins.module_utils import features, nstypes, setstate  # noqa: E402
from ansible_collections.linux.namespaces.plugins.plugin_utils import compat_report  # noqa: E402
from conformance import kernel_features, report  # noqa: E402
from conformance.probes.lib import subjects, syscalls  # noqa: E402
from conformance.probes.properties import seed  # noqa: E402


def test_the_kit_knows_the_same_eight_types_with_the_same_clone_flags():
    assert {name: entry[0] for name, entry in syscalls.NS_TYPES.items()} == \
        {t.name: t.flag for t in nstypes.NAMESPACE_TYPES}


def test_each_type_has_the_same_first_kernel_on_both_sides():
    kit = {name: kernel_features.FEATURES[entry[2]].first_kernel for name, entry in syscalls.NS_TYPES.items()}
    assert kit == {t.name: t.first_kernel for t in nstypes.NAMESPACE_TYPES}


def test_the_seed_types_are_the_same():
    assert tuple(seed.SEED_TYPES) == nstypes.SEED_TYPES


def test_features_both_tables_name_have_the_same_first_kernel():
    shared = set(kernel_features.FEATURES) & set(features.FEATURES_BY_NAME)
    # The features both sides probe: if a rename drops one from this set, the comparison would shrink silently.
    assert {"pid_for_children", "ns_get_userns", "ns_get_nstype", "ns_get_id", "pidfd_open", "clone3",
            "setns_pidfd", "mount_setattr", "listmount"} <= shared
    assert {key: kernel_features.FEATURES[key].first_kernel for key in shared} == \
        {key: features.FEATURES_BY_NAME[key].first_kernel for key in shared}


def test_the_kit_reads_the_state_json_schema_the_store_writes():
    assert subjects.SET_STATE_SCHEMA == setstate.STATE_SCHEMA
    state = setstate.SetState(name="web", path="/run/linux-namespaces/web", status="ready",
                              options=setstate.SetOptions(types=("uts", "pid")), inodes={"uts": 1, "pid": 2},
                              holder_pid=42, created="now")
    written = setstate.state_to_json(state)
    # The fields CollectionSubject reads.
    assert (written["schema"], written["status"], written["types"], written["holder_pid"]) == \
        (subjects.SET_STATE_SCHEMA, "ready", ["uts", "pid"], 42)


def test_the_report_reads_the_schema_the_kit_writes():
    assert report.SCHEMA == compat_report.HOST_SCHEMA
