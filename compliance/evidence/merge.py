"""`python -m compliance merge OUT_DIR RUN_DIR... [--public-key PUB.pem ...] [--sign-key KEY.pem --signer NAME]`.

Merges the run directories of the shards of one audit (`pytest --shard K/N`, see `compliance.shard`) into one
record: evidence.json, junit.xml, evidence.html, evidence.pdf and MANIFEST.sha256, in the same layout as a run.

Before anything is written, every part is verified as `python -m compliance verify` does (each file against its
manifest, each signature with the given public keys: a signature no key checks is refused), and the parts must
belong together. Merge refuses, with one line each:

- a part that does not verify, or that has no evidence.pdf: a part made with COMPLIANCE_EVIDENCE_PDF=off is not
  a complete record, and the merged record would not be one either (re-run that shard with the PDF on);
- a run that is not a shard (no shard.json);
- parts of different chain configs (SHA-256), suite versions, targets or shard counts;
- what-if (`--proposed`) runs mixed with runs of the deployed system;
- a missing or a duplicated shard.

Each part is copied whole (files, manifest, signatures) under `parts/<K>-of-<N>/`, so the merged manifest
covers it and `python -m compliance verify OUT_DIR/parts/1-of-4 --public-key ...` still checks the part's own
signatures: the chain of custody shows. The merged verdict is the worst of its parts (the totals are the sum of
theirs; a FAIL or ERROR in any part makes the whole NOT MET). The merged record may then be signed like any run:
`--sign-key` here (meaning "executed", by whoever assembled it) or `python -m compliance sign` afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from compliance.errors import ComplianceError, ConfigError, one_line
from compliance.evidence.coverage import coverage, tally
from compliance.evidence.manifest import MANIFEST_NAME, ManifestError, SignatureState, verify_run, write_manifest
from compliance.evidence.record import Record, RecordError, check_meta_of
from compliance.evidence.signing import (
    ALGORITHM,
    Meaning,
    SigningError,
    add_signature,
    fingerprint,
    load_private_key,
    load_public_key,
    make_signature,
)
from compliance.evidence.verdict import verdict_of
from compliance.shard import SHARD_FILE, read_shard_file

JSON_NAME = "evidence.json"
JUNIT_NAME = "junit.xml"
HTML_NAME = "evidence.html"
PDF_NAME = "evidence.pdf"
PARTS_DIR = "parts"
MERGE_SCHEMA = "export-chain-compliance/merge/v1"


class MergeError(ComplianceError):
    """The parts cannot be merged into one record; the message is one line naming the part and the fix."""


@dataclass(frozen=True, slots=True)
class Part:
    run_dir: Path
    document: Mapping[str, Any]
    shard: Mapping[str, Any]
    manifest_sha256: str
    signatures: tuple[dict[str, Any], ...]
    records: tuple[Record, ...]  # the part's findings, parsed once

    @property
    def index(self) -> int:
        return int(self.shard["index"])

    @property
    def folder(self) -> str:
        return f"{self.shard['index']}-of-{self.shard['total']}"


def _refuse(part: Path, problem: str, fix: str) -> MergeError:
    return MergeError(one_line(f"{part}: {problem}. Fix: {fix}", 600))


def load_part(run_dir: Path, public_keys: Sequence[Ed25519PublicKey]) -> Part:
    """Verify one part as `verify` does and read its evidence.json and shard.json."""
    if not run_dir.is_dir():
        raise _refuse(run_dir, "not a directory", "pass the run directories the shard jobs wrote")
    if not (run_dir / PDF_NAME).is_file():
        raise _refuse(run_dir, f"has no {PDF_NAME} (made with COMPLIANCE_EVIDENCE_PDF=off?); a merged record "
                      "without it would be incomplete", "run that shard again with the PDF on")
    try:
        result = verify_run(run_dir, public_keys)
    except ManifestError as exc:
        raise _refuse(run_dir, f"does not verify ({exc})", "merge the run directories exactly as the shards "
                      "wrote them") from None
    broken = [*(f"{n} altered" for n in result.altered), *(f"{n} missing" for n in result.missing),
              *(f"{n} added" for n in result.added), *(f"{n} refused" for n in result.refused),
              *(p for p in result.problems if not p.startswith("public key "))]
    if broken:
        raise _refuse(run_dir, f"does not match its {MANIFEST_NAME} ({'; '.join(broken[:3])})",
                      "merge the run directories exactly as the shards wrote them; "
                      "`python -m compliance verify` shows every difference")
    for check in result.signatures:
        if check.state is not SignatureState.VALID:
            raise _refuse(run_dir, f"signature {check.name} is {check.state.value} ({check.problem})",
                          "pass the signer's public key with --public-key, or merge parts whose signatures verify")
    try:
        shard = read_shard_file(run_dir)
        document = json.loads((run_dir / JSON_NAME).read_text(encoding="utf-8"))
    except ConfigError as exc:
        raise MergeError(str(exc)) from None
    except (OSError, ValueError):
        raise _refuse(run_dir, f"{JSON_NAME} is not readable JSON", "use the run directory the shard wrote") from None
    if shard is None:
        raise _refuse(run_dir, f"is not a shard (no {SHARD_FILE})", "run each matrix job with --shard K/N")
    if not isinstance(document, dict):
        raise _refuse(run_dir, f"{JSON_NAME} is not an evidence record", "use the run directory the shard wrote")
    signatures = tuple({"file": c.name, **{k: v for k, v in c.signature.to_json().items() if k != "signature"}}
                       for c in result.signatures if c.signature is not None)
    findings = document.get("findings") or []
    try:
        if not isinstance(findings, list):
            raise RecordError("findings: not a list")
        records = tuple(Record.from_json(r) for r in findings)
    except RecordError as exc:
        raise _refuse(run_dir, f"{JSON_NAME} holds a finding not in the shape a run writes ({exc})",
                      "use the run directory the shard wrote") from None
    return Part(run_dir, document, shard, result.manifest_sha256, signatures, records)


def _same(parts: Sequence[Part], what: str, value: Any, fix: str) -> None:
    first = value(parts[0])
    for part in parts[1:]:
        if value(part) != first:
            raise _refuse(part.run_dir, f"{what} {value(part)!r} differs from {first!r} in {parts[0].run_dir}", fix)


def check_parts(parts: Sequence[Part]) -> list[Part]:
    """The parts belong to one audit and are each shard exactly once; returns them in shard order."""
    if not parts:
        raise MergeError("merge: no run directory given. Fix: pass the run directory of every shard")
    header: Any = lambda p: p.document.get("header") or {}  # noqa: E731
    _same(parts, "what-if state (what_if)", lambda p: bool(header(p).get("what_if")),
          "merge what-if (--proposed) runs only with each other, never with runs of the deployed system")
    _same(parts, "chain config sha256", lambda p: (p.document.get("chain_config") or {}).get("sha256"),
          "run every shard with the same --chain file")
    _same(parts, "suite version", lambda p: p.document.get("suite_version"),
          "run every shard with the same version of the suite")
    _same(parts, "suite code sha256", lambda p: header(p).get("suite_code_sha256"),
          "run every shard with the same installed suite (same version, same files)")
    _same(parts, "target", lambda p: p.document.get("target"), "run every shard against the same --target")
    _same(parts, "shard count", lambda p: p.shard.get("total"), "use the same N in every job's --shard K/N")
    _same(parts, "chain ids", lambda p: p.shard.get("all_chains"), "run every shard with the same --chain file")
    _same(parts, "evidence schema", lambda p: p.document.get("schema"), "run every shard with the same suite")
    seen: dict[int, Part] = {}
    for part in parts:
        if part.index in seen:
            raise _refuse(part.run_dir, f"duplicates shard {part.shard['index']}/{part.shard['total']} of "
                          f"{seen[part.index].run_dir}", "pass each shard's run directory once")
        seen[part.index] = part
        extra = {r.chain for r in part.records} - set(part.shard.get("chains") or [])
        if extra:
            raise _refuse(part.run_dir, f"holds findings of chains outside its shard ({sorted(map(str, extra))})",
                          "use the run directory the shard wrote")
    total = int(parts[0].shard["total"])
    missing = sorted(set(range(1, total + 1)) - set(seen))
    if missing:
        raise MergeError(f"merge: shard(s) {', '.join(f'{k}/{total}' for k in missing)} missing (got "
                         f"{', '.join(f'{k}/{total}' for k in sorted(seen))}). Fix: pass the run directory of "
                         "every shard; re-run a failed shard job before merging")
    return [seen[k] for k in sorted(seen)]


def merged_document(parts: Sequence[Part], signature: Mapping[str, str] | None) -> dict[str, Any]:
    first = parts[0].document
    findings = sorted((r for p in parts for r in p.records), key=lambda r: r.nodeid)
    snapshots: dict[str, Any] = {}
    for part in parts:
        snapshots.update(part.document.get("snapshots") or {})
    checks = {check_id: check_meta_of(meta) for check_id, meta in (first.get("checks") or {}).items()}
    ran = {r.check.id for r in findings}
    header = dict(first.get("header") or {})
    node_of = {(r.check.id, r.chain): r.nodeid for r in findings}
    part_seeds = (((p.document.get("header") or {}).get("fuzzing") or {}).get("seeds") or [] for p in parts)
    seeds = sorted((s for found in part_seeds for s in found),
                   key=lambda s: node_of.get((s.get("check"), s.get("chain")), ""))
    header.update({
        "fuzzing": {**(header.get("fuzzing") or {}), "seeds": seeds},
        "identities": sorted((i for p in parts for i in (p.document.get("header") or {}).get("identities") or []),
                             key=lambda i: str(i.get("chain"))),
        "run_id": "merged-" + "+".join(str((p.document.get("header") or {}).get("run_id")) for p in parts),
        "started": min(str(p.document.get("started")) for p in parts),
        "finished": max(str(p.document.get("finished")) for p in parts),
        "signed": signature is not None,
        "signature": dict(signature) if signature is not None else None,
        "merged_from": [{"shard": f"{p.shard['index']}/{p.shard['total']}", "folder": f"{PARTS_DIR}/{p.folder}",
                         "run_id": (p.document.get("header") or {}).get("run_id"), "chains": p.shard.get("chains"),
                         **{k: (p.document.get("header") or {}).get(k) for k in ("operator", "host", "ci", "started",
                                                                                  "finished")},
                         "manifest_sha256": p.manifest_sha256, "verdict": verdict_of(p.document).verdict.value,
                         "signatures": list(p.signatures)} for p in parts],
    })
    import_problems = [p.document.get("check_import_problem") for p in parts if p.document.get("check_import_problem")]
    document: dict[str, Any] = {
        **first,
        "started": header["started"],
        "finished": header["finished"],
        "exit_status": max(int(p.document.get("exit_status") or 0) for p in parts),
        "header": header,
        "totals": tally(r.status for r in findings),
        "checks_not_run": sorted(set(checks) - ran),
        "check_import_problem": import_problems[0] if import_problems else None,
        "coverage": [row.to_json() for row in coverage(((r.check.id, r.chain_label, r.status) for r in findings),
                                                       checks)],
        "findings": [r.to_json() for r in findings],
        "snapshots": snapshots,
        "drift": None,
        "merge": {"schema": MERGE_SCHEMA, "shards": int(parts[0].shard["total"]),
                  "chains": list(parts[0].shard.get("all_chains") or [])},
    }
    return document


def merged_junit(parts: Sequence[Part]) -> bytes:
    """One <testsuite> holding every part's test cases, its counts the sums of theirs."""
    suite = ET.Element("testsuite", {"name": "export-chain-compliance"})
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    elapsed = 0.0
    for part in parts:
        root = ET.parse(part.run_dir / JUNIT_NAME).getroot()
        for source in root.iter("testsuite"):
            for key in counts:
                counts[key] += int(source.get(key) or 0)
            elapsed = max(elapsed, float(source.get("time") or 0))
            suite.extend(list(source.findall("testcase")))
    suite.attrib.update({k: str(v) for k, v in counts.items()} | {"time": f"{elapsed:.3f}"})
    suites = ET.Element("testsuites", {"name": "export-chain-compliance (merged shards)"})
    suites.append(suite)
    body: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>' + body


def merge(out_dir: Path, run_dirs: Sequence[Path], public_keys: Sequence[Ed25519PublicKey] = (),
          sign_key: Ed25519PrivateKey | None = None, signer: str | None = None) -> Path:
    """Verify and check every part, then write the merged record into `out_dir` (new or empty)."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise MergeError(f"{out_dir}: exists and is not an empty directory. Fix: pass a new OUT_DIR")
    parts = [load_part(run_dir, public_keys) for run_dir in run_dirs]
    signature = None
    if sign_key is not None:
        signature = {"signer": signer or "", "meaning": Meaning.EXECUTED.value,
                     "key_fingerprint": fingerprint(sign_key.public_key()), "algorithm": ALGORITHM}
    try:
        parts = check_parts(parts)
        document = merged_document(parts, signature)
        junit = merged_junit(parts)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ET.ParseError) as exc:
        raise MergeError(f"merge: a part's {JSON_NAME}, {SHARD_FILE} or {JUNIT_NAME} is not in the shape a run "
                         f"writes ({type(exc).__name__}). Fix: merge the run directories exactly as the shards "
                         "wrote them") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    for part in parts:
        shutil.copytree(part.run_dir, out_dir / PARTS_DIR / part.folder, symlinks=True)
    _write(out_dir / JSON_NAME, json.dumps(document, indent=2, sort_keys=True, default=str).encode("utf-8"))
    _write(out_dir / JUNIT_NAME, junit)
    from compliance.evidence.pdf import print_html, render_in_child

    _write(out_dir / HTML_NAME, print_html(document).encode("utf-8"))
    render_in_child(out_dir)
    write_manifest(out_dir)
    if sign_key is not None:
        add_signature(out_dir, make_signature((out_dir / MANIFEST_NAME).read_bytes(), sign_key, signer or "",
                                              Meaning.EXECUTED))
    return out_dir


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m compliance merge",
                                     description="Verify the shards of one audit and merge them into one record.")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="where to write the merged record (new or empty)")
    parser.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="the run directory of every shard")
    parser.add_argument("--public-key", type=Path, action="append", default=[], metavar="PUB.pem",
                        help="a shard signer's Ed25519 public key (repeat); every part's signatures must verify")
    parser.add_argument("--sign-key", type=Path, default=None, metavar="KEY.pem",
                        help="sign the merged record (meaning 'executed') with this Ed25519 private key")
    parser.add_argument("--signer", default=None, help='the printed name and title for --sign-key')
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.sign_key is not None and not (args.signer or "").strip():
        print("error: --sign-key needs --signer \"Name, Title\"", file=sys.stderr)
        return 2
    try:
        keys = [load_public_key(path) for path in args.public_key]
        key = load_private_key(args.sign_key) if args.sign_key is not None else None
    except SigningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        out = merge(args.out_dir, args.run_dirs, keys, key, " ".join(str(args.signer or "").split()) or None)
    except ComplianceError as exc:
        print(f"error: {one_line(str(exc), 800)}", file=sys.stderr)
        return 1
    document = json.loads((out / JSON_NAME).read_text(encoding="utf-8"))
    print(f"merged {len(args.run_dirs)} shard(s) into {out}: Verdict: {verdict_of(document).sentence}")
    return 0
