"""What pytest keeps of each check once it has run, cut to what the rest of the run still reads (issue 15).

pytest keeps every collected item and every test report until the session ends: 200 chains are 10,800 checks,
and at a few kilobytes each that alone would break the "memory flat in the number of chains" promise. The run's
evidence no longer needs them (each record is on disk as soon as its check ends), so:

- **Items** waiting to run: shared or deferred, as each is collected and once collection is final
  (`compliance.session.pending`).
- **After an item has run** it leaves `session.items`: a `FinishedItem` (node id, location) takes its place.
  pytest's loop has already taken the next item from the list, xdist's worker reads an item only when it is
  scheduled (each once), and the terminal's "times" progress style reads the locations; nothing else reads it.
- **Reports**, once every plugin has seen a check's teardown (the record is in records.jsonl, the HTML row and
  the JUnit test case are spooled): the terminal's passed set-up and tear-down reports, which only `--durations`
  ever reads, are dropped from its statistics; the passed or skipped call report keeps what the terminal summary
  reads (node id, location, outcome, duration, the skip reason, captured sections if any) and loses its keywords,
  user properties and HTML extras; a passed check's report also loses its record (a PASS is reported as pytest's
  own "passed", the record is not read again). Failed and errored reports are kept whole: the summary shows them.

  A passed or skipped call report the summary will not list (no `-rp`/`-rP`/`-rA` for passes, no `-rs`/`-ra`
  for skips, the default) is then only counted: one shared `Counted` stand-in per outcome takes its place.

`--durations` and the "times" progress style keep every report (they list or count them). Nothing here changes
what is written.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from compliance.evidence.record import REPORT_ATTRIBUTE, record_of
from compliance.model import Status
from compliance.registry import meta_of
from compliance.session.pending import Compactor, restore

_NO_KEYWORDS: Mapping[str, Any] = MappingProxyType({})
_STEPS = ("setup", "teardown")
_LISTED = {"passed": "pP", "skipped": "s"}
"""The terminal's -r letters that list passed or skipped tests (after its own expansion of -ra and -rA)."""
_SCAN = 64
"""How far back a finished check's set-up report is looked for: past the reports of the checks in flight."""


def is_check(item: pytest.Item) -> bool:
    return meta_of(getattr(item, "obj", None)) is not None


class Retention:
    """Registered in each process of a compliance run (the controller and every xdist worker)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._calls: dict[str, pytest.TestReport] = {}  # a check's call report until its teardown is seen
        self._next = 0  # where in session.items the next check to run most likely is
        self._compactor: Compactor | None = Compactor()  # while collecting
        self._counted = {outcome: Counted(outcome) for outcome in ("passed", "skipped")}

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        if self._compactor is not None and is_check(item):
            self._compactor.as_collected(item)  # one at a time: the collection's own peak stays low too

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        compactor, self._compactor = self._compactor, None
        if compactor is None:
            return
        for item in session.items:  # the collection is final: -k, -m and xdist have read the items
            if is_check(item):
                compactor.compact(item)

    @pytest.hookimpl(tryfirst=True, wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        restore(item)  # first: before any other plugin sees the item
        result = yield
        index = self._place(item) if is_check(item) else None
        if index is not None:
            item.session.items[index] = FinishedItem(item.nodeid, item.location)  # type: ignore[call-overload]
            self._next = index + 1
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
                self._count_only(call)
        return result

    def _place(self, item: pytest.Item) -> int | None:
        """The item's place in session.items: found from where the last check ran (serially, the next place; an
        xdist worker runs its share in order too), else searched (an identity scan, microseconds)."""
        items = item.session.items
        for start in (self._next, 0):
            try:
                return items.index(item, start)
            except ValueError:
                continue
        return None

    def _terminal(self) -> Any:
        """The terminal reporter, when nothing will read more of a finished check's reports than their count: None
        under --durations or the "times" progress style (they read every report), or without a terminal."""
        if self.config.option.durations is not None or self.config.getini("console_output_style") == "times":
            return None
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        return terminal if hasattr(terminal, "stats") and hasattr(terminal, "hasopt") else None

    def _count_only(self, report: pytest.TestReport) -> None:
        """Put the shared stand-in in place of a passed or skipped call report the summary will not list."""
        counted = self._counted.get(report.outcome)
        terminal = self._terminal()
        if counted is None or terminal is None or any(terminal.hasopt(c) for c in _LISTED[report.outcome]):
            return
        kept = terminal.stats.get(report.outcome) or []
        for index in _recent(kept):
            if kept[index] is report:
                kept[index] = counted
                return

    def _forget_passed_steps(self, nodeid: str) -> None:
        """Drop a check's passed set-up and tear-down reports from the terminal's statistics (only --durations
        reads them)."""
        terminal = self._terminal()
        kept: list[Any] = (terminal.stats.get("") if terminal is not None else None) or []
        for index in _recent(kept):
            step = kept[index]
            if getattr(step, "nodeid", None) == nodeid and getattr(step, "when", None) in _STEPS and step.passed:
                del kept[index]


def _recent(kept: list[Any]) -> range:
    """The last `_SCAN` positions of a statistics list, the latest first. A finished check's reports are near the
    end: every finished check's are replaced or removed, so only the checks in flight (one per xdist worker) have
    theirs after them."""
    return range(len(kept) - 1, max(len(kept) - _SCAN, 0) - 1, -1)


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


class FinishedItem:
    """What stays in `session.items` of a check that has run: its node id and location (see the module)."""

    __slots__ = ("location", "nodeid")

    def __init__(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self.nodeid = nodeid
        self.location = location

    def __repr__(self) -> str:
        return f"<FinishedItem {self.nodeid}>"


class Counted:
    """The terminal's stand-in for every passed (or skipped) check report it will only count. An ordinary object
    (a `__dict__`, no slots): other plugins' terminal summaries walk every report's attributes (Hypothesis reads
    `report.__dict__`)."""

    when = "call"
    count_towards_summary = True
    nodeid = ""
    location = ("", None, "")
    longrepr = None
    sections: tuple[tuple[str, str], ...] = ()
    duration = 0.0

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    @property
    def skipped(self) -> bool:
        return self.outcome == "skipped"

    @property
    def failed(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<Counted {self.outcome} check report>"
