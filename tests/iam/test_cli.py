"""``python -m compliance explain``: exit codes, text and JSON output, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.iam.cli import main

CASE = {
    "name": "put over TLS",
    "request": {
        "principal": "arn:aws:sts::111122223333:assumed-role/Writer/s1",
        "principal_account": "111122223333",
        "action": "s3:PutObject",
        "resource": "arn:aws:s3:::audit/r.pdf",
        "resource_account": "111122223333",
        "context": {"aws:SecureTransport": "true"},
    },
    "identity_policies": [
        json.dumps({"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::audit/*"}]})
    ],
    "resource_policy": {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": "arn:aws:s3:::audit/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}],
    },
    "scps": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
}


def write(tmp_path: Path, case: object, name: str = "case.json") -> str:
    path = tmp_path / name
    path.write_text(case if isinstance(case, str) else json.dumps(case))
    return str(path)


def test_allow_exits_zero_and_prints_sentences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", write(tmp_path, CASE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Decision: Allow\n")
    assert "identity policy 'identity_policies[0]'" in out


def test_deny_exits_one_and_json_is_machine_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    insecure = json.loads(json.dumps(CASE))
    insecure["request"]["context"]["aws:SecureTransport"] = "false"
    assert main([write(tmp_path, insecure), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["decision"] == "ExplicitDeny"
    assert data["summary"].startswith("Denied explicitly by bucket policy statement 'DenyInsecure'")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("{not json", "invalid JSON"),
        ({**CASE, "surprise": 1}, "surprise: unknown key"),
        ({"identity_policies": []}, "request: missing"),
        ({**CASE, "identity_policies": [{"Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}]}]},
         "identity_policies[0], statement #1, field Effect: unknown effect"),
        ({**CASE, "scps": [[]]}, "scps[0]: an organisation level needs at least one policy"),
    ],
)
def test_malformed_cases_exit_two_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: object, expected: str
) -> None:
    path = write(tmp_path, case)
    assert main([path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert expected in err
    assert path in err


def test_missing_file_and_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope.json")]) == 2
    assert "cannot read the file" in capsys.readouterr().err
    assert main([]) == 2
    assert "expected one case file" in capsys.readouterr().err


def test_python_dash_m_compliance_explain(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "compliance", "explain", write(tmp_path, CASE)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Decision: Allow")
