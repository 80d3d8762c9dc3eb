"""The streamed junit.xml writer (`compliance.session.junit`): the same document as pytest's own writer, with
nothing kept per finished test."""

from __future__ import annotations

import re
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Literal

import pytest
from _pytest.junitxml import LogXML

from compliance.session import junit
from compliance.session.junit import StreamedJUnit

SUITE = {
    "conftest.py": """
        import os
        from pathlib import Path

        import pytest


        def pytest_configure(config):
            target = os.environ.get("STREAMED_JUNIT")
            if target and not hasattr(config, "workerinput"):
                from compliance.session.junit import register_junit

                register_junit(config, Path(target))


        @pytest.fixture
        def broken_setup():
            raise RuntimeError("no setup \\x07 today")


        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("teardown went wrong")
    """,
    "test_mixed.py": """
        import pytest


        def _props(request, **values):
            request.node.user_properties.extend(values.items())


        def test_passes(request):
            _props(request, check_id="pass_check", controls="21CFR11.10(d)\\x01")


        @pytest.mark.parametrize("chain", ["qualio-prod", "eu<&>\\x1b"])
        def test_fails(request, chain):
            _props(request, check_id="fail_check", compliance_status="FAIL")
            assert chain == "other", "line one\\n" + "\\n".join(f"detail {n} " * 12 for n in range(20))


        def test_skips(request):
            _props(request, check_id="skip_check")
            pytest.skip("not applicable \\x02 here")


        @pytest.mark.skip(reason="marked off")
        def test_skip_marker():
            pass


        @pytest.mark.xfail(reason="known gap")
        def test_xfails():
            assert False


        @pytest.mark.xfail(reason="strict gap", strict=True)
        def test_xpasses_strict():
            pass


        def test_setup_error(broken_setup):
            pass


        def test_teardown_error_after_pass(request, broken_teardown):
            _props(request, check_id="teardown_check")


        def test_teardown_error_after_failure(request, broken_teardown):
            _props(request, check_id="double_check")
            assert 1 == 2


        class TestGrouped:
            def test_in_class(self):
                pass
    """,
    "test_broken_import.py": """
        import no_such_module_for_the_junit_test
    """,
    "test_skipped_module.py": """
        import pytest

        pytest.skip("whole module skipped", allow_module_level=True)
    """,
}

_VOLATILE = re.compile(r' (time|timestamp|hostname)="[^"]*"')


def _write_suite(pytester: pytest.Pytester) -> None:
    for name, text in SUITE.items():
        pytester.makepyfile(**{name.removesuffix(".py"): text})


def _run_both(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str,
              subprocess: bool = False) -> tuple[str, str]:
    """The suite once with pytest's --junitxml and once with the streamed writer; both documents' text."""
    _write_suite(pytester)
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    base = ("-p", "no:cacheprovider", "--continue-on-collection-errors", *args)
    ours, theirs = pytester.path / "streamed.xml", pytester.path / "pytest.xml"
    monkeypatch.delenv("STREAMED_JUNIT", raising=False)
    reference = run(*base, f"--junitxml={theirs}")
    monkeypatch.setenv("STREAMED_JUNIT", str(ours))
    streamed = run(*base)
    assert reference.ret == streamed.ret == pytest.ExitCode.TESTS_FAILED
    assert not ours.with_name(ours.name + junit.SPOOL_SUFFIX).exists()
    streamed.stdout.fnmatch_lines([f"*generated xml file: {ours}*"])
    return ours.read_text(encoding="utf-8"), theirs.read_text(encoding="utf-8")


def _shape(element: ET.Element) -> tuple[Any, ...]:
    attrs = {k: v for k, v in element.attrib.items() if k not in ("time", "timestamp", "hostname")}
    return element.tag, sorted(attrs.items()), element.text, element.tail, [_shape(c) for c in element]


def test_serial_run_writes_what_pytest_writes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Byte for byte, but for the run's times, timestamp and host."""
    ours, theirs = _run_both(pytester, monkeypatch)
    assert _VOLATILE.sub("", ours) == _VOLATILE.sub("", theirs)
    root = ET.fromstring(ours)
    assert _shape(root) == _shape(ET.fromstring(theirs))
    suite = root.find("testsuite")
    assert suite is not None
    counts = {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")}
    # pytest's count: 3 passed + 4 failures (one a strict xpass) + 4 skipped (one an xfail, one a module) + 4 errors
    # (one a collection error), less the teardown error after a passed call (one test, counted twice)
    assert counts == {"tests": "14", "failures": "4", "errors": "4", "skipped": "4"}, counts
    names = [c.get("name") for c in root.iter("testcase")]
    assert "test_fails[eu<&>\\x1b]" in names and names.count("test_teardown_error_after_failure") == 2
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["controls"] == "21CFR11.10(d)#x01"


def test_suite_name_and_prefix_are_honoured(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = _run_both(pytester, monkeypatch, "-o", "junit_suite_name=export-chain", "--junitprefix=pre")
    assert _VOLATILE.sub("", ours) == _VOLATILE.sub("", theirs)
    assert '<testsuite name="export-chain"' in ours and 'classname="pre.test_mixed"' in ours


def test_xdist_run_has_the_same_test_cases(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under -n 2 the cases arrive interleaved (keyed by node id and worker); the order is the run's. (--tb=short:
    a long traceback shows a frame's `nextitem`, which depends on how the run was scheduled.)"""
    ours, theirs = _run_both(pytester, monkeypatch, "-n", "2", "--tb=short", subprocess=True)
    mine, reference = ET.fromstring(ours), ET.fromstring(theirs)
    assert _shape(mine)[:2] == _shape(reference)[:2]
    (suite,), (ref_suite,) = mine.findall("testsuite"), reference.findall("testsuite")
    assert _shape(suite)[:2] == _shape(ref_suite)[:2]  # name and counts
    assert sorted(map(repr, map(_shape, suite))) == sorted(map(repr, map(_shape, ref_suite)))
    assert len(suite) >= 14


def test_other_junit_options_are_left_to_pytest(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Captured output in junit.xml is something only pytest's writer does: it writes the file then."""
    pytester.makepyfile(test_out="def test_prints():\n    print('hello out')\n")
    plugin_names: list[str | None] = []

    class Probe:
        def pytest_sessionfinish(self, session: pytest.Session) -> None:
            plugin_names.extend(session.config.pluginmanager.get_name(p)
                                for p in session.config.pluginmanager.get_plugins())

    target = pytester.path / "junit.xml"
    pytester.makeconftest(f"""
        from pathlib import Path
        from compliance.session.junit import register_junit

        def pytest_configure(config):
            register_junit(config, Path({str(target)!r}))
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-o", "junit_logging=system-out", plugins=[Probe()])
    assert result.ret == pytest.ExitCode.OK
    assert junit.PLUGIN_NAME not in plugin_names
    assert "hello out" in target.read_text(encoding="utf-8")


def _reports(n: int, fail_every: int = 7) -> Any:
    """setup/call/teardown reports of `n` tests, made as they are needed (a failure every few tests)."""
    for i in range(n):
        nodeid = f"compliance/checks/test_aws.py::test_check_{i % 54}[chain-{i // 54}]"
        location = ("compliance/checks/test_aws.py", i % 54, f"test_check_{i % 54}")
        props = [("check_id", f"check_{i % 54}"), ("compliance_status", "PASS"), ("severity", "high")]
        failed = i % fail_every == 0
        for when in ("setup", "call", "teardown"):
            outcome: Literal["passed", "failed"] = "failed" if failed and when == "call" else "passed"
            longrepr = "AssertionError: the role path differs\n" * 3 if outcome == "failed" else None
            yield pytest.TestReport(nodeid, location, {}, outcome, longrepr, when, duration=0.001,
                                    user_properties=props)


def _growth(writer: Any, warmup: int, measured: int) -> int:
    """Bytes still allocated after `measured` more tests than after `warmup` tests."""
    for report in _reports(warmup):
        writer.pytest_runtest_logreport(report)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for report in _reports(measured):
            writer.pytest_runtest_logreport(report)
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_finished_tests_leave_nothing_in_memory(tmp_path: Path) -> None:
    """2,000 more finished tests do not grow the writer (pytest's writer, the control, grows ~1 KB a test)."""
    writer = StreamedJUnit(tmp_path / "junit.xml")
    writer.pytest_sessionstart()
    growth = _growth(writer, 500, 2_000)
    assert writer.in_flight == {} and writer.spooled == 2_500
    assert growth < 32_000, growth
    control = LogXML(str(tmp_path / "control.xml"), None, family="xunit2")
    assert _growth(control, 500, 2_000) > 1_000_000
    writer.pytest_sessionfinish()
    root = ET.parse(tmp_path / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2500" and suite.get("failures") == str(72 + 286)
    assert len(suite) == 2_500 and not (tmp_path / ("junit.xml" + junit.SPOOL_SUFFIX)).exists()


def test_in_flight_is_empty_after_a_real_run(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(test_many="""
        import pytest

        @pytest.mark.parametrize("n", range(300))
        def test_n(n):
            assert n % 50
    """)
    writer = StreamedJUnit(tmp_path / "junit.xml")
    result = pytester.runpytest("-p", "no:cacheprovider", plugins=[writer])
    result.assert_outcomes(passed=294, failed=6)
    assert writer.in_flight == {} and writer.spooled == 300
    assert ET.parse(tmp_path / "junit.xml").getroot().find("testsuite") is not None


def test_a_failed_write_leaves_no_junit_xml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Half a junit.xml is worse than none: the manifest and `verify` then report it missing."""
    writer = StreamedJUnit(tmp_path / "junit.xml")
    writer.pytest_sessionstart()
    for report in _reports(20):
        writer.pytest_runtest_logreport(report)

    def disk_full(*_: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("shutil.copyfileobj", disk_full)
    writer.pytest_sessionfinish()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert "ERROR: junit.xml could not be written (OSError: [Errno 28] No space left on device)" in \
        capsys.readouterr().err


def test_an_empty_run_is_written_as_pytest_writes_it(tmp_path: Path) -> None:
    writer = StreamedJUnit(tmp_path / "junit.xml", suite_name="s")
    writer.pytest_sessionstart()
    writer.pytest_sessionfinish()
    text = _VOLATILE.sub("", (tmp_path / "junit.xml").read_text(encoding="utf-8"))
    assert text == ('<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="s" '
                    'errors="0" failures="0" skipped="0" tests="0" /></testsuites>')


def test_an_interrupted_test_is_written_as_pytest_writes_it(pytester: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in a test: no call or teardown report comes; both writers keep the case as it stands."""
    pytester.makepyfile(test_interrupt="""
        def test_before():
            pass

        def test_interrupted():
            raise KeyboardInterrupt
    """)
    ours, theirs = pytester.path / "streamed.xml", pytester.path / "pytest.xml"
    pytester.makeconftest(f"""
        import os
        from pathlib import Path
        from compliance.session.junit import register_junit

        def pytest_configure(config):
            if os.environ.get("STREAMED_JUNIT"):
                register_junit(config, Path({str(ours)!r}))
    """)
    run = pytester.runpytest_subprocess  # in-process, the KeyboardInterrupt would end this session too
    assert run("-p", "no:cacheprovider", f"--junitxml={theirs}").ret == pytest.ExitCode.INTERRUPTED
    monkeypatch.setenv("STREAMED_JUNIT", "1")
    assert run("-p", "no:cacheprovider").ret == pytest.ExitCode.INTERRUPTED
    text = ours.read_text(encoding="utf-8")
    assert _VOLATILE.sub("", text) == _VOLATILE.sub("", theirs.read_text(encoding="utf-8"))
    assert text.count("<testcase") == 2


def test_a_failed_spool_write_leaves_no_junit_xml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The spool cannot be written (here: its path is a directory): the run goes on, junit.xml is not written."""
    writer = StreamedJUnit(tmp_path / "junit.xml")
    writer.spool_path.mkdir()
    writer.pytest_sessionstart()
    for report in _reports(5):
        writer.pytest_runtest_logreport(report)
    assert writer.in_flight == {} and writer.spooled == 0
    writer.spool_path.rmdir()
    writer.pytest_sessionfinish()
    assert list(tmp_path.iterdir()) == []
    assert "ERROR: junit.xml could not be written (IsADirectoryError" in capsys.readouterr().err
