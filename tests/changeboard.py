"""A throwaway release project with a ledger built through the real Ledger API, for report and web tests."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from release.gates import EvidenceBinding, GateState
from release.ledger import Ledger
from tests.conftest import free_port
from tests.gitrepo import Commit, GitRepoHandle, make_repo

PREPARER = "rm@example.org"
QA = "qa@example.org"
BOARD = ("chair@example.org", "ops@example.org", "registrar-general@example.org")
SECRET_ENV = "CRVS_STAGING_SECRET"
VERSION = "1.1.0"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def release_toml(port: int) -> str:
    """Automated regression, browser and load gates plus sign-off, approval and criteria gates."""
    return f'''[release]
production_branch = "production"

[targets.staging]
gateway = "http://127.0.0.1:{port}"
client_id = "4b3e5c7a-8d2f-4a1b-9c6e-0f5d7a2b8c91"
client_secret_env = "{SECRET_ENV}"

[gates.regression]
kind = "pytest"
markers = "not slow"

[gates.browser]
kind = "browser"

[gates.load]
kind = "locust"
users = 10
duration = "30s"
slo = {{ "event.search" = {{ p95_ms = 150 }}, "event.actions.register.request" = {{ p95_ms = 300 }}, errors = 0.001 }}
baseline = {{ against = "production", max_slowdown = 0.10, confidence = 0.95 }}

[gates.qa]
kind = "signoff"
role = "qa-lead"

[gates.change-board]
kind = "approval"
role = "change-board"
quorum = 2

[gates.acceptance]
kind = "criteria"
items = [{{ id = "AC-1", text = "A registrar can find a record by registration number", verify = "regression/test_search.py::test_by_registration_number" }},
         {{ id = "AC-2", text = "Certificates print with the correct registration number" }}]

[roles]
qa-lead = ["{QA}"]
change-board = ["{BOARD[0]}", "{BOARD[1]}", "{BOARD[2]}", "{PREPARER}"]

[report]
risk = "Medium: {{version}} replaces {{previous_version}}; candidate {{tag}} at {{commit}}."
backout_plan = "Redeploy {{previous_version}} with `scripts/deploy production {{previous_version}}`."
'''


def tiny_png() -> bytes:
    """A valid 2x2 red PNG (a stand-in screenshot of a failed browser test)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _hist(center: float, n: int) -> dict[str, list]:
    values = [round(center * (0.6 + 0.05 * i), 1) for i in range(20)]
    counts = [max(1, n // 20 + (10 - abs(10 - i)) * 3) for i in range(20)]
    return {"values_ms": values, "counts": counts}


@dataclass
class BoardProject:
    """The repository, its ledger URL and the candidate under review."""

    repo: GitRepoHandle
    sha: str
    tag: str

    @property
    def path(self) -> Path:
        """The repository root."""
        return self.repo.path

    def ledger(self) -> Ledger:
        """Open the project's ledger."""
        return Ledger.open(None, self.path, create=False)

    def new_candidate(self) -> str:
        """Commit once more and record rc.2 on it (what `release prepare` does after a fix); returns the sha."""
        sha = self.repo.commit(Commit("fix(search): late fix for the board", author="dev@example.org"))
        with self.ledger() as ledger:
            ledger.add_candidate(VERSION, rc=2, tag=f"v{VERSION}-rc.2", sha=sha, created_by=PREPARER,
                                 now=T0 + timedelta(hours=2))
        return sha


def _run(ledger: Ledger, cand, gate: str, state: GateState, summary: dict, files: list[tuple[Path, str]],
         port: int, offset: int):
    binding = EvidenceBinding(cand.sha, "0" * 64, f"http://127.0.0.1:{port}", f"{VERSION}-rc.1", "0.1.0")
    run = ledger.start_gate_run(cand, gate, binding, now=T0 + timedelta(minutes=offset))
    refs = [ledger.store_artifact(run.id, p, kind) for p, kind in files]
    return ledger.finish_gate_run(run.id, state, summary, refs, now=T0 + timedelta(minutes=offset + 5))


def build_board_project(tmp_path: Path) -> BoardProject:
    """A repo with v1.0.0 in production, release 1.1.0 rc.1 prepared, and regression/browser/load evidence."""
    port = free_port()  # nothing listens there: the target is 'unreachable', which the report must say
    repo = make_repo(tmp_path / "crvs", [
        Commit("feat: first registration flow", files={"release.toml": release_toml(port)}),
        Commit("feat(search)!: search returns totals\n\nBREAKING CHANGE: search clients must read total"),
        Commit("fix(register): unique registration numbers"),
        Commit("perf(search): index child.dob"),
    ], tags={"v1.0.0": 0}, production_branch_at=0)
    (repo.path / ".release").mkdir()
    (repo.path / ".release" / ".gitignore").write_text("*\n")
    sha, tag = repo.shas[-1], f"v{VERSION}-rc.1"
    work = tmp_path / "work"
    work.mkdir()
    with Ledger.open(None, repo.path) as ledger:
        ledger.create_release(VERSION, preparer=PREPARER, previous_version="1.0.0", now=T0)
        cand = ledger.add_candidate(VERSION, rc=1, tag=tag, sha=sha, created_by=PREPARER, now=T0)
        summary = {"schema": "crvs-release/regression-summary/1", "status": "passed",
                   "counts": {"total": 42, "passed": 40, "failed": 0, "errors": 0, "skipped": 1, "flaky": 1},
                   "markers": {"search": {"passed": 20, "failed": 0, "skipped": 0, "flaky": 1},
                               "registration": {"passed": 20, "failed": 0, "skipped": 1, "flaky": 0}},
                   "failures": [], "flaky": [{"nodeid": "regression/test_search.py::test_fuzzy", "reruns": 1}],
                   "passed_nodeids": ["regression/test_search.py::test_by_registration_number"]}
        (work / "regression-summary.json").write_text(json.dumps(summary))
        _run(ledger, cand, "regression", GateState.PASSED, {"reason": "40 passed"},
             [(work / "regression-summary.json", "summary")], port, 1)
        browser = {**summary, "status": "failed", "counts": {"total": 3, "passed": 2, "failed": 1, "errors": 0,
                                                               "skipped": 0, "flaky": 0},
                   "markers": {"browser": {"passed": 2, "failed": 1, "skipped": 0, "flaky": 0}},
                   "failures": [{"nodeid": "regression/test_ui.py::test_print_button", "reason": "button hidden"}],
                   "flaky": [], "passed_nodeids": []}
        bdir = work / "browser"
        bdir.mkdir()
        (bdir / "regression-summary.json").write_text(json.dumps(browser))
        (bdir / "test_print_button.png").write_bytes(tiny_png())
        _run(ledger, cand, "browser", GateState.FAILED, {"reason": "1 failed"},
             [(bdir / "regression-summary.json", "summary"), (bdir / "test_print_button.png", "screenshot")], port, 10)
        procs = {"event.search": 90.0, "event.actions.register.request": 200.0, "event.get": 20.0}
        ldir = work / "load"
        ldir.mkdir()
        (ldir / "stats.json").write_text(json.dumps({"schema": "crvs-release/load-stats/1", "verdict": "PASSED",
            "procedures": {n: {"count": 1000, "failures": 0, "p50_ms": c, "p95_ms": c * 1.4, "p99_ms": c * 1.8}
                           for n, c in procs.items()}}))
        (ldir / "histograms.json").write_text(json.dumps({"schema": "crvs-release/load-histograms/1",
            "resolution_ms": 0.1, "procedures": {n: _hist(c, 1000) for n, c in procs.items()}}))
        (ldir / "comparison.json").write_text(json.dumps({"schema": "crvs-release/load-comparison/1",
            "verdict": "PASS", "max_slowdown": 0.1, "confidence": 0.95, "procedures": {
                n: {"ratio": 1.02, "ci_low": 0.99, "ci_high": 1.05, "verdict": "PASS", "median_baseline_ms": c * 0.98}
                for n, c in procs.items()}}))
        _run(ledger, cand, "load", GateState.PASSED, {"reason": "SLO and baseline passed"},
             [(ldir / "stats.json", "load"), (ldir / "histograms.json", "load"), (ldir / "comparison.json", "load")],
             port, 20)
    return BoardProject(repo, sha, tag)


PASSWORD = "correct horse battery"
SECRET_VALUE = "s3cr3t-client-value-never-shown"


def cli_env(home: Path) -> dict[str, str]:
    """A clean environment for the CLI, with the target's secret set (it must never be rendered)."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(home), PYTHONUNBUFFERED="1", NO_COLOR="1", CRVS_STAGING_SECRET=SECRET_VALUE,
               RELEASE_ACTOR="admin@example.org")
    return env


def release_cli(project: BoardProject, env: dict[str, str], *args: str, input: str | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `release ...` in the project."""
    return subprocess.run([sys.executable, "-m", "release.cli.main", *args], cwd=project.path, env=env, input=input,
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class Board:
    """A running change board: its URL, project and CLI environment."""

    url: str
    project: BoardProject
    env: dict[str, str]

    def audit_count(self) -> int:
        """How many audit events the ledger holds."""
        with self.project.ledger() as ledger:
            return len(ledger.audit_events())

    def decisions(self) -> list:
        """Every recorded decision of the release."""
        with self.project.ledger() as ledger:
            return ledger.decisions_for("1.1.0")


def start_board(tmp_path: Path) -> Iterator[Board]:
    """Build the project, add accounts, start `release serve --port 0` and stop it afterwards."""
    project = build_board_project(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = cli_env(home)
    for email, role in ((BOARD[0], "change-board"), (BOARD[1], "change-board"), (PREPARER, "change-board"),
                        (QA, "qa-lead")):
        done = release_cli(project, env, "users", "add", email, "--role", role, input=PASSWORD + "\n")
        assert done.returncode == 0, done.stderr
    with serve(project, env, "--insecure-cookies") as url:
        yield Board(url, project, env)


@contextmanager
def serve(project: BoardProject, env: dict[str, str], *flags: str) -> Iterator[str]:
    """`release serve --port 0 FLAGS` in the project; yields its URL once /healthz answers, stops it afterwards."""
    proc = subprocess.Popen([sys.executable, "-m", "release.cli.main", "serve", "--port", "0", *flags],
                            cwd=project.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, f"no URL printed: {line!r} {proc.stderr.read() if proc.stderr and proc.poll() is not None else ''}"
        url = match.group(1)
        for _ in range(200):
            try:
                if httpx.get(url + "healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
