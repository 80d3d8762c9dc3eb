"""The pytest side of the evidence: hooks that build a run's record while pytest runs it.

It sits on the plugin side, above `compliance.evidence` (which knows nothing of pytest):

* `capture`      redacts pytest's captured output, failure text and log records as they are made
* `htmlreport`   the pytest-html hooks (title, summary, columns; the checks' evidence spooled, then streamed in)
* `rundir`       reports/<UTC>[-whatif]/ and reports/latest; the order in which the files are written
"""
