"""parse_chain_config: every problem is one ConfigError line naming the file, the key and the fix."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from compliance.config import (
    AssumerKind,
    CannedAcl,
    ChainConfig,
    DeclaredAssumer,
    SseHeader,
    UploadKind,
    default_chain_path,
    load_chain_config,
    parse_chain_config,
)
from compliance.errors import ConfigError
from compliance.state import RunState, Target

from .conftest import aws_only_chain, reference_chain, to_toml

SOURCE = "/etc/chains/prod.toml"
SECRETS = {"EXPORT_EXTERNAL_ID": "x" * 16, "AZURE_BACKUP_SAS": "sv=2024&sig=abc"}


def parse(data: dict[str, Any], **kwargs: Any) -> ChainConfig:
    kwargs.setdefault("env", SECRETS)
    return parse_chain_config(to_toml(data), SOURCE, **kwargs)


def error_of(data: dict[str, Any] | str, **kwargs: Any) -> ConfigError:
    kwargs.setdefault("env", SECRETS)
    text = data if isinstance(data, str) else to_toml(data)
    with pytest.raises(ConfigError) as info:
        parse_chain_config(text, SOURCE, **kwargs)
    err = info.value
    line = str(err)
    assert "\n" not in line, "a config error is exactly one line"
    assert line.startswith(f"{SOURCE}: {err.key}: "), line
    assert "Fix: " in line and err.fix and err.problem
    return err


def edit(fn: Callable[[dict[str, Any]], None], base: dict[str, Any] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(base if base is not None else reference_chain())
    fn(data)
    return data


# --- the reference chain ----------------------------------------------------------------------------------


def test_reference_chain_parses_into_typed_values() -> None:
    config = load_chain_config(default_chain_path(), env=SECRETS)
    assert config.source == str(default_chain_path())
    assert len(config.sha256) == 64
    (chain,) = config.chains
    assert chain.id == "qualio"  # single-chain form: the id is the vendor name's slug
    assert chain.vendor.principal == "arn:aws:iam::999988887777:role/ExportService"
    assert chain.vendor.account == "999988887777"
    assert chain.vendor.session_tags == {"qualio-user": "qa.lead@example.com"}
    assert chain.vendor.source_ips == ()
    assert chain.aws.account == "111122223333"
    assert chain.aws.role_name == "QualioExportRole"
    assert (chain.aws.bucket, chain.aws.prefix, chain.aws.region) == ("company-audit-reports", "qualio/", "us-east-1")
    assert chain.aws.min_retention_days == 2555 and chain.aws.max_export_age_hours == 26.0
    assert chain.aws.audit_role_arn is None and chain.aws.organizations_role_arn is None
    assert chain.azure is not None and chain.azure.sas_env == "AZURE_BACKUP_SAS"
    assert chain.azure.min_retention_days == 2555  # defaults to the AWS retention
    assert config.secret_env_names() == ("EXPORT_EXTERNAL_ID", "AZURE_BACKUP_SAS")


def test_cidrs_are_normalised_and_optional_keys_parsed() -> None:
    data = edit(lambda d: d["vendor"].update(source_ips=["203.0.113.0/24", "2001:DB8::/32", "198.51.100.7"]))
    data["aws"]["audit_role_arn"] = "arn:aws:iam::111122223333:role/ComplianceAudit"
    data["aws"]["organizations_role_arn"] = "arn:aws:iam::222233334444:role/OrganizationsReadOnly"
    (chain,) = parse(data).chains
    assert chain.vendor.source_ips == ("203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32")
    assert chain.aws.audit_role_arn == "arn:aws:iam::111122223333:role/ComplianceAudit"
    assert chain.aws.organizations_role_arn == "arn:aws:iam::222233334444:role/OrganizationsReadOnly"


# --- one clear line per problem ---------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "key"), [
    ("vendor", "principal"), ("vendor", "external_id_env"), ("vendor", "configured_role_arn"),
    ("vendor", "name"), ("aws", "role_arn"), ("aws", "bucket"), ("aws", "region"), ("aws", "min_retention_days"),
    ("azure", "account_url"), ("azure", "container"), ("azure", "sas_env"),
])
def test_missing_required_key(section: str, key: str) -> None:
    err = error_of(edit(lambda d: d[section].pop(key)))
    assert err.key == f"{section}.{key}"
    assert err.problem == "missing required key"
    assert f"add `{key} = " in err.fix and f"under [{section}]" in err.fix


def test_missing_required_table() -> None:
    err = error_of(edit(lambda d: d.pop("aws")))
    assert (err.key, err.problem) == ("aws", "missing required key")
    assert err.fix == "add a [aws] table"


@pytest.mark.parametrize(("section", "key", "value", "problem"), [
    ("aws", "min_retention_days", "2555", "expected a whole number"),
    ("aws", "min_retention_days", 25.5, "expected a whole number"),
    ("aws", "min_retention_days", True, "expected a whole number"),
    ("aws", "min_retention_days", 0, "must be at least 1"),
    ("aws", "max_export_age_hours", "26h", "expected a positive number"),
    ("aws", "bucket", 42, "expected a string"),
    ("vendor", "name", ["Qualio"], "expected a string"),
    ("vendor", "session_tags", "qualio-user", "expected a table"),
    ("vendor", "source_ips", "203.0.113.0/24", "expected a list of CIDRs"),
    ("azure", "allow_append", "no", "expected true or false"),
])
def test_mistyped_value(section: str, key: str, value: Any, problem: str) -> None:
    err = error_of(edit(lambda d: d[section].__setitem__(key, value)))
    assert err.key == f"{section}.{key}"
    assert err.problem.startswith(problem), err.problem
    assert key in err.fix


@pytest.mark.parametrize(("section", "key", "value"), [
    ("vendor", "principal", "arn:aws:iam::99998888777:role/ExportService"),  # 11-digit account
    ("vendor", "principal", "ExportService"),
    ("vendor", "configured_role_arn", "arn:aws:iam::111122223333:user/QualioExportRole"),
    ("vendor", "configured_role_arn", "arn:aws:iam:us-east-1:111122223333:role/QualioExportRole"),
    ("aws", "role_arn", "arn:aws:s3:::company-audit-reports"),
    ("aws", "role_arn", "arn:aws:iam::111122223333:role/"),
    ("aws", "audit_role_arn", "arn:aws:iam::111122223333:policy/Audit"),
    ("aws", "organizations_role_arn", "222233334444"),
])
def test_malformed_arn(section: str, key: str, value: str) -> None:
    err = error_of(edit(lambda d: d[section].__setitem__(key, value)))
    assert err.key == f"{section}.{key}"
    assert repr(value) in err.problem and "ARN" in err.problem
    assert err.fix.startswith('use the form "arn:aws:iam::')


@pytest.mark.parametrize(("ips", "index"), [
    (["10.0.0.300/24"], 0), (["203.0.113.0/24", "not-a-cidr"], 1), (["10.0.0.0/33"], 0), ([24], 0),
])
def test_malformed_cidr(ips: list[Any], index: int) -> None:
    err = error_of(edit(lambda d: d["vendor"].__setitem__("source_ips", ips)))
    assert err.key == f"vendor.source_ips[{index}]"
    assert "is not a valid IPv4 or IPv6 CIDR" in err.problem
    assert "203.0.113.0/24" in err.fix


@pytest.mark.parametrize(("section", "key", "value", "what"), [
    ("aws", "bucket", "Company_Audit", "S3 bucket name"),
    ("aws", "region", "us-east", "AWS region"),
    ("vendor", "external_id_env", "EXPORT-EXTERNAL-ID", "environment variable name"),
    ("azure", "container", "Audit--Backup", "container name"),
])
def test_malformed_names(section: str, key: str, value: str, what: str) -> None:
    err = error_of(edit(lambda d: d[section].__setitem__(key, value)))
    assert err.key == f"{section}.{key}" and what in err.problem


def test_prefix_with_leading_slash() -> None:
    err = error_of(edit(lambda d: d["aws"].__setitem__("prefix", "/qualio/")))
    assert err.key == "aws.prefix" and '`prefix = "qualio/"`' in err.fix


@pytest.mark.parametrize(("mutate", "key", "fix"), [
    (lambda d: d["aws"].__setitem__("max_export_age_hour", 26), "aws.max_export_age_hour",
     "did you mean `max_export_age_hours`?"),
    # a typo of a required key is reported as the typo, not as "bucket is missing"
    (lambda d: d["aws"].__setitem__("buckt", d["aws"].pop("bucket")), "aws.buckt", "did you mean `bucket`?"),
    (lambda d: d["vendor"].__setitem__("principle", d["vendor"].pop("principal")), "vendor.principle",
     "did you mean `principal`?"),
    (lambda d: d.__setitem__("azur", d.pop("azure")), "azur", "did you mean `azure`?"),
    (lambda d: d["aws"].__setitem__("colour", "blue"), "aws.colour", "remove it; known keys: "),
])
def test_unknown_key_with_did_you_mean(mutate: Callable[[dict[str, Any]], None], key: str, fix: str) -> None:
    err = error_of(edit(mutate))
    assert (err.key, err.problem) == (key, "unknown key")
    assert err.fix.startswith(fix), err.fix


def test_missing_role_arn_is_not_mistaken_for_audit_role_arn_typo() -> None:
    data = edit(lambda d: d["aws"].pop("role_arn"))
    data["aws"]["audit_role_arn"] = "arn:aws:iam::111122223333:role/ComplianceAudit"
    err = error_of(data)
    assert (err.key, err.problem) == ("aws.role_arn", "missing required key")


def test_invalid_toml() -> None:
    err = error_of("[vendor]\nname = \n")
    assert err.key == "(file)" and err.problem.startswith("not valid TOML (")
    assert "line 2" in err.problem


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_chain_config(tmp_path / "nope.toml")
    assert str(info.value) == f"{tmp_path / 'nope.toml'}: (file): file not found. Fix: pass an existing file to --chain"


# --- secrets ----------------------------------------------------------------------------------------------


def test_unset_secret_variable_in_live_mode() -> None:
    err = error_of(reference_chain(), env={"AZURE_BACKUP_SAS": "sv=1"})
    assert err.key == "vendor.external_id_env"
    assert err.problem == "environment variable EXPORT_EXTERNAL_ID is not set"
    assert err.fix.startswith("export EXPORT_EXTERNAL_ID=<value>")
    err = error_of(reference_chain(), env={"EXPORT_EXTERNAL_ID": "x" * 16, "AZURE_BACKUP_SAS": ""})
    assert (err.key, err.problem) == ("azure.sas_env", "environment variable AZURE_BACKUP_SAS is not set")


def test_secrets_not_required_for_emulated_targets() -> None:
    assert parse(reference_chain(), env={}, require_secrets=False).chains[0].id == "qualio"


def test_chain_reads_secrets_from_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    (chain,) = parse(reference_chain()).chains
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", "from-env-1234")
    monkeypatch.delenv("AZURE_BACKUP_SAS", raising=False)
    assert chain.external_id() == "from-env-1234"
    assert chain.sas_token() is None


def test_run_state_generates_throwaway_secrets_for_moto_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPORT_EXTERNAL_ID", "placeholder")
    monkeypatch.delenv("EXPORT_EXTERNAL_ID")
    moto = RunState(Target.MOTO, default_chain_path(), None, tmp_path, {})
    assert moto.load_config() is not None and moto.config_error is None
    assert moto.generated_secrets == ["EXPORT_EXTERNAL_ID"]
    generated = os.environ["EXPORT_EXTERNAL_ID"]
    assert generated.startswith("emu-") and len(generated) > 20
    assert moto.redactor().text(f"id={generated}") == "id=«redacted:EXPORT_EXTERNAL_ID»"

    monkeypatch.delenv("EXPORT_EXTERNAL_ID")
    monkeypatch.setenv("AZURE_BACKUP_SAS", "sv=1&sig=x")
    live = RunState(Target.LIVE, default_chain_path(), None, tmp_path, {})
    assert live.load_config() is None
    assert live.config_error is not None and live.config_error.key == "vendor.external_id_env"
    assert "EXPORT_EXTERNAL_ID" not in os.environ


# --- [[chains]]: several chains in one file ---------------------------------------------------------------


def two_chains() -> dict[str, Any]:
    first = {"id": "qualio-prod", **aws_only_chain()}
    second = {"id": "qualio-eu", **copy.deepcopy(aws_only_chain())}
    second["aws"]["bucket"] = "company-audit-reports-eu"
    second["aws"]["region"] = "eu-west-1"
    second["vendor"]["external_id_env"] = "EXPORT_EXTERNAL_ID_EU"
    return {"chains": [first, second]}


def test_multi_chain_ids_and_order() -> None:
    config = parse(two_chains(), env={**SECRETS, "EXPORT_EXTERNAL_ID_EU": "y" * 16})
    assert [c.id for c in config.chains] == ["qualio-prod", "qualio-eu"]
    assert config.chains[1].aws.bucket == "company-audit-reports-eu"
    assert config.chains[1].aws.region == "eu-west-1"
    assert config.secret_env_names() == ("EXPORT_EXTERNAL_ID", "EXPORT_EXTERNAL_ID_EU")


def test_multi_chain_unset_secret_names_the_chain() -> None:
    err = error_of(two_chains())
    assert (err.key, err.problem) == ("chains[1].vendor.external_id_env",
                                      "environment variable EXPORT_EXTERNAL_ID_EU is not set")


def test_multi_chain_duplicate_id() -> None:
    data = two_chains()
    data["chains"][1]["id"] = "qualio-prod"
    err = error_of(data, require_secrets=False)
    assert (err.key, err.problem) == ("chains[1].id", "duplicate chain id 'qualio-prod'")
    assert err.fix == "give every chain its own id"


def test_multi_chain_missing_and_invalid_id() -> None:
    data = two_chains()
    del data["chains"][0]["id"]
    err = error_of(data, require_secrets=False)
    assert (err.key, err.problem) == ("chains[0].id", "missing required key")
    data = two_chains()
    data["chains"][1]["id"] = "Qualio Prod!"
    err = error_of(data, require_secrets=False)
    assert err.key == "chains[1].id" and "is not a valid chain id" in err.problem


def test_multi_chain_errors_name_the_chain_entry() -> None:
    data = two_chains()
    data["chains"][1]["aws"]["regoin"] = "eu-west-1"
    err = error_of(data, require_secrets=False)
    assert (err.key, err.fix) == ("chains[1].aws.regoin", "did you mean `region`?")


def test_multi_chain_cannot_be_mixed_with_top_level_tables() -> None:
    data = two_chains()
    data["vendor"] = reference_chain()["vendor"]
    err = error_of(data, require_secrets=False)
    assert err.key == "vendor" and "cannot be mixed with [[chains]]" in err.problem


def test_chains_must_be_tables() -> None:
    err = error_of("chains = 5\n", require_secrets=False)
    assert err.key == "chains" and err.problem == "expected one or more [[chains]] tables"


# --- what the vendor's requests carry ([vendor]) and the proof keys ([aws]) ------------------------------

GITHUB = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
GITHUB_SUB = "token.actions.githubusercontent.com:sub"


def test_request_shape_defaults_keep_todays_behaviour() -> None:
    (chain,) = parse(reference_chain()).chains
    vendor = chain.vendor
    assert (vendor.sse_header, vendor.kms_key_id_header, vendor.acl) == (SseHeader.BUCKET_DEFAULT, True, None)
    assert vendor.upload_kinds == (UploadKind.SINGLE, UploadKind.MULTIPART)
    assert chain.aws.readers == () and chain.aws.declared_assumers == ()
    assert vendor.declared_headers() == {"vendor.sse_header": "bucket-default", "vendor.kms_key_id_header": True,
                                         "vendor.acl": "", "vendor.upload_kinds": ["single", "multipart"]}


def test_request_shape_keys_parse_into_enums() -> None:
    data = edit(lambda d: d["vendor"].update(sse_header="aws:kms:dsse", kms_key_id_header=False,
                                             acl="bucket-owner-full-control", upload_kinds=["multipart"]))
    (chain,) = parse(data).chains
    assert chain.vendor.sse_header is SseHeader.AWS_KMS_DSSE and chain.vendor.kms_key_id_header is False
    assert chain.vendor.acl is CannedAcl.BUCKET_OWNER_FULL_CONTROL
    assert chain.vendor.upload_kinds == (UploadKind.MULTIPART,)
    (chain,) = parse(edit(lambda d: d["vendor"].update(sse_header="none", kms_key_id_header=False, acl=""))).chains
    assert (chain.vendor.sse_header, chain.vendor.acl) == (SseHeader.NONE, None)


@pytest.mark.parametrize(("key", "value", "where", "problem"), [
    ("sse_header", "kms", "vendor.sse_header", "'kms' is not one of \"bucket-default\""),
    ("sse_header", True, "vendor.sse_header", "expected a string"),
    ("kms_key_id_header", "yes", "vendor.kms_key_id_header", "expected true or false"),
    ("acl", "log-delivery-write", "vendor.acl", "'log-delivery-write' is not one of \"private\""),
    ("upload_kinds", "single", "vendor.upload_kinds", "expected a non-empty list"),
    ("upload_kinds", [], "vendor.upload_kinds", "expected a non-empty list"),
    ("upload_kinds", ["single", "chunked"], "vendor.upload_kinds[1]", "'chunked' is not one of"),
    ("upload_kinds", ["single", "single"], "vendor.upload_kinds", "lists an upload kind twice"),
])
def test_request_shape_bad_values(key: str, value: Any, where: str, problem: str) -> None:
    err = error_of(edit(lambda d: d["vendor"].__setitem__(key, value)))
    assert err.key == where and err.problem.startswith(problem), err


def test_key_id_header_without_kms_header_is_rejected() -> None:
    err = error_of(edit(lambda d: d["vendor"].update(sse_header="AES256", kms_key_id_header=True)))
    assert err.key == "vendor.kms_key_id_header" and "aws:kms" in err.problem
    assert "kms_key_id_header = false" in err.fix
    # the default (true) is only sent with an SSE-KMS header, so "none" alone is fine
    (chain,) = parse(edit(lambda d: d["vendor"].update(sse_header="none"))).chains
    assert chain.vendor.sse_header is SseHeader.NONE


def test_readers_and_declared_assumers_parse() -> None:
    data = edit(lambda d: d["aws"].update(
        readers=["arn:aws:iam::444455556666:role/Auditor", "arn:aws:iam::444455556666:root", "555566667777",
                 "o-a1b2c3d4e5"],
        declared_assumers=[{"principal": GITHUB, "conditions": {GITHUB_SUB: "repo:acme/exports:ref:refs/heads/main",
                                                                "token.actions.githubusercontent.com:aud":
                                                                    "sts.amazonaws.com"}},
                           {"principal": "arn:aws:iam::111122223333:saml-provider/Okta",
                            "conditions": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
                           {"principal": "lambda.amazonaws.com"}]))
    (chain,) = parse(data).chains
    assert chain.aws.readers[2:] == ("555566667777", "o-a1b2c3d4e5")
    github, saml, service = chain.aws.declared_assumers
    assert github == DeclaredAssumer(GITHUB, AssumerKind.OIDC_PROVIDER,
                                     {GITHUB_SUB: "repo:acme/exports:ref:refs/heads/main",
                                      "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"})
    assert github.provider_host == "token.actions.githubusercontent.com"
    assert (saml.kind, service.kind, service.conditions) == (AssumerKind.SAML_PROVIDER, AssumerKind.SERVICE, {})


def test_eks_oidc_provider_host_includes_its_path() -> None:
    eks = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B7"
    sub = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B7:sub"
    data = edit(lambda d: d["aws"].update(declared_assumers=[{"principal": eks, "conditions": {
        sub: "system:serviceaccount:exports:writer"}}]))
    (assumer,) = parse(data).chains[0].aws.declared_assumers
    assert assumer.provider_host is not None and f"{assumer.provider_host}:sub" == sub


@pytest.mark.parametrize(("assumers", "where", "problem", "fix"), [
    ([{"principal": GITHUB}], "aws.declared_assumers[0].conditions", f"needs a pinned `{GITHUB_SUB}`",
     f'add `"{GITHUB_SUB}" = '),
    ([{"principal": GITHUB, "conditions": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}],
     "aws.declared_assumers[0].conditions", "needs a pinned", "add `"),
    ([{"principal": GITHUB, "conditions": {GITHUB_SUB: "repo:acme/*"}}],
     f"aws.declared_assumers[0].conditions.{GITHUB_SUB}", "is a pattern, not a pinned subject",
     "write the exact subject"),
    ([{"principal": GITHUB, "conditions": {GITHUB_SUB: ["a", "b"]}}],
     f"aws.declared_assumers[0].conditions.{GITHUB_SUB}", "expected the exact value", "quote"),
    ([{"principal": "lambda"}], "aws.declared_assumers[0].principal", "is not an OIDC provider ARN", "use "),
    ([{"principal": "arn:aws:iam::111122223333:role/Deployer"}], "aws.declared_assumers[0].principal",
     "is not an OIDC provider ARN", "use "),
    ([{"conditions": {}}], "aws.declared_assumers[0].principal", "missing required key", "add `principal"),
    ([{"principal": "lambda.amazonaws.com", "condition": {}}], "aws.declared_assumers[0].condition", "unknown key",
     "did you mean `conditions`?"),
    ([{"principal": "lambda.amazonaws.com"}, {"principal": "lambda.amazonaws.com"}],
     "aws.declared_assumers[1].principal", "is declared twice", "declare each path once"),
    ("lambda.amazonaws.com", "aws.declared_assumers", "expected [[aws.declared_assumers]] tables",
     "write each as `[[aws.declared_assumers]]`"),
])
def test_declared_assumers_bad_values(assumers: Any, where: str, problem: str, fix: str) -> None:
    err = error_of(edit(lambda d: d["aws"].__setitem__("declared_assumers", assumers)))
    assert err.key == where and problem in err.problem and err.fix.startswith(fix), err


@pytest.mark.parametrize(("readers", "where", "problem"), [
    ("444455556666", "aws.readers", "expected a list"),
    (["arn:aws:iam::444455556666:group/Auditors"], "aws.readers[0]", "is not an IAM role/user/root ARN"),
    (["4444555566"], "aws.readers[0]", "is not an IAM role/user/root ARN"),
    (["o-short"], "aws.readers[0]", "is not an IAM role/user/root ARN"),
    ([444455556666], "aws.readers[0]", "is not an IAM role/user/root ARN"),
    (["444455556666", "444455556666"], "aws.readers[1]", "is listed twice"),
])
def test_readers_bad_values(readers: Any, where: str, problem: str) -> None:
    err = error_of(edit(lambda d: d["aws"].__setitem__("readers", readers)))
    assert err.key == where and problem in err.problem, err


def test_bundled_reference_chain_comments_show_every_new_key() -> None:
    text = default_chain_path().read_text(encoding="utf-8")
    for key in ("sse_header", "kms_key_id_header", "acl", "upload_kinds", "readers", "[[aws.declared_assumers]]"):
        assert f"# {key}" in text, key


def test_request_and_proof_keys_in_a_multi_chain_file_name_the_chain_entry() -> None:
    text = to_toml(two_chains()) + f'''
[[chains.aws.declared_assumers]]
principal = "{GITHUB}"
conditions = {{ "{GITHUB_SUB}" = "repo:acme/exports:ref:refs/heads/main" }}
'''
    config = parse_chain_config(text, SOURCE, env={**SECRETS, "EXPORT_EXTERNAL_ID_EU": "y" * 16})
    assert config.chains[0].aws.declared_assumers == ()
    assert config.chains[1].aws.declared_assumers[0].principal == GITHUB
    data = two_chains()
    data["chains"][1]["vendor"]["sse_header"] = "aws:kms:sse"
    err = error_of(data, require_secrets=False)
    assert err.key == "chains[1].vendor.sse_header" and "'aws:kms:sse' is not one of" in err.problem
