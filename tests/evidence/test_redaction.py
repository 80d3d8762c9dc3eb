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
