"""IAM policy evaluation engine: parse policies once, decide requests, explain the decision.

Pure Python, no I/O except reading case files in :mod:`compliance.iam.case`.
"""

from compliance.iam.case import Case, evaluate_case, load_case, load_cases
from compliance.iam.document import Condition, Effect, PolicyDocument, PolicyKind, Statement, parse_policy
from compliance.iam.evaluate import evaluate
from compliance.iam.principals import Principal
from compliance.iam.request import Request
from compliance.iam.trace import ConditionResult, Decision, Evaluation, Outcome, TraceEntry

__all__ = [
    "Case",
    "Condition",
    "ConditionResult",
    "Decision",
    "Effect",
    "Evaluation",
    "Outcome",
    "PolicyDocument",
    "PolicyKind",
    "Principal",
    "Request",
    "Statement",
    "TraceEntry",
    "evaluate",
    "evaluate_case",
    "load_case",
    "load_cases",
    "parse_policy",
]
