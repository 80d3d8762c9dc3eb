"""Property: generated ExternalIds and SAS tokens never appear in any byte the run writes or prints.

Each example runs the AWS checks in-process with the secrets in the environment (the moto target
provisions the ExternalId into the trust policy) and with a plugin that behaves like a careless check:
it prints and logs both secrets. The HTML (including its base64 extras), evidence.json, the PDF's text and
embedded files, junit.xml with
`junit_logging=all`, the manifest, and the terminal output (with live logging and `-rA`) are searched.
"""

from __future__ import annotations

import base64
import html
import json
import re
import string
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import COMPLIANCE_DIR, failing_deployment, reference_deployment

LEAKY_PLUGIN = '''
import logging, os, sys
import pytest

@pytest.fixture(autouse=True)
def careless_check_output():
    xid, sas = os.environ["EXPORT_EXTERNAL_ID"], os.environ["AZURE_BACKUP_SAS"]
    print(f"debug: assuming with ExternalId={xid} and SAS {sas}")
    print(f"stderr: https://contosoaudit.blob.core.windows.net/audit-backup?{sas}", file=sys.stderr)
    logging.getLogger("careless").warning("ExternalId %s, token %s", xid, sas)
    yield
    print(f"teardown: {xid}")
'''

EXTERNAL_ID_CHARS = string.ascii_letters + string.digits + "+=,.@:/-_"
BASE64_CHARS = string.ascii_letters + string.digits + "+/"
_DATA_URI = re.compile(r"data:[\w/+.-]+(?:;charset=[\w-]+)?;base64,([A-Za-z0-9+/=]+)")


def _distinctive(value: str) -> bool:
    return len(set(value)) >= 6


external_ids = st.text(alphabet=EXTERNAL_ID_CHARS, min_size=12, max_size=64).filter(_distinctive)
signatures = st.text(alphabet=BASE64_CHARS, min_size=43, max_size=43).filter(_distinctive).map(lambda s: s + "=")


@st.composite
def sas_tokens(draw: st.DrawFn) -> tuple[str, str]:
    """(token, signature): a container SAS as the Azure portal issues it (signature URL-encoded)."""
    sig = draw(signatures)
    permissions = draw(st.sampled_from(["cw", "c", "w", "racwdl"]))
    token = f"sv=2025-05-05&sp={permissions}&se=2027-06-30T00:00:00Z&sr=c&spr=https&sig={quote(sig, safe='')}"
    return token, sig


def _forms(secret: str) -> set[str]:
    forms = {secret, html.escape(secret), json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret),
             unquote(secret), html.escape(json.dumps(secret)[1:-1])}
    return {f for f in forms if len(f) >= 12}


def _all_output(evidence: Path, terminal: str) -> dict[str, str]:
    texts = {"terminal": terminal}
    for path in sorted(evidence.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            texts[str(path.relative_to(evidence))] = text
            for n, match in enumerate(_DATA_URI.finditer(html.unescape(text))):
                texts[f"{path.name} data-uri #{n}"] = base64.b64decode(match.group(1)).decode("utf-8", "replace")
            if path.suffix == ".pdf":  # its text streams are compressed: search the extracted text and attachments
                from pypdf import PdfReader

                reader = PdfReader(path)
                texts[f"{path.name} text"] = "\n".join(page.extract_text() or "" for page in reader.pages)
                for name, contents in reader.attachments.items():
                    texts[f"{path.name} embedded {name}"] = b"".join(contents).decode("utf-8", "replace")
    return texts


@settings(max_examples=5, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(external_id=external_ids, sas=sas_tokens(), failing=st.booleans())
def test_secrets_never_reach_any_output(pytester: pytest.Pytester, external_id: str, sas: tuple[str, str],
                                        failing: bool) -> None:
    token, signature = sas
    pytester.makepyfile(leaky_check_plugin=LEAKY_PLUGIN)
    pytester.syspathinsert()
    example = len(list(pytester.path.glob("evidence-*")))
    evidence = pytester.path / f"evidence-{example}"
    deployment = pytester.path / f"deployment-{example}.json"
    deployment.write_text(json.dumps(failing_deployment() if failing else reference_deployment()), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXPORT_EXTERNAL_ID", external_id)
        mp.setenv("AZURE_BACKUP_SAS", token)
        result = pytester.runpytest(
            str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), "-k", "aws", "--deployment", str(deployment),
            "--fuzz-examples", "5", "-p", "leaky_check_plugin", "-rA", "-o", "junit_logging=all",
            "-o", "log_cli=true", "-o", "log_cli_level=WARNING")
    terminal = "\n".join(result.outlines + result.errlines)
    assert "«redacted" in terminal, "the planted output reached the terminal, redacted"
    assert result.ret in (0, 1), terminal
    texts = _all_output(evidence, terminal)
    assert any(name.endswith("junit.xml") and "«redacted" in text for name, text in texts.items())
    for secret in (external_id, token, signature):
        for form in _forms(secret):
            leaks = [name for name, text in texts.items() if form in text]
            assert not leaks, f"secret form {form!r} found in {leaks}"


# --- every log level, -s, -vv, --tb=long; secrets of 2 to 64 characters ------------------------------------------

DEBUG_LEAKY_PLUGIN = '''
import logging, os, sys
import pytest

@pytest.fixture(autouse=True)
def careless_debug_output(request):
    xid, sas = os.environ["EXPORT_EXTERNAL_ID"], os.environ["AZURE_BACKUP_SAS"]
    print(f"debug: ExternalId \\u27e6{xid}\\u27e7 and SAS {sas}")
    print(f"stderr: \\u27e6{xid}\\u27e7", file=sys.stderr)
    logging.getLogger("careless").debug("ExternalId \\u27e6%s\\u27e7 token %s", xid, sas)
    logging.getLogger("botocore.careless").debug("params {'ExternalId': '%s'}", xid)
    if "external_id_condition" in request.node.name:
        raise RuntimeError(f"boom: ExternalId \\u27e6{xid}\\u27e7 rejected")
    yield
'''

REGEX_SPECIAL = "*?()[]{}|^$\\.+"
SHORT_SECRET_CHARS = string.ascii_letters + string.digits + "+=,.@:/-_" + REGEX_SPECIAL
short_or_long_ids = st.text(alphabet=SHORT_SECRET_CHARS, min_size=2, max_size=64).filter(
    lambda s: s.strip() == s and s.lower() not in ("true", "false"))


def _views(text: str) -> list[str]:
    """The text, and as it reads URL-, HTML- and JSON-decoded (where a short secret would hide)."""
    from urllib.parse import unquote_plus

    views = [text]
    for _ in range(2):
        views.append(html.unescape(unquote_plus(views[-1])).replace('\\"', '"').replace("\\\\", "\\"))
    return views


def _planted_leaks(secret: str, texts: dict[str, str]) -> list[str]:
    """Where a secret shows in a planted context (⟦secret⟧, ExternalId condition or parameter), in any encoding."""
    escaped = re.escape(secret)
    contexts = [re.compile("\u27e6" + escaped + "\u27e7"),
                re.compile(r"(?i)ExternalId[\"']\s*:\s*\[?\s*[\"']" + escaped + "[\"']")]
    return [name for name, text in texts.items() for view in _views(text)
            if any(pattern.search(view) for pattern in contexts)]


@settings(max_examples=4, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(external_id=short_or_long_ids, sas=sas_tokens(), no_capture=st.booleans())
def test_secrets_never_reach_any_output_at_debug_level(pytester: pytest.Pytester, external_id: str,
                                                       sas: tuple[str, str], no_capture: bool) -> None:
    """DEBUG logging (botocore's too) on the console, in captured logs, -s, -vv and --tb=long: nothing leaks."""
    token, signature = sas
    pytester.makepyfile(debug_leaky_plugin=DEBUG_LEAKY_PLUGIN)
    example = len(list(pytester.path.glob("evidence-*")))
    evidence = pytester.path / f"evidence-{example}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXPORT_EXTERNAL_ID", external_id)
        mp.setenv("AZURE_BACKUP_SAS", token)
        mp.setenv("PYTHONPATH", str(pytester.path))
        args = [str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), "-k", "aws_trust or aws_role",
                "--fuzz-examples", "3", "-p", "debug_leaky_plugin", "-rA", "-vv", "--tb=long",
                "--log-level=DEBUG", "-o", "log_cli=true", "-o", "log_cli_level=DEBUG", "-o", "junit_logging=all"]
        result = pytester.runpytest_subprocess(*args, *(["-s"] if no_capture else []))
    terminal = "\n".join(result.outlines + result.errlines)
    assert result.ret in (0, 1), terminal[-3000:]
    assert "«redacted" in terminal
    texts = _all_output(evidence, terminal)
    for secret in (external_id, signature):
        leaks = _planted_leaks(secret, texts)
        assert not leaks, f"secret {secret!r} found in a planted context in {leaks}"
        if len(secret) >= 12:
            for form in _forms(secret):
                leaks = [name for name, text in texts.items() if form in text]
                assert not leaks, f"secret form {form!r} found in {leaks}"
    assert token not in terminal
