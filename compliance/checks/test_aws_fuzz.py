"""The negative and positive space of the chain, fuzzed with Hypothesis against the account's own policies."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from compliance.chain import permissions as perms
from compliance.chain.evaluator import ChainEvaluator
from compliance.chain.evidence import EvidenceKit
from compliance.chain.explain import cause
from compliance.chain.fuzz import Counterexample, find_counterexample, fuzz_seed, reproduce_hint
from compliance.chain.gates import first_denied
from compliance.chain.intended import intended_gates
from compliance.chain.requests import (
    OTHER_PRINCIPAL_ASSUMPTION,
    VENDOR_POLICY_ASSUMPTION,
    evaluation_ips,
    external_id_unavailable,
)
from compliance.chain.strategies import Judge, Probe, harvest, negative_probes, positive_examples
from compliance.chain.view import ChainView
from compliance.iam import Evaluation
from compliance.model import Finding, Provider, Severity
from compliance.proof.public import reached_under_restriction
from compliance.proof.questions import ChainQuestions
from compliance.registry import Subject, check

FUZZ_READS = perms.union(perms.ROLE_POLICIES, perms.SCPS, perms.BUCKET_POLICY, perms.KEY_WITH_GRANTS)


def _judge(evaluator: ChainEvaluator, probe: Probe) -> Evaluation:
    request = probe.request
    if probe.judge is Judge.TRUST_VENDOR:
        return evaluator.trust(request)
    if probe.judge is Judge.TRUST_OTHER:
        return evaluator.trust(request, vendor=False)
    if probe.judge is Judge.SESSION:
        if request.resource == getattr(evaluator.view.kms_key(), "arn", None):
            return evaluator.kms(request)
        return evaluator.put(request)
    bucket_policy = evaluator.view.bucket_policy()
    same_account = request.caller.account == evaluator.view.chain.aws.account
    identity = () if same_account else (evaluator.worst_case_policy,)
    return evaluator.decide(request, identity_policies=identity,
                            resource_policy=bucket_policy.document if bucket_policy else None)


def _blocked_by_restrict_public_buckets(view: ChainView, probe: Probe) -> bool:
    """RestrictPublicBuckets with a public bucket policy: S3 lets only AWS services the policy names and the owner
    account's principals use it (see compliance/proof/public.py)."""
    caller = probe.request.caller
    policy = view.bucket_policy()
    return not reached_under_restriction(policy.document if policy else None, caller=caller.arn,
                                         caller_account=caller.account, owner=view.chain.aws.account)


def _proven_space(view: ChainView, probe: Probe) -> bool:
    """Does a proof question cover this probe? (The role session's other permissions are judged by
    aws_role_has_least_privilege, not by a proof.)"""
    from compliance.proof.catalog import catalog
    from compliance.proof.questions import RECORD_READS

    if probe.judge in (Judge.TRUST_VENDOR, Judge.TRUST_OTHER):
        return True
    if probe.judge not in (Judge.STRANGER, Judge.SESSION):
        return False
    request = probe.request
    found = catalog().get(request.action)
    records = f"arn:aws:s3:::{view.chain.aws.bucket}/{view.chain.aws.prefix}"
    if request.resource.startswith(records) and found is not None and "object" in found.resource_types:
        return bool(found.levels & {"Write", "Permissions management", "Tagging"}) or found.name in RECORD_READS
    return request.resource == f"arn:aws:s3:::{view.chain.aws.bucket}" and found is not None and bool(
        found.levels & {"Write", "Permissions management"}) and found.name.lower() not in (
        "s3:putbucketpolicy", "s3:deletebucketpolicy", "s3:createbucket")


def _proof_disagrees(view: ChainView) -> str:
    """The proof questions that passed although fuzzing found a hole ("" when some proof found it too).

    Fuzzing is the independent second opinion: its families span the trust policy, the role's own permissions
    and the bucket, so it agrees with the proofs when any of them fails."""
    from compliance.proof.questions import ChainQuestions

    questions = ChainQuestions(view)
    proofs = [questions.records_write(), questions.records_read(), questions.bucket_configuration()]
    if view.chain.external_id() is not None:
        proofs.append(questions.role_assumption())
    key = questions.key_use()
    if key is not None:
        proofs.append(key)
    if any(proof.outcome.witnesses or proof.outcome.approximations for proof in proofs):
        return ""
    return "; ".join(proof.title for proof in proofs)


@check(
    title="Fuzzing finds no request outside the intended export that the policies allow",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        Hand-picked negative cases miss holes. Hypothesis draws other principals (other accounts, the vendor's other
        roles, the customer's roles, anonymous callers, services, and every principal and account named in the
        policies), wrong ExternalIds, other actions, keys outside the prefix, other buckets, unpublished source
        addresses and plain-HTTP requests, with attacker-controlled context values taken from the policies' own
        conditions, and evaluates each against the account's real trust, role, boundary, SCP, bucket and key
        policies. Any allowed request is reported as the concrete (redacted) request with the seed to reproduce it.
    """,
    remediation="""
        Remove or narrow the statement that allowed the counterexample (named in the finding); for a bucket-policy
        Allow to "*" use an exact principal ARN instead of a condition the caller controls.
    """,
    controls=("21CFR11.10(d)", "21CFR11.10(g)", "EUAnnex11-12.1", "EUAnnex11-4"),
    permissions=FUZZ_READS,
)
def test_aws_fuzz_unintended_requests_denied(chain_view: ChainView, fuzz_budget: int) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    evaluator = ChainEvaluator(chain_view, positive=False)
    policies = [chain_view.trust(), *chain_view.identity_policies(), chain_view.boundary(),
                chain_view.bucket_policy(), chain_view.key_policy()]
    found = harvest(policies)
    seed = fuzz_seed(chain.id, "aws_fuzz_unintended_requests_denied")
    families = negative_probes(chain_view, found)

    bucket_policy = chain_view.bucket_policy()
    restricted = ChainQuestions(chain_view).restricted_public_bucket(
        bucket_policy.document if bucket_policy else None)

    def problem(probe: Probe) -> str | None:
        if restricted and probe.judge is Judge.STRANGER and _blocked_by_restrict_public_buckets(chain_view, probe):
            return None
        evaluation = _judge(evaluator, probe)
        if evaluation.allowed():
            statements = ", ".join(f"{e.source} {e.statement}" for e in evaluation.deciding_statements())
            return statements or "allowed"
        return None

    tried: list[str] = []
    for label, strategy in families:
        tried.append(label)
        hit: Counterexample[Probe] | None = find_counterexample(strategy, problem, examples=fuzz_budget, seed=seed)
        if hit is None:
            continue
        probe = hit.example
        evaluation = _judge(evaluator, probe)
        request = probe.request
        disagreement = _proof_disagrees(chain_view) if _proven_space(chain_view, probe) else ""
        record: dict[str, Any] = {"family": label, "request": request.to_json(), "allowed_by": hit.problem,
                                  "seed": seed, "examples": fuzz_budget,
                                  "reproduce": reproduce_hint(seed, fuzz_budget, "aws_fuzz_unintended_requests_denied")}
        if disagreement:
            return Finding.error(kit.text(
                f"Fuzzing found an allowed request that should be denied ({probe.family}): {request.principal} "
                f"{request.action} on {request.resource}, but the proofs ({disagreement}) found none: the reasoning "
                "layer and the fuzzer disagree, so the result is unverified."),
                evidence=(kit.counterexample("Counterexample (redacted)", record),
                          kit.decision("Its decision", evaluation)))
        return Finding.failed(kit.text(
            f"Fuzzing found an allowed request that should be denied ({probe.family}): {request.principal} "
            f"{request.action} on {request.resource}, allowed by {hit.problem} (seed {seed})."),
            evidence=(kit.counterexample("Counterexample (redacted)", record), kit.decision("Its decision", evaluation),
                      kit.note("Assumptions", [OTHER_PRINCIPAL_ASSUMPTION, VENDOR_POLICY_ASSUMPTION,
                                               "SCPs left out when unreadable (they only deny)"])))
    run = {"seed": seed, "examples_per_family": fuzz_budget, "families": tried, "harvested_accounts": found.accounts,
           "harvested_condition_keys": [k for k, _ in found.conditions],
           "reproduce": reproduce_hint(seed, fuzz_budget, "aws_fuzz_unintended_requests_denied")}
    return Finding.passed(f"{len(families)} families x {fuzz_budget} generated requests outside the intended export "
                          f"were all denied (seed {seed}).",
                          evidence=(kit.note("Fuzzing run", run),))


@check(
    title="Fuzzing finds no intended export that the policies deny",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.BUCKET,
    rationale="""
        The vendor writes many object keys under the prefix, for many SSO users, from any of its published
        addresses. Hypothesis draws object keys under the prefix, source addresses within vendor.source_ips and
        session-tag values, and evaluates every gate of the export; a denial is reported as the concrete request.
    """,
    remediation="""
        Widen the statement that denied the example to the whole prefix ("Resource": "arn:aws:s3:::BUCKET/PREFIX*"),
        all published vendor CIDRs, and any value of the session tags.
    """,
    controls=("21CFR11.10(a)", "EUAnnex11-5", "EUAnnex11-4"),
    permissions=FUZZ_READS,
)
def test_aws_fuzz_intended_requests_allowed(chain_view: ChainView, fuzz_budget: int) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    if chain.external_id() is None:
        return external_id_unavailable(chain)
    evaluator = ChainEvaluator(chain_view, positive=True)
    evaluator.scps  # noqa: B018 - unreadable SCPs must be an ERROR before anything is generated
    seed = fuzz_seed(chain.id, "aws_fuzz_intended_requests_allowed")
    default_ip = evaluation_ips(chain)[0]

    def problem(example: tuple[str, str | None, dict[str, str]]) -> str | None:
        key, ip, tags = example
        gates = intended_gates(chain_view, ip=ip or default_ip, session_tags=tags, key=key, evaluator=evaluator)
        broken = first_denied(gates)
        if broken is None:
            return None
        step, gate = broken
        return f"step {step} ({gate.evaluation.request.action}): {cause(gate.evaluation)}"

    strategy: st.SearchStrategy[tuple[str, str | None, dict[str, str]]] = positive_examples(chain_view)
    hit = find_counterexample(strategy, problem, examples=fuzz_budget, seed=seed)
    if hit is not None:
        key, ip, tags = hit.example
        gates = intended_gates(chain_view, ip=ip or default_ip, session_tags=tags, key=key, evaluator=evaluator)
        record = {"object_key": key, "source_ip": ip or default_ip, "session_tag_keys": sorted(tags),
                  "seed": seed, "examples": fuzz_budget,
                  "reproduce": reproduce_hint(seed, fuzz_budget, "aws_fuzz_intended_requests_allowed")}
        return Finding.failed(kit.text(
            f"Fuzzing found an intended export that is denied (key {key!r} from {ip or default_ip}): {hit.problem} "
            f"(seed {seed})."),
            evidence=(kit.counterexample("Denied intended export", record),
                      kit.chain(gates, [VENDOR_POLICY_ASSUMPTION])))
    return Finding.passed(f"{fuzz_budget} generated exports (keys under {chain.aws.prefix}, vendor addresses, session "
                          f"tag values) were all allowed end to end (seed {seed}).",
                          evidence=(kit.note("Fuzzing run", {"seed": seed, "examples": fuzz_budget, "reproduce":
                                                             reproduce_hint(seed, fuzz_budget,
                                                                            "aws_fuzz_intended_requests_allowed")}),))
