"""Shared test configuration. Keep this tiny: each area keeps its own fixtures in its own directory."""

import os

pytest_plugins = ["pytester"]

# The archival PDF takes seconds per chain to render; only the evidence tests (tests/evidence/conftest.py) need it.
os.environ.setdefault("COMPLIANCE_EVIDENCE_PDF", "off")
