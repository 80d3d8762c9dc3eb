"""Redaction at the logging layer: every record, on every handler the run installs or inherits.

A record is redacted the moment it is made (`logging.setLogRecordFactory`), before any handler sees it: the
console and live logs, pytest's captured logs (report sections, evidence.html, junit.xml), a handler a
project's conftest added, or one botocore's `set_stream_logger` put on its own logger. Exception and stack
text attached to a record is formatted and redacted then too. With `-s` (nothing captured), what checks print
goes through a redacting wrapper of `sys.stdout` and `sys.stderr`.

Installed by the plugin for a compliance run only, removed at unconfigure (a foreign run is never touched).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO

from compliance.redaction import Redactor, redact_log_record

RedactorSource = Callable[[], Redactor]


class RedactingStream:
    """A text stream that writes everything through the redactor (for `-s`, where pytest captures nothing)."""

    def __init__(self, stream: TextIO, redactor: RedactorSource) -> None:
        self._stream = stream
        self._redactor = redactor

    def write(self, text: str) -> int:
        self._stream.write(self._redactor().text(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class LogRedaction:
    """Installs and removes the record factory (and, with `-s`, the stream wrappers)."""

    def __init__(self, redactor: RedactorSource) -> None:
        self._redactor = redactor
        self._previous: Callable[..., logging.LogRecord] | None = None
        self._streams: tuple[Any, Any] | None = None

    def install(self, *, wrap_streams: bool) -> None:
        if self._previous is not None:
            return
        previous = logging.getLogRecordFactory()
        self._previous = previous
        redactor = self._redactor

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redact_log_record(record, redactor())
            return record

        logging.setLogRecordFactory(factory)
        if wrap_streams:
            self._streams = (sys.stdout, sys.stderr)
            sys.stdout = RedactingStream(sys.stdout, redactor)
            sys.stderr = RedactingStream(sys.stderr, redactor)

    def uninstall(self) -> None:
        if self._previous is not None:
            logging.setLogRecordFactory(self._previous)
            self._previous = None
        if self._streams is not None:
            if isinstance(sys.stdout, RedactingStream):
                sys.stdout = self._streams[0]
            if isinstance(sys.stderr, RedactingStream):
                sys.stderr = self._streams[1]
            self._streams = None

