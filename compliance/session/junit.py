"""junit.xml written as the run goes: each finished test's <testcase> is appended to a spool file, and at session
finish the file is assembled (header with the counts, the spooled test cases, the closing tags) and moved into place.

pytest's own writer (`_pytest.junitxml.LogXML`) keeps every test case's element until the session ends, ~2 KB a
test, so its memory grows with the number of chains. This writer keeps only the tests in flight (a test is done at
its teardown report) and the counts. Its output is what LogXML writes for the same run, element for element and
attribute for attribute, for the configuration it handles: junit_family xunit2, junit_logging "no" and
junit_duration_report "total" (pytest's defaults), with junit_suite_name and --junitprefix honoured. Under xdist the
test cases are in the order the tests finish (LogXML's is the order they start; both vary from run to run), and
tests an interrupted session left unfinished come last.

Not reproduced: `record_testsuite_property` (a no-op here, as without --junitxml) and `record_xml_attribute`
(xunit2 drops its attributes anyway). Anything else the user asks of junit.xml (--junitxml, another family,
captured output, call-only durations) is pytest's writer's job: `register_junit` then leaves it to LogXML.
"""

from __future__ import annotations

import enum
import os
import platform
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pytest

# Both exist with these signatures in pytest 8.3 and 9.x, and keep the names and escaping exactly pytest's.
from _pytest.junitxml import bin_xml_escape, mangle_test_address

SPOOL_SUFFIX = ".spool"
PLUGIN_NAME = "compliance-streamed-junit"
_COPY_CHUNK = 1 << 20
# ini options whose default is all this writer does; any other value leaves junit.xml to pytest's writer
_STREAMABLE_INI = {"junit_family": "xunit2", "junit_logging": "no", "junit_duration_report": "total"}


class Tag(enum.StrEnum):
    """What a test case holds, and the counts of the <testsuite> header (pytest counts the elements it adds)."""

    PASSED = "passed"
    FAILURE = "failure"
    ERROR = "error"
    SKIPPED = "skipped"


class When(enum.StrEnum):
    SETUP = "setup"
    CALL = "call"
    TEARDOWN = "teardown"


def _shorten() -> Callable[[str], str]:
    """pytest 9 shortens the `message` attribute of failures and errors (`shorten_message`); 8.3 does not."""
    from _pytest import junitxml

    found: Callable[[str], str] | None = getattr(junitxml, "shorten_message", None)
    return found if found is not None else str


def streamable(config: pytest.Config) -> bool:
    """The junit ini options are all at the defaults this writer reproduces."""
    return all(str(config.getini(name)) == value for name, value in _STREAMABLE_INI.items())


def register_junit(config: pytest.Config, path: Path) -> None:
    """Write junit.xml at `path` (the user gave no --junitxml): streamed when the ini options allow it, else by
    pytest's LogXML, which holds every test case until the end but is the only one that writes what they ask."""
    if not streamable(config):
        config.option.xmlpath = str(path)
        return
    config.pluginmanager.register(StreamedJUnit(path, str(config.getini("junit_suite_name")),
                                                config.option.junitprefix), PLUGIN_NAME)


@dataclass(slots=True)
class _Case:
    """A test case in flight: LogXML's `_NodeReporter` for one (nodeid, xdist node)."""

    nodeid: str = ""
    opened: bool = False  # LogXML's record_testreport ran: the case has classname and name
    duration: float = 0.0
    children: list[ET.Element] = field(default_factory=list)
    failed_call: tuple[Any, Any, list[tuple[str, object]]] | None = None  # (item_index, worker_id, properties)


class StreamedJUnit:
    """pytest plugin (the xdist controller's, or a serial run's): junit.xml with only the in-flight tests kept."""

    def __init__(self, path: Path, suite_name: str = "pytest", prefix: str | None = None) -> None:
        self.path = path
        self.spool_path = path.with_name(path.name + SPOOL_SUFFIX)
        self._tmp_path = path.with_name(path.name + ".tmp")
        self.suite_name = suite_name
        self.prefix = prefix
        self.counts = dict.fromkeys(Tag, 0)
        self.double_counted = 0  # a teardown error after a passed call: one test, two counts (LogXML's rule)
        self.in_flight: dict[tuple[str, Any], _Case] = {}
        self.spooled = 0
        self._shorten = _shorten()
        self._spool: IO[bytes] | None = None
        self._broken: OSError | None = None
        self._started = time.perf_counter()
        self._timestamp = datetime.now(UTC)

    # --- pytest hooks -------------------------------------------------------------------------------------------

    def pytest_sessionstart(self) -> None:
        self._started = time.perf_counter()
        self._timestamp = datetime.now(UTC)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """LogXML's `pytest_runtest_logreport`, with the finished case written out instead of kept."""
        key = (report.nodeid, getattr(report, "node", None))
        when = When(report.when)
        if report.passed:
            if when == When.CALL:
                self._open(key)
                self.counts[Tag.PASSED] += 1
        elif report.failed:
            if when == When.TEARDOWN:
                self._teardown_failed(key, report)
            case = self._open(key)
            if when == When.CALL:
                self._add(case, self._failure(report))
                case.failed_call = (getattr(report, "item_index", None), getattr(report, "worker_id", None),
                                    list(report.user_properties))
            else:
                self._add(case, self._error(report))
        elif report.skipped:
            self._add(self._open(key), self._skipped(report))
        self._case(key).duration += getattr(report, "duration", 0.0)
        if when == When.TEARDOWN:
            self._open(key)
            self._finish(key, report.user_properties)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A collector that failed or skipped is a test case of its own (it has no teardown: written now)."""
        if report.passed:
            return
        case = _Case(report.nodeid, opened=True)
        if report.failed:
            self._add(case, _simple(Tag.ERROR, "collection failure", str(report.longrepr)))
        else:
            self._add(case, _simple(Tag.SKIPPED, "collection skipped", str(report.longrepr)))
        self._write(case, [])

    def pytest_internalerror(self, excrepr: object) -> None:
        case = _Case("internal")
        self._add(case, _simple(Tag.ERROR, "internal error", str(excrepr)))
        self._write(case, [], {"classname": "pytest", "name": "internal"})

    def pytest_sessionfinish(self) -> None:
        """Write junit.xml (LogXML writes it here too; the manifest, at unconfigure, hashes it)."""
        for key in list(self.in_flight):  # interrupted tests: LogXML writes them as they stand
            self._write(self.in_flight.pop(key), [])
        try:
            self._close_spool()
            if self._broken is not None:
                raise self._broken
            self._assemble()
        except OSError as exc:
            sys.stderr.write(f"ERROR: {self.path.name} could not be written ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}); the record is incomplete and "
                             "`python -m compliance verify` will report it missing\n")
        finally:  # after os.replace there is no temporary file; before it, a partial one goes
            self._tmp_path.unlink(missing_ok=True)
            self.spool_path.unlink(missing_ok=True)

    def pytest_unconfigure(self) -> None:
        """A session that never finished leaves no spool behind."""
        self._close_spool()
        self.spool_path.unlink(missing_ok=True)

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        if config.get_verbosity() >= 0 and self.path.exists():
            terminalreporter.write_sep("-", f"generated xml file: {self.path}")

    # --- the in-flight cases ------------------------------------------------------------------------------------

    def _case(self, key: tuple[str, Any]) -> _Case:
        case = self.in_flight.get(key)
        if case is None:
            case = self.in_flight[key] = _Case(key[0])
        return case

    def _open(self, key: tuple[str, Any]) -> _Case:
        case = self._case(key)
        case.opened = True
        return case

    def _add(self, case: _Case, element: ET.Element) -> None:
        self.counts[Tag(element.tag)] += 1
        case.children.append(element)

    def _teardown_failed(self, key: tuple[str, Any], report: pytest.TestReport) -> None:
        """A failed call then a failed teardown are two test cases (the call's closes now); a passed call then a
        failed teardown one case counted twice."""
        case = self.in_flight.get(key)
        mark = (getattr(report, "item_index", None), getattr(report, "worker_id", None))
        if case is not None and case.failed_call is not None and case.failed_call[:2] == mark:
            self._finish(key, case.failed_call[2])
        elif case is not None:
            self.double_counted += 1

    def _finish(self, key: tuple[str, Any], properties: list[tuple[str, object]]) -> None:
        self._write(self.in_flight.pop(key), properties)

    def _attrs(self, case: _Case) -> dict[str, str]:
        if not case.opened:
            return {}
        names = mangle_test_address(case.nodeid)
        classnames = names[:-1]
        if self.prefix:
            classnames.insert(0, self.prefix)
        return {"classname": ".".join(classnames), "name": bin_xml_escape(names[-1])}

    def _write(self, case: _Case, properties: list[tuple[str, object]], attrs: dict[str, str] | None = None) -> None:
        """Serialize the case and append it to the spool; a failed write is reported at session finish."""
        if self._broken is not None:
            return
        testcase = ET.Element("testcase", attrs if attrs is not None else self._attrs(case),
                              time=f"{case.duration:.3f}")
        if properties:
            node = ET.SubElement(testcase, "properties")
            for name, value in properties:
                node.append(ET.Element("property", name=str(name), value=bin_xml_escape(str(value))))
        testcase.extend(case.children)
        try:
            if self._spool is None:
                self._spool = open(self.spool_path, "wb")  # noqa: SIM115 - open for the whole session
            self._spool.write(ET.tostring(testcase, encoding="unicode").encode("utf-8"))
            self.spooled += 1
        except OSError as exc:
            self._broken = exc
            self._close_spool()

    def _close_spool(self) -> None:
        spool, self._spool = self._spool, None
        if spool is not None:
            try:
                spool.close()
            except OSError as exc:
                self._broken = self._broken or exc

    # --- the elements LogXML makes ------------------------------------------------------------------------------

    def _failure(self, report: pytest.TestReport) -> ET.Element:
        if hasattr(report, "wasxfail"):
            return _simple(Tag.SKIPPED, "xfail-marked test passes unexpectedly", None)
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash is not None else str(report.longrepr)
        return _simple(Tag.FAILURE, bin_xml_escape(self._shorten(message)), str(report.longrepr))

    def _error(self, report: pytest.TestReport) -> ET.Element:
        crash = getattr(report.longrepr, "reprcrash", None)
        reason = crash.message if crash is not None else str(report.longrepr)
        stage = "teardown" if When(report.when) is When.TEARDOWN else "setup"
        message = f'failed on {stage} with "{reason}"'
        return _simple(Tag.ERROR, bin_xml_escape(self._shorten(message)), str(report.longrepr))

    @staticmethod
    def _skipped(report: pytest.TestReport) -> ET.Element:
        if hasattr(report, "wasxfail"):
            reason = bin_xml_escape(str(report.wasxfail).removeprefix("reason: "))
            return ET.Element(Tag.SKIPPED.value, type="pytest.xfail", message=reason)
        if isinstance(report.longrepr, tuple):
            filename, lineno, text = report.longrepr
        else:  # LogXML asserts a (path, line, reason) tuple here
            filename, lineno, text = "", None, str(report.longrepr)
        reason = str(text).removeprefix("Skipped: ")
        skipped = ET.Element(Tag.SKIPPED.value, type="pytest.skip", message=bin_xml_escape(reason))
        skipped.text = bin_xml_escape(f"{filename}:{lineno}: {reason}")
        return skipped

    # --- junit.xml ----------------------------------------------------------------------------------------------

    def _header(self) -> str:
        """<testsuites><testsuite .../></testsuites> as LogXML writes it for a run with no test case."""
        tests = sum(self.counts.values()) - self.double_counted
        suite = ET.Element("testsuite", name=self.suite_name, errors=str(self.counts[Tag.ERROR]),
                           failures=str(self.counts[Tag.FAILURE]), skipped=str(self.counts[Tag.SKIPPED]),
                           tests=str(tests), time=f"{time.perf_counter() - self._started:.3f}",
                           timestamp=self._timestamp.astimezone().isoformat(), hostname=platform.node())
        suites = ET.Element("testsuites")
        suites.set("name", "pytest tests")
        suites.append(suite)
        return ET.tostring(suites, encoding="unicode")

    def _assemble(self) -> None:
        """Header, the spooled cases copied in chunks, closing tags: into a temporary file, then moved into place."""
        empty = self._header()
        closing = " /></testsuites>"
        assert empty.endswith(closing)
        tmp = self._tmp_path
        with open(tmp, "wb") as out:
            out.write(b'<?xml version="1.0" encoding="utf-8"?>')
            if self.spooled == 0:
                out.write(empty.encode("utf-8"))
            else:
                out.write((empty[: -len(closing)] + ">").encode("utf-8"))
                with open(self.spool_path, "rb") as spool:
                    shutil.copyfileobj(spool, out, _COPY_CHUNK)
                out.write(b"</testsuite></testsuites>")
        os.replace(tmp, self.path)


def _simple(tag: Tag, message: str, data: str | None) -> ET.Element:
    """LogXML's `_add_simple` (its text is `bin_xml_escape(None)`, "None", when there is no data)."""
    node = ET.Element(tag.value, message=message)
    node.text = bin_xml_escape(data)
    return node
