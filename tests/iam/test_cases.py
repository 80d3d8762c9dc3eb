"""Every documented JSON case in tests/iam/cases/*.json decides as its ``expected`` says."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.iam import Case, evaluate_case, load_cases

CASES_DIR = Path(__file__).parent / "cases"


def _all_cases() -> list[Case]:
    return [case for path in sorted(CASES_DIR.glob("*.json")) for case in load_cases(path)]


CASES = _all_cases()


def test_case_files_exist() -> None:
    assert CASES, f"no cases found under {CASES_DIR}"


@pytest.mark.parametrize("case", CASES, ids=[f"{Path(c.source.split('#')[0]).stem}:{c.name}" for c in CASES])
def test_case_decides_as_documented(case: Case) -> None:
    evaluation = evaluate_case(case)
    assert case.expected is not None, f"{case.source} has no 'expected' decision"
    assert evaluation.decision is case.expected, (
        f"{case.source}: expected {case.expected}, got {evaluation.decision}\n"
        f"doc: {case.doc}\n" + "\n".join(evaluation.sentences())
    )


@pytest.mark.parametrize("case", CASES[:40], ids=[c.name or c.source for c in CASES[:40]])
def test_case_explanation_is_json_and_sentences(case: Case) -> None:
    import json

    evaluation = evaluate_case(case)
    assert json.loads(json.dumps(evaluation.to_json()))["decision"] == evaluation.decision.value
    assert all(isinstance(s, str) and s for s in evaluation.sentences())
    assert evaluation.summary().startswith(("Allowed", "Denied"))
