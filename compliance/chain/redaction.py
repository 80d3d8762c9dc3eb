"""Keep the ExternalId out of every message and piece of evidence a chain check produces.

The plugin redacts again, but checks must not depend on it: the engine's sentences quote condition
values (``sts:ExternalId is ...``), and the fuzzers derive wrong ExternalIds from the real one
(case changes, suffixes), which an exact-match redactor would miss.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from compliance.config import Chain
from compliance.redaction import MARK, MIN_SECRET, SENTENCE, Redactor

EXTERNAL_ID_KEY = "sts:externalid"
_SENTENCE = SENTENCE


class Scrubber:
    """Removes one chain's ExternalId (in any letter case) and every quoted ExternalId value."""

    def __init__(self, chain: Chain) -> None:
        secret = chain.external_id()
        name = chain.vendor.external_id_env
        self._redactor = Redactor([(name, secret)] if secret else [])
        self._pattern = re.compile(re.escape(secret), re.IGNORECASE) if secret and len(secret) >= MIN_SECRET else None
        self._mark = f"«redacted:{name}»"

    def text(self, value: str) -> str:
        if self._pattern is not None:
            value = self._pattern.sub(self._mark, value)
        value = _SENTENCE.sub(lambda m: m.group(1) + MARK, value)
        return self._redactor.text(value)

    def json(self, value: Any) -> Any:
        return self._redactor.json(self._walk(value))

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self._walk(v) for v in value]
        if isinstance(value, Mapping):
            names_external_id = str(value.get("key", "")).lower() == EXTERNAL_ID_KEY
            out: dict[str, Any] = {}
            for key, item in value.items():
                if names_external_id and key in ("values", "seen") and item is not None:
                    out[str(key)] = [MARK for _ in item] if isinstance(item, list | tuple) else MARK
                else:
                    out[self.text(str(key))] = self._walk(item)
            return out
        return value
