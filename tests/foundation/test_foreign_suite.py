"""Safe to install: a project's own test suite, with `chain` and `target` fixtures of its own, runs exactly as it
does without the package (the `pytest11` entry point loads the plugin into every pytest run of the environment).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

FOREIGN_CONFTEST = '''
import logging
import pytest

@pytest.fixture
def chain():
    return "blockchain-A"

@pytest.fixture
def target():
    return "foreign-target"

@pytest.fixture
def aws_snapshot():
    return {"foreign": True}
'''

FOREIGN_TESTS = '''
import logging
import pytest

def test_own_chain_fixture(chain):
    assert chain == "blockchain-A"

def test_own_target_fixture(target, chain):
    assert (target, chain) == ("foreign-target", "blockchain-A")

def test_own_snapshot_fixture(aws_snapshot):
    assert aws_snapshot == {"foreign": True}

@pytest.mark.parametrize("chain", ["left", "right"])
def test_own_parametrisation(chain):
    assert chain in ("left", "right")

class TestInClass:
    def test_chain_by_name(self, request):
        assert request.getfixturevalue("chain") == "blockchain-A"

def test_logging_untouched(caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("foreign").debug("token %s", "abc")
    assert caplog.records[0].args == ("abc",)
    assert caplog.records[0].getMessage() == "token abc"
'''

FOREIGN_GENERATE = '''
def pytest_generate_tests(metafunc):
    if "chain" in metafunc.fixturenames and metafunc.function.__name__ == "test_generated":
        metafunc.parametrize("chain", ["g1", "g2", "g3"])

def test_generated(chain):
    assert chain.startswith("g")
'''


def _outcomes(result: pytest.RunResult) -> list[str]:
    return sorted(line.split(" ", 1)[0] + " " + line.split(" ", 1)[1].split(" - ")[0]
                  for line in result.outlines if re.match(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) ", line))


@pytest.fixture
def foreign(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(FOREIGN_CONFTEST)
    pytester.makepyfile(test_foreign=FOREIGN_TESTS, test_generated=FOREIGN_GENERATE)
    return pytester


def test_foreign_suite_is_unaffected_by_the_installed_plugin(foreign: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    with_plugin = foreign.runpytest_subprocess("-rA", "-p", "no:cacheprovider")
    text = with_plugin.stdout.str() + with_plugin.stderr.str()
    with_plugin.assert_outcomes(passed=10)
    assert "Traceback" not in text and "INTERNALERROR" not in text
    assert "compliance:" not in text, "no compliance report header in a foreign run"
    leftovers = [p for p in Path(foreign.path).rglob("*") if p.suffix in (".xml", ".html", ".pdf", ".sha256")]
    assert not leftovers, f"a foreign run wrote report files: {leftovers}"
    assert not (foreign.path / "reports").exists()

    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    without = foreign.runpytest_subprocess("-rA", "-p", "no:cacheprovider")
    without.assert_outcomes(passed=10)
    assert _outcomes(with_plugin) == _outcomes(without)


def test_the_plugin_really_is_loaded_in_the_foreign_run(foreign: pytest.Pytester,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The proof above only counts if the entry point loaded the plugin: its options are there."""
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    result = foreign.runpytest_subprocess("--help")
    assert "--evidence-dir" in result.stdout.str()
    result = foreign.runpytest_subprocess("--evidence-dir", "somewhere", "-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=10)
    assert not (foreign.path / "somewhere").exists()
