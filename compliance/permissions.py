"""`python -m compliance permissions`: the least-privilege read policy the live AWS target needs.

Built from the permissions every registered check declares, never from a hand-kept list.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from typing import Any

from compliance.model import Provider
from compliance.registry import load_all_checks

IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")


def aws_actions() -> dict[str, list[str]]:
    """Every AWS IAM action a check declares, mapped to the checks that need it."""
    needed: dict[str, list[str]] = defaultdict(list)
    for check_id, meta in sorted(load_all_checks().items()):
        if meta.provider is not Provider.AWS:
            continue
        for action in meta.permissions:
            if IAM_ACTION.match(action):
                needed[action].append(check_id)
    return dict(sorted(needed.items()))


def read_policy() -> dict[str, Any]:
    by_service: dict[str, list[str]] = defaultdict(list)
    for action in aws_actions():
        by_service[action.split(":")[0]].append(action)
    statements = [
        {"Sid": f"ExportChainComplianceRead{service.title().replace('-', '')}", "Effect": "Allow",
         "Action": sorted(actions), "Resource": "*"}
        for service, actions in sorted(by_service.items())
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m compliance permissions",
                                     description="Print the IAM read policy the live target needs.")
    parser.add_argument("--by-check", action="store_true", help="list each action with the checks that need it")
    args = parser.parse_args(argv)
    if args.by_check:
        for action, checks in aws_actions().items():
            print(f"{action}: {', '.join(checks)}")
        return 0
    print(json.dumps(read_policy(), indent=2))
    return 0
