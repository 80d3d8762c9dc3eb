"""The pytest plugin: options, markers, chain parametrisation, and turning findings into outcomes.

Registered through the `pytest11` entry point (name `compliance.plugin`) and the project conftest.
It is inert unless the run collects checks from the `compliance` package.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
import traceback
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import compliance
from compliance.config import default_chain_path
from compliance.errors import ComplianceError, ConfigError, PolicyError, ReadError
from compliance.evidence.record import REPORT_ATTRIBUTE, SNAPSHOT_ATTRIBUTE, Record, record_of, redacted, snapshot_of
from compliance.evidence.recordlog import RecordLog
from compliance.evidence.snapshot_store import SNAPSHOTS_NAME, SnapshotStore
from compliance.model import Finding, Status
from compliance.registry import MARKER, meta_of
from compliance.session.capture import redact_report
from compliance.shard import SHARD_OPTION, parse_shard, select, write_shard_file
from compliance.state import STATE_KEY, RunState, Target, run_state
from compliance.xdist_groups import add_group_suffix

GROUP = "compliance"
TARGET_OPTION = "--target"
CHAIN_OPTION = "--chain"
DEPLOYMENT_OPTION = "--deployment"
EVIDENCE_DIR_OPTION = "--evidence-dir"
PROPOSED_OPTION = "--proposed"
FUZZ_EXAMPLES_OPTION = "--fuzz-examples"
BASELINE_OPTION = "--baseline"
AZURE_WRITE_PROBE_OPTION = "--azure-write-probe"
SIGN_KEY_OPTION = "--sign-key"
SIGNER_OPTION = "--signer"
OPERATOR_OPTION = "--operator"
FORCE_BASELINE_OPTION = "--force-baseline"

MAX_FUZZ_EXAMPLES = 100_000
FINDING_KEY = pytest.StashKey[Finding]()
LOADGROUP_KEY = "compliance_loadgroup"
PACKAGE_DIR = Path(compliance.__file__).resolve().parent

FIXTURE_PLUGINS = ("compliance.fixtures", "compliance.fixtures_chain", "compliance.fixtures_azure")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "export chain compliance")
    group.addoption(TARGET_OPTION, choices=[kind.value for kind in Target], default=Target.MOTO,
                    help="where the chain lives: moto (+ Azurite), the embedded default, or live AWS/Azure")
    group.addoption(CHAIN_OPTION, metavar="PATH", type=Path, default=None,
                    help="chain config TOML (default: the bundled reference chain)")
    group.addoption(DEPLOYMENT_OPTION, metavar="PATH", type=Path, default=None,
                    help="moto only: provision this deployment file instead of the reference deployment")
    group.addoption(EVIDENCE_DIR_OPTION, metavar="DIR", type=Path, default=Path("reports"),
                    help="where each run's evidence directory is written (default: reports/)")
    group.addoption(PROPOSED_OPTION, metavar="FILE", type=Path, nargs="+", action="extend", default=[],
                    help="what-if: policy documents that replace their counterparts before the checks run")
    group.addoption(FUZZ_EXAMPLES_OPTION, metavar="N", type=int, default=25,
                    help="Hypothesis examples per fuzzing family (default 25: fuzzing is the second opinion beside the "
                         "proofs; use more at night)")
    group.addoption(BASELINE_OPTION, metavar="PATH", type=Path, default=None,
                    help="an earlier run's evidence.json: adds a 'Changed since' section")
    group.addoption(AZURE_WRITE_PROBE_OPTION, action="store_true", default=False,
                    help="live mode: allow writing one small canary blob with the SAS")
    group.addoption(SIGN_KEY_OPTION, metavar="PATH", type=Path, default=None,
                    help="sign the run's MANIFEST.sha256 with this Ed25519 private key (PEM), meaning 'executed'")
    group.addoption(SIGNER_OPTION, metavar="NAME", default=None,
                    help='the signer\'s printed name and title for --sign-key, e.g. "Dana Smith, QA Lead" '
                         "(default: the operator)")
    group.addoption(OPERATOR_OPTION, metavar="NAME", default=None,
                    help="who runs the checks, recorded in the evidence (default: $COMPLIANCE_OPERATOR, else the "
                         "OS user)")
    group.addoption(FORCE_BASELINE_OPTION, action="store_true", default=False,
                    help="accept a what-if (--proposed) run as --baseline")
    group.addoption(SHARD_OPTION, metavar="K/N", default=None,
                    help="run only the chains of shard K of N (split by sorted chain id, balanced); merge the shards' "
                         "run directories with `python -m compliance merge` (docs/NIGHTLY.md)")


def _is_compliance_run(config: pytest.Config) -> bool:
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (base / arg.split("::", 1)[0]).resolve()
        if path == PACKAGE_DIR or PACKAGE_DIR in path.parents or path in PACKAGE_DIR.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(check_id): a compliance check (set by @check)")
    config.addinivalue_line("markers", "aws: a check of the AWS side of the chain")
    config.addinivalue_line("markers", "azure: a check of the Azure backup")
    state = RunState(
        target=config.getoption(TARGET_OPTION),
        chain_path=config.getoption(CHAIN_OPTION) or default_chain_path(),
        deployment_path=config.getoption(DEPLOYMENT_OPTION),
        evidence_root=Path(config.invocation_params.dir) / config.getoption(EVIDENCE_DIR_OPTION),
        options={name: config.getoption(name) for name in (
            PROPOSED_OPTION, FUZZ_EXAMPLES_OPTION, BASELINE_OPTION, AZURE_WRITE_PROBE_OPTION, SIGN_KEY_OPTION,
            SIGNER_OPTION, OPERATOR_OPTION, FORCE_BASELINE_OPTION)},
    )
    config.stash[STATE_KEY] = state
    if _is_compliance_run(config):
        install_redaction(config, state)
        from compliance.session.retention import Retention

        config.pluginmanager.register(Retention(config), "compliance-retention")
    if state.deployment_path is not None and state.target != Target.MOTO:
        raise pytest.UsageError(f"{DEPLOYMENT_OPTION} provisions into moto; it cannot be used with --target live")
    if config.getoption(FUZZ_EXAMPLES_OPTION) < 1:
        raise pytest.UsageError(f"{FUZZ_EXAMPLES_OPTION} must be at least 1")
    if config.getoption(SHARD_OPTION) is not None:
        try:
            parse_shard(config.getoption(SHARD_OPTION))
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    if config.getoption(FUZZ_EXAMPLES_OPTION) > MAX_FUZZ_EXAMPLES:
        raise pytest.UsageError(f"{FUZZ_EXAMPLES_OPTION} must be at most {MAX_FUZZ_EXAMPLES:,} (a run would not end); "
                                "use a few thousand at most for a nightly search")
    for name in FIXTURE_PLUGINS:
        if not config.pluginmanager.has_plugin(name):
            config.pluginmanager.import_plugin(name)
    if getattr(config, "workerinput", {}).get(LOADGROUP_KEY):
        # xdist workers re-parse the command line (without the controller's --dist change below); without this
        # they add no @group suffix and the controller's loadgroup scheduler spreads a chain over the workers
        config.option.loadgroup = True
    if hasattr(config, "workerinput") and config.getoption("loadgroup", False):
        config.pluginmanager.register(GroupSuffix(), "compliance-group-suffix")
    if not hasattr(config, "workerinput"):
        if _is_compliance_run(config):
            # Before the run directory exists: a bad input is one usage-error line, never half evidence.
            validate_inputs(state, config)
            shard_chain_ids(config, state)
        if _is_compliance_run(config):
            from compliance.session.rundir import prepare_run_dir

            if getattr(config.option, "dist", "no") == "load":
                config.option.dist = "loadgroup"  # keep each chain's checks (and its snapshot read) on one worker

            records = prepare_run_dir(config, state)
            if state.run_dir is not None:  # each chain's snapshot goes to disk as it arrives
                state.snapshots_json = SnapshotStore(state.run_dir / SNAPSHOTS_NAME)
            config.pluginmanager.register(RecordCollector(state, records), "compliance-record-collector")
            shard_text = config.getoption(SHARD_OPTION)
            if shard_text is not None and state.run_dir is not None and state.chain_config is not None:
                write_shard_file(state.run_dir, parse_shard(shard_text), (c.id for c in state.chain_config.chains))


def shard_chain_ids(config: pytest.Config, state: RunState) -> frozenset[str] | None:
    """The chain ids `--shard K/N` keeps (None: every chain); a shard that would hold no chain is a usage error."""
    shard_text = config.getoption(SHARD_OPTION)
    if shard_text is None or state.chain_config is None:
        return None
    try:
        return frozenset(select(parse_shard(shard_text), (c.id for c in state.chain_config.chains),
                                state.chain_config.source))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


class GroupSuffix:
    """xdist worker: make sure each check's node id ends in `@<chain id>`, the group the controller schedules by
    (xdist's own suffix is lost under pytest 9.2: see `compliance.xdist_groups`)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            callspec = getattr(item, "callspec", None)
            chain = callspec.params.get("chain") if callspec is not None else None
            if chain is not None and meta_of(getattr(item, "obj", None)) is not None:
                add_group_suffix(item, chain.id)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist (controller): tell each worker that the run distributes by chain group."""
    if node.config.getoption("dist", "no") == "loadgroup":
        node.workerinput[LOADGROUP_KEY] = True


def validate_inputs(state: RunState, config: pytest.Config | None = None) -> None:
    """Load the chain config and (moto) the deployment file; a problem is a `pytest.UsageError` (exit 4)."""
    state.load_config()
    if state.config_error is not None:
        raise pytest.UsageError(str(state.config_error))
    check_evidence_dir(state.evidence_root)
    if state.target == Target.LIVE:
        check_aws_profile()
        if selects_aws_checks(config, state) if config is not None else True:
            check_aws_credentials()
    if state.target == Target.MOTO:
        from compliance.targets.deployment import load_deployment, placeholders

        try:
            deployment = load_deployment(state.deployment_path)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        # the chain's own secret variables were generated by load_config; any other must be set
        for kind, name, where in placeholders(deployment.data):
            if kind == "env" and not os.environ.get(name):
                raise pytest.UsageError(str(ConfigError(
                    deployment.source, where, f"{{{{env:{name}}}}} but environment variable {name} is not set",
                    f"export {name}=<value> before running")))


def check_aws_profile() -> None:
    """Live mode: a profile named by AWS_PROFILE that does not exist is a usage error, not 40 tracebacks."""
    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
    if not profile:
        return
    import botocore.session

    if profile not in botocore.session.Session().available_profiles:
        raise pytest.UsageError(str(ConfigError(
            "environment", "AWS_PROFILE", f"profile {profile!r} is not in your AWS config or credentials file",
            "run `aws configure list-profiles` and export an existing profile (or `aws configure sso`)")))


def check_evidence_dir(root: Path) -> None:
    """`--evidence-dir` must be (or become) a writable directory: checked before any check runs or file is made."""
    for path in (root, *root.parents):
        if path.exists():
            break
    else:  # pragma: no cover - the file system root always exists
        return
    if not path.is_dir():
        what = "is a file" if path == root else f"cannot be created: {path} is a file"
        raise pytest.UsageError(str(ConfigError(
            EVIDENCE_DIR_OPTION, str(root), f"{what}, not a directory",
            "pass a directory (it is created when missing), e.g. --evidence-dir reports")))
    if not os.access(path, os.W_OK | os.X_OK):
        raise pytest.UsageError(str(ConfigError(
            EVIDENCE_DIR_OPTION, str(root), f"{path} is not writable", "pass a directory you can write to")))


CREDENTIALS_FIX = ("sign in first: `aws sso login --profile <profile>` and `export AWS_PROFILE=<profile>`; or export "
                   "AWS_PROFILE naming a profile with credentials; in CI, assume the read-only audit role through "
                   "OIDC (aws-actions/configure-aws-credentials, see docs/NIGHTLY.md)")


_CHECK_DEF = re.compile(r"^def (test_\w+)\(", re.MULTILINE)


def selects_aws_checks(config: pytest.Config, state: RunState) -> bool:
    """Whether the run's paths, `-k` and `-m` select any AWS check (an Azure-only live run needs no AWS login).

    Decided before collection from the check files' names and functions, as pytest's keyword and marker
    matching reads them; when an expression cannot be read the answer is "yes" (the pre-flight runs).
    """
    from _pytest.mark.expression import Expression

    checks_dir = PACKAGE_DIR / "checks"
    base = Path(config.invocation_params.dir)
    selected: set[tuple[Path, str]] = set()
    for arg in config.args:
        path_text, _, name = arg.partition("::")
        path = (base / path_text).resolve()
        files = sorted(checks_dir.glob("test_aws_*.py")) if path.is_dir() else [path]
        for file in files:
            if file.parent != checks_dir or not file.name.startswith("test_aws_") or not file.is_file():
                continue
            if path.is_dir() and not (path == file.parent or path in file.parents):
                continue
            functions = _CHECK_DEF.findall(file.read_text(encoding="utf-8"))
            selected.update((file, fn) for fn in functions if not name or fn == name.split("[", 1)[0])
    chain_ids = [chain.id for chain in state.chain_config.chains] if state.chain_config else []
    try:
        keyword = Expression.compile(config.option.keyword) if config.option.keyword else None
        marks = Expression.compile(config.option.markexpr) if config.option.markexpr else None
    except (SyntaxError, ValueError):  # pytest reports the bad expression itself
        return True
    for file, function in selected:
        names = (function, file.name, "checks", "compliance", "aws", MARKER, *chain_ids)
        if keyword is not None and not keyword.evaluate(_Names(names, substring=True)):
            continue
        if marks is not None and not marks.evaluate(_Names(("aws", MARKER), substring=False)):
            continue
        return True
    return False


class _Names:
    """A `-k`/`-m` matcher over a fixed set of names (keywords match case-insensitive substrings, as pytest's do)."""

    def __init__(self, names: tuple[str, ...], *, substring: bool) -> None:
        self.names = tuple(n.lower() for n in names) if substring else names
        self.substring = substring

    def __call__(self, name: str, /, **kwargs: str | int | bool | None) -> bool:
        if self.substring:
            return any(name.lower() in n for n in self.names)
        return name in self.names


def check_aws_credentials() -> None:
    """Live mode: boto3's default credential chain must yield credentials before any check runs.

    Without them every check would be ERROR with the same NoCredentialsError; an SSO profile whose token expired
    (or was never fetched) fails the same way. Resolving the credentials reads local files and, for SSO, asks the
    SSO portal for role credentials (a read); no account API is called and no value is printed.
    """
    from botocore.exceptions import BotoCoreError

    from compliance.targets.aws_reader import new_session

    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
    where = f"AWS_PROFILE={profile}" if profile else "AWS credentials"
    try:
        credentials = new_session().get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except BotoCoreError as exc:
        code = type(exc).__name__
        expired = "SSO" in code or "Token" in code
        problem = (f"the SSO sign-in has expired or was never made ({code})" if expired
                   else f"the credentials could not be loaded ({code})")
        fix = (f"run `aws sso login --profile {profile or '<profile>'}`, then run the suite again" if expired
               else CREDENTIALS_FIX)
        raise pytest.UsageError(str(ConfigError("--target live", where, problem, fix))) from None
    if frozen is None or not frozen.access_key:
        raise pytest.UsageError(str(ConfigError(
            "--target live", where, "no AWS credentials found (environment, AWS_PROFILE, config and credentials "
            "files, SSO, container and instance roles were tried)", CREDENTIALS_FIX)))


def install_redaction(config: pytest.Config, state: RunState) -> None:
    """Redact every log record (any level, any handler) and, with -s, what is printed; removed at unconfigure."""
    from compliance.evidence.logredaction import LogRedaction

    redaction = LogRedaction(state.redactor)
    redaction.install(wrap_streams=getattr(config.option, "capture", "fd") == "no")
    config.add_cleanup(redaction.uninstall)


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = run_state(config)
    if state.run_dir is None:
        return []
    lines = [f"compliance: target={state.target} chain={state.chain_path} evidence={state.run_dir}"]
    if state.options.get(PROPOSED_OPTION):
        lines.insert(0, "compliance: WHAT-IF: proposed changes, not the deployed system")
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # only functions registered with @check: a foreign suite's own `chain` fixture is never parametrised
    if "chain" not in metafunc.fixturenames or meta_of(metafunc.function) is None:
        return
    state = run_state(metafunc.config)
    config = state.load_config()
    if config is None:
        metafunc.parametrize("chain", [None], ids=["invalid-chain-config"])
        return
    if state.chain_params is None:
        kept = shard_chain_ids(metafunc.config, state)
        # the xdist_group mark is set here, at collection, so xdist's worker sees it whatever the hook order; one
        # parameter set per chain, shared by all its checks (pytest would keep a copy of its marks per check)
        state.chain_params = [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id))
                              for c in config.chains if kept is None or c.id in kept]
    metafunc.parametrize("chain", state.chain_params)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    state = run_state(config)
    if any(item.get_closest_marker(MARKER) is not None for item in items):
        validate_inputs(state, config)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    meta = meta_of(pyfuncitem.obj)
    if meta is None:
        return None
    state = run_state(pyfuncitem.config)
    kwargs = {name: pyfuncitem.funcargs[name] for name in check_argnames(pyfuncitem.obj)}
    finding = _run_check(pyfuncitem, kwargs)
    redactor = state.redactor()
    finding = dataclasses.replace(finding, message=redactor.text(finding.message))
    pyfuncitem.stash[FINDING_KEY] = finding
    pyfuncitem.user_properties.extend([
        ("check_id", meta.id),
        ("compliance_status", finding.status.value),
        ("severity", meta.severity.value),
        ("controls", " ".join(meta.controls)),
    ])
    if finding.status is Status.PASS:
        return True
    if finding.status is Status.FAIL:
        pytest.fail(f"FAIL: {finding.message}", pytrace=False)
    if finding.status is Status.ERROR:
        crash = finding.details.get(TRACEBACK_KEY) if pyfuncitem.config.option.tbstyle == "long" else None
        shown = f"\n{redactor.text(str(crash))}" if crash else ""
        pytest.fail(f"ERROR (could not verify): {finding.message}{shown}", pytrace=False)
    pytest.skip(f"{finding.status.value}: {finding.message}")


def check_argnames(function: Any) -> tuple[str, ...]:
    """The fixtures a check asks for: its parameters without defaults, as pytest reads a test function's."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(name for name, parameter in inspect.signature(function).parameters.items()
                 if parameter.kind in kinds and parameter.default is inspect.Parameter.empty)


TRACEBACK_KEY = "traceback"
"""The details key of a crashed check's traceback (kept in evidence.json, redacted; shown with --tb=long)."""


def _traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _run_check(item: pytest.Function, kwargs: dict[str, Any]) -> Finding:
    try:
        result = item.obj(**kwargs)
    except ReadError as exc:
        return Finding.error(f"Could not read {exc.api} ({exc.code}): {exc.message}")
    except PolicyError as exc:
        return Finding.error(f"A policy document could not be evaluated: {exc}")
    except ComplianceError as exc:
        return Finding.error(str(exc))
    except Exception as exc:  # an unexpected crash must become ERROR, never PASS
        return Finding(Status.ERROR, f"The check crashed ({type(exc).__name__}: {exc}); the result is unverified.",
                       details={TRACEBACK_KEY: _traceback(exc)})
    if not isinstance(result, Finding):
        return Finding.error(f"The check returned {type(result).__name__}, not a finding; the result is unverified.")
    if not result.status.is_finding:
        return Finding.error(f"The check returned the status {result.status.value}, which describes coverage, not a "
                             "check's result; the result is unverified.")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    meta = meta_of(getattr(item, "obj", None))
    if meta is None:
        return report
    state = run_state(item.config)
    redactor = state.redactor()
    redact_report(report, redactor)  # captured output and failure text are evidence too
    callspec = getattr(item, "callspec", None)
    chain = callspec.params.get("chain") if callspec is not None else None
    finding = item.stash.get(FINDING_KEY, None)
    if call.when == "setup" and report.failed:
        message = call.excinfo.exconly() if call.excinfo else "setup failed"
        crash = {TRACEBACK_KEY: _traceback(call.excinfo.value)} if call.excinfo else {}
        finding = Finding(Status.ERROR, f"The check could not start: {message.splitlines()[0]}", details=crash)
        if item.config.option.tbstyle == "auto":  # one line for the reader; --tb=long keeps the traceback
            report.longrepr = f"ERROR (could not verify): {redactor.text(finding.message)}"
    elif call.when != "call" or finding is None:
        return report
    if FINDING_KEY in item.stash:  # the record below carries it from here (an item lives until the session ends)
        del item.stash[FINDING_KEY]
    record = Record(check=meta, chain=chain.id if chain is not None else None,
                    finding=redacted(finding, redactor),
                    recorded_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    nodeid=item.nodeid.removesuffix(f"@{chain.id}") if chain is not None else item.nodeid)
    setattr(report, REPORT_ATTRIBUTE, record)
    snapshot = state.snapshots.get(chain.id) if chain is not None else None
    if chain is not None and snapshot is not None and chain.id not in state.emitted_snapshots:
        state.emitted_snapshots.add(chain.id)
        setattr(report, SNAPSHOT_ATTRIBUTE, redactor.json(snapshot.to_json()))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(config: pytest.Config, report: Any) -> Generator[None, Any, Any]:
    """xdist worker: a check's record travels to the controller as its JSON."""
    data = yield
    if isinstance(data, dict) and isinstance(data.get(REPORT_ATTRIBUTE), Record):
        data[REPORT_ATTRIBUTE] = data[REPORT_ATTRIBUTE].to_json()
    return data


@pytest.hookimpl(wrapper=True)
def pytest_report_from_serializable(config: pytest.Config, data: Any) -> Generator[None, Any, Any]:
    """xdist controller: the record's JSON is parsed back into a `Record` here, once, as the report arrives."""
    report = yield
    wire = getattr(report, REPORT_ATTRIBUTE, None)
    if isinstance(wire, dict):
        setattr(report, REPORT_ATTRIBUTE, Record.from_json(wire))
    return report


class RecordCollector:
    """Controller (serial runs and xdist alike): each check's record goes to the run's record log as it arrives;
    each chain's snapshot is kept once (for the header and the per-check API calls)."""

    def __init__(self, state: RunState, records: RecordLog) -> None:
        self.state = state
        self.records = records

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = record_of(report)
        if record is None:
            return
        snapshot = snapshot_of(report)
        if snapshot is not None and record.chain:
            self.state.snapshots_json[record.chain] = snapshot
        self.records.append(record)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> Generator[None, None, None]:
    """Once every plugin has seen a check's report (the record is on disk, or sent to the controller), the report
    keeps only the record's status and message: pytest and pytest-html keep every report until the session ends."""
    result = yield
    record = record_of(report)
    if record is not None:
        setattr(report, REPORT_ATTRIBUTE, record.without_evidence())
        if hasattr(report, SNAPSHOT_ATTRIBUTE):
            delattr(report, SNAPSHOT_ATTRIBUTE)
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    record = record_of(report)
    if record is None:
        return None
    if record.status is Status.ERROR:
        return "error", "E", "ERROR"
    if record.status in (Status.NOT_SUPPORTED, Status.NOT_APPLICABLE):
        return "skipped", "s", record.status.value
    return None
