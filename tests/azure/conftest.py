"""Azure backup tests: one Azurite pair per test session, shared with the nested compliance runs.

The session holds one HTTPS and one plain-HTTP Azurite (`azurite.acquire`); nested
`pytest compliance/ -k azure` runs acquire the same instances instead of starting their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from compliance.targets import azurite


@pytest.fixture(scope="session", autouse=True)
def shared_azurite() -> Iterator[azurite.AzuriteProcess]:
    """The session's Azurite pair; nested runs acquire the same instances (reference counted)."""
    https = azurite.acquire(https=True)
    http = azurite.acquire(https=False)
    try:
        yield https
    finally:
        azurite.release(http)
        azurite.release(https)


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    """Nested runs put generated secrets into os.environ; never let them leak between tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
