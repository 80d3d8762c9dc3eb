"""Evidence: the run's record (evidence.json, the HTML report's content, the PDF, manifest and signatures).

Nothing here imports pytest: the hooks that drive it live in `compliance.session` (the plugin side), the Redactor
in `compliance.redaction`.

Modules (data flows top to bottom):

* `header`       the run header: chain, target, account/caller/region, times, versions, Hypothesis seed, what-if
* `attribution`  operator, host, CI run, the chain config's git commit, the suite's code hash
* `coverage`     requirement → checks → worst status; NOT RUN and NOT COVERED made explicit
* `drift`        `--baseline`: policy diffs, settings diffs, status changes, new/vanished findings
* `document`     evidence.json (the single source the HTML summary is rendered from)
* `verdict`      the run's one verdict word (terminal, HTML, PDF)
* `html_base`, `html_summary`, `html_check`, `style`   the report's HTML, server-side, no remote resources
* `pdf`          evidence.pdf: PDF/A-3b via WeasyPrint, print stylesheet, embedded evidence.json + manifest
* `remediation`  fixes built from the finding (the failing statement rewritten), never a widened Deny
* `manifest`, `verify`   MANIFEST.sha256 and `python -m compliance verify` (files, symlinks, signatures)
* `signing`, `sign_cli`  Ed25519 signatures over the manifest; `keygen` and `sign` (countersignatures)
"""
