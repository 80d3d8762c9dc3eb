"""Evidence: redaction at the point of creation, the run directory, evidence.json, the HTML report.

Modules (data flows top to bottom):

* `redact`       Redactor: known secrets (and their URL/HTML/JSON forms), ExternalId conditions, patterns
* `capture`      redacts pytest's captured output, failure text and log records as they are made
* `header`       the run header: chain, target, account/caller/region, times, versions, Hypothesis seed, what-if
* `attribution`  operator, host, CI run, the chain config's git commit, the suite's code hash
* `coverage`     requirement → checks → worst status; NOT RUN and NOT COVERED made explicit
* `drift`        `--baseline`: policy diffs, settings diffs, status changes, new/vanished findings
* `document`     evidence.json (the single source the HTML summary is rendered from)
* `verdict`      the run's one verdict word (terminal, HTML, PDF)
* `html_base`, `html_summary`, `html_check`, `style`   the report's HTML, server-side, no remote resources
* `htmlreport`   the pytest-html hooks (title, summary, columns, extras)
* `pdf`          evidence.pdf: PDF/A-3b via WeasyPrint, print stylesheet, embedded evidence.json + manifest
* `remediation`  fixes built from the finding (the failing statement rewritten), never a widened Deny
* `manifest`, `verify`   MANIFEST.sha256 and `python -m compliance verify` (files, symlinks, signatures)
* `signing`, `sign_cli`  Ed25519 signatures over the manifest; `keygen` and `sign` (countersignatures)
* `rundir`       reports/<UTC>[-whatif]/ and reports/latest; the order in which the files are written
"""
