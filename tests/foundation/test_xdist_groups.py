"""The xdist workaround (compliance/xdist_groups.py) is needed while the installed xdist loses its own group suffix."""

from __future__ import annotations

import json

import pytest

from compliance.xdist_groups import UPSTREAM_ISSUE, add_group_suffix

GROUPED_SUITE = """
import pytest

@pytest.mark.xdist_group("alpha")
def test_one():
    pass

@pytest.mark.xdist_group("alpha")
def test_two():
    pass
"""

RECORD_NODE_IDS = """
import json, os

def pytest_collection_finish(session):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        with open(os.path.join(os.environ["NODE_IDS_DIR"], worker + ".json"), "w") as out:
            json.dump([item.nodeid for item in session.items], out)
"""


def test_xdist_alone_still_loses_the_group_suffix(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs xdist's loadgroup on a foreign suite (the compliance plugin stays inert) and reads the workers' node ids.

    When this fails, upstream keeps the suffix itself: remove the workaround."""
    pytest.importorskip("xdist")
    pytester.makepyfile(test_grouped=GROUPED_SUITE)
    pytester.makeconftest(RECORD_NODE_IDS)
    monkeypatch.setenv("NODE_IDS_DIR", str(pytester.path))
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "--dist", "loadgroup", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    node_ids = [node for path in sorted(pytester.path.glob("gw*.json"))
                for node in json.loads(path.read_text(encoding="utf-8"))]
    assert node_ids, "the workers recorded no node ids"
    if all(node.endswith("@alpha") for node in node_ids):
        pytest.fail(f"upstream fixed {UPSTREAM_ISSUE}: xdist's loadgroup keeps the @group suffix with the installed "
                    "pytest; remove compliance/xdist_groups.py and its call in compliance/plugin.py (GroupSuffix)")


def test_add_group_suffix_is_read_back_and_idempotent(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one="def test_a():\n    pass\n")
    items, _ = pytester.inline_genitems()
    item = items[0]
    add_group_suffix(item, "chain-1")
    assert item.nodeid.endswith("::test_a@chain-1")
    add_group_suffix(item, "chain-1")
    assert item.nodeid.count("@chain-1") == 1
