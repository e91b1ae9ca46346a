"""The demo's blocked candidate (1.2.0-rc.1, event.search ten times slower) built cheaply: the demo's own
release.toml, a real git history, a real ledger with its evidence files and decisions, and no sandbox or load run.

The numbers are those of a real `release demo` run (event.search median 16 -> 172 ms, ratio 10.98 with interval
9.54..12.83 against a budget of x2; SLO 5,000 ms).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from release.gates import EvidenceBinding, GateState
from release.ledger import Ledger
from release.workflow.demo import ACCEPTOR, BOARD, PREPARER, QA, demo_config
from release.workflow.sandbox_deploy import SANDBOX_DEV_SECRETS, SandboxPorts
from tests.conftest import free_port
from tests.gitrepo import Commit, make_repo

VERSION = "1.2.0"
T0 = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)
#: procedure: (count, candidate p50/p95/p99, baseline p50/p95/p99, ratio, ci_low, ci_high, verdict)
LOAD = {
    "event.actions.declare.request": (158, (17.8, 97.9, 136.2), (19.6, 102.5, 158.8), (0.862, 0.699, 1.065, "PASS")),
    "event.actions.register.request": (158, (19.9, 111.5, 150.3), (19.1, 99.9, 148.8), (0.961, 0.774, 1.189, "PASS")),
    "event.create": (158, (14.9, 93.5, 130.9), (19.0, 92.2, 147.5), (0.842, 0.685, 1.038, "PASS")),
    "event.get": (107, (14.9, 115.0, 149.3), (20.5, 105.2, 114.5), (0.794, 0.586, 1.070, "PASS")),
    "event.search": (277, (172.0, 243.7, 274.6), (16.4, 75.4, 121.4), (10.978, 9.539, 12.833, "FAIL")),
    "upload": (158, (10.2, 72.0, 111.4), (14.8, 65.2, 129.1), (0.724, 0.585, 0.902, "PASS")),
}


@dataclass
class DemoRecord:
    """The repository of the blocked demo candidate and a context factory for it."""

    path: Path

    def context(self, actor: str = PREPARER) -> Any:
        """A fresh context, as one CLI invocation would open."""
        from release.workflow.context import open_context

        return open_context(self.path, actor=actor, environ={**os.environ, **SANDBOX_DEV_SECRETS})


def _hist(p50: float, p95: float, p99: float, n: int) -> dict[str, list[float]]:
    """A histogram whose quantiles sit near the given ones."""
    values = [round(p50 * (0.5 + 0.05 * i), 1) for i in range(10)] + [p95, p99]
    counts = [max(1, int(n * 0.5 / 10))] * 10 + [max(1, int(n * 0.45)), max(1, int(n * 0.05))]
    return {"values_ms": values, "counts": counts}


def _load_files(work: Path) -> list[tuple[Path, str]]:
    """The A/B load gate's stats, histograms and comparison, named as the load gate names them."""
    def stats(side: int) -> dict[str, Any]:
        return {"schema": "crvs-release/load-stats/1", "verdict": "PASSED", "procedures": {
            n: {"count": v[0], "failures": 0, "p50_ms": v[side][0], "p95_ms": v[side][1], "p99_ms": v[side][2]}
            for n, v in LOAD.items()}}

    def hists(side: int) -> dict[str, Any]:
        return {"schema": "crvs-release/load-histograms/1", "resolution_ms": 0.1,
                "procedures": {n: _hist(*v[side], v[0]) for n, v in LOAD.items()}}  # type: ignore[misc]

    docs = {
        "ab-candidate-stats.json": stats(1), "ab-baseline-stats.json": stats(2),
        "ab-candidate-histograms.json": hists(1), "ab-baseline-histograms.json": hists(2),
        "ab-comparison.json": {"schema": "crvs-release/load-comparison/1", "verdict": "FAIL", "max_slowdown": 1.0,
                               "confidence": 0.95, "procedures": {
                                   n: {"ratio": v[3][0], "ci_low": v[3][1], "ci_high": v[3][2], "verdict": v[3][3],
                                       "median_baseline_ms": v[2][0]} for n, v in LOAD.items()}},
    }
    out = []
    for name, doc in docs.items():
        (work / name).write_text(json.dumps(doc))
        out.append((work / name, "load"))
    for name in ("ab-candidate-locust.log", "ab-baseline-locust.log", "load-output.txt", "target.json"):
        (work / name).write_text(f"{name} of the load run\n")
        out.append((work / name, "log"))
    return out


def build_blocked_demo(tmp: Path) -> DemoRecord:
    """1.1.0 in production; 1.2.0-rc.1 with passing regression, a FAILED load gate and every decision given."""
    ports = [free_port() for _ in range(6)]  # nothing listens: targets are down, as after the demo
    config = demo_config(SandboxPorts(*ports[:3]), SandboxPorts(*ports[3:]))
    repo = make_repo(tmp / "crvs-core", [
        Commit("feat: birth and death registration core", files={"release.toml": config}),
        Commit("chore: make the deploy script executable"),
        Commit("feat(search): search records by registration number"),
        Commit("fix(registration): keep the informant's relationship on correction"),
        Commit("feat(search): phonetic matching for child names", author="dev@example.org"),
    ], tags={"v1.0.0": 1, "v1.1.0": 3}, production_branch_at=3)
    (repo.path / ".release").mkdir()
    (repo.path / ".release" / ".gitignore").write_text("*\n")
    sha = repo.shas[-1]
    work = tmp / "work"
    work.mkdir()
    summary = {"schema": "crvs-release/regression-summary/1", "status": "passed",
               "counts": {"total": 12, "passed": 12, "failed": 0, "errors": 0, "skipped": 0, "flaky": 0},
               "markers": {"smoke": {"passed": 12}, "search": {"passed": 3}, "registration": {"passed": 2}},
               "failures": [], "flaky": [],
               "passed_nodeids": ["regression/test_search.py::test_by_registration_number"]}
    (work / "regression-summary.json").write_text(json.dumps(summary))
    with Ledger.open(None, repo.path) as ledger:
        ledger.create_release(VERSION, preparer=PREPARER, previous_version="1.1.0", now=T0)
        cand = ledger.add_candidate(VERSION, rc=1, tag=f"v{VERSION}-rc.1", sha=sha, created_by=PREPARER, now=T0)
        binding = EvidenceBinding(sha, "0" * 64, f"http://127.0.0.1:{ports[3]}", f"{VERSION}-rc.1", "0.1.0")
        for offset, gate, state, reason, files in (
                (1, "regression", GateState.PASSED, "12 passed", [(work / "regression-summary.json", "summary")]),
                (5, "load", GateState.FAILED, "A/B against production: event.search FAIL: +998% slower "
                 "(CI +854%..+1183%), median 16 ms -> 172 ms", _load_files(work))):
            run = ledger.start_gate_run(cand, gate, binding, now=T0 + timedelta(minutes=offset))
            refs = [ledger.store_artifact(run.id, p, kind) for p, kind in files]
            ledger.finish_gate_run(run.id, state, {"reason": reason}, refs, now=T0 + timedelta(minutes=offset + 3))
    record = DemoRecord(repo.path)
    _decide(record)
    return record


def _decide(record: DemoRecord) -> None:
    """QA signs off, both board members approve and the registrar-general accepts AC-2, as the demo does."""
    from release.workflow import decisions

    decisions.sign_off(record.context(QA), "qa", VERSION)
    for member in BOARD:
        decisions.approve(record.context(member), VERSION)
    decisions.accept(record.context(ACCEPTOR), VERSION, "AC-2")
