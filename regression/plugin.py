"""The suite's pytest plugin: target options, a session preflight, fixtures, cleanup and the JSON summary.

Loaded by `regression/conftest.py` (so `python -m pytest regression --crvs-url URL` works from a checkout)
and by `release regression run` with `-p regression.plugin`. Under pytest-xdist the controller runs the
preflight (and starts `--crvs-sandbox`), hands the target and its tokens to the workers, and alone writes
the summary from the reports the workers send back.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crvs_client import Credentials, CRVSClient, SyntheticFactory
from crvs_client.client import DEFAULT_LOCATION
from regression import MARKERS, SUITE_DIR
from regression.clients import RecordRegistry, TrackedClient, archive_records
from regression.data import Declarations, Record, declare_new, node_seed, register_record, unique_tag
from regression.preflight import PreflightFailed, PreflightResult, run_preflight
from regression.summary import ReportFolder, build_summary, one_line

CHROMIUM = os.environ.get("CRVS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@dataclass
class SuiteState:
    """Per-process state of one suite run."""

    is_worker: bool
    run_id: str
    credentials: Credentials | None = None
    preflight: PreflightResult | None = None
    folder: ReportFolder = field(default_factory=ReportFolder)
    registry: RecordRegistry = field(default_factory=RecordRegistry)
    started: float = field(default_factory=time.monotonic)
    started_at: str = field(default_factory=lambda: _now())
    error: str | None = None
    sandbox: Any = None
    sandbox_dir: str | None = None
    cleanup: dict[str, int] | None = None
    artifacts_dir: Path | None = None
    summary: dict[str, Any] | None = None


STATE = pytest.StashKey[SuiteState]()
# pytest_runtest_logreport gets no config argument; the one config of this process is kept here.
_CONFIG: dict[str, pytest.Config] = {}
PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------------- options
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("crvs", "CRVS regression suite")
    group.addoption("--crvs-url", default=None, help="base URL of the CRVS target (default: $CRVS_URL)")
    group.addoption("--crvs-sandbox", action="store_true", default=False,
                    help="start a throwaway reference sandbox on a free port for this session")
    group.addoption("--crvs-summary", default=None, metavar="PATH", help="write the JSON summary to PATH")
    group.addoption("--crvs-artifacts", default=None, metavar="DIR",
                    help="where failing browser tests save screenshots and Playwright traces")
    group.addoption("--cleanup", "--crvs-cleanup", dest="crvs_cleanup", action="store_true", default=False,
                    help="archive the records this run created at session end")


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    workerinput = getattr(config, "workerinput", None)
    state = SuiteState(is_worker=workerinput is not None, run_id=secrets.token_hex(4))
    artifacts = config.getoption("crvs_artifacts")
    if artifacts:
        state.artifacts_dir = Path(artifacts).resolve()
    if workerinput is not None and "crvs" in workerinput:
        given = workerinput["crvs"]
        state.run_id = given["run_id"]
        state.credentials = _credentials(given["url"], given.get("client_id"), given.get("client_secret"))
        state.preflight = PreflightResult(given["version"], given["commit"], dict(given["tokens"]))
        state.started_at = given["started_at"]
        if given.get("artifacts_dir"):
            state.artifacts_dir = Path(given["artifacts_dir"])
    config.stash[STATE] = state
    _CONFIG["config"] = config
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "crvs-regression-xdist")


def _credentials(url: str, client_id: str | None = None, client_secret: str | None = None) -> Credentials:
    creds = Credentials.from_env(url=url)
    if client_id:
        creds = Credentials(creds.url, client_id, client_secret or creds.client_secret, creds.users,
                            creds.login_code, creds.location_id)
    return creds


def pytest_report_header(config: pytest.Config) -> str | None:
    state = config.stash.get(STATE, None)
    if state is None or state.credentials is None or state.preflight is None:
        return None
    return f"crvs target: {state.credentials.url} (version {state.preflight.version}, commit {state.preflight.commit[:12]})"


# ----------------------------------------------------------------------------------------- preflight
@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    state = config.stash[STATE]
    if state.is_worker:
        return
    try:
        url = config.getoption("crvs_url") or os.environ.get("CRVS_URL") or ""
        client_id = client_secret = None
        if config.getoption("crvs_sandbox"):
            url, client_id, client_secret = _start_sandbox(state)
        state.credentials = _credentials(url, client_id, client_secret)
        if not config.option.collectonly:
            state.preflight = run_preflight(state.credentials)
    except PreflightFailed as exc:
        state.error = str(exc)
        _write_summary(config, exit_status=2)
        pytest.exit(state.error, returncode=2)


def _start_sandbox(state: SuiteState) -> tuple[str, str, str]:
    try:
        from sandbox.process import SandboxProcess
    except ImportError as exc:
        raise PreflightFailed("crvs-regression: --crvs-sandbox needs the reference sandbox (sandbox.process), "
                              "which is not installed here") from exc
    state.sandbox_dir = tempfile.mkdtemp(prefix="crvs-regression-sandbox-")
    sandbox = SandboxProcess(os.path.join(state.sandbox_dir, "sandbox.db"))
    try:
        sandbox.start()
    except Exception as exc:  # any launch failure is one line and exit 2, never a traceback
        raise PreflightFailed(f"crvs-regression: the throwaway sandbox did not start: {one_line(str(exc))}") from exc
    state.sandbox = sandbox
    return sandbox.url, sandbox.client_id, sandbox.client_secret


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None and state.sandbox is not None:
        state.sandbox.stop()
        state.sandbox = None
        if state.sandbox_dir:
            shutil.rmtree(state.sandbox_dir, ignore_errors=True)


class _XdistHooks:
    """Hooks that exist only when pytest-xdist is installed."""

    def pytest_configure_node(self, node: Any) -> None:
        state = node.config.stash[STATE]
        creds, pre = state.credentials, state.preflight
        node.workerinput["crvs"] = {
            "url": creds.url if creds else "", "client_id": creds.client_id if creds else None,
            "client_secret": creds.client_secret if creds else None,
            "version": pre.version if pre else "", "commit": pre.commit if pre else "",
            "tokens": dict(pre.tokens) if pre else {}, "run_id": state.run_id, "started_at": state.started_at,
            "artifacts_dir": str(state.artifacts_dir) if state.artifacts_dir else "",
        }

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        counts = getattr(node, "workeroutput", {}).get("crvs_cleanup")
        if counts:
            state = node.config.stash[STATE]
            total = state.cleanup or {}
            state.cleanup = {k: total.get(k, 0) + v for k, v in counts.items()}


# ------------------------------------------------------------------------------------------- reports
def _suite_nodeid(config: pytest.Config, nodeid: str) -> str:
    """Node ids relative to the parent of the `regression` package: `regression/test_x.py::test_y`."""
    path, sep, rest = nodeid.partition("::")
    try:
        relative = (config.rootpath / path).resolve().relative_to(SUITE_DIR.parent)
    except ValueError:
        return nodeid
    return relative.as_posix() + sep + rest


def _reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return one_line(str(longrepr[2]))
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", ""):
        return one_line(crash.message)
    return one_line(str(longrepr or ""))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = _CONFIG.get("config")
    if config is None:
        return
    state = config.stash[STATE]
    if state.is_worker:
        return
    nodeid = _suite_nodeid(config, report.nodeid)
    reason = _reason(report) if report.outcome in ("failed", "skipped", "rerun") else ""
    state.folder.add(nodeid, report.when or "call", report.outcome, report.keywords, reason)
    for name, value in getattr(report, "user_properties", []):
        if name == "crvs_artifact":
            item = json.loads(value)
            if item not in state.folder.artifacts:
                state.folder.artifacts.append(item)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    config = _CONFIG.get("config")
    if config is None or config.stash[STATE].is_worker or not report.failed:
        return
    config.stash[STATE].folder.add_collect_error(_suite_nodeid(config, report.nodeid),
                                                 f"collection failed: {_reason(report)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    item.stash.setdefault(PHASE_REPORTS, {})[call.when] = outcome.get_result()


# ------------------------------------------------------------------------------------- session end
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash[STATE]
    if config.getoption("crvs_cleanup") and len(state.registry) and state.credentials and state.preflight:
        counts = archive_records(_client(state, "system"), state.registry.ids())
        if state.is_worker:
            config.workeroutput["crvs_cleanup"] = counts  # type: ignore[attr-defined]
        else:
            total = state.cleanup or {}
            state.cleanup = {k: total.get(k, 0) + v for k, v in counts.items()}
    if not state.is_worker:
        _write_summary(config, exit_status=int(exitstatus))


def _write_summary(config: pytest.Config, *, exit_status: int) -> dict[str, Any] | None:
    state = config.stash[STATE]
    creds, pre = state.credentials, state.preflight
    artifacts = list(state.folder.artifacts)
    xmlpath = getattr(config.option, "xmlpath", None)
    if xmlpath:
        artifacts.insert(0, {"path": str(Path(xmlpath).resolve()), "kind": "junit"})
    summary = build_summary(
        state.folder.outcomes(), exit_status=exit_status,
        target={"url": creds.url if creds else (config.getoption("crvs_url") or os.environ.get("CRVS_URL", "")),
                "version": pre.version if pre else "", "commit": pre.commit if pre else ""},
        started_at=state.started_at, finished_at=_now(), duration_s=time.monotonic() - state.started,
        artifacts=artifacts, error=state.error,
        cleanup=state.cleanup if config.getoption("crvs_cleanup") else None)
    path = config.getoption("crvs_summary")
    if path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        tmp.replace(target)
    state.summary = summary
    return summary


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    summary = state.summary if state is not None else None
    if summary is None or config.option.collectonly:
        return
    counts = summary["counts"]
    terminalreporter.write_sep("-", "crvs regression summary")
    terminalreporter.write_line(
        f"status {summary['status'].upper()}: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['errors']} errors, {counts['skipped']} skipped, {counts['flaky']} flaky "
        f"(target {summary['target']['url']} {summary['target']['version']})")
    for flaky in summary["flaky"]:
        terminalreporter.write_line(f"FLAKY {flaky['nodeid']} (passed after {flaky['reruns']} rerun(s))")


# ------------------------------------------------------------------------------------------ fixtures
@dataclass(frozen=True)
class CRVSTarget:
    """The target under test: where it is, what it runs, and this run's identity."""

    url: str
    version: str
    commit: str
    credentials: Credentials = field(repr=False)
    run_id: str
    registry: RecordRegistry = field(repr=False)


def _client(state: SuiteState, role: str) -> TrackedClient:
    creds = state.credentials
    assert creds is not None and creds.url, "crvs-regression: no target configured"
    if role == "system":
        def relogin(client: CRVSClient) -> str:
            return client.authenticate_client(creds.client_id, creds.client_secret)
        location = creds.location_id or DEFAULT_LOCATION
    else:
        user = creds.users[role]

        def relogin(client: CRVSClient) -> str:
            return client.login(user.username, user.password, creds.login_code)
        location = creds.location_id
    token = state.preflight.tokens.get(role) if state.preflight else None
    client = TrackedClient(creds.url, token, registry=state.registry, relogin=relogin, location_id=location,
                           label=role)
    if token is None:
        relogin(client)
    return client


@pytest.fixture(scope="session")
def crvs(request: pytest.FixtureRequest) -> CRVSTarget:
    """The target: URL, reported version and commit, credentials (secrets hidden) and this run's id."""
    state = request.config.stash[STATE]
    if state.credentials is None or not state.credentials.url:
        pytest.fail("crvs-regression: no target: pass --crvs-url URL, set CRVS_URL, or use --crvs-sandbox",
                    pytrace=False)
    pre = state.preflight
    return CRVSTarget(state.credentials.url, pre.version if pre else "", pre.commit if pre else "",
                      state.credentials, state.run_id, state.registry)


@pytest.fixture(scope="session")
def system_client(request: pytest.FixtureRequest, crvs: CRVSTarget) -> TrackedClient:
    """The system (integration) client, holding every scope."""
    return _client(request.config.stash[STATE], "system")


@pytest.fixture(scope="session")
def field_agent(request: pytest.FixtureRequest, crvs: CRVSTarget) -> TrackedClient:
    """A logged-in field agent (creates, notifies, declares, searches)."""
    return _client(request.config.stash[STATE], "field_agent")


@pytest.fixture(scope="session")
def registration_agent(request: pytest.FixtureRequest, crvs: CRVSTarget) -> TrackedClient:
    """A logged-in registration agent (adds validate, reject, archive, assign)."""
    return _client(request.config.stash[STATE], "registration_agent")


@pytest.fixture(scope="session")
def registrar(request: pytest.FixtureRequest, crvs: CRVSTarget) -> TrackedClient:
    """A logged-in local registrar (adds register and print certificate)."""
    return _client(request.config.stash[STATE], "local_registrar")


@pytest.fixture
def factory(request: pytest.FixtureRequest) -> SyntheticFactory:
    """Synthetic data seeded by this test's node id."""
    return SyntheticFactory(node_seed(request.node.nodeid))


@pytest.fixture
def declarations(request: pytest.FixtureRequest, crvs: CRVSTarget, factory: SyntheticFactory) -> Declarations:
    """Declarations whose surnames carry a tag unique to this run and test."""
    return Declarations(factory, unique_tag(crvs.run_id, request.node.nodeid))


@pytest.fixture
def new_birth(field_agent: TrackedClient, declarations: Declarations) -> Callable[..., Record]:
    """`new_birth(**overrides)`: a birth created and declared by the field agent."""
    return lambda client=None, **overrides: declare_new(client or field_agent, declarations, "birth", **overrides)


@pytest.fixture
def new_death(field_agent: TrackedClient, declarations: Declarations) -> Callable[..., Record]:
    """`new_death(**overrides)`: a death created and declared by the field agent."""
    return lambda client=None, **overrides: declare_new(client or field_agent, declarations, "death", **overrides)


@pytest.fixture
def registered_birth(new_birth: Callable[..., Record], registrar: TrackedClient) -> Callable[..., Record]:
    """`registered_birth(**overrides)`: a declared birth that the registrar assigned and registered."""
    return lambda **overrides: register_record(registrar, new_birth(**overrides))


@pytest.fixture
def registered_death(new_death: Callable[..., Record], registrar: TrackedClient) -> Callable[..., Record]:
    """`registered_death(**overrides)`: a declared death that the registrar assigned and registered."""
    return lambda **overrides: register_record(registrar, new_death(**overrides))


# ------------------------------------------------------------------------------------------ browser
def _artifacts_dir(state: SuiteState) -> Path:
    if state.artifacts_dir is None:
        state.artifacts_dir = Path(tempfile.gettempdir()) / f"crvs-regression-{state.run_id}"
    state.artifacts_dir.mkdir(parents=True, exist_ok=True)
    return state.artifacts_dir


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (one per worker); missing Chromium FAILS the browser tests."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"crvs-regression: browser tests need Chromium at {CHROMIUM} (Debian package 'chromium', "
                    f"or set CRVS_CHROMIUM); it is missing", pytrace=False)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        pytest.fail(f"crvs-regression: Chromium at {CHROMIUM} did not start: {one_line(str(exc))}", pytrace=False)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def ui(request: pytest.FixtureRequest, crvs: CRVSTarget, chromium: Any) -> Iterator[Any]:
    """A fresh browser page on the target; a failing test leaves a screenshot and a trace."""
    context = chromium.new_context(base_url=crvs.url)
    context.set_default_timeout(15_000)
    context.tracing.start(screenshots=True, snapshots=True)
    page = context.new_page()
    yield page
    reports = request.node.stash.get(PHASE_REPORTS, {})
    failed = any(r.failed for r in reports.values())
    if failed:
        state = request.config.stash[STATE]
        stem = "".join(c if c.isalnum() else "_" for c in request.node.nodeid.split("/")[-1])[:120]
        folder = _artifacts_dir(state)
        shot, trace = folder / f"{stem}.png", folder / f"{stem}.trace.zip"
        try:
            page.screenshot(path=str(shot), full_page=True)
            request.node.user_properties.append(("crvs_artifact", json.dumps({"path": str(shot), "kind": "screenshot"})))
        except Exception:
            pass
        context.tracing.stop(path=str(trace))
        request.node.user_properties.append(("crvs_artifact", json.dumps({"path": str(trace), "kind": "trace"})))
    else:
        context.tracing.stop()
    context.close()
