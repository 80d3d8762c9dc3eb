"""What a finished check's reports keep (compliance.session.retention): what the terminal summary reads, no more.

The runs themselves are probed in test_memory_release.py; here each rule is pinned on its own, with the cases
where the report must be kept whole: a failure (the summary shows it), a skip (its reason and status word are
listed with -rs), and --durations (it lists the set-up and tear-down reports)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Literal

import pytest

from compliance.evidence.record import REPORT_ATTRIBUTE, Record
from compliance.model import CheckMeta, Finding, Provider, Severity, Status
from compliance.session.retention import Counted, FinishedItem, Retention, slim_report

META = CheckMeta(id="x_check", title="X holds", severity=Severity.HIGH, provider=Provider.AWS, rationale="why",
                 remediation="fix", controls=("21CFR11.10(d)",), permissions=("iam:GetRole",))


def _report(when: Literal["setup", "call", "teardown"], outcome: Literal["passed", "failed", "skipped"],
            status: Status | None = None) -> pytest.TestReport:
    report = pytest.TestReport("m.py::test_x[c1]", ("m.py", 1, "test_x[c1]"), {"test_x": 1, "c1": 1}, outcome,
                               None, when, user_properties=[("check_id", "x_check")])
    if status is not None:
        setattr(report, REPORT_ATTRIBUTE, Record(META, "c1", Finding(status, "msg"), "2026-01-01T00:00:00Z", "n"))
        report.extras = [{"content": "<p>evidence</p>"}]  # type: ignore[attr-defined]
    return report


def test_a_passed_check_keeps_neither_keywords_extras_properties_nor_its_record() -> None:
    report = _report("call", "passed", Status.PASS)
    slim_report(report)
    assert (dict(report.keywords), report.user_properties) == ({}, [])
    assert not hasattr(report, "extras") and not hasattr(report, REPORT_ATTRIBUTE)
    assert (report.nodeid, report.outcome, report.location) == ("m.py::test_x[c1]", "passed", ("m.py", 1, "test_x[c1]"))


def test_a_skipped_check_keeps_its_record_for_the_status_word() -> None:
    report = _report("call", "skipped", Status.NOT_APPLICABLE)
    slim_report(report)
    assert getattr(report, REPORT_ATTRIBUTE).status is Status.NOT_APPLICABLE
    assert not hasattr(report, "extras")


def test_a_failed_check_is_kept_whole() -> None:
    report = _report("call", "failed", Status.FAIL)
    slim_report(report)
    assert dict(report.keywords) == {"test_x": 1, "c1": 1} and hasattr(report, "extras")


def _retention(durations: int | None, stats: dict[str, list[Any]], *, reportchars: str = "wfE",
               style: str = "progress") -> Retention:
    terminal = SimpleNamespace(stats=stats, hasopt=lambda letter: letter in reportchars)
    config = SimpleNamespace(option=SimpleNamespace(durations=durations), getini=lambda name: style,
                             pluginmanager=SimpleNamespace(get_plugin=lambda name: terminal))
    return Retention(config)  # type: ignore[arg-type]


def _run(retention: Retention, stats: dict[str, list[Any]], status: Status = Status.PASS) -> None:
    outcome: Literal["passed", "skipped"] = "passed" if status is Status.PASS else "skipped"
    for when in ("setup", "call", "teardown"):
        report = _report(when, outcome if when == "call" else "passed", status if when == "call" else None)
        # as the terminal reporter files them: a passed step under "", the call under its outcome
        stats.setdefault(report.outcome if when == "call" else "", []).append(report)
        hook = retention.pytest_runtest_logreport(report)
        next(hook)
        with pytest.raises(StopIteration):
            hook.send(None)


@pytest.mark.parametrize(("durations", "kept"), [(None, 0), (5, 2), (0, 2)])
def test_passed_steps_leave_the_terminal_statistics_unless_durations_lists_them(durations: int | None,
                                                                                 kept: int) -> None:
    other = _report("setup", "passed")
    other.nodeid = "m.py::test_y[c2]"  # another check in flight (xdist): its set-up stays
    stats: dict[str, list[Any]] = {"": [other]}
    _run(_retention(durations, stats), stats)
    assert stats[""][0] is other and len(stats[""]) == 1 + kept


@pytest.mark.parametrize(("status", "reportchars", "style", "counted"), [
    (Status.PASS, "wfE", "progress", True),
    (Status.NOT_APPLICABLE, "wfE", "progress", True),
    (Status.PASS, "wpfE", "progress", False),  # -rp lists passes
    (Status.PASS, "wPpsxXEf", "progress", False),  # -rA
    (Status.NOT_APPLICABLE, "wsxXEf", "progress", False),  # -ra lists skips
    (Status.NOT_APPLICABLE, "wpfE", "progress", True),  # -rp lists passes, not skips
    (Status.PASS, "wfE", "times", False),  # the "times" progress style reads every report
])
def test_a_report_the_summary_only_counts_is_replaced_by_a_shared_stand_in(
        status: Status, reportchars: str, style: str, counted: bool) -> None:
    stats: dict[str, list[Any]] = {}
    retention = _retention(None, stats, reportchars=reportchars, style=style)
    _run(retention, stats)
    _run(retention, stats, status)
    outcome = "passed" if status is Status.PASS else "skipped"
    (kept,) = stats[outcome][-1:]
    assert isinstance(kept, Counted) is counted
    if counted:
        assert (kept.outcome, kept.count_towards_summary, getattr(kept, outcome)) == (outcome, True, True)
        assert kept is retention._counted[outcome]  # one object, however many checks
    else:
        assert isinstance(kept, pytest.TestReport) and kept.nodeid == "m.py::test_x[c1]"


def test_a_finished_item_keeps_its_node_id_and_location() -> None:
    finished = FinishedItem("m.py::test_x[c1]", ("m.py", 3, "test_x[c1]"))
    assert (finished.nodeid, finished.location[0]) == ("m.py::test_x[c1]", "m.py")
    assert not hasattr(finished, "__dict__")
