"""What a collected check holds while it waits to run (issue 15: memory flat in the number of chains).

Every check of every chain is collected before the first runs: 200 chains are 10,800 pytest items, each a few
kilobytes as pytest builds it, most of it containers that are empty or the same for every check of a function or
a chain. `Compactor.as_collected`, as each check is collected (the collection's own peak stays low too):

- the checks of one chain share one parametrisation record (`CallSpec`: pytest makes an identical copy per
  check) and one set of parameter marks;
- the fixture request pytest pre-builds is dropped (pytest builds it again right before the item runs:
  `runtestprotocol` re-initialises an item whose `_request` is false, as it does for re-runs);
- an empty `extra_keyword_matches` set becomes a shared empty frozenset (`-k` has read it already).

`Compactor.compact`, once collection is final (`-k`, `-m` and xdist have read the items):

- **keywords** become a `SharedKeywords`: the check's name, plus one mapping shared by every item of the same
  function (its marks and attributes) and one shared by every item of the same chain (the parametrisation id and
  its marks). It is a full mutable mapping, as pytest's own: writes go to the item alone.
- **own_markers** become a tuple; **user_properties** and the **report sections** one shared empty tuple; the
  **stash** a `LazyStash` that makes its dictionary when first written.

`restore`, when the check starts (before any other plugin sees it), gives back the lists pytest and plugins append
to. Nothing here changes what a check reports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

import pytest

_EMPTY: tuple[Any, ...] = ()
_NO_MATCHES: frozenset[str] = frozenset()
_Key = tuple[tuple[str, int], ...]


class SharedKeywords(MutableMapping[str, Any]):
    """A pending check's keywords, as pytest's `NodeKeywords`: its own, then its parent's."""

    __slots__ = ("_chain", "_function", "_own", "node")

    def __init__(self, node: pytest.Item, function: Mapping[str, Any], chain: Mapping[str, Any]) -> None:
        self.node = node
        self._function = function
        self._chain = chain
        self._own: dict[str, Any] | None = None

    @property
    def parent(self) -> Any:
        return self.node.parent

    def _layers(self) -> tuple[Mapping[str, Any], ...]:
        named = {self.node.name: True}
        return (self._own, named, self._function, self._chain) if self._own else (named, self._function, self._chain)

    def __getitem__(self, key: str) -> Any:
        if self._own and key in self._own:
            return self._own[key]
        if key == self.node.name:
            return True
        for layer in (self._function, self._chain):
            if key in layer:
                return layer[key]
        if self.parent is None:
            raise KeyError(key)
        return self.parent.keywords[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if self._own is None:
            self._own = {}
        self._own[key] = value

    def __delitem__(self, key: str) -> None:
        raise ValueError("cannot delete key in keywords dict")  # as pytest's NodeKeywords

    def __contains__(self, key: object) -> bool:
        return (self._own is not None and key in self._own) or key == self.node.name or key in self._function or \
            key in self._chain or (self.parent is not None and key in self.parent.keywords)

    def __iter__(self) -> Iterator[str]:
        own: dict[str, None] = {}
        for layer in self._layers():
            own.update(dict.fromkeys(layer))
        yield from own
        if self.parent is not None:
            yield from (key for key in self.parent.keywords if key not in own)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"<SharedKeywords for node {self.node}>"


class LazyStash(pytest.Stash):
    """A stash that makes its dictionary when first used (pytest makes one per item, most stay empty until the
    item runs)."""

    __slots__ = ()

    def __init__(self) -> None:  # no dictionary yet: `__getattr__` makes it
        pass

    def __getattr__(self, name: str) -> Any:
        if name != "_storage":
            raise AttributeError(name)
        self._storage = {}
        return self._storage


class Compactor:
    """Compacts the checks of one collection (see the module); dropped when collection ends."""

    def __init__(self) -> None:
        self._callspecs: dict[Any, Any] = {}  # the first parametrisation of each chain
        self._shared: dict[_Key, Mapping[str, Any]] = {}
        self._strings: dict[Any, Any] = {}  # node id parts: equal ones shared

    def as_collected(self, item: pytest.Item) -> None:
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            key = (callspec.id, tuple((name, id(value)) for name, value in callspec.params.items()))
            first = self._callspecs.setdefault(key, callspec)
            if first is not callspec and first == callspec:
                item.callspec = first  # type: ignore[attr-defined]
        if getattr(item, "_request", None):
            item._request = False  # type: ignore[attr-defined]  # rebuilt by runtestprotocol before the item runs
            item.funcargs = None  # type: ignore[attr-defined]
        if not item.extra_keyword_matches:
            item.extra_keyword_matches = _NO_MATCHES  # type: ignore[assignment]

    def _share(self, entries: Iterable[tuple[str, Any]]) -> Mapping[str, Any]:
        mapping = dict(entries)
        return self._shared.setdefault(tuple((key, id(value)) for key, value in mapping.items()), mapping)

    def compact(self, item: pytest.Item) -> None:
        callspec = getattr(item, "callspec", None)
        keywords = item.keywords
        if callspec is None or type(keywords).__name__ != "NodeKeywords":
            return
        own: dict[str, Any] = dict(keywords._markers)  # type: ignore[attr-defined]
        if own.pop(item.name, None) is not True:
            return  # not as pytest builds it: left alone
        marks = {id(mark) for mark in callspec.marks}
        per_chain: list[tuple[str, Any]] = []
        per_function: list[tuple[str, Any]] = []
        for key, value in own.items():
            (per_chain if key == callspec.id or id(value) in marks else per_function).append((key, value))
        item.keywords = SharedKeywords(item, self._share(per_function), self._share(per_chain))
        item.own_markers = tuple(item.own_markers)  # type: ignore[assignment]
        if not item.user_properties:
            item.user_properties = _EMPTY  # type: ignore[assignment]
        if not item._report_sections:
            item._report_sections = _EMPTY  # type: ignore[assignment]
        if not len(item.stash) and type(item.stash) is pytest.Stash:
            item.stash = item._store = LazyStash()
        self._share_node_id(item)

    def _share_node_id(self, item: pytest.Item) -> None:
        """pytest 9's structured node id (`Node._id`, a frozen `NodeId`): the same function name tuple and the
        same parametrisation string for every check of a function or a chain, and its cached text kept."""
        node_id: Any = getattr(item, "_id", None)
        if type(node_id).__name__ != "NodeId" or not hasattr(node_id, "__dataclass_fields__"):
            return  # pytest 8: node ids are plain strings
        text = str(node_id)
        names = self._strings.setdefault(node_id.names, node_id.names)
        params = self._strings.setdefault(node_id.params, node_id.params)
        if names is node_id.names and params is node_id.params:
            return
        shared = dataclasses.replace(node_id, names=names, params=params)
        if str(shared) != text:  # never: the same parts make the same text
            return
        object.__setattr__(shared, "_str_cache", text)
        item._id = shared


def restore(item: pytest.Item) -> None:
    """Before a compacted check runs: the lists that pytest and plugins append to."""
    if isinstance(item.own_markers, tuple):
        item.own_markers = list(item.own_markers)
    if isinstance(item.user_properties, tuple):
        item.user_properties = []
    if isinstance(item._report_sections, tuple):
        item._report_sections = []
