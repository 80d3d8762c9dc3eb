"""What pytest keeps of each check once it has run, cut to what the rest of the run still reads (issue 15).

pytest keeps every collected item and every test report until the session ends: 200 chains are 10,800 checks,
and at a few kilobytes each that alone would break the "memory flat in the number of chains" promise. The run's
evidence no longer needs them (each record is on disk as soon as its check ends), so:

- **Items**, once collected: the checks of one chain share one parametrisation record (`CallSpec`: pytest makes
  an identical copy per check) and one set of parameter marks; the per-item fixture request pytest pre-builds is
  dropped (pytest builds it again right before the item runs: `runtestprotocol` re-initialises an item whose
  `_request` is false, as it does for re-runs); an empty `extra_keyword_matches` set becomes a shared empty
  frozenset (`-k` has read it already).
- **After an item has run**: its user properties (copied into its reports) are released.
- **Reports**, once every plugin has seen a check's teardown (the record is in records.jsonl, the HTML row and
  the JUnit test case are spooled): the terminal's passed set-up and tear-down reports, which only `--durations`
  ever reads, are dropped from its statistics; the passed or skipped call report keeps what the terminal summary
  reads (node id, location, outcome, duration, the skip reason, captured sections if any) and loses its keywords,
  user properties and HTML extras; a passed check's report also loses its record (a PASS is reported as pytest's
  own "passed", the record is not read again). Failed and errored reports are kept whole: the summary shows them.

`--durations` keeps the set-up and tear-down reports (it lists them). Nothing here changes what is written.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from compliance.evidence.record import REPORT_ATTRIBUTE, record_of
from compliance.model import Status
from compliance.registry import meta_of

_NO_KEYWORDS: Mapping[str, Any] = MappingProxyType({})
_NO_MATCHES: frozenset[str] = frozenset()
_STEPS = ("setup", "teardown")
_SCAN = 64
"""How far back a finished check's set-up report is looked for: past the reports of the checks in flight."""


def is_check(item: pytest.Item) -> bool:
    return meta_of(getattr(item, "obj", None)) is not None


def slim_items(items: list[pytest.Item]) -> int:
    """Share the checks' identical parametrisations and drop their pre-built fixture requests; returns how many
    items were slimmed."""
    shared: dict[Any, Any] = {}
    slimmed = 0
    for item in items:
        if not is_check(item):
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            key = (callspec.id, tuple((name, id(value)) for name, value in callspec.params.items()))
            first = shared.setdefault(key, callspec)
            if first is not callspec and first == callspec:
                item.callspec = first  # type: ignore[attr-defined]
        if getattr(item, "_request", None):
            item._request = False  # type: ignore[attr-defined]  # rebuilt by runtestprotocol before the item runs
            item.funcargs = None  # type: ignore[attr-defined]
        if not item.extra_keyword_matches:
            item.extra_keyword_matches = _NO_MATCHES  # type: ignore[assignment]
        slimmed += 1
    return slimmed


class Retention:
    """Registered in each process of a compliance run (the controller and every xdist worker)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._calls: dict[str, pytest.TestReport] = {}  # a check's call report until its teardown is seen

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        slim_items(session.items)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        result = yield
        if is_check(item):
            item.user_properties = []
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, None, None]:
        result = yield
        if report.when == "call" and record_of(report) is not None:
            self._calls[report.nodeid] = report
        elif report.when == "teardown":
            call = self._calls.pop(report.nodeid, None)
            if call is not None:
                slim_report(call)
                self._forget_passed_steps(report.nodeid)
        return result

    def _forget_passed_steps(self, nodeid: str) -> None:
        """Drop a check's passed set-up and tear-down reports from the terminal's statistics (only --durations
        reads them). They are near the end of the list: every finished check's are removed, so only the checks in
        flight (one per xdist worker) have theirs there."""
        if self.config.option.durations is not None:
            return
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        kept: list[Any] | None = getattr(terminal, "stats", {}).get("")
        if not kept:
            return
        for index in range(len(kept) - 1, max(len(kept) - _SCAN, 0) - 1, -1):
            step = kept[index]
            if getattr(step, "nodeid", None) == nodeid and getattr(step, "when", None) in _STEPS and step.passed:
                del kept[index]


def slim_report(report: pytest.TestReport) -> None:
    """A passed or skipped check's call report, cut to what the terminal summary reads (see the module)."""
    record = record_of(report)
    if record is None or report.failed:
        return
    report.keywords = _NO_KEYWORDS
    report.user_properties = []
    if hasattr(report, "extras"):
        delattr(report, "extras")
    if record.status is Status.PASS:
        delattr(report, REPORT_ATTRIBUTE)
