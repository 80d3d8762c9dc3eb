"""Shared helpers for the AWS chain checks.

* `view`       — the effective policies of one chain (snapshot + `--proposed` overlay), parsed once.
* `proposed`   — loading and validating `--proposed` files (docs/PROPOSED.md).
* `requests`   — the engine requests of the chain: vendor AssumeRole/TagSession, session PutObject, KMS.
* `gates`      — the chain trace: one line per gate, vendor to object.
* `evidence`   — evidence builders that never carry the ExternalId.
* `redaction`  — removes the ExternalId from messages and evidence.
* `strategies` — Hypothesis strategies for the negative and positive space.
* `fixtures`   — the `chain_view` and `fuzz_budget` fixtures and the `--proposed` validation.
"""
