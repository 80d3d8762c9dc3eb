"""Export Chain Compliance: a pytest suite that proves a SaaS audit-export chain works and is locked down."""

__version__ = "0.1.0"
