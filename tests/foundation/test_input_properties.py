"""Property: every malformed input is one clear line, never a traceback.

Hypothesis mutates the bundled reference inputs the way a careless or hostile user would: a wrong type at any
key, a deleted or unknown key, deep nesting, huge and non-finite numbers, unicode and empty strings. The chain
config loader, the deployment loader, the `--proposed` loader and `explain`'s case loader must each end in
their own one-line error (ConfigError; exit 2 for `explain`) naming the file, or accept the input. A few
examples also go through a real run: exit 4, one `ERROR:` line and no run directory.

The budget is bounded by the `input-properties` profile: 60 examples a property (CI runs it as is); export
INPUT_PROPERTY_EXAMPLES=1000 for a longer search.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.chain.proposed import load_proposals
from compliance.config import parse_chain_config
from compliance.errors import ConfigError
from compliance.iam.cli import main as explain
from compliance.targets.deployment import load_deployment, validate

from .conftest import COMPLIANCE_DIR, _toml_value, reference_chain, reference_deployment, to_toml

EXAMPLES = int(os.environ.get("INPUT_PROPERTY_EXAMPLES", "60"))
settings.register_profile("input-properties", max_examples=EXAMPLES, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
BOUNDED = settings.get_profile("input-properties")

HUGE = [2**63 - 1, -(2**63), 2**64, 10**30, -1, 0]
SPECIAL_STRINGS = ["", " ", "\n", "\x00", "é", "🔥", "203.0.113.7/8", "0.0.0.0/0", "::/0", "arn:aws:iam::1:role/x",
                   "{{env:NOPE}}", "{{kms:none}}", "*", "a" * 5000, "\u2028", "nan", "inf", "true"]

scalars = (st.none() | st.booleans() | st.integers() | st.sampled_from(HUGE)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20) | st.sampled_from(SPECIAL_STRINGS))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if len(prefix) > 12:
        return out
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def mutated(draw: st.DrawFn, base: Callable[[], dict[str, Any]], values: st.SearchStrategy[Any] = json_values
            ) -> dict[str, Any]:
    """The base document with one to three edits: a value replaced, a key deleted or added, deep nesting."""
    data = copy.deepcopy(base())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        action = draw(st.sampled_from(["replace", "replace", "delete", "unknown", "nest"]))
        if not path:
            if action == "unknown":
                data[draw(st.text(min_size=1, max_size=8))] = draw(values)
            continue
        parent: Any = data
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if action == "delete":
            del parent[last]
        elif action == "unknown" and isinstance(parent[last], dict):
            parent[last][draw(st.text(min_size=1, max_size=8))] = draw(values)
        elif action == "nest":
            parent[last] = _nested(draw(st.sampled_from([63, 65, 200])))
        else:
            parent[last] = draw(values)
    return data


def assert_one_line(message: str, source: str) -> None:
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(source), message
    assert len(message) < 2_000, len(message)


# --- the chain config -----------------------------------------------------------------------------------------

toml_values = st.recursive(
    st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.sampled_from(HUGE[:2])
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20) | st.sampled_from(SPECIAL_STRINGS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3),
    max_leaves=10)


def _toml(data: dict[str, Any]) -> str:
    try:
        return to_toml(data)
    except RecursionError:  # the writer cannot nest that deep; the loader still must
        return "x = " + "[" * 2000 + "]" * 2000 + "\n"
    except (TypeError, ValueError, AttributeError):
        return json.dumps(data)  # not TOML at all: the loader must say so in one line


@BOUNDED
@given(data=mutated(reference_chain, toml_values))
def test_chain_config_is_accepted_or_one_line(data: dict[str, Any]) -> None:
    text = _toml(data)
    try:
        parse_chain_config(text, "generated.toml", require_secrets=False)
    except ConfigError as exc:
        assert_one_line(str(exc), "generated.toml: ")
        assert ". Fix: " in str(exc)


@BOUNDED
@given(multi=st.lists(toml_values, min_size=1, max_size=3))
def test_chains_of_anything_is_one_line(multi: list[Any]) -> None:
    text = "chains = " + _toml_value(multi) + "\n"
    with pytest.raises(ConfigError) as raised:
        parse_chain_config(text, "generated.toml", require_secrets=False)
    assert_one_line(str(raised.value), "generated.toml: ")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+inf", "0", "-1", "8760.5", "1e308"])
def test_max_export_age_must_be_finite_and_in_range(value: str) -> None:
    text = to_toml(reference_chain()).replace("max_export_age_hours = 26", f"max_export_age_hours = {value}")
    with pytest.raises(ConfigError, match=r"aws\.max_export_age_hours"):
        parse_chain_config(text, "c.toml", require_secrets=False)


@pytest.mark.parametrize("value", ["1", "26", "8760", "0.5"])
def test_max_export_age_in_range_is_accepted(value: str) -> None:
    text = to_toml(reference_chain()).replace("max_export_age_hours = 26", f"max_export_age_hours = {value}")
    (chain,) = parse_chain_config(text, "c.toml", require_secrets=False).chains
    assert math.isclose(chain.aws.max_export_age_hours, float(value))


@pytest.mark.parametrize(("cidr", "widened"), [("203.0.113.7/8", "203.0.0.0/8"), ("10.1.2.3/16", "10.1.0.0/16"),
                                               ("2001:db8::1/32", "2001:db8::/32")])
def test_cidr_with_host_bits_is_never_widened(cidr: str, widened: str) -> None:
    for section, key in (("vendor", "source_ips"), ("azure", "vendor_ips")):
        data = reference_chain()
        data[section][key] = [cidr]
        with pytest.raises(ConfigError) as raised:
            parse_chain_config(to_toml(data), "c.toml", require_secrets=False)
        assert f"{section}.{key}[0]" in str(raised.value) and widened in str(raised.value)


# --- deployment files ----------------------------------------------------------------------------------------------


@BOUNDED
@given(data=mutated(reference_deployment))
def test_deployment_is_accepted_or_one_line(data: dict[str, Any]) -> None:
    try:
        validate("generated.json", data)
    except ConfigError as exc:
        assert_one_line(str(exc), "generated.json: ")


@BOUNDED
@given(data=mutated(reference_deployment), constant=st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999"]))
def test_deployment_file_with_non_finite_numbers_is_one_line(tmp_path_factory: pytest.TempPathFactory,
                                                            data: dict[str, Any], constant: str) -> None:
    path = tmp_path_factory.mktemp("dep") / "generated.json"
    text = json.dumps(data, allow_nan=True)
    path.write_text(text.replace("2555", constant, 1) if "2555" in text else text, encoding="utf-8")
    try:
        load_deployment(path)
    except ConfigError as exc:
        assert_one_line(str(exc), str(path))


@pytest.mark.parametrize(("where", "build", "limit"), [
    ("buckets[0].policy", lambda s: {"Version": "2012-10-17", "Statement": [s] * 200}, "20 KB"),
    ("roles[0].trust_policy", lambda s: {"Version": "2012-10-17", "Statement": [s] * 40}, "trust policy quota"),
    ("kms_keys[0].policy", lambda s: {"Version": "2012-10-17", "Statement": [s] * 400}, "32 KB"),
])
def test_policies_over_aws_limits_are_refused(where: str, build: Callable[[Any], Any], limit: str) -> None:
    data = reference_deployment()
    account = data["aws"]["accounts"]["111122223333"]
    kind, _, field = where.partition("[0].")
    item = account[kind][0]
    statement = item[field]["Statement"][0]
    item[field] = build(statement)
    with pytest.raises(ConfigError, match=limit):
        validate("d.json", data)
    item[field] = build(statement) | {"Statement": [statement]}  # the secure look-alike: one statement
    validate("d.json", data)


def test_scp_over_5120_characters_is_refused() -> None:
    data = reference_deployment()
    org = data["aws"]["organization"]
    name = next(iter(org["scps"]))
    statement = org["scps"][name]["Statement"][0]
    org["scps"][name]["Statement"] = [statement] * 80
    with pytest.raises(ConfigError, match="5,120"):
        validate("d.json", data)


# --- --proposed ----------------------------------------------------------------------------------------------------

ENVELOPE = {"replaces": "bucket", "document": {"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": "arn:aws:s3:::company-audit-reports/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}


@BOUNDED
@given(data=mutated(lambda: {"envelopes": [copy.deepcopy(ENVELOPE)]}))
def test_proposed_file_is_accepted_or_one_line(tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]) -> None:
    path = tmp_path_factory.mktemp("proposed") / "generated.json"
    payload = data.get("envelopes", data)
    path.write_text(json.dumps(payload, allow_nan=True), encoding="utf-8")
    try:
        load_proposals([path])
    except ConfigError as exc:
        assert_one_line(str(exc), str(path))


def test_proposed_trust_policy_over_the_quota_is_refused(tmp_path: Path) -> None:
    statement = ENVELOPE["document"]["Statement"][0]  # type: ignore[index]
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"replaces": "scp:Big", "document": {"Version": "2012-10-17",
                                                                    "Statement": [statement] * 40}}))
    with pytest.raises(ConfigError, match="5,120"):
        load_proposals([path])


# --- explain -------------------------------------------------------------------------------------------------------

CASE = {"name": "put", "request": {"principal": "arn:aws:sts::111122223333:assumed-role/Writer/s1",
                                   "principal_account": "111122223333", "action": "s3:PutObject",
                                   "resource": "arn:aws:s3:::audit/r.pdf", "resource_account": "111122223333",
                                   "context": {"aws:SecureTransport": "true"}},
        "identity_policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::audit/*"}]}],
        "expected": "Allow"}


@BOUNDED
@given(data=mutated(lambda: {"cases": [copy.deepcopy(CASE), copy.deepcopy(CASE)]}), single=st.booleans())
def test_explain_is_a_decision_or_one_line(tmp_path_factory: pytest.TempPathFactory,
                                           capsys: pytest.CaptureFixture[str], data: dict[str, Any],
                                           single: bool) -> None:
    path = tmp_path_factory.mktemp("case") / "generated.json"
    payload = data["cases"][0] if single and isinstance(data.get("cases"), list) and data["cases"] else data
    path.write_text(json.dumps(payload, allow_nan=True), encoding="utf-8")
    code = explain([str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("explain: "), err
        assert "Traceback" not in err
    else:
        assert not err and out


def test_explain_reads_the_suites_own_case_files(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).resolve().parents[1] / "iam" / "cases" / "principals.json"
    assert explain([str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    cases = json.loads(path.read_text(encoding="utf-8"))["cases"]
    assert len(lines) == len(cases) + 1
    assert lines[-1].startswith(f"{len(cases)} cases: ") and "0 differ from their expected decision" in lines[-1]


def test_explain_help_documents_schema_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert explain(["--help"]) == 0
    text = capsys.readouterr().out
    for needle in ('{"cases": [case, ...]}', "request", "identity_policies", "expected", "Exit status:", "  0  ",
                   "  1  ", "  2  "):
        assert needle in text


def test_explain_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    import subprocess
    import sys

    cases = json.loads((Path(__file__).resolve().parents[1] / "iam" / "cases" / "principals.json").read_text())
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"cases": cases["cases"] * 40}), encoding="utf-8")
    done = subprocess.run(f"{sys.executable} -m compliance explain {path} --json | head -1", shell=True,
                          capture_output=True, text=True, check=False)
    assert done.stdout == "[\n"
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


# --- a few generated inputs through a real run ----------------------------------------------------------------------


@settings(BOUNDED, max_examples=3)
@given(data=mutated(reference_chain, toml_values))
def test_generated_bad_chain_is_exit_4_without_run_dir(pytester: pytest.Pytester, data: dict[str, Any]) -> None:
    text = _toml(data)
    try:
        parse_chain_config(text, "probe.toml", require_secrets=False)
    except ConfigError:
        pass
    else:
        return  # an accepted mutation (e.g. an optional key deleted) is not a bad input
    example = len(list(pytester.path.glob("chain-*.toml")))
    path = pytester.path / f"chain-{example}.toml"
    path.write_text(text, encoding="utf-8")
    evidence = pytester.path / f"evidence-{example}"
    result = pytester.runpytest_subprocess(str(COMPLIANCE_DIR), "--chain", str(path), "--evidence-dir", str(evidence))
    output = "\n".join(result.outlines + result.errlines)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert [line for line in result.outlines + result.errlines if line.startswith("ERROR:")] != []
    assert "Traceback" not in output and "INTERNALERROR" not in output
    assert not evidence.exists()


@pytest.mark.parametrize(("edit", "key"), [
    (lambda a: a["buckets"][0].__setitem__("ownership", "Maybe"), "ownership"),
    (lambda a: a["buckets"][0].__setitem__("versioning", "On"), "versioning"),
    (lambda a: a["buckets"][0].__setitem__("name", "Audit_Reports"), "buckets[0].name"),
    (lambda a: a["buckets"][0]["encryption"].__setitem__("algorithm", "rot13"), "encryption.algorithm"),
    (lambda a: a["roles"][0].__setitem__("name", "bad name!"), "roles[0].name"),
    (lambda a: a["roles"][0].__setitem__("path", "no-slashes"), "roles[0].path"),
    (lambda a: a["roles"][0].__setitem__("max_session_duration", 2**63), "max_session_duration"),
    (lambda a: a["kms_keys"][0].__setitem__("alias", "alias/with prefix"), "kms_keys[0].alias"),
])
def test_values_moto_would_accept_but_aws_refuses_are_one_line(edit: Callable[[Any], None], key: str) -> None:
    """moto provisions some of these without complaint; AWS would refuse them, so the suite does too."""
    data = reference_deployment()
    edit(data["aws"]["accounts"]["111122223333"])
    with pytest.raises(ConfigError, match=re.escape(key)):
        validate("d.json", data)


@pytest.mark.parametrize("days", [1e308, -1e308, 10**9])
def test_azure_sas_days_out_of_range_are_one_line(days: float) -> None:
    data = reference_deployment()
    data["azure"]["sas"]["expiry_days"] = days
    with pytest.raises(ConfigError, match=r"azure\.sas\.expiry_days"):
        validate("d.json", data)
