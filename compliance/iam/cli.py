"""``python -m compliance explain CASE.json [--json]``: print the decision and why.

Exit status: 0 allowed, 1 denied (explicitly or implicitly), 2 malformed case or usage error,
reported as one line on stderr.
"""

from __future__ import annotations

import json
import sys

from compliance.errors import ComplianceError
from compliance.iam.case import evaluate_case, load_case

USAGE = "usage: python -m compliance explain CASE.json [--json]"


def main(argv: list[str]) -> int:
    args = list(argv)
    if args and args[0] == "explain":
        args = args[1:]
    as_json = "--json" in args
    paths = [arg for arg in args if arg != "--json"]
    if any(arg in ("-h", "--help") for arg in paths):
        print(USAGE)
        return 0
    if len(paths) != 1 or paths[0].startswith("-"):
        print(f"explain: expected one case file and optionally --json ({USAGE})", file=sys.stderr)
        return 2
    try:
        evaluation = evaluate_case(load_case(paths[0]))
    except ComplianceError as exc:
        print(f"explain: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(evaluation.to_json(), indent=2))
    else:
        print(f"Decision: {evaluation.decision.value}")
        for sentence in evaluation.sentences():
            print(f"- {sentence}")
    return 0 if evaluation.allowed() else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
