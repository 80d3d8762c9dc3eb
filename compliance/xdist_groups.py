"""The one place the suite works around pytest-xdist's lost `@group` suffix (pytest-dev/pytest-xdist#1386).

With `--dist loadgroup` xdist's worker appends `@<group>` to each item's node id so the controller schedules a
group on one worker. xdist 3.8 writes the suffix to `item._nodeid`, which pytest 9.2 no longer reads (node ids
are structured `NodeId`s): the suffix is lost and loadgroup silently spreads one chain over every worker. The
plugin calls `add_group_suffix` after xdist, in a form both pytest versions read.

`tests/foundation/test_xdist_groups.py` runs xdist alone and fails, naming this module, once the installed
xdist/pytest keep the suffix themselves: then this module and its caller in `compliance/plugin.py` go.
"""

from __future__ import annotations

import pytest

UPSTREAM_ISSUE = "pytest-dev/pytest-xdist#1386"


def add_group_suffix(item: pytest.Item, group: str) -> None:
    """Make `item.nodeid` end in `@<group>` (no change when it already does)."""
    suffix = f"@{group}"
    if item.nodeid.endswith(suffix):
        return
    suffixed = item.nodeid + suffix
    if hasattr(item, "_id"):  # pytest >= 9.2: the node id is a structured NodeId
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(suffixed)
    else:  # pragma: no cover - pytest < 9.2 reads the string xdist writes
        item._nodeid = suffixed  # type: ignore[attr-defined]
