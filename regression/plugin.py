"""The suite's pytest plugin: the deployment profile, a session preflight, fixtures, cleanup and the JSON summary.

Loaded by `regression/conftest.py` (so `python -m pytest regression --crvs-target FILE` works from a checkout)
and by `release regression run` with `-p regression.plugin`. The target is a deployment profile
(docs/wire-contract.md section 2): `--crvs-target FILE` or `CRVS_TARGET_FILE`, or `--crvs-sandbox` for a
throwaway reference sandbox addressed by its own profile. Under pytest-xdist the controller runs the preflight
(and starts the sandbox), hands the profile, its secrets, the tokens and the locations to the workers, and
alone writes the summary from the reports the workers send back.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crvs_client import TARGET_FILE_ENV, Deployment, DeploymentError, Locations, SyntheticFactory, Target
from crvs_client.tokens import TOKENS
from regression import MARKERS, SUITE_DIR
from regression.clients import RecordRegistry, TrackedClient, archive_records, tracked
from regression.data import Declarations, Record, declare_new, node_seed, register_record, unique_tag
from regression.preflight import PreflightFailed, PreflightResult, run_preflight
from regression.summary import ReportFolder, build_summary, one_line

#: Where the browser tests look for Chromium, in order: CRVS_CHROMIUM (the browser gate sets it from its
#: `chromium` key), Playwright's own Chromium (`playwright install chromium`), then Debian's package.
CHROMIUM_ENV = "CRVS_CHROMIUM"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
NO_TARGET = (f"crvs-regression: no target: pass --crvs-target FILE (a deployment profile), set {TARGET_FILE_ENV}, "
             "or use --crvs-sandbox")


@dataclass
class SuiteState:
    """Per-process state of one suite run."""

    is_worker: bool
    run_id: str
    profile: dict[str, Any] | None = None
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    deployment: Deployment | None = None
    target: Target | None = None
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
    group.addoption("--crvs-target", default=None, metavar="FILE",
                    help=f"deployment profile JSON of the target (default: ${TARGET_FILE_ENV})")
    group.addoption("--crvs-sandbox", action="store_true", default=False,
                    help="start a throwaway reference sandbox on free ports and test it through its profile")
    group.addoption("--crvs-summary", default=None, metavar="PATH", help="write the JSON summary to PATH")
    group.addoption("--crvs-artifacts", default=None, metavar="DIR",
                    help="where failing browser tests save screenshots and Playwright traces")
    group.addoption("--crvs-accept-timeout", type=float, default=10.0, metavar="SECONDS",
                    help="how long an action may stay Requested before the test that made it fails (default 10)")
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
        state.started_at = given["started_at"]
        if given.get("profile"):
            state.profile, state.secrets = dict(given["profile"]), dict(given.get("secrets") or {})
            state.deployment = Deployment.from_profile(state.profile, {**os.environ, **state.secrets})
            locations = Locations.from_json(given["locations"]) if given.get("locations") else None
            state.target = Target(state.deployment, locations=locations,
                                  accept_timeout=config.getoption("crvs_accept_timeout"))
            for key, token in dict(given.get("tokens") or {}).items():
                kind, _, name = key.partition(":")
                TOKENS.put((state.deployment.gateway, kind, name), token)
            state.preflight = PreflightResult(given.get("version", ""), dict(given.get("tokens") or {}),
                                              dict(given.get("locations") or {}))
        if given.get("artifacts_dir"):
            state.artifacts_dir = Path(given["artifacts_dir"])
    config.stash[STATE] = state
    _CONFIG["config"] = config
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "crvs-regression-xdist")


def pytest_report_header(config: pytest.Config) -> str | None:
    state = config.stash.get(STATE, None)
    if state is None or state.deployment is None or state.preflight is None:
        return None
    dep = state.deployment
    return (f"crvs target: {dep.name} gateway {dep.gateway}, REST {dep.rest_base} "
            f"(X-Version {state.preflight.version})")


# ----------------------------------------------------------------------------------------- preflight
def _load_profile(config: pytest.Config, state: SuiteState) -> None:
    """Fill state.profile, state.secrets and state.deployment from the options, or raise PreflightFailed."""
    path = config.getoption("crvs_target") or os.environ.get(TARGET_FILE_ENV)
    if config.getoption("crvs_sandbox"):
        if path:
            raise PreflightFailed("crvs-regression: --crvs-sandbox and --crvs-target exclude each other")
        state.profile, state.secrets = _start_sandbox(state)
    elif path:
        try:
            state.profile = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PreflightFailed(f"crvs-regression: cannot read the deployment profile {path}: {exc}") from exc
        deployment = _parse(state.profile, dict(os.environ), f" in {path}")
        state.secrets = {name: os.environ[name] for name in deployment.env_names() if name in os.environ}
    else:
        raise PreflightFailed(NO_TARGET)
    state.deployment = _parse(state.profile, {**os.environ, **state.secrets}, "")


def _parse(profile: Any, environ: dict[str, str], where: str) -> Deployment:
    try:
        return Deployment.from_profile(profile, environ)
    except DeploymentError as exc:
        raise PreflightFailed(f"crvs-regression: bad deployment profile{where}: {exc}") from exc


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    state = config.stash[STATE]
    if state.is_worker:
        return
    try:
        _load_profile(config, state)
        assert state.deployment is not None
        state.target = Target(state.deployment, accept_timeout=config.getoption("crvs_accept_timeout"))
        if not config.option.collectonly:
            state.preflight = run_preflight(state.target)
    except PreflightFailed as exc:
        state.error = str(exc)
        _write_summary(config, exit_status=2)
        pytest.exit(state.error, returncode=2)


def _start_sandbox(state: SuiteState) -> tuple[dict[str, Any], dict[str, str]]:
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
    return sandbox.profile(), sandbox.profile_env()


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
        pre = state.preflight
        node.workerinput["crvs"] = {
            "profile": state.profile, "secrets": state.secrets,
            "version": pre.version if pre else "", "tokens": dict(pre.tokens) if pre else {},
            "locations": dict(pre.locations) if pre else {}, "run_id": state.run_id,
            "started_at": state.started_at, "artifacts_dir": str(state.artifacts_dir) if state.artifacts_dir else "",
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
    if config.getoption("crvs_cleanup") and len(state.registry) and state.target and state.preflight:
        # System clients may not archive (SYSTEM_USER_ALLOWED_ACTIONS): a registration agent does it.
        counts = archive_records(_client(state, "registration_agent"), state.registry.ids())
        if state.is_worker:
            config.workeroutput["crvs_cleanup"] = counts  # type: ignore[attr-defined]
        else:
            total = state.cleanup or {}
            state.cleanup = {k: total.get(k, 0) + v for k, v in counts.items()}
    if not state.is_worker:
        _write_summary(config, exit_status=int(exitstatus))


def _target_record(state: SuiteState, config: pytest.Config) -> dict[str, Any]:
    """What the summary says about the target: its hosts and the X-Version it reported."""
    dep, pre = state.deployment, state.preflight
    if dep is None:
        path = config.getoption("crvs_target") or os.environ.get(TARGET_FILE_ENV, "")
        return {"name": "", "url": "", "gateway": "", "register": "", "profile": path, "version": "",
                "identity": ""}
    ident = dep.identity
    return {"name": dep.name, "url": dep.gateway, "gateway": dep.gateway, "register": dep.register or "",
            "rest": dep.rest_base, "version": pre.version if pre else "",
            "identity": f"{ident.header} on GET {ident.path}" if ident.header else "",
            "locations": dict(pre.locations) if pre else {}}


def _write_summary(config: pytest.Config, *, exit_status: int) -> dict[str, Any] | None:
    state = config.stash[STATE]
    artifacts = list(state.folder.artifacts)
    xmlpath = getattr(config.option, "xmlpath", None)
    if xmlpath:
        artifacts.insert(0, {"path": str(Path(xmlpath).resolve()), "kind": "junit"})
    summary = build_summary(
        state.folder.outcomes(), exit_status=exit_status, target=_target_record(state, config),
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
        f"(target {summary['target']['url']} X-Version {summary['target']['version']})")
    for flaky in summary["flaky"]:
        terminalreporter.write_line(f"FLAKY {flaky['nodeid']} (passed after {flaky['reruns']} rerun(s))")


# ------------------------------------------------------------------------------------------ fixtures
@dataclass(frozen=True)
class CRVSTarget:
    """The target under test: its deployment, what it reports, its locations and this run's identity."""

    deployment: Deployment = field(repr=False)
    target: Target = field(repr=False)
    version: str
    locations: Locations
    run_id: str
    registry: RecordRegistry = field(repr=False)

    @property
    def url(self) -> str:
        """The gateway (tRPC, auth, upload)."""
        return self.deployment.gateway

    @property
    def web_url(self) -> str:
        """Where the web client lives: the register host (the gateway when the profile has none)."""
        return self.deployment.register or self.deployment.gateway

    def anonymous(self, token: str | None = None) -> Any:
        """A client with no token, or with `token` (for authentication tests)."""
        return self.target.anonymous(token)


def _client(state: SuiteState, role: str) -> TrackedClient:
    target = state.target
    assert target is not None, "crvs-regression: no target configured"
    if role == "system":
        return tracked(target.system(TrackedClient), state.registry, role)
    return tracked(target.user(role, 0, TrackedClient), state.registry, role)


@pytest.fixture(scope="session")
def crvs(request: pytest.FixtureRequest) -> CRVSTarget:
    """The target: its deployment (secrets hidden), reported X-Version, locations and this run's id."""
    state = request.config.stash[STATE]
    if state.target is None or state.deployment is None:
        pytest.fail(NO_TARGET, pytrace=False)
    return CRVSTarget(state.deployment, state.target, state.preflight.version if state.preflight else "",
                      state.target.locations(), state.run_id, state.registry)


@pytest.fixture(scope="session")
def system_client(request: pytest.FixtureRequest, crvs: CRVSTarget) -> TrackedClient:
    """The system (integration) client: create, read, search and notify only."""
    return _client(request.config.stash[STATE], "system")


@pytest.fixture(scope="session")
def hospital_clerk(request: pytest.FixtureRequest, crvs: CRVSTarget) -> TrackedClient:
    """A logged-in hospital clerk: creates, declares (without `validated`), searches."""
    return _client(request.config.stash[STATE], "hospital_clerk")


@pytest.fixture(scope="session")
def registration_agent(request: pytest.FixtureRequest, crvs: CRVSTarget) -> TrackedClient:
    """A logged-in registration agent: declares with `validated`, validates, rejects, archives."""
    return _client(request.config.stash[STATE], "registration_agent")


@pytest.fixture(scope="session")
def registrar(request: pytest.FixtureRequest, crvs: CRVSTarget) -> TrackedClient:
    """A logged-in local registrar: registers and prints certificates."""
    return _client(request.config.stash[STATE], "local_registrar")


@pytest.fixture
def factory(request: pytest.FixtureRequest, crvs: CRVSTarget) -> SyntheticFactory:
    """Synthetic data seeded by this test's node id, with the target's locations."""
    return SyntheticFactory(node_seed(request.node.nodeid), locations=crvs.locations)


@pytest.fixture
def declarations(request: pytest.FixtureRequest, crvs: CRVSTarget, factory: SyntheticFactory) -> Declarations:
    """Declarations whose surnames carry a tag unique to this run and test."""
    return Declarations(factory, unique_tag(crvs.run_id, request.node.nodeid))


@pytest.fixture
def new_birth(hospital_clerk: TrackedClient, declarations: Declarations) -> Callable[..., Record]:
    """`new_birth(client=None, **overrides)`: a birth created and declared (by the hospital clerk by default)."""
    return lambda client=None, **overrides: declare_new(client or hospital_clerk, declarations, "birth", **overrides)


@pytest.fixture
def new_death(hospital_clerk: TrackedClient, declarations: Declarations) -> Callable[..., Record]:
    """`new_death(client=None, **overrides)`: a death created and declared (by the hospital clerk by default)."""
    return lambda client=None, **overrides: declare_new(client or hospital_clerk, declarations, "death", **overrides)


@pytest.fixture
def registered_birth(new_birth: Callable[..., Record], registration_agent: TrackedClient,
                     registrar: TrackedClient) -> Callable[..., Record]:
    """`registered_birth(**overrides)`: a clerk's birth, validated by the agent, registered by the registrar."""
    return lambda **overrides: register_record(registrar, new_birth(**overrides), registration_agent)


@pytest.fixture
def registered_death(new_death: Callable[..., Record], registration_agent: TrackedClient,
                     registrar: TrackedClient) -> Callable[..., Record]:
    """`registered_death(**overrides)`: a clerk's death, validated by the agent, registered by the registrar."""
    return lambda **overrides: register_record(registrar, new_death(**overrides), registration_agent)


# ------------------------------------------------------------------------------------------ browser
def _artifacts_dir(state: SuiteState) -> Path:
    if state.artifacts_dir is None:
        state.artifacts_dir = Path(tempfile.gettempdir()) / f"crvs-regression-{state.run_id}"
    state.artifacts_dir.mkdir(parents=True, exist_ok=True)
    return state.artifacts_dir


class ChromiumMissing(Exception):
    """No Chromium where the browser tests look for one."""


def find_chromium(environ: Mapping[str, str], playwright_chromium: str | None, debian: str = CHROMIUM) -> str:
    """The Chromium to drive: the one CRVS_CHROMIUM names, else Playwright's own, else Debian's; else fail.

    A browser named in CRVS_CHROMIUM (or the gate's `chromium` key) that is missing fails on its own: the run
    never quietly drives another browser than the one asked for.
    """
    named = environ.get(CHROMIUM_ENV, "").strip()
    if named:
        if not Path(named).is_file():
            raise ChromiumMissing(f"crvs-regression: browser tests need Chromium at {named} ({CHROMIUM_ENV}, or "
                                  f"the browser gate's chromium key); it is missing")
        return named
    for found in (playwright_chromium, debian):
        if found and Path(found).is_file():
            return found
    raise ChromiumMissing(
        "crvs-regression: browser tests need Chromium and none was found. Looked for: "
        f"1. {CHROMIUM_ENV} (or the browser gate's chromium key): not set; "
        f"2. Playwright's Chromium at {playwright_chromium or '(Playwright named none)'}: missing "
        "(run `python -m playwright install --with-deps chromium`); "
        f"3. Debian's {debian}: missing (apt-get install chromium)")


def _playwright_chromium(playwright: Any) -> str | None:
    """Where Playwright's own Chromium is (or would be) installed; None when Playwright cannot say."""
    try:
        return str(playwright.chromium.executable_path) or None
    except Exception:
        return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A Chromium under Playwright (one per worker), found by find_chromium; no Chromium FAILS the browser tests."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        executable = find_chromium(os.environ, _playwright_chromium(playwright))
    except ChromiumMissing as exc:
        playwright.stop()
        pytest.fail(str(exc), pytrace=False)
    try:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        pytest.fail(f"crvs-regression: Chromium at {executable} did not start: {one_line(str(exc))}", pytrace=False)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def ui(request: pytest.FixtureRequest, crvs: CRVSTarget, chromium: Any) -> Iterator[Any]:
    """A fresh browser page on the register host's web client; a failing test leaves a screenshot and a trace."""
    context = chromium.new_context(base_url=crvs.web_url)
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
