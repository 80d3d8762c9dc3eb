"""Decisions per second of the IAM engine (a script, not a test).

    .venv/bin/python benchmarks/bench_iam.py [--seconds 1.0]

(a) the reference export chain: vendor role assumes the customer's export role (trust policy with
    sts:ExternalId, plus sts:TagSession), the session writes to the audit bucket (identity policy,
    bucket policy denying insecure transport, one SCP level) and uses the KMS key (key policy);
(b) one identity policy of 200 statements, each with conditions, against requests that match late.
Prints the best of several timed rounds; the machine is shared, so expect noise.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from compliance.iam import Evaluation, PolicyKind, Request, evaluate, parse_policy

CUSTOMER = "111122223333"
VENDOR = "999988887777"
KEY_ARN = f"arn:aws:kms:eu-west-1:{CUSTOMER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXPORT_ROLE = f"arn:aws:iam::{CUSTOMER}:role/QualioExport"
SESSION = f"arn:aws:sts::{CUSTOMER}:assumed-role/QualioExport/export-1"

TRUST = parse_policy(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "VendorAssumes",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{VENDOR}:role/ExportService"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "qualio-7f3a"}},
            },
            {
                "Sid": "VendorTags",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{VENDOR}:role/ExportService"},
                "Action": "sts:TagSession",
            },
        ],
    },
    kind=PolicyKind.TRUST,
    name="QualioExport trust",
)
VENDOR_IDENTITY = parse_policy(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": EXPORT_ROLE}],
    },
    kind=PolicyKind.IDENTITY,
    name="ExportService",
)
ROLE_IDENTITY = parse_policy(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteReports",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::company-audit-reports/qualio/*",
            },
            {"Sid": "UseKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": KEY_ARN},
        ],
    },
    kind=PolicyKind.IDENTITY,
    name="QualioExport",
)
BUCKET = parse_policy(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecure",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::company-audit-reports", "arn:aws:s3:::company-audit-reports/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    },
    kind=PolicyKind.RESOURCE,
    name="company-audit-reports",
)
KEY = parse_policy(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "EnableIAM", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CUSTOMER}:root"},
             "Action": "kms:*", "Resource": "*"}
        ],
    },
    kind=PolicyKind.KEY,
    name="audit key",
)
SCP_LEVEL = (
    parse_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        kind=PolicyKind.SCP,
        name="FullAWSAccess",
    ),
    parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "NoLeaving", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"},
                {"Sid": "NoBucketDelete", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"},
            ],
        },
        kind=PolicyKind.SCP,
        name="Guardrails",
    ),
)

CHAIN: list[tuple[Request, dict[str, Any]]] = [
    (
        Request(f"arn:aws:sts::{VENDOR}:assumed-role/ExportService/run-42", VENDOR, "sts:AssumeRole", EXPORT_ROLE,
                CUSTOMER, {"sts:ExternalId": "qualio-7f3a",
                           "aws:PrincipalArn": f"arn:aws:iam::{VENDOR}:role/ExportService"}),
        {"identity_policies": (VENDOR_IDENTITY,), "resource_policy": TRUST},
    ),
    (
        Request(SESSION, CUSTOMER, "s3:PutObject", "arn:aws:s3:::company-audit-reports/qualio/2024/report.pdf",
                CUSTOMER, {"aws:SecureTransport": "true"}),
        {"identity_policies": (ROLE_IDENTITY,), "resource_policy": BUCKET, "scps": (SCP_LEVEL,)},
    ),
    (
        Request(SESSION, CUSTOMER, "kms:GenerateDataKey", KEY_ARN, CUSTOMER, {"aws:SecureTransport": "true"}),
        {"identity_policies": (ROLE_IDENTITY,), "resource_policy": KEY, "scps": (SCP_LEVEL,)},
    ),
    (
        Request(SESSION, CUSTOMER, "s3:PutObject", "arn:aws:s3:::company-audit-reports/qualio/2024/report.pdf",
                CUSTOMER, {"aws:SecureTransport": "false"}),
        {"identity_policies": (ROLE_IDENTITY,), "resource_policy": BUCKET, "scps": (SCP_LEVEL,)},
    ),
]


def big_policy(size: int = 200) -> dict[str, Any]:
    services = ["s3", "dynamodb", "sqs", "sns", "kms", "ec2", "lambda", "logs"]
    statements = []
    for n in range(size):
        service = services[n % len(services)]
        statements.append(
            {
                "Sid": f"S{n}",
                "Effect": "Deny" if n % 17 == 0 else "Allow",
                "Action": [f"{service}:Get*", f"{service}:Put{n}*", f"{service}:Describe?{n}"],
                "Resource": [f"arn:aws:{service}:eu-west-1:{CUSTOMER}:thing/{n}/*", f"arn:aws:{service}:*:*:other-{n}"],
                "Condition": {
                    "StringEquals": {"aws:PrincipalTag/team": ["audit", f"team-{n}"]},
                    "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", f"192.168.{n % 256}.0/24"]},
                    "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                },
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


BIG = parse_policy(big_policy(), kind=PolicyKind.IDENTITY, name="big")
BIG_REQUESTS = [
    Request(f"arn:aws:iam::{CUSTOMER}:user/auditor", CUSTOMER, action, resource, CUSTOMER,
            {"aws:PrincipalTag/team": "audit", "aws:SourceIp": "10.1.2.3", "aws:CurrentTime": "2025-06-01T12:00:00Z"})
    for action, resource in [
        ("logs:GetLogEvents", f"arn:aws:logs:eu-west-1:{CUSTOMER}:thing/199/stream"),
        ("s3:PutObject", "arn:aws:s3:::not-covered/x"),
        ("ec2:DescribeInstances", f"arn:aws:ec2:eu-west-1:{CUSTOMER}:thing/5/i-1"),
    ]
]


def rate(label: str, run: Callable[[], Evaluation], *, batch: int, seconds: float, rounds: int = 5) -> float:
    best = 0.0
    for _ in range(rounds):
        count = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / rounds:
            for _ in range(batch):
                run()
            count += batch
        best = max(best, count / elapsed)
    print(f"{label:<62} {best:>12,.0f} decisions/s  ({1e6 / best:6.2f} µs each)")
    return best


def cycler(items: list[tuple[Request, dict[str, Any]]]) -> Callable[[], Evaluation]:
    index = 0

    def run() -> Evaluation:
        nonlocal index
        request, policies = items[index]
        index = (index + 1) % len(items)
        return evaluate(request, **policies)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per workload")
    seconds = parser.parse_args().seconds
    for request, policies in CHAIN:
        print(f"  {request.action:<22} → {evaluate(request, **policies).summary()}")
    chain = rate("(a) reference chain (AssumeRole, PutObject, GenerateDataKey, deny)", cycler(CHAIN),
                 batch=200, seconds=seconds)

    def with_request() -> Evaluation:
        request, policies = CHAIN[1]
        fresh = Request(request.principal, request.principal_account, request.action, request.resource,
                        request.resource_account, request.context)
        return evaluate(fresh, **policies)

    built = rate("(a') chain PutObject, building the Request each time", with_request, batch=200, seconds=seconds)
    big = rate("(b) 200-statement policy with conditions", cycler([(r, {"identity_policies": (BIG,)})
                                                                    for r in BIG_REQUESTS]),
               batch=50, seconds=seconds)
    print(f"ratio (a)/(b): {chain / big:.1f}x; Request construction costs {100 * (1 - built / chain):.0f}% of (a)")
    print(f"target ≥100,000/s per core on (a): {'met' if chain >= 100_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
