"""The checks that `pytest compliance/` collects. One module per link of the chain.

`load_all_checks` lives here, not in `compliance.registry`: the registry is the contract every check module
imports, so it must not import the checks back.
"""

from __future__ import annotations

import importlib
import pkgutil

from compliance.model import CheckMeta
from compliance.registry import CHECKS


def load_all_checks() -> dict[str, CheckMeta]:
    """Import every check module so the registry is complete (for `permissions`, coverage)."""
    for info in pkgutil.iter_modules(__path__, __name__ + "."):
        if info.name.rsplit(".", 1)[-1].startswith("test_"):
            importlib.import_module(info.name)
    return dict(CHECKS)
