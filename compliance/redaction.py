"""Secret redaction: a neutral low module, so the chain, Azure, run-state and evidence code share one Redactor.

Secrets (ExternalId values, SAS signatures and tokens, account keys, session credentials) are
replaced before any evidence object, log line or exception text leaves a check. Three layers:
known secret values (from the environment variables the chain config names), structural secrets
(every value of an `sts:ExternalId` condition in any policy), and patterns (SAS `sig=`, account
keys, AWS secret keys and session tokens).
"""

from __future__ import annotations

import html
import json
import logging
import re
import traceback
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

MARK = "«redacted»"
MIN_SECRET = 2
"""The shortest secret redacted: AWS accepts an ExternalId of 2 to 1,224 characters (IAM User Guide, "IAM and AWS
STS quotas", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)."""

_PATTERNS = (
    re.compile(r"(?i)(\bsig(?:=|%3D|%253D))[^&\s\"'<>]+"),
    re.compile(r"(?i)(AccountKey(?:=|%3D))[^;\s\"'<>]+"),
    re.compile(r"(?i)(SharedAccessSignature=)[^;\s\"'<>]+"),
    re.compile(r"(?i)(SharedKey(?:Lite)? [^:\s'\"]+:)[A-Za-z0-9+/=]+"),
    re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*)\S+"),
    re.compile(r"(?i)(aws_session_token\s*[=:]\s*)\S+"),
    re.compile(r"(?i)([\"']?(?:SecretAccessKey|SessionToken|SecretKey)[\"']?\s*[:=]\s*b?[\"']?)[^\"',\s}]+"),
    re.compile(r"(?i)(<(?:SecretAccessKey|SessionToken|SecretKey)>)[^<]+"),
    re.compile(r"(?i)(X-Amz-Security-Token['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,}&]+"),
    re.compile(r"(?i)([?&]X-Amz-(?:Signature|Security-Token|Credential)=)[^&\s\"'<>]+"),
    re.compile(r"(Signature=)[0-9a-f]{64}"),
    re.compile(r"()\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    re.compile(r"()\b(?:IQoJ|FwoG|FQoG)[A-Za-z0-9+/=]{40,}"),
)
_EXTERNAL_ID_KEY = "sts:externalid"
_SECRET_FIELDS = frozenset({"secretaccesskey", "sessiontoken", "aws_secret_access_key", "aws_session_token",
                            "accountkey", "account_key", "sig", "sas", "sas_token", "credential", "externalid",
                            "client_secret", "password"})
_NOT_SECRETS = frozenset({"true", "false"})  # the operands of a Null or Bool condition on sts:ExternalId

_QUOTE = r"[\"']"
_CONDITION_VALUE = re.compile(
    r"(?i)sts:ExternalId" + _QUOTE + r"\s*:\s*(\[[^\]]*\]|" + _QUOTE + r"[^\"']*" + _QUOTE + ")")
_LITERAL = re.compile(r"[\"']([^\"']*)[\"']")
SENTENCE = re.compile(
    r"(?i)((?:\b(?:String|ForAnyValue:|ForAllValues:|Null|Arn|Binary)[A-Za-z:]* )?sts:ExternalId is |"
    r"\b(?:String|ForAnyValue:|ForAllValues:|Null|Arn|Binary)[A-Za-z:]* sts:ExternalId )([^\s;]+(?:, [^\s;]+)*)")
"""The engine's sentences that quote an ExternalId condition's values (``StringLike sts:ExternalId abc*``)."""


class Redactor:
    """Replaces secrets in strings and JSON values. Build one per run from the known secrets.

    Known values are matched in every encoded form (URL, HTML, JSON, Python repr) and in any letter case, in one
    pass, so a short secret can never match inside a mark already written. The values of every `sts:ExternalId`
    condition a text quotes (a policy document in JSON, URL-encoded in an IAM response, or a Python repr in a
    botocore log line; a `StringLike` pattern reveals its literal characters) are redacted wherever they occur.
    """

    def __init__(self, secrets: Iterable[tuple[str, str]] = ()) -> None:
        pairs = [(name, value) for name, value in secrets if value and len(value) >= MIN_SECRET]
        pairs.sort(key=lambda p: len(p[1]), reverse=True)
        self._secrets = pairs
        variants = {(name, form) for name, value in pairs for form in _encodings(value)}
        self._needles = sorted(variants, key=lambda p: len(p[1]), reverse=True)
        self._names = {form.casefold(): name for name, form in reversed(self._needles)}
        self._regex = (re.compile("|".join(re.escape(form) for _, form in self._needles), re.IGNORECASE)
                       if self._needles else None)

    def with_secret(self, name: str, value: str | None) -> Redactor:
        if not value:
            return self
        return Redactor([*self._secrets, (name, value)])

    @property
    def secret_values(self) -> tuple[str, ...]:
        return tuple(v for _, v in self._secrets)

    def _mark(self, match: re.Match[str]) -> str:
        return f"«redacted:{self._names.get(match.group(0).casefold(), 'secret')}»"

    def text_known(self, value: str) -> str:
        """Only the known values (no structural or credential patterns)."""
        return self._regex.sub(self._mark, value) if self._regex is not None else value

    def text(self, value: str) -> str:
        if self._regex is not None:
            value = self._regex.sub(self._mark, value)
        value = _condition_values(value)
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


def _decoded_views(value: str) -> list[str]:
    """The text as written, and as it reads once URL-, HTML- or JSON-string-decoded (twice for nested forms)."""
    views = [value]
    current = value
    for _ in range(2):
        current = html.unescape(unquote_plus(current)).replace('\\"', '"').replace("\\\\", "\\")
        if current in views:
            break
        views.append(current)
    return views


def _condition_values(value: str) -> str:
    """Redact the values every quoted `sts:ExternalId` condition holds, in every form they occur in `value`."""
    if "externalid" not in value.casefold():
        return value
    found: set[str] = set()
    for view in _decoded_views(value):
        for match in _CONDITION_VALUE.finditer(view):
            found.update(_LITERAL.findall(match.group(1)))
        for match in SENTENCE.finditer(view):
            found.update(part.strip().strip("\"'") for part in match.group(2).split(","))
    # a StringLike pattern reveals its literal runs: each is redacted wherever it occurs, as the whole value is
    pieces = {piece for v in found for piece in re.split(r"[*?]", v) if piece != v}
    secrets = [("sts:ExternalId", v) for v in found | pieces
               if len(v) >= MIN_SECRET and v.casefold() not in _NOT_SECRETS]
    if secrets:
        value = Redactor(secrets).text_known(value)
    return SENTENCE.sub(lambda m: m.group(1) + MARK, value)


def _mask(item: Any) -> Any:
    if isinstance(item, list | tuple):
        return [MARK for _ in item]
    return MARK


def _encodings(value: str) -> set[str]:
    """The forms a secret takes once URL-, HTML-, JSON- or repr-encoded, so none of them slips through."""
    forms = {value, quote(value, safe=""), quote(value), quote_plus(value), html.escape(value),
             json.dumps(value)[1:-1], repr(value)[1:-1], quote(quote(value, safe=""), safe=""),
             html.escape(json.dumps(value)[1:-1])}
    # nested string escapes: a repr inside a JSON log record, or JSON inside the HTML report's JSON blob
    # and a JSON-escaped value URL-encoded (an IAM response's policy document, as botocore's debug log prints it)
    nested = {escaped for form in forms for escaped in (json.dumps(form)[1:-1], repr(form)[1:-1],
                                                         html.escape(json.dumps(form)[1:-1]),
                                                         quote(json.dumps(form)[1:-1], safe=""),
                                                         quote(json.dumps(form)[1:-1]),
                                                         quote_plus(json.dumps(form)[1:-1]))}
    return {form for form in forms | nested if len(form) >= MIN_SECRET}


def redact_log_record(record: logging.LogRecord, redactor: Redactor) -> None:
    """Replace the record's message (format applied), exception and stack text by their redacted form."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed format string: keep its parts, redacted; a log call must not break the run
        message = f"{record.msg} {record.args}"
    record.msg = redactor.text(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redactor.text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redactor.text(record.exc_text)
    if record.stack_info:
        record.stack_info = redactor.text(record.stack_info)
