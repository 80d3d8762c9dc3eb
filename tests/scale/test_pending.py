"""What a collected check holds while it waits (compliance.session.pending): the same keywords, markers, lists and
stash as pytest's own, with what the checks of one function or one chain have in common held once."""

from __future__ import annotations

from typing import Any

import pytest

from compliance.session.pending import Compactor, LazyStash, SharedKeywords, restore

pytest_plugins = ["pytester"]

_MODULE = """
import pytest

CHAINS = [pytest.param(f"c{i}", id=f"c{i}", marks=pytest.mark.xdist_group(f"c{i}")) for i in range(3)]

@pytest.mark.aws
@pytest.mark.parametrize("chain", CHAINS)
def test_one(chain):
    pass

@pytest.mark.azure
@pytest.mark.parametrize("chain", CHAINS)
def test_two(chain):
    pass

test_two.attribute = "kept"
"""


@pytest.fixture
def items(pytester: pytest.Pytester) -> list[pytest.Item]:
    pytester.makeini("[pytest]\nmarkers =\n    aws\n    azure\n    xdist_group(name)\n")
    return list(pytester.getitems(_MODULE))


def _view(item: pytest.Item) -> tuple[Any, ...]:
    keywords = item.keywords
    return (dict(keywords), list(keywords), len(keywords), list(item.iter_markers()),
            [m.name for m in item.own_markers], "aws" in keywords, "nowhere" in keywords)


def test_compacted_items_read_exactly_as_pytest_built_them(items: list[pytest.Item]) -> None:
    before = [_view(item) for item in items]
    compactor = Compactor()
    for item in items:
        compactor.compact(item)
    assert all(isinstance(item.keywords, SharedKeywords) for item in items)
    after = [_view(item) for item in items]
    assert [(b[0], set(b[1]), *b[2:]) for b in before] == [(a[0], set(a[1]), *a[2:]) for a in after]
    assert items[1].keywords["test_one[c1]"] is True and items[1].keywords["c1"] is True
    assert items[4].keywords["attribute"] == "kept"
    assert items[0].keywords[items[0].parent.name] is True  # type: ignore[union-attr]  # the parent's, as pytest
    with pytest.raises(KeyError):
        items[0].keywords["nowhere"]


def test_what_checks_have_in_common_is_held_once(items: list[pytest.Item]) -> None:
    compactor = Compactor()
    for item in items:
        compactor.compact(item)
    one, two = items[:3], items[3:]
    kw: list[Any] = [item.keywords for item in items]
    assert kw[0]._function is kw[1]._function is kw[2]._function  # the function's marks and attributes
    assert kw[0]._function is not kw[3]._function
    assert kw[0]._chain is kw[3]._chain and kw[1]._chain is kw[4]._chain  # the chain's id and its group mark
    assert kw[0]._chain is not kw[1]._chain
    assert [tuple(i.user_properties) for i in one + two] == [()] * 6
    assert all(isinstance(i.user_properties, tuple) for i in one + two)
    assert all(isinstance(item.stash, LazyStash) for item in items)


def test_a_write_reaches_only_its_item_and_deletion_is_refused_as_by_pytest(items: list[pytest.Item]) -> None:
    compactor = Compactor()
    for item in items:
        compactor.compact(item)
    items[0].keywords["extra"] = 1
    items[0].keywords.update({"aws": "overridden"})
    assert items[0].keywords["extra"] == 1 and items[0].keywords["aws"] == "overridden"
    assert "extra" not in items[1].keywords and items[1].keywords["aws"].name == "aws"
    assert list(items[0].keywords).count("aws") == 1
    with pytest.raises(ValueError, match="cannot delete"):
        del items[0].keywords["aws"]


def test_restored_items_take_markers_properties_sections_and_stash_entries(items: list[pytest.Item]) -> None:
    compactor = Compactor()
    for item in items:
        compactor.compact(item)
    key = pytest.StashKey[str]()
    item = items[2]
    restore(item)
    item.add_marker("azure")
    item.user_properties.append(("k", "v"))
    item.add_report_section("call", "stdout", "text")
    item.stash[key] = "value"
    assert item.get_closest_marker("azure") is not None and "azure" in item.keywords
    assert (item.user_properties, item._report_sections) == ([("k", "v")], [("call", "stdout", "text")])
    assert item.stash[key] == "value" and item.stash.get(key, "") == "value" and key in item.stash
    assert key not in items[1].stash and len(items[1].stash) == 0
    assert not items[1].user_properties and "azure" not in items[1].keywords


def test_an_item_pytest_did_not_build_as_usual_is_left_alone(items: list[pytest.Item]) -> None:
    item = items[0]
    item.keywords[item.name] = "not the usual flag"
    Compactor().compact(item)
    assert type(item.keywords).__name__ == "NodeKeywords"


def test_a_run_with_compacted_checks_reports_as_before(pytester: pytest.Pytester) -> None:
    """Through pytest: markers, skips, xfail (the stash), properties and captured output of compacted items."""
    pytester.makeconftest("""
import pytest
from compliance.session.pending import Compactor, restore

class Compact:
    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        compactor = Compactor()
        for item in session.items:
            compactor.compact(item)

    @pytest.hookimpl(tryfirst=True, wrapper=True)
    def pytest_runtest_protocol(self, item):
        restore(item)
        return (yield)

def pytest_configure(config):
    config.pluginmanager.register(Compact())
""")
    pytester.makeini("[pytest]\nmarkers =\n    dynamic\njunit_family = legacy\n")
    pytester.makepyfile("""
import pytest

@pytest.mark.parametrize("n", [1, 2])
def test_props(n, record_property, request):
    request.node.add_marker("dynamic")
    record_property("n", n)
    print("out", n)
    assert request.node.get_closest_marker("dynamic")

@pytest.mark.xfail(reason="known")
@pytest.mark.parametrize("n", [1, 2])
def test_xfail(n):
    assert False

@pytest.mark.skipif(True, reason="never")
@pytest.mark.parametrize("n", [1])
def test_skip(n):
    pass

@pytest.mark.parametrize("n", [1])
def test_fails(n):
    print("captured", n)
    assert n == 0
""")
    result = pytester.runpytest("-rA", "--junitxml=j.xml")
    result.assert_outcomes(passed=2, xfailed=2, skipped=1, failed=1)
    result.stdout.fnmatch_lines(["*Captured stdout call*", "captured 1"])
    assert '<property name="n" value="2" />' in (pytester.path / "j.xml").read_text()


def test_node_ids_share_their_parts_and_keep_their_text(items: list[pytest.Item]) -> None:
    """pytest 9's structured node ids: the function's name tuple and the chain's parametrisation held once. Pinned
    to engage with the installed pytest (an upgrade that moves `Node._id` fails here, not silently)."""
    before = [(item.nodeid, item.name) for item in items]
    texts = [item.nodeid for item in items]
    compactor = Compactor()
    for item in items:
        compactor.compact(item)
    assert [(item.nodeid, item.name) for item in items] == before
    assert all(item.nodeid is text for item, text in zip(items, texts, strict=True))  # the cached text, not a copy
    if int(pytest.__version__.split(".")[0]) >= 9:
        ids: list[Any] = [item._id for item in items]
        assert ids[0].names is ids[1].names is ids[2].names and ids[0].names is not ids[3].names
        assert ids[0].params is ids[3].params and ids[0].params is not ids[1].params
