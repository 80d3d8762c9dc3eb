"""Redaction at the point where evidence is created.

Secrets (ExternalId values, SAS signatures and tokens, account keys, session credentials) are
replaced before any evidence object, log line or exception text leaves a check. Three layers:
known secret values (from the environment variables the chain config names), structural secrets
(every value of an `sts:ExternalId` condition in any policy), and patterns (SAS `sig=`, account
keys, AWS secret keys and session tokens).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MARK = "«redacted»"

_PATTERNS = (
    re.compile(r"(?i)(\bsig(?:=|%3D))[^&\s\"'<>]+"),
    re.compile(r"(?i)(AccountKey=)[^;\s\"'<>]+"),
    re.compile(r"(?i)(SharedAccessSignature=)[^;\s\"'<>]+"),
    re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*)\S+"),
    re.compile(r"(?i)(aws_session_token\s*[=:]\s*)\S+"),
    re.compile(r"(?i)(\"?(?:SecretAccessKey|SessionToken)\"?\s*[:=]\s*\"?)[^\",\s}]+"),
    re.compile(r"(?i)(X-Amz-Security-Token['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}&]+"),
    re.compile(r"(?i)([?&]X-Amz-Signature=)[^&\s\"'<>]+"),
)
_EXTERNAL_ID_KEY = "sts:externalid"
_SECRET_FIELDS = frozenset({"secretaccesskey", "sessiontoken", "aws_secret_access_key", "aws_session_token",
                            "accountkey", "account_key", "sig", "sas", "sas_token", "credential"})


class Redactor:
    """Replaces secrets in strings and JSON values. Build one per run from the known secrets."""

    def __init__(self, secrets: Iterable[tuple[str, str]] = ()) -> None:
        pairs = [(name, value) for name, value in secrets if value and len(value) >= 4]
        pairs.sort(key=lambda p: len(p[1]), reverse=True)
        self._secrets = pairs
        variants = {(name, form) for name, value in pairs for form in _encodings(value)}
        self._needles = sorted(variants, key=lambda p: len(p[1]), reverse=True)

    def with_secret(self, name: str, value: str | None) -> Redactor:
        if not value:
            return self
        return Redactor([*self._secrets, (name, value)])

    @property
    def secret_values(self) -> tuple[str, ...]:
        return tuple(v for _, v in self._secrets)

    def text(self, value: str) -> str:
        for name, secret in self._needles:
            if secret in value:
                value = value.replace(secret, f"«redacted:{name}»")
        for pattern in _PATTERNS:
            value = pattern.sub(lambda m: m.group(1) + MARK, value)
        return value

    def json(self, value: Any) -> Any:
        """Redact a JSON value: known secrets, ExternalId condition values, credential fields."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self.json(v) for v in value]
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                skey = str(key)
                if skey.lower() == _EXTERNAL_ID_KEY and not isinstance(item, Mapping):
                    out[skey] = _mask(item)
                elif skey.lower() in _SECRET_FIELDS and isinstance(item, str):
                    out[skey] = MARK
                else:
                    out[self.text(skey)] = self.json(item)
            return out
        return value


def _mask(item: Any) -> Any:
    if isinstance(item, list | tuple):
        return [MARK for _ in item]
    return MARK


def _encodings(value: str) -> set[str]:
    """The forms a secret takes once URL-, HTML- or JSON-encoded, so none of them slips through."""
    forms = {value, quote(value, safe=""), quote_plus(value), html.escape(value), json.dumps(value)[1:-1]}
    return {form for form in forms if len(form) >= 4}
