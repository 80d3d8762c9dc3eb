"""Azure Blob backup: SAS parsing and analysis, non-destructive probes, container/account posture.

Nothing in this package keeps a SAS signature: the parser drops `sig` after checking its shape, and
the probes read the token from the environment only when they build a client.
"""
