"""Keep SAS signatures out of HTTP library logs.

urllib3 logs every request line at DEBUG, query string included, so a run with `--log-level=DEBUG`
would put the SAS into the captured logs of the HTML and JUnit reports. While the Azure checks run, a
filter on the loggers that see request URLs rewrites each record through the suite's `Redactor`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from compliance.redaction import Redactor, redact_log_record

URL_LOGGERS = ("urllib3.connectionpool", "azure.core.pipeline.policies.http_logging_policy",
               "azure.storage.common.storageclient", "azure.storage.blob._shared.policies")


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Callable[[], Redactor]) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact_log_record(record, self.redactor())
        return True


@contextmanager
def redacted_http_logs(redactor: Callable[[], Redactor] = Redactor) -> Iterator[None]:
    """`redactor` is called per record, so secrets set after entry (generated SASs) are known too."""
    log_filter = RedactingFilter(redactor)
    loggers = [logging.getLogger(name) for name in URL_LOGGERS]
    for logger in loggers:
        logger.addFilter(log_filter)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(log_filter)
