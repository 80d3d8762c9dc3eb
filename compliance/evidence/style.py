"""The report's own stylesheet, inlined into the summary (the report must load nothing from outside)."""

from __future__ import annotations

CSS = """
body { color: #1f2933; font-size: 13px; max-width: 1500px; margin: 0 auto; padding: 0 16px; }
h1#title { font-size: 22px; margin-bottom: 2px; }
#environment-header, #environment { display: none; } /* the versions are in "This run" */
#results-table .col-testId, #results-table th[data-column-type="testId"] { display: none; } /* in finding.json */
#results-table .col-links { max-width: 90px; }
.ecc { color: #1f2933; font-size: 13px; line-height: 1.45; }
.ecc h2 { font-size: 17px; margin: 22px 0 6px; padding-bottom: 3px; border-bottom: 2px solid #d9e2ec; }
.ecc h3 { font-size: 14px; margin: 14px 0 4px; }
.ecc p { margin: 4px 0 8px; }
.ecc .ecc-note { color: #52606d; font-size: 12px; }
.ecc-verdict { font-size: 16px; font-weight: bold; padding: 10px 14px; border-radius: 4px; margin: 8px 0 4px; }
.ecc-verdict-fail { background: #fde8e8; border-left: 6px solid #c81e1e; color: #771d1d; }
.ecc-verdict-incomplete { background: #fdf6b2; border-left: 6px solid #c27803; color: #723b13; }
.ecc-verdict-pass { background: #def7ec; border-left: 6px solid #057a55; color: #014737; }
.ecc-kv, .ecc-table { border-collapse: collapse; margin: 4px 0 10px; }
.ecc-kv th, .ecc-kv td, .ecc-table th, .ecc-table td {
  border: 1px solid #d9e2ec; padding: 4px 8px; text-align: left; vertical-align: top; color: #1f2933; }
.ecc-kv th { background: #f5f7fa; font-weight: 600; white-space: nowrap; width: 1%; }
.ecc-table thead th { background: #e4e7eb; font-weight: 600; }
.ecc-table { width: 100%; }
.ecc-matrix td.ecc-req { white-space: nowrap; font-weight: 600; }
.ecc-matrix tr.ecc-fw th { background: #334e68; color: #fff; font-size: 13px; }
.ecc-mono, .ecc-kv td code { font-family: Menlo, Consolas, monospace; font-size: 12px; }
.ecc-st { display: inline-block; padding: 1px 7px; border-radius: 3px; font-weight: bold; font-size: 12px;
  white-space: nowrap; border: 1px solid transparent; }
.ecc-st-pass { background: #def7ec; color: #03543f; border-color: #84e1bc; }
.ecc-st-fail { background: #c81e1e; color: #fff; }
.ecc-st-error { background: #ff8a4c; color: #000; border-color: #b43403; }
.ecc-st-unsupported { background: #e5edff; color: #42389d; border-color: #8da2fb; }
.ecc-st-na { background: #f4f5f7; color: #3e4c59; border-color: #cbd2d9; }
.ecc-st-notrun { background: #fff; color: #52606d; border: 1px dashed #7b8794; }
.ecc-st-uncovered { background: #fff; color: #7b8794; border: 1px dotted #9aa5b1; font-weight: normal; }
.ecc-pre { background: #f8fafc; border: 1px solid #d9e2ec; padding: 6px 8px; white-space: pre-wrap;
  word-break: break-word; font-family: Menlo, Consolas, monospace; font-size: 11.5px; color: #1f2933;
  max-height: 420px; overflow: auto; margin: 4px 0; }
.ecc-diff .ecc-add { background: #def7ec; color: #03543f; display: inline-block; width: 100%; }
.ecc-diff .ecc-del { background: #fde8e8; color: #9b1c1c; display: inline-block; width: 100%; }
.ecc-diff .ecc-hunk { color: #6b7280; }
.ecc-detail { color: #1f2933; font-size: 13px; padding: 4px 2px 8px; }
.ecc-detail details { margin: 6px 0; }
.ecc-detail summary { cursor: pointer; font-weight: 600; }
.ecc-finding { font-size: 14px; margin: 4px 0 8px; }
.ecc-hidden { display: none; }
#results-table { color: #1f2933; font-size: 13px; }
#results-table td { vertical-align: top; }
#results-table .collapsible td * { pointer-events: none; }
#results-table .col-check .ecc-title { color: #52606d; font-size: 12px; }
.logwrapper .log { color: #1f2933; }
.ecc-sev-critical { color: #9b1c1c; font-weight: bold; }
.ecc-sev-high { color: #b43403; font-weight: bold; }
/* pytest-html's engineer-only leftovers: its local-time date line, "N tests took", durations, the outcome
   filters this suite never produces (expected failures, unexpected passes, reruns) */
h1#title + p, .run-count, .col-duration, #results-table th[data-column-type="duration"] { display: none; }
.filters input[data-test-result="xfailed"], .filters input[data-test-result="xfailed"] + span,
.filters input[data-test-result="xpassed"], .filters input[data-test-result="xpassed"] + span,
.filters input[data-test-result="rerun"], .filters input[data-test-result="rerun"] + span { display: none; }
.ecc-whatif { background: #fff3c4; border: 3px solid #b44d12; color: #5c2b00; padding: 8px 14px; margin: 8px 0;
  font-size: 15px; }
.ecc-whatif ul { margin: 4px 0; font-size: 12px; }
.ecc-fix { background: #f0f4ff; border-left: 4px solid #4c63b6; padding: 4px 8px; }
.ecc-sigs td { height: 22px; }
.ecc-line { display: inline-block; min-width: 160px; border-bottom: 1px solid #1f2933; height: 16px; }
.ecc-print-only { display: none; }
@media print {
  .ecc-print-only { display: block; }
  .ecc-pre { max-height: none; overflow: visible; }
  .summary__reload, .controls, .filter, .logexpander, .collapse, #environment-header { display: none; }
  .extras-row.hidden { display: table-row !important; } /* every check's evidence printed, passes included */
  #results-table, .ecc-table { table-layout: fixed; width: 100%; }
  #results-table td, .ecc-table td, .ecc-kv td, .ecc-pre, code { overflow-wrap: anywhere; word-break: break-word; }
  .ecc-signature-page { break-before: page; }
  @page { margin: 14mm 10mm; }
}
"""
