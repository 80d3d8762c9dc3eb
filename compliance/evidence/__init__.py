"""Evidence: redaction at the point of creation, the run directory, evidence.json, the HTML report.

Modules (data flows top to bottom):

* `redact`       Redactor: known secrets (and their URL/HTML/JSON forms), ExternalId conditions, patterns
* `capture`      redacts pytest's captured output, failure text and log records as they are made
* `header`       the run header: chain, target, account/caller/region, times, versions, Hypothesis seed
* `coverage`     requirement → checks → worst status; NOT RUN and NOT COVERED made explicit
* `drift`        `--baseline`: policy diffs, settings diffs, status changes, new/vanished findings
* `document`     evidence.json (the single source the HTML summary is rendered from)
* `html_base`, `html_summary`, `html_check`, `style`   the report's HTML, server-side, no remote resources
* `htmlreport`   the pytest-html hooks (title, summary, columns, extras)
* `manifest`, `verify`   MANIFEST.sha256 (+ HMAC signature) and `python -m compliance verify`
* `rundir`       reports/<UTC>/ and reports/latest; the order in which the files are written
"""
