"""``python -m compliance explain CASE.json [--json]``: print the decision and why.

A file holds one case, or several as ``{"cases": [case, ...]}`` (the suite's own data files). Exit status: 0 allowed
(every case as expected), 1 denied or a case that differs from its ``expected``, 2 malformed case or usage error,
reported as one line on stderr. A closed pipe (``explain ... --json | head``) ends quietly.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from compliance.errors import ComplianceError, one_line
from compliance.iam.case import Case, evaluate_case, load_case, load_cases, read_case_file
from compliance.iam.trace import Evaluation

USAGE = "usage: python -m compliance explain CASE.json [--json]"

HELP = f"""{USAGE}

Evaluate an AWS request against the policies that apply to it and explain the decision.

CASE.json holds one case, or several as {{"cases": [case, ...]}}. A case is a JSON object:
  request             (required) {{"principal": ARN, "action": "s3:PutObject", "resource": ARN,
                      "principal_account": "111122223333", "resource_account": "111122223333",
                      "context": {{"aws:SecureTransport": "true", "aws:TagKeys": ["qualio-user"]}}}}
  identity_policies   list of policies (objects or JSON strings)
  resource_policy     the trust policy for sts:*, the key policy for kms:*, otherwise the resource policy; or null
  permission_boundary a policy or null
  scps, rcps          organisation levels from the root down; a level is a policy or a list of policies
  session_policies    list of policies
  name, doc, description   strings, shown in messages
  expected            "Allow", "ExplicitDeny" or "ImplicitDeny": a cases file reports a case that differs

Output: one case prints the decision and one line per reason; a cases file prints one line per case
(name, decision, expectation) and a summary line. --json prints the evaluation(s) as JSON instead.

Exit status:
  0  allowed (a cases file: every case matches its expected decision, or is allowed when none is given)
  1  denied (a cases file: some case is denied or differs from its expected decision)
  2  the case file is malformed or the command line is wrong (one line on stderr naming the file and key)
"""


def main(argv: list[str]) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        _quiet_stdout()
        return 0


def _main(argv: list[str]) -> int:
    args = list(argv)
    if args and args[0] == "explain":
        args = args[1:]
    as_json = "--json" in args
    paths = [arg for arg in args if arg != "--json"]
    if any(arg in ("-h", "--help") for arg in paths):
        print(HELP, end="")
        return 0
    if len(paths) != 1 or paths[0].startswith("-"):
        print(f"explain: expected one case file and optionally --json ({USAGE}; --help for the schema)",
              file=sys.stderr)
        return 2
    try:
        raw = read_case_file(paths[0])
        many = isinstance(raw, Mapping) and "cases" in raw
        cases = load_cases(paths[0]) if many else [load_case(paths[0])]
        results = [(case, evaluate_case(case)) for case in cases]
    except ComplianceError as exc:
        print(f"explain: {one_line(str(exc), 1000)}", file=sys.stderr)
        return 2
    except (RecursionError, TypeError, ValueError, KeyError, AttributeError) as exc:  # never a traceback
        print(f"explain: {one_line(paths[0])}: the case could not be evaluated ({type(exc).__name__}); check it "
              "against `python -m compliance explain --help`", file=sys.stderr)
        return 2
    if not many:
        return _print_one(results[0][1], as_json)
    return _print_many(results, as_json)


def _print_one(evaluation: Evaluation, as_json: bool) -> int:
    if as_json:
        print(json.dumps(evaluation.to_json(), indent=2))
    else:
        print(f"Decision: {evaluation.decision.value}")
        for sentence in evaluation.sentences():
            print(f"- {sentence}")
    return 0 if evaluation.allowed() else 1


def _label(case: Case) -> str:
    return one_line(case.name or case.source, 120)


def _print_many(results: list[tuple[Case, Evaluation]], as_json: bool) -> int:
    differ = [case for case, evaluation in results
              if case.expected is not None and evaluation.decision != case.expected]
    denied = [case for case, evaluation in results if case.expected is None and not evaluation.allowed()]
    if as_json:
        print(json.dumps([_json_entry(case, evaluation) for case, evaluation in results], indent=2))
    else:
        for case, evaluation in results:
            if case.expected is None:
                verdict = ""
            elif evaluation.decision == case.expected:
                verdict = " (as expected)"
            else:
                verdict = f" (expected {case.expected.value})"
            print(f"{_label(case)}: {evaluation.decision.value}{verdict}: {one_line(evaluation.summary(), 400)}")
        allowed = sum(1 for _, evaluation in results if evaluation.allowed())
        print(f"{len(results)} cases: {allowed} allowed, {len(results) - allowed} denied; "
              f"{len(differ)} differ from their expected decision")
    return 1 if differ or denied else 0


def _json_entry(case: Case, evaluation: Evaluation) -> dict[str, Any]:
    entry: dict[str, Any] = {"case": case.name or case.source,
                             "expected": case.expected.value if case.expected is not None else None}
    entry.update(evaluation.to_json())
    return entry


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
