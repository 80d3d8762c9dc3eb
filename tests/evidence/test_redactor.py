"""The Redactor and the logging-layer redaction, unit by unit, and the two DEBUG leaks of issue 13 end to end.

Each rule has a too-open case (a secret that must go) and a look-alike that must stay (text that is no secret).
"""

from __future__ import annotations

import json
import logging
import string
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.evidence.logredaction import LogRedaction
from compliance.redaction import Redactor

from .conftest import COMPLIANCE_DIR, reference_deployment

NAME = "EXPORT_EXTERNAL_ID"


@pytest.mark.parametrize("secret", ["ab", "Q7z", "a+b", "x.y", "(?)", "a\\b", "p*q", "[]", "^$"])
def test_short_secrets_and_their_encodings_are_redacted(secret: str) -> None:
    redactor = Redactor([(NAME, secret)])
    for form in {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
                 repr(secret)[1:-1], secret.upper(), secret.lower()}:
        text = redactor.text(f"<<{form}>>")
        assert text == f"<<«redacted:{NAME}»>>", (form, text)


def test_a_one_character_value_is_not_treated_as_a_secret() -> None:
    """AWS refuses an ExternalId under 2 characters; redacting one letter everywhere would destroy the report."""
    assert Redactor([(NAME, "a")]).text("a cat") == "a cat"


PRINTABLE = st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " ", min_size=2, max_size=64)


@settings(max_examples=200, deadline=None)
@given(secret=PRINTABLE, filler=PRINTABLE)
def test_generated_secrets_never_survive_and_marks_are_not_rematched(secret: str, filler: str) -> None:
    redactor = Redactor([(NAME, secret)])
    out = redactor.text(f"{filler}{secret}{filler}{json.dumps(secret)}{quote(secret, safe='')}")
    without_marks = out.replace(f"«redacted:{NAME}»", "\0")
    assert secret.lower() not in without_marks.lower(), out


def test_string_like_pattern_in_a_trust_policy_reveals_nothing() -> None:
    real = "qualio-7f3a9c2e1b4d8f6a0c5e9d"
    pattern = real[:25] + "*"
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Condition": {"StringLike": {"sts:ExternalId": pattern}}}]}
    redactor = Redactor()  # the pattern is not a known secret: it is found by its place in the policy
    for text in (json.dumps(policy), quote(json.dumps(policy)), f"<AssumeRolePolicyDocument>{quote(json.dumps(policy))}"
                 "</AssumeRolePolicyDocument>", repr({"AssumeRolePolicyDocument": policy}),
                 json.dumps(json.dumps(policy)), f"StringLike sts:ExternalId {pattern}; later {real[:25]}"):
        out = redactor.text(text + " and again " + real[:25])
        assert real[:25] not in out and quote(real[:25]) not in out, out


def test_condition_operands_that_are_no_secret_stay() -> None:
    """Look-alike: a Null check on sts:ExternalId names no value; its operand and the rest of the text stay."""
    policy = {"Condition": {"Null": {"sts:ExternalId": "false"}, "Bool": {"aws:SecureTransport": "true"}}}
    out = Redactor().text(json.dumps(policy) + " BlockPublicAcls: true")
    assert out == json.dumps(policy) + " BlockPublicAcls: true"


@pytest.mark.parametrize(("leak", "kept"), [
    ("headers={'X-Amz-Security-Token': b'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexample'}",
     "X-Amz-Security-Token"),
    ("Authorization: AWS4-HMAC-SHA256 Credential=ASIAIOSFODNN7EXAMPLE/20261129/us-east-1/iam/aws4_request",
     "Credential="),
    ("Signature=" + "a1" * 32, "Signature="),
    ("<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>", "<SecretAccessKey>"),
    ("{'SecretAccessKey': 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'SessionToken': 'FwoGZXIvYXdzEXAMPLE'}",
     "SessionToken"),
    ("https://a.blob.core.windows.net/c?sv=2025-05-05&sp=cw&sig=abc%2Bdef%3D", "sp=cw"),
    ("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=bWFkZS11cA==;EndpointSuffix=x", "AccountName=a"),
    ("Authorization: SharedKey devstoreaccount1:abcDEF123+/=", "SharedKey devstoreaccount1:"),
])
def test_credential_shapes_are_redacted(leak: str, kept: str) -> None:
    out = Redactor().text(leak)
    assert "«redacted»" in out and kept in out, out
    for secret in ("IQoJb3JpZ2lu", "ASIAIOSFODNN7EXAMPLE", "a1a1a1a1", "wJalrXUtnFEMI", "FwoGZXIv", "abc%2Bdef",
                   "bWFkZS11cA", "abcDEF123"):
        assert secret not in out


def test_credential_look_alikes_stay() -> None:
    text = "role AROA1234567890EXAMPLE, account 111122223333, design=signature, AKIA-like word AKIAS"
    assert Redactor().text(text) == text


def test_log_records_are_redacted_on_every_handler_and_restored(caplog: pytest.LogCaptureFixture) -> None:
    records: list[str] = []

    class Sink(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    logger = logging.getLogger("botocore.test-redaction")
    sink = Sink()
    logger.addHandler(sink)  # a handler the run inherits, installed before the redaction
    redaction = LogRedaction(lambda: Redactor([(NAME, "Q7z")]))
    redaction.install(wrap_streams=False)
    try:
        with caplog.at_level(logging.DEBUG):
            logger.debug("Response body: %s", "<ExternalId>Q7z</ExternalId>")
            try:
                raise ValueError("ExternalId Q7z refused")
            except ValueError:
                logger.exception("failed with %s", "q7Z")
    finally:
        redaction.uninstall()
        logger.removeHandler(sink)
    assert all("Q7z" not in line and "q7Z" not in line for line in records), records
    assert all("Q7z" not in r.getMessage() and "Q7z" not in (r.exc_text or "") for r in caplog.records)
    assert "«redacted:EXPORT_EXTERNAL_ID»" in records[0]
    logger.addHandler(sink)
    try:
        logger.warning("after %s", "Q7z")  # uninstalled: a foreign run's records are untouched
    finally:
        logger.removeHandler(sink)
    assert records[-1].endswith("after Q7z")


# --- issue 13's two DEBUG leaks, end to end ----------------------------------------------------------------------


def _run_debug(pytester: pytest.Pytester, external_id: str, deployment: dict[str, object]) -> tuple[str, Path]:
    path = pytester.path / "deployment.json"
    path.write_text(json.dumps(deployment), encoding="utf-8")
    evidence = pytester.path / "evidence"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXPORT_EXTERNAL_ID", external_id)
        mp.setenv("AZURE_BACKUP_SAS", "sv=2025-05-05&sp=cw&se=2027-06-30T00:00:00Z&sr=c&spr=https&sig=c2lnbmF0dXJl")
        result = pytester.runpytest_subprocess(
            str(COMPLIANCE_DIR), "--evidence-dir", str(evidence), "--deployment", str(path), "-k", "aws_trust",
            "--log-cli-level=DEBUG", "--log-level=DEBUG", "-o", "junit_logging=all", "-rA")
    terminal = "\n".join(result.outlines + result.errlines)
    assert result.ret in (0, 1), terminal[-3000:]
    text = terminal
    for file in sorted(evidence.rglob("*")):
        if file.is_file() and file.suffix in (".html", ".xml", ".json"):
            text += "\n" + file.read_text(encoding="utf-8", errors="replace")
    return text, evidence


def test_three_character_external_id_at_debug_level(pytester: pytest.Pytester) -> None:
    text, _ = _run_debug(pytester, "@,@", reference_deployment())
    assert "botocore" in text, "botocore's DEBUG log reached the outputs"
    for form in ("@,@", "%40%2C%40", "%40,%40"):
        assert form not in text, form


def test_string_like_pattern_at_debug_level(pytester: pytest.Pytester) -> None:
    external_id = "qualio-7f3a9c2e1b4d8f6a0c5e9d"
    deployment = reference_deployment()
    role = deployment["aws"]["accounts"]["111122223333"]["roles"][0]
    role["trust_policy"]["Statement"][0]["Condition"] = {"StringLike": {"sts:ExternalId": external_id[:25] + "*"}}
    text, _ = _run_debug(pytester, external_id, deployment)
    assert "«redacted" in text
    for form in (external_id[:25], quote(external_id[:25]), external_id[:20]):
        assert form not in text, form


def test_live_runs_redact_their_own_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from compliance.state import RunState, Target

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-live-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-live-value")
    live = RunState(Target.LIVE, Path("c.toml"), None, Path("r"), {})
    assert "wJalrXUtnFEMI" not in live.redactor().text("key wJalrXUtnFEMI-live-secret token session-token-live-value")
    assert "session-token-live-value" not in live.redactor().text("session-token-live-value")
    emulated = RunState(Target.MOTO, Path("c.toml"), None, Path("r"), {})  # look-alike: moto's fake keys stay
    assert emulated.redactor().text("wJalrXUtnFEMI-live-secret") == "wJalrXUtnFEMI-live-secret"
    assert Redactor().json({"ExternalId": "abc", "external_id_env": "EXPORT_EXTERNAL_ID"}) == {
        "ExternalId": "«redacted»", "external_id_env": "EXPORT_EXTERNAL_ID"}


@pytest.mark.parametrize("filter_kind", ["azure_http", "pytest_handlers"])
def test_a_malformed_log_call_is_redacted_by_each_filter(filter_kind: str) -> None:
    """A log call whose format does not match its arguments must not carry the SAS past the filter (logging would
    print the arguments when it fails to format them)."""
    from compliance.azure.logredact import RedactingFilter as HttpFilter
    from compliance.session.capture import RedactingFilter as HandlerFilter

    sas = "sv=2025-05-05&sp=cw&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
    redactor = Redactor([("AZURE_BACKUP_SAS", sas)])
    log_filter = HttpFilter(lambda: redactor) if filter_kind == "azure_http" else HandlerFilter(lambda: redactor)
    record = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1, "GET %s %s", (f"/c?{sas}",),
                               None)
    assert log_filter.filter(record)
    assert record.args is None and "c2VjcmV0" not in record.getMessage()
