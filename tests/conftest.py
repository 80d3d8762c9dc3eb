"""Shared test configuration. Keep this tiny: each area keeps its own fixtures in its own directory."""

import contextlib
import importlib
import os

import pytest
from hypothesis import settings

pytest_plugins = ["pytester"]

# pytester's in-process runs unload every module a run imported; native-extension packages (cryptography, used for
# Azurite's TLS and signatures) break when re-imported ("Algorithm must be a registered hash algorithm"), and WeasyPrint
# (Pango through cffi) segfaults. Loaded here, before any test, they stay loaded whichever test a worker runs first.
for _module in ("cryptography.hazmat.primitives.hashes", "cryptography.x509", "trustme", "azure.storage.blob",
                "cryptography.hazmat.primitives.asymmetric.ed25519", "weasyprint", "pypdf"):
    with contextlib.suppress(ImportError):
        importlib.import_module(_module)

# Hypothesis profiles: $HYPOTHESIS_PROFILE names one; without it, "ci" when $CI is set, else "dev". Each property
# test states the max_examples it needs; a profile's max_examples is the budget of a test that states none.
# dev: random examples each run (new inputs over time) and a local database in .hypothesis/ replaying failures.
# ci: the same examples on every run (a red build reproduces), no database (a clean clone has none), and a failure
#     prints a @reproduce_failure blob. No deadline in either: two noisy shared cores make timings meaningless.
# Both derive from Hypothesis's "default" (under $CI Hypothesis itself loads its built-in "ci" profile first).
_BASE = settings.get_profile("default")
settings.register_profile("dev", _BASE, max_examples=50, deadline=None)
settings.register_profile("ci", _BASE, max_examples=100, deadline=None, derandomize=True, database=None,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

# The archival PDF takes seconds per chain to render; only the evidence tests (tests/evidence/conftest.py) need it.
os.environ.setdefault("COMPLIANCE_EVIDENCE_PDF", "off")

# Under xdist (`make test`: --dist loadfile --no-loadscope-reorder) a worker takes the next test file in collection
# order when it is nearly done. These files hold the longest fixtures (whole-suite runs, moto servers of many
# accounts; measured with --durations), so they go first and the short files fill the other workers meanwhile
# (longest first). Order only: every test still runs, and a serial run keeps pytest's own order.
SLOWEST_FIRST = (
    "tests/scale/test_shard_merge.py",
    "tests/adversarial/test_corpus.py",
    "tests/scale/test_live_least_privilege.py",
    "tests/scale/test_parallel_evidence.py",
    "tests/scale/test_memory_release.py",
    "tests/evidence/test_whatif.py",
    "tests/evidence/test_redaction.py",
    "tests/evidence/test_drift.py",
    "tests/evidence/test_report.py",
    "tests/evidence/test_browser.py",
    "tests/evidence/test_attribution.py",
    "tests/evidence/test_redactor.py",
    "tests/foundation/test_live_server.py",
    "tests/iam/test_properties.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {path: index for index, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))
