"""The adversarial corpus: cases as data (one JSON file per case under cases/), and how each becomes a chain.

A case is the reference deployment (compliance/data/reference-deployment.json) and the reference chain
(compliance/data/reference-chain.toml) with a change, written from the AWS/Azure documentation:

* `deployment.patch`: RFC 6902 operations (add, replace, remove) on the reference deployment, written with
  the reference names (account 111122223333, buckets `company-audit-*`). Each case is then placed in its own
  account and its own bucket names (`rename`), so one moto server holds every case.
* `provision`: plain boto3 calls made after the deployment is provisioned, for what the deployment format
  cannot say (a disabled key, a grant, an access point, an OIDC provider, a deleted log bucket).
* `org`: SCPs and RCPs attached to the case's own OU (besides a renamed copy of the reference SCP).
* `chain`: keys merged into the case's `[[chains]]` entry (`vendor`, `aws`, `azure` tables).
* `expect`: `{"fail": [check ids]}` for a broken chain; `{"all_pass": true, "pass": [...]}` for a secure
  look-alike (every AWS check PASS / NOT APPLICABLE / NOT SUPPORTED; the listed checks PASS exactly);
  `{"error": [check ids]}` for a chain the suite cannot judge from what it may read (ERROR, never PASS).

Placeholders in a case: `{{org:id}}`, `{{org:root}}`, `{{org:ou}}` (the case's OU), `{{kms:ALIAS}}` and
`{{env:NAME}}` (resolved by the provisioner), `{{date:+N}}` (UTC now + N days, ISO 8601 seconds).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from compliance.targets.deployment import reference_deployment_path

CASES_DIR = Path(__file__).resolve().parent / "cases"
CUSTOMER = "111122223333"
MANAGEMENT = "222233334444"
VENDOR = "999988887777"
OUTSIDER = "666677778888"  # an account outside the organization (the attacker's own)
ORG_MEMBER = "555566667777"  # another member account of the customer's organization (not the customer)
ACCOUNT_ALIASES = {"customer": CUSTOMER, "management": MANAGEMENT, "vendor": VENDOR, "outsider": OUTSIDER,
                   "org_member": ORG_MEMBER}
REFERENCE_SCP = "ProtectAuditRecords"

_CASE_KEYS = {"id", "kind", "idea", "doc", "deployment", "provision", "org", "chain", "env", "expect", "known",
              "needs"}
_EXPECT_KEYS = {"fail", "all_pass", "pass", "error"}
_PLACEHOLDER = re.compile(r"\{\{(org|date):([A-Za-z0-9_+-]+)\}\}")


class Kind(StrEnum):
    BROKEN = "broken"
    SECURE = "secure"
    UNVERIFIABLE = "unverifiable"  # what the verdict needs cannot be read: ERROR naming the read, never PASS


class CaseError(ValueError):
    """A case file that does not follow the format: one line naming the file, the key and the fix."""


@dataclass(frozen=True, slots=True)
class Expect:
    fail: tuple[str, ...] = ()
    all_pass: bool = False
    must_pass: tuple[str, ...] = ()
    error: tuple[str, ...] = ()

    @property
    def named_checks(self) -> tuple[str, ...]:
        return self.fail + self.must_pass + self.error


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    kind: Kind
    idea: str
    doc: Mapping[str, str]
    patch: tuple[Mapping[str, Any], ...]
    provision: tuple[Mapping[str, Any], ...]
    org: Mapping[str, Any]
    chain: Mapping[str, Any]
    env: Mapping[str, str]
    expect: Expect
    known: str | None
    needs: str | None
    source: str


@dataclass(frozen=True, slots=True)
class Placement:
    """Where case number `n` lives on the shared moto server."""

    n: int

    @property
    def account(self) -> str:
        return f"{510000000000 + self.n * 10101:012d}"

    @property
    def chain_id(self) -> str:
        return f"adv-{self.n:03d}"

    def rename(self, value: Any) -> Any:
        """The reference names → this case's account and buckets, in every string of a JSON value."""
        if isinstance(value, str):
            return value.replace(CUSTOMER, self.account).replace("company-audit-", f"adv{self.n:03d}-audit-")
        if isinstance(value, list):
            return [self.rename(v) for v in value]
        if isinstance(value, dict):
            return {self.rename(k): self.rename(v) for k, v in value.items()}
        return value


@dataclass(frozen=True, slots=True)
class OrgIds:
    org_id: str
    root: str
    ous: Mapping[str, str]  # case id → OU id

    def resolve(self, value: Any, case_id: str, now: datetime) -> Any:
        if isinstance(value, str):
            def sub(m: re.Match[str]) -> str:
                kind, name = m.group(1), m.group(2)
                if kind == "date":
                    return (now + timedelta(days=int(name))).strftime("%Y-%m-%dT%H:%M:%SZ")
                return {"id": self.org_id, "root": self.root, "ou": self.ous[case_id]}[name]
            return _PLACEHOLDER.sub(sub, value)
        if isinstance(value, list):
            return [self.resolve(v, case_id, now) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v, case_id, now) for k, v in value.items()}
        return value


# --- loading ---------------------------------------------------------------------------------------------------


def _fail(source: str, key: str, problem: str, fix: str) -> CaseError:
    return CaseError(f"{source}: {key}: {problem} ({fix})")


def _strings(source: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(source, key, "expected a list of check ids", f'write `"{key}": ["aws_..."]`')
    return tuple(value)


def parse_case(source: str, data: Any) -> Case:
    if not isinstance(data, dict):
        raise _fail(source, "(file)", "expected a JSON object", "see tests/adversarial/corpus.py")
    unknown = sorted(set(data) - _CASE_KEYS)
    if unknown:
        raise _fail(source, unknown[0], "unknown key", f"use one of {sorted(_CASE_KEYS)}")
    for key in ("id", "kind", "idea", "doc", "expect"):
        if key not in data:
            raise _fail(source, key, "missing required key", f"add `{key}`")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{2,60}", data["id"]):
        raise _fail(source, "id", f"{data['id']!r} is not a short lower-case id", 'use e.g. "kms-key-disabled"')
    doc = data["doc"]
    if not isinstance(doc, dict) or not str(doc.get("page", "")).startswith("https://") or not doc.get("sentence"):
        raise _fail(source, "doc", "needs the documentation page and the sentence the case rests on",
                    'write `"doc": {"page": "https://docs.aws.amazon.com/...", "sentence": "..."}`')
    raw = data["expect"]
    if not isinstance(raw, dict) or set(raw) - _EXPECT_KEYS:
        raise _fail(source, "expect", "expected an object with fail / all_pass / pass", "see corpus.py")
    expect = Expect(_strings(source, "expect.fail", raw.get("fail", [])), bool(raw.get("all_pass", False)),
                    _strings(source, "expect.pass", raw.get("pass", [])),
                    _strings(source, "expect.error", raw.get("error", [])))
    kind = Kind(data["kind"])
    if kind is Kind.BROKEN and (not expect.fail or expect.all_pass):
        raise _fail(source, "expect", "a broken chain names the check(s) that must FAIL", '`"fail": ["aws_..."]`')
    if kind is Kind.SECURE and (expect.fail or expect.error or not expect.all_pass):
        raise _fail(source, "expect", "a secure look-alike must pass", '`"all_pass": true`')
    if kind is Kind.UNVERIFIABLE and (not expect.error or expect.fail or expect.all_pass):
        raise _fail(source, "expect", "an unverifiable chain names the check(s) that must be ERROR",
                    '`"error": ["aws_..."]`')
    deployment = data.get("deployment", {})
    return Case(
        id=data["id"], kind=kind, idea=data["idea"], doc=doc,
        patch=tuple(deployment.get("patch", [])), provision=tuple(data.get("provision", [])),
        org=data.get("org", {}), chain=data.get("chain", {}), env=data.get("env", {}), expect=expect,
        known=data.get("known"), needs=data.get("needs"), source=source)


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise _fail(path.name, "(file)", f"not valid JSON ({exc})", "fix the JSON") from None
        cases.append(parse_case(path.name, data))
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CaseError(f"duplicate case ids: {duplicates}")
    return cases


# --- the deployment --------------------------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise CaseError(f"JSON pointer {path!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def apply_patch(document: Any, operations: tuple[Mapping[str, Any], ...]) -> Any:
    """RFC 6902 add / replace / remove (the subset the cases use) on a deep copy."""
    doc = copy.deepcopy(document)
    for op in operations:
        *parents, last = _pointer(op["path"])
        target = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        kind = op["op"]
        if isinstance(target, list):
            index = len(target) if last == "-" else int(last)
            if kind == "add":
                target.insert(index, copy.deepcopy(op["value"]))
            elif kind == "replace":
                target[index] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del target[index]
            else:
                raise CaseError(f"unsupported patch op {kind!r}")
        elif kind in ("add", "replace"):
            if kind == "replace" and last not in target:
                raise CaseError(f"replace {op['path']}: no such member")
            target[last] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del target[last]
        else:
            raise CaseError(f"unsupported patch op {kind!r}")
    return doc


def reference_deployment() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(reference_deployment_path().read_text(encoding="utf-8"))
    return data


def case_deployment(case: Case, place: Placement, org: OrgIds, now: datetime) -> dict[str, Any]:
    """The case's accounts, renamed, without the organization (built once for all cases) and the vendor's
    account (never read: the suite reads the customer's side)."""
    patched = apply_patch(reference_deployment(), case.patch)
    aws = patched["aws"]
    aws.pop("organization", None)
    aws["accounts"].pop(VENDOR, None)
    deployment = {"description": case.idea, "aws": aws}
    resolved = org.resolve(place.rename(deployment), case.id, now)
    assert isinstance(resolved, dict)
    return resolved


def reference_scp(place: Placement) -> Any:
    scps = reference_deployment()["aws"]["organization"]["scps"]
    return place.rename(scps[REFERENCE_SCP])


# --- the chain config -------------------------------------------------------------------------------------------


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def chain_entry(case: Case, place: Placement, org: OrgIds, now: datetime, *, audit_role: str,
                organizations_role: str) -> dict[str, Any]:
    import tomllib

    from compliance.config import default_chain_path

    reference = tomllib.loads(default_chain_path().read_text(encoding="utf-8"))
    reference.pop("azure", None)  # live Azure is not reachable here; Azure cases bring their own [azure]
    live = {"aws": {"audit_role_arn": audit_role, "organizations_role_arn": organizations_role}}
    entry = _merge(_merge(reference, live), case.chain)  # a case may override (organizations_role_arn = "": none)
    resolved = org.resolve(place.rename(entry), case.id, now)
    assert isinstance(resolved, dict)
    return {"id": place.chain_id, **resolved}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _toml_table(header: str, table: Mapping[str, Any], *, array: bool = False) -> list[str]:
    """One table: plain keys first, then sub-tables, then arrays of tables (TOML requires this order)."""
    lines = [f"[[{header}]]" if array else f"[{header}]"]
    nested: list[str] = []
    for key, value in table.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            nested += _toml_table(f"{header}.{key}", value)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                nested += _toml_table(f"{header}.{key}", item, array=True)
        elif isinstance(value, dict) and key in ("vendor", "aws", "azure", "management"):
            nested += _toml_table(f"{header}.{key}", value)
        else:
            lines.append(f"{json.dumps(key)} = {_toml_value(value)}")
    return lines + nested


def chains_toml(entries: list[dict[str, Any]]) -> str:
    lines: list[str] = ["# generated by tests/adversarial: one [[chains]] entry per case"]
    for entry in entries:
        lines += _toml_table("chains", entry, array=True)
    return "\n".join(lines) + "\n"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
