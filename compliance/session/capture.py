"""Redaction of what pytest itself captures: output sections, failure text and log records.

A check's captured stdout/stderr/log and its failure representation are evidence too: pytest-html shows
them in the report, JUnit XML in `system-out`, the terminal in its summary. They are redacted in the
report object the moment it is made, so every consumer receives the redacted text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from compliance.redaction import Redactor, redact_log_record


def redact_report(report: pytest.TestReport, redactor: Redactor) -> None:
    """Replace the report's captured sections and failure text by their redacted form (in place)."""
    report.sections = [(redactor.text(title), redactor.text(content)) for title, content in report.sections]
    if report.longrepr is None:
        return
    if isinstance(report.longrepr, tuple):  # skip: (path, lineno, reason)
        path, lineno, reason = report.longrepr
        report.longrepr = (str(path), lineno, redactor.text(str(reason)))
        return
    text = str(report.longrepr)
    cleaned = redactor.text(text)
    if cleaned != text:
        report.longrepr = cleaned


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each log record into its redacted, fully formatted message."""

    def __init__(self, redactor: Callable[[], Redactor]) -> None:
        super().__init__("compliance-redaction")
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact_log_record(record, self._redactor())
        return True


def install_log_filter(config: pytest.Config, redactor: Callable[[], Redactor]) -> None:
    """Put the redacting filter on every handler of pytest's logging plugin (capture, live, file)."""
    plugin = config.pluginmanager.get_plugin("logging-plugin")
    if plugin is None:
        return
    log_filter = RedactingFilter(redactor)
    for name in ("caplog_handler", "report_handler", "log_cli_handler", "log_file_handler"):
        handler = getattr(plugin, name, None)
        if isinstance(handler, logging.Handler):
            handler.addFilter(log_filter)
