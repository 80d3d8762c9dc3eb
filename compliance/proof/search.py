"""Decide "is any request outside the intended set allowed?" over every request the policies could admit.

The request space is split into classes the policies cannot tell apart, and the engine decides one
representative of each relevant class (the engine is the only place evaluation semantics live):

1. **Principals** come as `PrincipalClass` values built by the caller (one per kind, account, organization and
   name class the policies can tell apart), each with the policies that decide for it.
2. **Actions** are the catalogued actions of the question, grouped by which Action/NotAction patterns match.
3. **Resources** are the classes of the question's resource pattern under the policies' Resource patterns
   (the string automaton of :mod:`compliance.proof.strings`).
4. **Context keys** the caller controls range over the classes of :mod:`compliance.proof.values`.

Keys are enumerated group by group: two keys are in one group when some statement tests both. Within a
group, only the Pareto-best outcomes are kept (the most Allow statements met, the fewest Deny statements
met), because the engine's decision is monotone: meeting one more Allow statement never turns an allow into
a deny, and meeting one more Deny never turns a deny into an allow (a property the test suite checks against
the engine). The intended set is excluded the same way, as a pseudo-Deny. Every candidate the search
settles on is decided by the engine, and a witness is a request the engine allowed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from compliance.iam import Effect, Evaluation, PolicyDocument, Request, Statement
from compliance.iam.conditions import CompiledCondition
from compliance.iam.principals import not_principal_applies, principal_grant
from compliance.iam.variables import ContextValue
from compliance.proof.strings import Glob, ProofLimit, classes
from compliance.proof.values import KeyClasses, key_classes

MAX_GROUP_ASSIGNMENTS = 200_000
MAX_EVALUATIONS = 2_000_000

Judge = Callable[[Request], Evaluation]


@dataclass(frozen=True)
class PrincipalClass:
    """One class of callers: a representative caller, its fixed context keys and the policies that decide."""

    label: str
    arn: str
    account: str | None
    context: Mapping[str, ContextValue]
    judge: Judge
    policies: tuple[PolicyDocument, ...]
    free_keys: frozenset[str] = frozenset()
    """Keys in ``context`` that the caller nevertheless chooses (e.g. its own principal tags)."""
    absent_keys: frozenset[str] = frozenset()
    """Keys AWS never sets for this caller (e.g. aws:SourceAccount for a direct IAM caller)."""
    group: str = ""
    resource_aliases: tuple[tuple[str, str], ...] = ()
    """(prefix in the policies, prefix of the question's resources): an access point's object ARNs stand for the
    bucket's objects, so its policy's Resource patterns split the bucket's keys too."""


@dataclass(frozen=True)
class Intended:
    """Requests of ``principal_labels`` × ``actions`` on resources matching ``resource`` are intended when
    every condition holds (no conditions: always intended)."""

    principal_labels: frozenset[str]
    actions: frozenset[str]
    resource: Glob | None = None
    conditions: tuple[CompiledCondition, ...] = ()


@dataclass(frozen=True)
class Question:
    title: str
    principals: tuple[PrincipalClass, ...]
    actions: tuple[str, ...]
    resource: Glob
    """The resources asked about (a wildcard pattern over ARNs)."""
    resource_prefix: str
    resource_account: str | None
    fixed_context: Mapping[str, ContextValue]
    intended: tuple[Intended, ...] = ()
    first_witness_only: bool = True
    """False: look for a witness for every principal class (listing who can), not only the first."""


@dataclass(frozen=True)
class Witness:
    principal: PrincipalClass
    evaluation: Evaluation

    @property
    def request(self) -> Request:
        return self.evaluation.request


@dataclass
class Outcome:
    question: str
    witnesses: list[Witness] = field(default_factory=list)
    classes: int = 0
    evaluations: int = 0
    literals: dict[str, list[str]] = field(default_factory=dict)
    approximations: list[str] = field(default_factory=list)

    @property
    def proven(self) -> bool:
        return not self.witnesses and not self.approximations

    def to_json(self) -> dict[str, object]:
        return {"question": self.question, "classes": self.classes, "evaluations": self.evaluations,
                "split_on": self.literals, "approximations": self.approximations,
                "witnesses": [w.principal.label for w in self.witnesses]}


def _statements(policies: Iterable[PolicyDocument]) -> list[Statement]:
    return [s for p in policies for s in p.statements]


def _action_classes(actions: Sequence[str], statements: Sequence[Statement],
                    intended: Sequence[Intended]) -> list[str]:
    seen: dict[tuple[bool, ...], str] = {}
    for action in actions:
        vector = (*(s.matches_action(action) for s in statements),
                  *(action.lower() in {a.lower() for a in i.actions} for i in intended))
        seen.setdefault(vector, action)
    return list(seen.values())


def _resource_globs(statements: Sequence[Statement], context: Mapping[str, ContextValue]) -> list[Glob]:
    globs: list[Glob] = []
    lower = {k.lower(): v for k, v in context.items()}
    for statement in statements:
        for pattern in statement.resources or statement.not_resources or ():
            if "${" in pattern and statement.variables:
                from compliance.iam.variables import parse_template

                pieces = parse_template(pattern).resolve(lower)
                if pieces is None:
                    continue
                if any(not is_pattern and ("*" in text or "?" in text) for text, is_pattern in pieces):
                    raise ProofLimit(f"the resource pattern {pattern!r} resolves to a literal wildcard")
                pattern = "".join(text for text, _ in pieces)
            globs.append(Glob(pattern, arn=True))
    return globs


def _variable_keys(statement: Statement) -> set[str]:
    keys: set[str] = set()
    for condition in statement.compiled_conditions:
        for template in condition.templates:
            keys.update(s.key for s in template.segments if hasattr(s, "key"))
    for template in getattr(statement, "_resource_templates", ()):
        keys.update(s.key for s in template.segments if hasattr(s, "key"))
    return keys


class _Statement:
    """One relevant statement (or the pseudo-Deny of the intended set) and the free keys it tests."""

    def __init__(self, effect: Effect, conditions: Sequence[CompiledCondition], keys: frozenset[str],
                 statement: Statement | None) -> None:
        self.effect = effect
        self.conditions = tuple(conditions)
        self.keys = keys
        self.statement = statement


def _met(item: _Statement, resource: str, context: Mapping[str, ContextValue]) -> bool:
    if item.statement is not None and item.statement._resource_templates \
            and not item.statement.matches_resource(resource, context):
        return False
    return all(c.evaluate(context)[0] for c in item.conditions)


class Prover:
    """Answers `Question`s. One prover per chain: key classes are cached across questions."""

    def __init__(self, *, free_key: Callable[[str], bool]) -> None:
        self.free_key = free_key
        self._classes: dict[tuple[str, tuple[str, ...], frozenset[str]], KeyClasses] = {}

    def _key_classes(self, key: str, conditions: Sequence[CompiledCondition], *, allow_absent: bool,
                     prefer: tuple[bool, ...]) -> KeyClasses:
        signature = (key, tuple(f"{c.operator}|{'|'.join(c.values)}|{p}" for c, p in zip(conditions, prefer,
                                                                                          strict=True)),
                     frozenset({str(allow_absent)}))
        found = self._classes.get(signature)
        if found is None:
            found = key_classes(key, conditions, allow_absent=allow_absent, prefer=prefer)
            self._classes[signature] = found
        return found

    def decide(self, question: Question) -> Outcome:
        outcome = Outcome(question.title)
        all_statements = _statements({p for pc in question.principals for p in pc.policies})
        conditions_by_key: dict[str, list[CompiledCondition]] = {}
        for statement in all_statements:
            for condition in statement.compiled_conditions:
                conditions_by_key.setdefault(condition.key_lower, []).append(condition)
        for rule in question.intended:
            for condition in rule.conditions:
                conditions_by_key.setdefault(condition.key_lower, []).append(condition)
        outcome.literals = {key: sorted({v for c in conds for v in c.values}) for key, conds in
                            sorted(conditions_by_key.items())}
        for principal in question.principals:
            found = self._principal(question, principal, conditions_by_key, outcome)
            if found is not None:
                outcome.witnesses.append(found)
                if question.first_witness_only:
                    break
        return outcome

    def _principal(self, question: Question, principal: PrincipalClass,
                   conditions_by_key: Mapping[str, list[CompiledCondition]], outcome: Outcome) -> Witness | None:
        statements = _statements(principal.policies)
        rules = [r for r in question.intended if principal.label in r.principal_labels]
        fixed = {**question.fixed_context, **principal.context}
        fixed_lower = {k.lower(): v for k, v in fixed.items()}
        probe = Request(principal.arn, principal.account, question.actions[0], question.resource.text,
                        question.resource_account, fixed)
        caller = probe.caller
        applicable = [s for s in statements if self._names(s, caller)]
        actions = _action_classes(question.actions, applicable, rules)
        resource_globs = _resource_globs(applicable, fixed) + [r.resource for r in rules if r.resource is not None]
        for alias, target in principal.resource_aliases:
            resource_globs += [Glob(target + g.text[len(alias):], arn=g.arn, ignore_case=g.ignore_case,
                                    literal=g.literal) for g in resource_globs if g.text.startswith(alias)]
        resource_globs = list(dict.fromkeys(resource_globs))
        if question.resource.literal:
            resources = [question.resource.text]
        else:
            resources = list(classes(resource_globs, required=[(question.resource, True)],
                                     prefix=question.resource_prefix).values())
        for action in actions:
            relevant = [s for s in applicable if s.matches_action(action)]
            for resource in resources:
                active_rules = [r for r in rules if action.lower() in {a.lower() for a in r.actions}
                                and (r.resource is None or _glob_match(r.resource, resource))]
                if any(not r.conditions for r in active_rules):
                    continue  # this whole class is intended
                items = self._items(relevant, active_rules, resource, fixed_lower, principal)
                witness = self._search(question, principal, action, resource, fixed, items,
                                       conditions_by_key, outcome)
                if witness is not None:
                    return witness
        return None

    @staticmethod
    def _names(statement: Statement, caller: object) -> bool:
        if statement.principal is not None:
            return principal_grant(statement.principal, caller) is not None  # type: ignore[arg-type]
        if statement.not_principal is not None:
            deny = statement.effect is Effect.DENY
            return not_principal_applies(statement.not_principal, caller, deny=deny) or deny  # type: ignore[arg-type]
        return True

    def _items(self, relevant: Sequence[Statement], rules: Sequence[Intended], resource: str,
               fixed: Mapping[str, ContextValue], principal: PrincipalClass) -> list[_Statement]:
        items: list[_Statement] = []
        for statement in relevant:
            if statement._resource_set is not None and not statement._resource_templates \
                    and not statement.matches_resource(resource, fixed):
                continue
            keys = {c.key_lower for c in statement.compiled_conditions} | _variable_keys(statement)
            free = frozenset(k for k in keys if self._is_free(k, fixed, principal))
            for key in _variable_keys(statement):
                if key in free:
                    raise ProofLimit(f"statement {statement.label} uses the policy variable ${{{key}}}, a value the "
                                     "caller chooses, so its classes cannot be bounded")
            items.append(_Statement(statement.effect, statement.compiled_conditions, free, statement))
        for rule in rules:
            rule_keys = frozenset(c.key_lower for c in rule.conditions if self._is_free(c.key_lower, fixed, principal))
            items.append(_Statement(Effect.DENY, rule.conditions, rule_keys, None))
        return items

    def _is_free(self, key: str, fixed: Mapping[str, ContextValue], principal: PrincipalClass) -> bool:
        if key in principal.free_keys:
            return True
        if key in fixed or key in principal.absent_keys:
            return False
        return self.free_key(key)

    def _search(self, question: Question, principal: PrincipalClass, action: str, resource: str,
                fixed: Mapping[str, ContextValue], items: Sequence[_Statement],
                conditions_by_key: Mapping[str, list[CompiledCondition]], outcome: Outcome) -> Witness | None:
        keys = sorted({k for item in items for k in item.keys})
        key_values: dict[str, KeyClasses] = {}
        for key in keys:
            relevant = [(c, item.effect is Effect.ALLOW) for item in items for c in item.conditions
                        if c.key_lower == key]
            values = self._key_classes(key, [c for c, _ in relevant], allow_absent=True,
                                       prefer=tuple(p for _, p in relevant))
            key_values[key] = values
            if values.approximate and values.approximate not in outcome.approximations:
                outcome.approximations.append(values.approximate)
        outcome.classes += math.prod(len(v.values) for v in key_values.values()) if key_values else 1
        groups = _groups(keys, items)
        fixed_lower = {k.lower(): v for k, v in fixed.items() if k.lower() not in principal.free_keys}
        per_group: list[list[dict[str, ContextValue | None]]] = []
        for group in groups:
            members = [item for item in items if item.keys & group]
            per_group.append(self._pareto(sorted(group), members, key_values, resource, fixed_lower))
        for choice in itertools.product(*per_group) if per_group else [()]:
            context: dict[str, ContextValue] = dict(fixed)
            for key in principal.free_keys:
                context.pop(key, None)
                context.pop(next((k for k in fixed if k.lower() == key), key), None)
            for assignment in choice:
                context.update({k: v for k, v in assignment.items() if v is not None})
            request = Request(principal.arn, principal.account, action, resource, question.resource_account,
                              context)
            outcome.evaluations += 1
            if outcome.evaluations > MAX_EVALUATIONS:
                raise ProofLimit(f"more than {MAX_EVALUATIONS} evaluations for '{question.title}'")
            evaluation = principal.judge(request)
            if evaluation.allowed() and not self._intended(question, principal, request):
                return Witness(principal, evaluation)
        return None

    @staticmethod
    def _intended(question: Question, principal: PrincipalClass, request: Request) -> bool:
        for rule in question.intended:
            if principal.label not in rule.principal_labels or request.action_lower not in \
                    {a.lower() for a in rule.actions}:
                continue
            if rule.resource is not None and not _glob_match(rule.resource, request.resource):
                continue
            if all(c.evaluate(request.lower_context)[0] for c in rule.conditions):
                return True
        return False

    @staticmethod
    def _pareto(group: Sequence[str], members: Sequence[_Statement], key_values: Mapping[str, KeyClasses],
                resource: str, fixed: Mapping[str, ContextValue]) -> list[dict[str, ContextValue | None]]:
        """The assignments of ``group``'s keys that are best for an allow: maximal met Allows, minimal met Denies."""
        domains = [key_values[k].values for k in group]
        total = math.prod(len(d) for d in domains)
        if total > MAX_GROUP_ASSIGNMENTS:
            raise ProofLimit(f"{total} combinations of the keys {', '.join(group)}, which one statement set tests "
                             "together")
        best: dict[tuple[frozenset[int], frozenset[int]], dict[str, ContextValue | None]] = {}
        for values in itertools.product(*domains):
            context = dict(fixed)
            context.update({k: v for k, v in zip(group, values, strict=True) if v is not None})
            for k, v in zip(group, values, strict=True):
                if v is None:
                    context.pop(k, None)
            allows = frozenset(i for i, m in enumerate(members) if m.effect is Effect.ALLOW and _met(m, resource,
                                                                                                 context))
            denies = frozenset(i for i, m in enumerate(members) if m.effect is Effect.DENY and _met(m, resource,
                                                                                                context))
            best.setdefault((allows, denies), dict(zip(group, values, strict=True)))
        frontier = [(a, d) for a, d in best
                    if not any((a2 >= a and d2 <= d) and (a2, d2) != (a, d) for a2, d2 in best)]
        return [best[v] for v in frontier]


def _groups(keys: Sequence[str], items: Sequence[_Statement]) -> list[set[str]]:
    parent = {k: k for k in keys}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for item in items:
        members = sorted(item.keys)
        for a, b in itertools.pairwise(members):
            parent[find(a)] = find(b)
    out: dict[str, set[str]] = {}
    for k in keys:
        out.setdefault(find(k), set()).add(k)
    return list(out.values())


def _glob_match(glob: Glob, value: str) -> bool:
    from compliance.iam.matching import compile_wildcard

    if glob.literal:
        return glob.text == value
    return compile_wildcard(glob.text, arn=glob.arn).fullmatch(value) is not None
