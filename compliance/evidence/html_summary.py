"""The first page of the report: verdict, run header, chain, coverage matrix, results, drift, integrity.

Rendered on the server side from the evidence document (the same data as evidence.json), so it is in
the HTML as written, readable without JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from compliance.evidence.coverage import CheckCoverage, RequirementCoverage, coverage_rows
from compliance.evidence.header import WHAT_IF_BANNER
from compliance.evidence.html_base import LABELS, badge, diff_block, esc, kv_table, table, table_row
from compliance.evidence.manifest import MANIFEST_NAME, REQUIRED_FILES
from compliance.evidence.record import Record
from compliance.evidence.signing import SIGNATURES_DIR, Meaning
from compliance.evidence.style import CSS
from compliance.evidence.verdict import verdict_of
from compliance.model import Status

_VERIFIED = (Status.PASS, Status.FAIL)


def verdict(document: Mapping[str, Any]) -> str:
    totals: Mapping[str, int] = document.get("totals") or {}
    counts = ", ".join(f"{n} {LABELS[Status(s)]}" for s, n in totals.items()) or "no checks ran"
    result = verdict_of(document)
    extra = f"; {result.not_run} check(s) of the suite did not run" if result.not_run else ""
    return (f'<div class="ecc-verdict ecc-verdict-{result.verdict.css}">{esc(result.sentence)}</div>'
            f"<p>Results: {esc(counts + extra)}.</p>")


def what_if_banner(document: Mapping[str, Any]) -> str:
    """The banner of a `--proposed` run: it must never be taken for evidence of the deployed system."""
    header = document.get("header") or {}
    if not header.get("what_if"):
        return ""
    items = "".join(f"<li><code>{esc(p.get('replaces'))}</code> from <code>{esc(p.get('source'))}</code>"
                    f"{' (removes the policy)' if p.get('removes') else ''}</li>" for p in header.get("proposals", []))
    return (f'<div class="ecc-whatif" role="alert"><b>{esc(WHAT_IF_BANNER)}</b>'
            "<p>The checks ran as if these policy documents had replaced the deployed ones. This record is not "
            f"evidence of the deployed system.</p><ul>{items}</ul></div>")


def _attribution_rows(header: Mapping[str, Any]) -> list[tuple[str, str]]:
    operator = header.get("operator") or {}
    ci = header.get("ci")
    ci_text = (f"{esc(ci['provider'])} run {esc(ci['run_id'])}" + (f", <code>{esc(ci['url'])}</code>" if ci.get("url")
               else "") if ci else "not run in CI (no GitHub Actions or GitLab CI variables)")
    git = header.get("chain_config_git")
    git_text = (f"commit <code>{esc(git['commit'])}</code>" + (f" ({esc(git['ref'])})" if git.get("ref") else "")
                if git else "the chain config is not in a git repository")
    what_if = header.get("what_if")
    return [
        ("Run id", f"<code>{esc(header.get('run_id'))}</code>"),
        ("What-if", esc(WHAT_IF_BANNER) if what_if else "no: the deployed system as read"),
        ("Operator", esc(f"{operator.get('name')} (from {operator.get('source')})")),
        ("Host", esc(header.get("host"))),
        ("CI run", ci_text),
        ("Chain config in git", git_text),
        ("Suite code", f"version {esc((header.get('versions') or {}).get('export-chain-compliance'))}, "
                       f"SHA-256 of the installed package <code>{esc(header.get('suite_code_sha256'))}</code>"),
    ]


def _run_rows(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    header = document["header"]
    fuzz = header["fuzzing"]
    seeds = "; ".join(f"{s['check']} [{s['chain']}]: {s['seed']}" for s in fuzz["seeds"])
    seed_text = seeds or "no check recorded a seed in this run"
    ident_lines = []
    for ident in header["identities"]:
        caller = ident["caller_arn"] or f"not read ({ident['caller_error']})"
        ident_lines.append(f"{esc(ident['chain'])}: account <code>{esc(ident['account_id'])}</code>, "
                           f"region <code>{esc(ident['region'])}</code>, caller <code>{esc(caller)}</code>")
    versions = ", ".join(f"{esc(k)} {esc(v)}" for k, v in header["versions"].items())
    config = header["chain_config"]
    return [
        *_attribution_rows(header),
        ("Target", esc(f"{header['target']}: {header['target_description']}")),
        ("Deployment file", esc(header["deployment_file"] or "not applicable (live)")),
        ("AWS account, region, caller", "<br>".join(ident_lines) or "no AWS snapshot was read"),
        ("Started (UTC)", esc(header["started"])),
        ("Finished (UTC)", esc(header["finished"])),
        ("Chain config", f"<code>{esc(config['path'])}</code><br>SHA-256 <code>{esc(config['sha256'])}</code>"),
        ("Software versions", versions),
        ("Property-based testing", esc(f"Hypothesis, {fuzz['examples_per_check']} examples per fuzzing check; "
                                       f"seed: {seed_text}")),
    ]


def _chain_rows(chain: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("Vendor", esc(f"{chain['vendor']} ({chain['vendor_principal']})")),
        ("ExternalId", esc(chain["external_id"])),
        ("Role the vendor assumes", f"<code>{esc(chain['role_arn'])}</code>"),
        ("Role ARN configured at the vendor", f"<code>{esc(chain['configured_role_arn'])}</code>"),
        ("Audit bucket and prefix", f"<code>s3://{esc(chain['bucket'])}/{esc(chain['prefix'])}</code> "
                                    f"in {esc(chain['region'])}"),
    ]
    if chain.get("aws_endpoint"):
        rows.append(("AWS reads went to", esc(chain["aws_endpoint"])))
    if chain.get("azure_container"):
        rows.append(("Azure backup container (configured)", f"<code>{esc(chain['azure_account_url'])}/"
                                                            f"{esc(chain['azure_container'])}</code>"))
        if chain.get("azure_emulator_url"):
            rows.append(("Azure emulator URL (not the configured account)",
                         f"<code>{esc(chain['azure_emulator_url'])}</code> (Azurite, started for this run)"))
        rows.append(("Azure SAS", esc(chain["azure_sas"])))
    else:
        rows.append(("Azure backup", "not configured for this chain"))
    return rows


def _counted(checks: Sequence[CheckCoverage]) -> str:
    """How many of a requirement's checks verified it; NOT SUPPORTED and NOT RUN are said, never counted as run."""
    verified = sum(1 for c in checks if c.status in _VERIFIED)
    parts = [f"{verified} of {len(checks)} checks verified it"]
    for status, words in ((Status.ERROR, "could not verify"), (Status.NOT_SUPPORTED, "not supported by the target"),
                          (Status.NOT_APPLICABLE, "not applicable"), (Status.NOT_RUN, "not run")):
        n = sum(1 for c in checks if c.status is status)
        if n:
            parts.append(f"{n} {words}")
    return "; ".join(parts)


def _matrix(coverage: Iterable[RequirementCoverage]) -> str:
    rows: list[str] = []
    framework = None
    for req in coverage:
        if req.requirement.framework != framework:
            framework = req.requirement.framework
            rows.append(f'<tr class="ecc-fw"><th colspan="4">{esc(framework)}</th></tr>')
        checks = req.checks
        listed = "<br>".join(
            f'{badge(c.status)} <span class="ecc-mono">{esc(c.check_id)}</span>' for c in checks
        ) or '<span class="ecc-note">no check of this suite addresses this requirement</span>'
        counted = f'<div class="ecc-note">{esc(_counted(checks))}</div>' if checks else ""
        rows.append(f'<tr><td class="ecc-req">{esc(req.requirement.clause)}</td><td>{esc(req.requirement.title)}</td>'
                    f'<td>{badge(req.status)}{counted}</td><td>{listed}</td></tr>')
    head = "<tr><th>Requirement</th><th>Title</th><th>Worst status</th><th>Checks (status)</th></tr>"
    return f'<table class="ecc-table ecc-matrix"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


_RESULT_HEADERS = ("Status", "Check", "Severity", "Chain", "Controls", "Finding")


def result_order(record: Record) -> tuple[int, str, str]:
    """The Results table's order: worst status first, then by check and chain."""
    return -record.status.rank, record.check.id, str(record.chain)


def _result_cells(r: Record) -> list[str]:
    return [badge(r.status), f'<span class="ecc-mono">{esc(r.check.id)}</span><br>{esc(r.check.title)}',
            esc(r.check.severity.value), esc(r.chain), esc(", ".join(r.check.controls)), esc(r.finding.message)]


def _results(findings: Iterable[Record]) -> str:
    return "".join(results_table(sorted(findings, key=result_order)))


def results_table(ordered: Iterable[Record]) -> Iterator[str]:
    """The Results table, a row at a time, for records already in `result_order` (a run streams it into
    evidence.html from its record log; the PDF sorts evidence.json's findings)."""
    head, tail = table(_RESULT_HEADERS, ()).split("</tbody>")
    yield head
    for record in ordered:
        yield table_row(_result_cells(record))
    yield "</tbody>" + tail


def _finding_list(items: Sequence[Mapping[str, Any]]) -> str:
    return table(("Check", "Chain", "Status", "Finding"), (
        [f'<span class="ecc-mono">{esc(i["check"])}</span>', esc(i["chain"]), badge(Status(i["status"])),
         esc(i["message"])] for i in items))


def _drift_headline(drift: Mapping[str, Any] | None) -> str:
    if drift is None:
        return ""
    counts = [(len(drift["status_changes"]), "check(s) changed status"),
              (len(drift["policies"]), "policy document(s) changed"),
              (len(drift["settings"]), "chain(s) with other settings changed"),
              (len(drift["new_findings"]), "new finding(s)"),
              (len(drift["vanished_findings"]), "vanished finding(s)")]
    said = ", ".join(f"{n} {what}" for n, what in counts if n) or "no change"
    return (f'<p>Since the baseline run of {esc(drift["since"])}: {esc(said)} '
            '(see <a href="#ecc-drift">Changed since</a>).</p>')


def drift_html(drift: Mapping[str, Any] | None) -> str:
    if drift is None:
        return ('<h2 id="ecc-drift">Changed since the previous run</h2><p class="ecc-note">No baseline was given '
                "(<code>--baseline &lt;earlier evidence.json&gt;</code>), so changes were not assessed.</p>")
    base = drift["baseline"]
    parts = [f'<h2 id="ecc-drift">Changed since {esc(drift["since"])}</h2>',
             f'<p class="ecc-note">Baseline: <code>{esc(base["path"])}</code> (run of {esc(base["started"])}, '
             f"suite {esc(base['suite_version'])}). {esc(drift.get('note') or '')}</p>"]
    if drift["status_changes"]:
        rows = ([f'<span class="ecc-mono">{esc(c["check"])}</span>', esc(c["chain"]), badge(Status(c["before"])),
                 badge(Status(c["after"])), esc(c["message"])] for c in drift["status_changes"])
        parts.append("<h3>Checks whose status changed</h3>"
                     + table(("Check", "Chain", "Before", "Now", "Finding now"), rows))
    if drift["new_findings"]:
        parts.append("<h3>New findings (not in the baseline)</h3>" + _finding_list(drift["new_findings"]))
    if drift["vanished_findings"]:
        parts.append("<h3>Vanished findings (in the baseline, not in this run)</h3>"
                     + _finding_list(drift["vanished_findings"]))
    if drift["changed_findings"]:
        parts.append("<h3>Same status, different finding</h3>" + _finding_list(drift["changed_findings"]))
    if drift["policies"]:
        parts.append("<h3>Policy documents that changed</h3>")
        for p in drift["policies"]:
            parts.append(f"<p><b>{esc(p['chain'])} › {esc(p['policy'])}</b> ({esc(p['change'])})</p>"
                         + diff_block(p["diff"]))
    if drift["settings"]:
        parts.append("<h3>Other settings that changed</h3>")
        parts.extend(f"<p><b>{esc(s['chain'])}</b></p>" + diff_block(s["diff"]) for s in drift["settings"])
    if len(parts) == 2:
        parts.append("<p>No change: the same policy documents, settings and results as the baseline.</p>")
    return "".join(parts)


def integrity_html(document: Mapping[str, Any]) -> str:
    files = ", ".join(f"<code>{esc(n)}</code>" for n in REQUIRED_FILES)
    return ("<h2>Integrity of this evidence</h2>"
            f"<p>Every file of this run directory ({files}) is listed with its SHA-256 in "
            f"<code>{MANIFEST_NAME}</code>, written after all the others. Signatures are Ed25519 signatures over "
            f"the SHA-256 of that manifest, one file each in <code>{SIGNATURES_DIR}/</code>; adding one never "
            "changes the record. To confirm nothing was altered, added or removed and that every signature is "
            "valid, run <code>python -m compliance verify &lt;this directory&gt; --public-key &lt;signer's "
            "public key&gt;</code> (a signed record verified without the public key is reported as not verified). "
            "<code>evidence.pdf</code> is the archival copy (PDF/A-3b); it embeds <code>evidence.json</code> and "
            f"the manifest of the other files. Machine-readable copies: <code>evidence.json</code> (findings, "
            "snapshots, coverage) and <code>junit.xml</code> (for CI).</p>")


def signature_page(document: Mapping[str, Any]) -> str:
    """The signature manifestation (21 CFR 11.50): printed name, date and time, meaning, for each signature.

    The execution signature is made when the run ends, over the manifest that covers this very page; review and
    approval signatures are added later (`python -m compliance sign`) and are listed by `verify`."""
    header = document.get("header") or {}
    sig = header.get("signature")
    rows: list[list[str]] = []
    if sig:
        rows.append([esc(Meaning.EXECUTED.value), esc(sig.get("signer")),
                     esc(f"{header.get('finished')} (end of the run; the exact time is in the signature file)"),
                     f'<span class="ecc-mono">{esc(sig.get("key_fingerprint"))}</span>',
                     esc(Meaning.EXECUTED.statement)])
    else:
        rows.append([esc(Meaning.EXECUTED.value), "not signed (the run was given no --sign-key)", "", "", ""])
    for meaning in (Meaning.REVIEWED, Meaning.APPROVED):
        rows.append([esc(meaning.value), '<span class="ecc-line"></span>', '<span class="ecc-line"></span>',
                     '<span class="ecc-line"></span>', esc(meaning.statement)])
    return ('<h2 id="ecc-signatures" class="ecc-signature-page">Signatures</h2>'
            '<p class="ecc-note">21 CFR Part 11 §11.50 (printed name, date and time, meaning) and §11.70 (linked '
            f"to the record): each signature signs the SHA-256 of <code>{MANIFEST_NAME}</code>, which holds the "
            "SHA-256 of every file, together with the signer, the meaning, the UTC time and the key fingerprint. "
            "Review and approval are added later with <code>python -m compliance sign &lt;run dir&gt; --sign-key "
            "KEY.pem --signer \"Name, Title\" --meaning reviewed|approved</code>; "
            "<code>python -m compliance verify</code> lists every signature with its signer, meaning, time and key."
            "</p>"
            + table(("Meaning", "Printed name", "Date and time (UTC)", "Key fingerprint (SHA-256)", "Statement"),
                    rows, css="ecc-table ecc-sigs"))


def summary_html(document: Mapping[str, Any], findings: Iterable[Record], *, interactive: bool = True,
                 results: str | None = None) -> str:
    """The summary page; `findings` are the run's records (evidence.json's findings, or the record log). With
    `results`, that text stands in place of the Results table (a run streams the table in: `results_table`)."""
    chains = document["header"]["chains"]
    chain_html = "".join(
        (f"<h3>Chain <code>{esc(c['id'])}</code></h3>" if len(chains) > 1 else "") + kv_table(_chain_rows(c))
        for c in chains) or "<p>No chain config could be loaded.</p>"
    return "".join([
        f"<style>{CSS}</style>" if interactive else "",  # the PDF brings its own (CSS + print stylesheet)
        '<section class="ecc">',
        ('<p class="ecc-note ecc-print-only">The archival print of this report is <code>evidence.pdf</code> in the '
         "same run directory (PDF/A-3b, every check expanded, signature page).</p>" if interactive else ""),
        what_if_banner(document),
        verdict(document),
        _drift_headline(document.get("drift")),
        "<h2>The export chain checked</h2>", chain_html,
        "<h2>This run</h2>", kv_table(_run_rows(document)),
        "<h2>Results</h2>", _results(findings) if results is None else results,
        "<h2>Control coverage</h2>",
        '<p class="ecc-note">Every 21 CFR Part 11 and EU GMP Annex 11 requirement that bears on storing exported '
        "records, the checks that address it and the worst status among them. Requirements no check addresses "
        "are listed as not covered; checks of the suite that did not run in this run show as NOT RUN.</p>",
        _matrix(coverage_rows(document)),
        drift_html(document.get("drift")),
        integrity_html(document),
        signature_page(document),
        "<h2>Evidence per check</h2>",
        ('<p class="ecc-note">Below, one row per check and chain. Click a row to show or hide its evidence: the '
         "policy documents as read, the decision or chain trace, the API calls and their results. Failures are "
         "expanded.</p>" if interactive else
         '<p class="ecc-note">One section per check and chain, each with all of its evidence: the policy documents '
         "as read, the decision or chain trace, the API calls and their results.</p>"),
        "</section>",
    ])
