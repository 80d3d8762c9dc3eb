"""Trust: only the vendor, only with the right ExternalId, from where the vendor really calls."""

from __future__ import annotations

from compliance.chain import permissions as perms
from compliance.chain.evaluator import ChainEvaluator
from compliance.chain.evidence import EvidenceKit
from compliance.chain.explain import cause
from compliance.chain.remediation import raw_statement, trust_network_fix
from compliance.chain.requests import (
    OTHER_PRINCIPAL_ASSUMPTION,
    UNPUBLISHED_IP,
    VENDOR_POLICY_ASSUMPTION,
    assume_request,
    evaluation_ips,
    other_principals,
    vendor_caller,
    vendor_ips,
)
from compliance.chain.view import ChainView
from compliance.iam import Effect, Evaluation, Outcome, PolicyKind, Statement
from compliance.model import Finding, Provider, Severity
from compliance.proof.questions import ChainQuestions
from compliance.proof.search import Witness
from compliance.registry import Subject, check

NETWORK_KEYS = ("aws:sourceip", "aws:sourcevpc", "aws:sourcevpce", "aws:vpcsourceip")


def _missing_secret(view: ChainView) -> Finding:
    env = view.chain.vendor.external_id_env
    return Finding.error(f"The ExternalId is not available (environment variable {env} is empty), so the trust "
                         "policy cannot be evaluated.")


def _vendor_assume(view: ChainView, external_id: str | None, ip: str, action: str = "sts:AssumeRole") -> Evaluation:
    chain = view.chain
    request = assume_request(chain, view.role().arn, caller=vendor_caller(chain), external_id=external_id,
                             source_ip=ip, tags=chain.vendor.session_tags, action=action)
    return ChainEvaluator(view, positive=False).trust(request)


@check(
    title="The vendor can assume the role with the configured ExternalId and session tags",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        Every export starts with the vendor's sts:AssumeRole on the role. If the trust policy does not allow the
        vendor's principal with the configured ExternalId (and, when SSO session tags are passed, sts:TagSession),
        no audit report reaches the bucket.
    """,
    remediation="""
        Give the role this trust statement (the ExternalId comes from the vendor; keep it out of tickets):
        {"Sid": "VendorAssumesWithExternalId", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::VENDOR_ACCOUNT:role/ExportService"},
         "Action": ["sts:AssumeRole", "sts:TagSession"],
         "Condition": {"StringEquals": {"sts:ExternalId": "YOUR-EXTERNAL-ID"}}}
    """,
    controls=("21CFR11.10(d)", "21CFR11.10(g)", "EUAnnex11-12.1", "EUAnnex11-5"),
    permissions=perms.ROLE,
)
def test_aws_trust_allows_vendor_with_external_id(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    external_id = chain.external_id()
    if external_id is None:
        return _missing_secret(chain_view)
    actions = ["sts:AssumeRole", *(["sts:TagSession"] if chain.vendor.session_tags else [])]
    results = [(ip, action, _vendor_assume(chain_view, external_id, ip, action))
               for ip in evaluation_ips(chain) for action in actions]
    trust = kit.policy("Role trust policy", chain_view.trust())
    assumption = kit.note("Assumption about the vendor's side", VENDOR_POLICY_ASSUMPTION)
    denied = [r for r in results if not r[2].allowed()]
    if denied:
        ip, action, evaluation = denied[0]
        return Finding.failed(kit.text(
            f"The trust policy denies {chain.vendor.name}'s {action} with the configured ExternalId from {ip}: "
            f"{cause(evaluation, PolicyKind.TRUST)}."),
            evidence=(kit.decision(f"{action} by the vendor from {ip}", evaluation), trust, assumption))
    return Finding.passed(
        f"{chain.vendor.name}'s principal may call {' and '.join(actions)} on the role with the configured "
        f"ExternalId from {', '.join(evaluation_ips(chain))}.",
        evidence=(kit.decision("sts:AssumeRole by the vendor", results[0][2]), trust, assumption))


def _proof_witness(view: ChainView, *, vendor: bool) -> Witness | None:
    """The role proof's first witness among the vendor's requests (``vendor``) or everyone else's: the sample
    above can miss a principal or an ExternalId that only a literal in the policy admits; the proof cannot."""
    questions = ChainQuestions(view)
    proof = questions.role_assumption(every_witness=True)
    for witness in proof.outcome.witnesses:
        if questions.is_vendor(witness.principal) is vendor and (
                not vendor or witness.request.action_lower.startswith("sts:assumerole")):
            return witness
    return None


def _wrong_ids(external_id: str) -> list[tuple[str | None, str]]:
    """(value, description) pairs; descriptions never contain the value."""
    cases: list[tuple[str | None, str]] = [
        (None, "no ExternalId at all"),
        ("", "an empty ExternalId"),
        ("not-the-configured-external-id", "an unrelated ExternalId"),
        (external_id + "-other-tenant", "the configured ExternalId with a suffix"),
        (external_id[:-1], "the configured ExternalId without its last character"),
    ]
    if external_id.swapcase() != external_id:
        cases.append((external_id.swapcase(), "the configured ExternalId in other letter case"))
    return cases


@check(
    title="The trust policy denies the vendor with a wrong or missing ExternalId",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        The ExternalId is what stops the confused deputy: another customer of the same vendor could type this
        role's ARN into their own tenant and have the vendor write (or overwrite) records here. A trust policy that
        accepts a missing, empty, partial or case-changed ExternalId gives that protection away.
    """,
    remediation="""
        Use exactly one condition on the vendor's statement:
        "Condition": {"StringEquals": {"sts:ExternalId": "YOUR-EXTERNAL-ID"}}
        and remove any other trust statement that lets the vendor in without it.
    """,
    controls=("21CFR11.10(d)", "21CFR11.10(g)", "EUAnnex11-12.1"),
    permissions=perms.ROLE,
)
def test_aws_trust_denies_wrong_or_missing_external_id(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    external_id = chain.external_id()
    if external_id is None:
        return _missing_secret(chain_view)
    ip = evaluation_ips(chain)[0]
    checked: list[str] = []
    for value, description in _wrong_ids(external_id):
        evaluation = _vendor_assume(chain_view, value, ip)
        checked.append(description)
        if evaluation.allowed():
            statements = ", ".join(e.statement or "?" for e in evaluation.deciding_statements()
                                   if e.policy_kind is PolicyKind.TRUST)
            return Finding.failed(kit.text(
                f"The trust policy lets {chain.vendor.name} assume the role with {description} "
                f"(statement {statements}), so the ExternalId does not stop the confused deputy."),
                evidence=(kit.decision(f"sts:AssumeRole with {description}", evaluation),
                          kit.policy("Role trust policy", chain_view.trust())))
    witness = _proof_witness(chain_view, vendor=True)
    if witness is not None:
        return Finding.failed(kit.text(
            f"The trust policy lets {chain.vendor.name} call {witness.request.action} with an ExternalId other than "
            f"the configured one ({witness.evaluation.summary().rstrip('.')}), so the ExternalId does not stop the "
            "confused deputy."),
            evidence=(kit.decision("The proof's witness (ExternalId value withheld)", witness.evaluation),
                      kit.policy("Role trust policy", chain_view.trust())))
    return Finding.passed(f"The trust policy denies the vendor with {len(checked)} kinds of wrong ExternalId "
                          f"({'; '.join(checked)}) and, by proof, with every other value.",
                          evidence=(kit.note("Wrong ExternalId cases (values withheld)", checked),
                                    kit.policy("Role trust policy", chain_view.trust())))


@check(
    title="No principal other than the vendor can assume the role",
    severity=Severity.CRITICAL,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        Anyone who can assume the export role can write records into the regulated bucket. Only the vendor's
        export principal may be trusted; other accounts, other roles or users in the vendor's account, the
        customer's own roles, services and anonymous callers must be refused even if they know the ExternalId,
        which AWS does not treat as a secret.
    """,
    remediation="""
        Name exactly the vendor's principal in the trust policy, never an account root, "*" or a service:
        "Principal": {"AWS": "arn:aws:iam::VENDOR_ACCOUNT:role/ExportService"}
    """,
    controls=("21CFR11.10(d)", "21CFR11.10(g)", "EUAnnex11-12.1"),
    permissions=perms.ROLE,
)
def test_aws_trust_denies_other_principals(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    role_arn = chain_view.role().arn
    evaluator = ChainEvaluator(chain_view, positive=False)
    ip = evaluation_ips(chain)[0]
    labels: list[str] = []
    for caller in other_principals(chain, role_arn):
        request = assume_request(chain, role_arn, caller=caller, external_id=chain.external_id(), source_ip=ip,
                                 tags=chain.vendor.session_tags)
        evaluation = evaluator.trust(request, vendor=False)
        labels.append(caller.label)
        if evaluation.allowed():
            statements = ", ".join(e.statement or "?" for e in evaluation.deciding_statements()
                                   if e.policy_kind is PolicyKind.TRUST)
            return Finding.failed(kit.text(
                f"The trust policy lets {caller.label} assume the role (statement {statements}), so more than "
                f"{chain.vendor.name} can write into the audit bucket."), resource=role_arn,
                evidence=(kit.decision(f"sts:AssumeRole by {caller.label}", evaluation),
                          kit.policy("Role trust policy", chain_view.trust()),
                          kit.note("Assumption", OTHER_PRINCIPAL_ASSUMPTION)))
    if chain.external_id() is None:
        return _missing_secret(chain_view)
    witness = _proof_witness(chain_view, vendor=False)
    if witness is not None:
        return Finding.failed(kit.text(
            f"The trust policy lets {witness.principal.label} call {witness.request.action} on the role "
            f"({witness.evaluation.summary().rstrip('.')}), so more than {chain.vendor.name} can write into the "
            "audit bucket."), resource=role_arn,
            evidence=(kit.decision(f"{witness.request.action} by {witness.principal.label}", witness.evaluation),
                      kit.policy("Role trust policy", chain_view.trust()),
                      kit.note("Assumption", OTHER_PRINCIPAL_ASSUMPTION)))
    return Finding.passed(f"The trust policy refuses all {len(labels)} sampled kinds of principal, and by proof every "
                          "other principal, even with the ExternalId and an allow-everything identity policy.",
                          resource=role_arn,
                          evidence=(kit.note("Principals tried", labels),
                                    kit.note("Assumption", OTHER_PRINCIPAL_ASSUMPTION),
                                    kit.policy("Role trust policy", chain_view.trust())))


def _operator_problem(operator: str, values: tuple[str, ...]) -> str | None:
    base = operator.split(":", 1)[-1]
    if operator.lower().startswith(("foranyvalue:", "forallvalues:")):
        return (f"uses the set operator {operator}, which is meant for multi-valued keys "
                "(ForAllValues is true when the ExternalId is missing)")
    if base.endswith("IfExists"):
        return f"uses {operator}, which is true when the ExternalId is missing"
    if base == "StringLike":
        wild = any("*" in v or "?" in v for v in values)
        return ("uses StringLike with a wildcard, which accepts ExternalIds other than yours" if wild else
                "uses StringLike, which turns any later '*' into a wildcard; use StringEquals")
    if base != "StringEquals":
        return f"uses {operator} instead of StringEquals"
    if len(values) != 1:
        return f"accepts {len(values)} different ExternalIds instead of exactly one"
    return None


def _deny_style_guard(view: ChainView, statements: tuple[Statement, ...], external_id: str) -> str | None:
    """The deny-style form: an Allow without an ExternalId condition, guarded by a Deny on sts:AssumeRole whose
    single-valued StringNotEquals (or Null) on sts:ExternalId refuses every other value and a missing one. The
    label of that Deny, when the engine confirms it refuses a missing and a wrong ExternalId; else None."""
    ip = evaluation_ips(view.chain)[0]
    for statement in statements:
        if statement.effect is not Effect.DENY or not statement.matches_action("sts:AssumeRole"):
            continue
        guards = [c for c in statement.conditions if c.key.lower() == "sts:externalid"]
        single = all(len(c.values) == 1 and c.operator.split(":", 1)[-1] in
                     ("StringNotEquals", "StringNotEqualsIfExists", "Null") for c in guards)
        if guards and single and not any(
                _vendor_assume(view, value, ip).allowed() for value in (None, external_id + "-other")):
            return statement.label
    return None


@check(
    title="The ExternalId condition is a single-valued StringEquals on sts:ExternalId",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        Only StringEquals with exactly one value pins the role to this customer. StringLike with wildcards,
        ...IfExists variants and ForAnyValue/ForAllValues set operators all accept requests with another or no
        ExternalId, and a statement that lets the vendor in without any ExternalId condition re-opens the
        confused-deputy hole.
    """,
    remediation="""
        Write the condition exactly as: "Condition": {"StringEquals": {"sts:ExternalId": "YOUR-EXTERNAL-ID"}}
        on every trust statement that allows the vendor.
    """,
    controls=("21CFR11.10(d)", "EUAnnex11-12.1"),
    permissions=perms.ROLE,
)
def test_aws_trust_external_id_condition_is_string_equals(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    trust = chain_view.trust()
    external_id = chain.external_id()
    if external_id is None:
        return _missing_secret(chain_view)
    evaluation = _vendor_assume(chain_view, external_id, evaluation_ips(chain)[0])
    allowing = {e.statement for e in evaluation.trace
                if e.outcome is Outcome.ALLOW and e.policy_kind is PolicyKind.TRUST}
    problems: list[str] = []
    statements: list[Statement] = [s for s in trust.document.statements
                                   if s.effect is Effect.ALLOW and s.matches_action("sts:AssumeRole")]
    guard = _deny_style_guard(chain_view, trust.document.statements, external_id)
    for statement in statements:
        conditions = [c for c in statement.conditions if c.key.lower() == "sts:externalid"]
        if not conditions and statement.label in allowing and guard is None:
            problems.append(f"statement {statement.label} lets the vendor in without any sts:ExternalId condition")
        for condition in conditions:
            problem = _operator_problem(condition.operator, condition.values)
            if problem:
                problems.append(f"statement {statement.label} {problem}")
    evidence = (kit.policy("Role trust policy", trust), kit.decision("sts:AssumeRole by the vendor", evaluation))
    if problems:
        return Finding.failed(kit.text(f"The trust policy's ExternalId condition is not a single StringEquals: "
                                       f"{'; '.join(problems)}."), evidence=evidence)
    if not allowing:
        return Finding.not_applicable("No trust statement allows the vendor, so there is no ExternalId condition to "
                                      "judge (see aws_trust_allows_vendor_with_external_id).")
    if guard is not None:
        return Finding.passed(f"The vendor's Allow is guarded by the Deny {guard}, a single-valued StringNotEquals on "
                              "sts:ExternalId that refuses every other and a missing ExternalId (the deny-style form).",
                              evidence=evidence)
    return Finding.passed(f"Every trust statement that admits the vendor pins the ExternalId with a single-valued "
                          f"StringEquals (statements {', '.join(sorted(s for s in allowing if s))}).",
                          evidence=evidence)


@check(
    title="Network conditions in the trust policy admit every published vendor address",
    severity=Severity.HIGH,
    provider=Provider.AWS, resource=Subject.ROLE,
    rationale="""
        The walkthrough says to remove any IP-based condition because it breaks SaaS integrations. That is only
        partly right: an aws:SourceIp condition without published vendor egress addresses does silently break the
        export, but with the vendor's published CIDRs it is valid defence in depth. aws:SourceVpc, aws:SourceVpce and
        aws:VpcSourceIp describe the caller's own network, so a cross-account vendor never matches the customer's.
    """,
    remediation="""
        Either remove the network condition, or list the vendor's published egress CIDRs in vendor.source_ips and
        use them in the trust statement: "Condition": {"StringEquals": {"sts:ExternalId": "YOUR-EXTERNAL-ID"},
        "IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}. Never use aws:SourceVpc/aws:SourceVpce for the vendor.
    """,
    controls=("21CFR11.10(d)", "21CFR11.10(h)", "EUAnnex11-12.1", "EUAnnex11-5"),
    permissions=perms.ROLE,
)
def test_aws_trust_network_conditions_admit_vendor_ips(chain_view: ChainView) -> Finding:
    chain = chain_view.chain
    kit = EvidenceKit(chain_view)
    trust = chain_view.trust()
    found = [(s, c) for s in trust.document.statements for c in s.conditions if c.key.lower() in NETWORK_KEYS]
    if not found:
        return Finding.passed("The trust policy has no aws:SourceIp/SourceVpc/SourceVpce/VpcSourceIp condition, "
                              "so no network condition can block the vendor.",
                              evidence=(kit.policy("Role trust policy", trust),))
    statement, condition = found[0]
    where = f"{condition.key} condition (statement {statement.label}, {condition.operator})"
    listed = kit.note("Network conditions found", [
        {"statement": s.label, "effect": s.effect.value, "operator": c.operator, "key": c.key, "values": list(c.values)}
        for s, c in found])
    evidence = (kit.policy("Role trust policy", trust), listed)
    fix = trust_network_fix(statement, raw_statement(trust.raw, statement), chain.vendor.source_ips, UNPUBLISHED_IP,
                            chain.vendor.name, chain.vendor.external_id_env)
    if not chain.vendor.source_ips:
        return Finding.failed(
            f"The trust policy's {where} denies the vendor: {chain.vendor.name} has no published source IPs "
            "(vendor.source_ips is empty), so any address it calls from may be refused; here the walkthrough's "
            "'remove any IP-based conditions' is right.", evidence=evidence,
            remediation=fix)
    external_id = chain.external_id()
    if external_id is None:
        return _missing_secret(chain_view)
    for ip in vendor_ips(chain):
        evaluation = _vendor_assume(chain_view, external_id, ip)
        if not evaluation.allowed():
            return Finding.failed(kit.text(
                f"The trust policy's {where} denies the vendor from its published address {ip}: "
                f"{cause(evaluation, PolicyKind.TRUST)}."), remediation=fix,
                evidence=(kit.decision(f"sts:AssumeRole from {ip}", evaluation), *evidence))
    return Finding.passed(
        f"The trust policy's {where} admits every published vendor address ({', '.join(chain.vendor.source_ips)}): "
        "valid defence in depth, so the walkthrough's 'remove any IP-based conditions' does not apply here.",
        evidence=evidence)
