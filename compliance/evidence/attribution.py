"""Who ran the checks, where, from which CI job, with which code (21 CFR Part 11 §11.10(e): audit trails).

* operator: `--operator NAME`, else $COMPLIANCE_OPERATOR, else the operating-system user;
* host: the machine's name;
* ci: provider, run id and URL from the documented CI variables
  (GitHub Actions: https://docs.github.com/en/actions/reference/variables-reference ,
  GitLab CI/CD: https://docs.gitlab.com/ci/variables/predefined_variables/);
* the git commit of the repository holding the chain config (read from `.git`, git is not run);
* suite_code_sha256: one SHA-256 over the installed package's files, so two runs can show they ran the same code.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import compliance

OPERATOR_ENV = "COMPLIANCE_OPERATOR"
_CODE_SUFFIXES = (".py", ".toml", ".json", ".typed")


class CiProvider(StrEnum):
    GITHUB = "GitHub Actions"
    GITLAB = "GitLab CI"


@dataclass(frozen=True, slots=True)
class CiRun:
    provider: CiProvider
    run_id: str
    url: str | None
    job: str | None
    ref: str | None
    commit: str | None

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider.value, "run_id": self.run_id, "url": self.url, "job": self.job,
                "ref": self.ref, "commit": self.commit}


def operator(option: str | None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The person the run is attributed to, and where that name came from."""
    env = os.environ if env is None else env
    if option and option.strip():
        return {"name": option.strip(), "source": "--operator"}
    if env.get(OPERATOR_ENV, "").strip():
        return {"name": env[OPERATOR_ENV].strip(), "source": OPERATOR_ENV}
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return {"name": user, "source": "operating-system user"}


def ci_run(env: Mapping[str, str] | None = None) -> CiRun | None:
    """The CI job the run belongs to, from the providers' standard variables; None outside CI."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_RUN_ID"):
        server, repo, run_id = env.get("GITHUB_SERVER_URL", "https://github.com"), env.get("GITHUB_REPOSITORY"), \
            env["GITHUB_RUN_ID"]
        attempt = env.get("GITHUB_RUN_ATTEMPT")
        url = f"{server}/{repo}/actions/runs/{run_id}" + (f"/attempts/{attempt}" if attempt else "") if repo else None
        return CiRun(CiProvider.GITHUB, run_id, url, env.get("GITHUB_JOB"), env.get("GITHUB_REF"),
                     env.get("GITHUB_SHA"))
    if env.get("GITLAB_CI") == "true" and env.get("CI_PIPELINE_ID"):
        return CiRun(CiProvider.GITLAB, env["CI_PIPELINE_ID"], env.get("CI_PIPELINE_URL") or env.get("CI_JOB_URL"),
                     env.get("CI_JOB_ID"), env.get("CI_COMMIT_REF_NAME"), env.get("CI_COMMIT_SHA"))
    return None


def _git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = candidate.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text.removeprefix("gitdir:").strip())
                return target if target.is_absolute() else (folder / target).resolve()
    return None


def _packed_ref(git_dir: Path, ref: str) -> str | None:
    for base in (git_dir, _common_dir(git_dir)):
        packed = base / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    return None


def _common_dir(git_dir: Path) -> Path:
    common = git_dir / "commondir"
    if common.is_file():
        return (git_dir / common.read_text(encoding="utf-8").strip()).resolve()
    return git_dir


def git_commit(path: Path) -> dict[str, Any] | None:
    """The commit checked out in the git repository holding `path` (and whether the file has uncommitted
    changes is not judged: the chain config's own SHA-256 is in the header). None outside a repository."""
    try:
        git_dir = _git_dir(path.resolve().parent)
        if git_dir is None:
            return None
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        ref = None
        if head.startswith("ref:"):
            ref = head.removeprefix("ref:").strip()
            ref_file = _common_dir(git_dir) / ref
            local = git_dir / ref
            commit = (local.read_text(encoding="utf-8").strip() if local.is_file() else
                      ref_file.read_text(encoding="utf-8").strip() if ref_file.is_file() else
                      _packed_ref(git_dir, ref))
        else:
            commit = head
    except OSError:
        return None
    if not commit:
        return None
    return {"commit": commit, "ref": ref, "repository": str(git_dir.parent if git_dir.name == ".git" else git_dir)}


def suite_code_sha256(package_dir: Path | None = None) -> str:
    """SHA-256 over the installed package's source and data files (relative path and content of each, sorted)."""
    root = package_dir or Path(compliance.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _CODE_SUFFIXES
                       and "__pycache__" not in p.parts):
        rel = path.relative_to(root).as_posix().encode("utf-8")
        data = path.read_bytes()
        digest.update(len(rel).to_bytes(4, "big") + rel + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def attribution(operator_option: str | None, chain_path: Path) -> dict[str, Any]:
    ci = ci_run()
    return {
        "operator": operator(operator_option),
        "host": socket.gethostname(),
        "ci": ci.to_json() if ci is not None else None,
        "chain_config_git": git_commit(chain_path),
        "suite_code_sha256": suite_code_sha256(),
    }
