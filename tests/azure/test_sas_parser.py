"""Direct unit tests for the SAS parser and the pure analysis helpers (no Azurite needed)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from compliance.azure import analysis
from compliance.azure.analysis import PolicyState, StoredPolicy
from compliance.azure.sas import SasFormatError, parse_sas

from .azure_helpers import make_account_sas, make_sas, signature_of

SIG = base64.b64encode(bytes(range(32))).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def test_container_sas_fields() -> None:
    token = parse_sas(make_sas("cw", days=30))
    assert token.kind == "service" and token.resource == "c" and token.permissions == "cw"
    assert token.protocol == "https" and token.https_only
    assert token.start is not None and token.expiry is not None and token.expiry > token.start
    assert "sig" not in {k for k, v in token.to_json().items() if v and v != "present (not recorded)"}


def test_full_url_and_leading_question_mark_are_accepted() -> None:
    sas = make_sas("cw")
    assert parse_sas("?" + sas) == parse_sas(sas)
    assert parse_sas(f"https://acct.blob.core.windows.net/audit-backup?{sas}") == parse_sas(sas)


def test_account_sas() -> None:
    token = parse_sas(make_account_sas())
    assert token.is_account_sas and token.services == "b" and token.resource_types == "sco"
    assert set(token.permissions or "") == {"c", "w"}
    assert "account SAS" in analysis.describe_scope(token)


def test_policy_sas_has_no_permissions_or_expiry() -> None:
    token = parse_sas(make_sas(None, policy_id="backup-writer", start_days=None))
    assert token.policy_id == "backup-writer" and token.permissions is None and token.expiry is None


def test_user_delegation_fields() -> None:
    text = ("sv=2025-11-05&sr=c&sp=cw&st=2026-11-01T00:00:00Z&se=2026-12-01T00:00:00.1234567Z&spr=https"
            "&skoid=11111111-2222-3333-4444-555555555555&sktid=66666666-7777-8888-9999-000000000000"
            "&skt=2026-11-01T00:00:00Z&ske=2026-12-01T00:00:00Z&sks=b&skv=2025-11-05&sdd=2&sip=203.0.113.1-203.0.113.9"
            f"&sig={SIG}")
    token = parse_sas(text)
    assert token.kind == "user-delegation" and token.directory_depth == 2 and token.ip_range
    assert token.delegation["skoid"].startswith("1111") and token.delegation["sks"] == "b"
    assert token.expiry == datetime(2026, 12, 1, 0, 0, 0, 123456, tzinfo=UTC)
    method, how = analysis.revocation(analysis.resolve(token, None))
    assert method == "user delegation key" and "revoke-delegation-keys" in how


BASE = "sv=2025-11-05&sr=c&sp=cw&se=2027-01-01T00:00:00Z"
MALFORMED = {
    "": "empty",
    "sv=2025-11-05&sr=c&sp=cw&se=2027-01-01T00:00:00Z": "no signature",
    f"{BASE}&sig=QUJD": "wrong length",
    f"{BASE}&sig=!!notbase64": "not valid base64",
    f"{BASE}&sp=cw&sig={SIG}": "more than once",
    f"sv=2025-11-05&sr=c&sp=cw&se=tomorrow&sig={SIG}": "ISO 8601",
    f"sv=2025-11-05&sr=c&sp=cwz&se=2027-01-01T00:00:00Z&sig={SIG}": "unknown permission letters 'z'",
    f"sv=2025-11-05&sr=c&sp=cw&sig={SIG}": "lacks sp or se",
    f"sv=2025-11-05&sp=cw&se=2027-01-01T00:00:00Z&sig={SIG}": "neither sr",
    f"sv=2025-11-05&ss=b&srt=o&sp=cw&sig={SIG}": "no se field",
    f"{BASE}&st=2027-02-01T00:00:00Z&sig={SIG}": "not after its start",
    f"{BASE}&spr=ftp&sig={SIG}": "spr must be",
    f"{BASE}&sip=10.0.0.999&sig={SIG}": "sip",
    f"sr=c&sp=cw&se=2027-01-01T00:00:00Z&sig={SIG}": "signed version",
    "this is not a sas": "query string",
}


@pytest.mark.parametrize("text", sorted(MALFORMED), ids=lambda t: MALFORMED[t].replace(" ", "-"))
def test_malformed_is_one_sentence_without_the_token(text: str) -> None:
    with pytest.raises(SasFormatError) as info:
        parse_sas(text)
    message = str(info.value)
    assert MALFORMED[text] in message
    assert "\n" not in message and message.endswith(".")
    assert SIG not in message and "QUJD" not in message and "notbase64" not in message


def test_truncated_real_sas() -> None:
    sas = make_sas("cw")
    with pytest.raises(SasFormatError, match="truncated") as info:
        parse_sas(sas[: sas.index("sig=") + 12])
    assert signature_of(sas)[:8] not in str(info.value)


def test_excess_permissions_and_append() -> None:
    assert analysis.excess_permissions("cw", allow_append=False) == []
    assert analysis.excess_permissions("acw", allow_append=False) == ["a (add (append))"]
    assert analysis.excess_permissions("acw", allow_append=True) == []
    assert [p[0] for p in analysis.excess_permissions("racwdxyltfmeopi", allow_append=False)] == list(
        "radxyltfmeopi")


def test_policy_resolution() -> None:
    token = parse_sas(make_sas(None, policy_id="pol", start_days=None))
    now = datetime.now(UTC)
    policy = StoredPolicy("pol", "cw", now - timedelta(days=1), now + timedelta(days=30))
    found = analysis.resolve(token, {"pol": policy})
    assert found.policy_state is PolicyState.FOUND and found.permissions == "cw" and found.expiry == policy.expiry
    assert "stored access policy" in found.source_of("expiry")
    assert analysis.resolve(token, {}).policy_state is PolicyState.MISSING
    assert analysis.resolve(token, None).policy_state is PolicyState.UNREADABLE
    assert analysis.revocation(found)[0] == "stored access policy"
    plain = analysis.resolve(parse_sas(make_sas("cw")), None)
    assert plain.policy_state is PolicyState.NONE
    assert analysis.revocation(plain)[0] == "account key rotation"
