"""The one place where the benchmarks import the collection's module_utils for in-process measurements.

When module_utils moves a name, only this file changes. Importing it makes the collection importable
as `ansible_collections.linux.namespaces` (through the link `make collection` creates).
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Sequence

from bench.common import COLLECTIONS

if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.linux.namespaces.plugins.module_utils import creating  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.enter import Launch, run_command  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.errors import NamespaceError  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.inspect import inspect_host  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.setstate import SetOptions, SetState  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.store import Store  # noqa: E402
from ansible_collections.linux.namespaces.plugins.module_utils.targets import resolve_target  # noqa: E402

__all__ = ["NamespaceError", "SetState", "Store", "create_set", "remove_set", "run_in_set", "list_namespaces"]


def create_set(store: Store, name: str, types: Sequence[str], **options: Any) -> SetState:
    """What `namespace: state=present` does for a new set, in this process."""
    with store.locked():
        return creating.create_set(store, name, SetOptions(types=tuple(types), **options))


def remove_set(store: Store, name: str) -> bool:
    """What `namespace: state=absent` does, in this process."""
    with store.locked():
        return creating.remove_set(store, name)


def run_in_set(store: Store, name: str, argv: Sequence[str]) -> int:
    """What the nsenter module does for a set: enter every namespace of it in a child and run argv."""
    with resolve_target(name=name, store=store) as target:
        return run_command(target, Launch(argv=list(argv))).rc


def list_namespaces(store: Store) -> Dict[str, Any]:
    """What namespace_info returns, with this store's sets."""
    return inspect_host(store_root=store.root)
