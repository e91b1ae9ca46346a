"""Builders for gate-domain test tables: one candidate, its facts, specs, runs and decisions (not a conftest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from release.gates import (
    CriterionSpec,
    Decision,
    DecisionKind,
    EvidenceBinding,
    GateKind,
    GateRun,
    GateSpec,
    GateState,
    ReleaseFacts,
    Waiver,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SHA = "c" * 40
OLD_SHA = "b" * 40
PREPARER = "prep@example.org"
AUTHOR = "dev@example.org"
ROLES = {
    "qa-lead": frozenset({"qa@example.org", AUTHOR}),
    "change-board": frozenset({"chair@example.org", "ops@example.org", "rg@example.org", PREPARER, AUTHOR}),
    "release-manager": frozenset({"rm@example.org", PREPARER}),
    "product": frozenset({"po@example.org"}),
}
FACTS = ReleaseFacts("1.2.0", SHA, PREPARER, frozenset({AUTHOR}), ROLES)

REGRESSION = GateSpec("regression", GateKind.PYTEST, "cfg-reg")
LOAD = GateSpec("load", GateKind.LOCUST, "cfg-load")
QA = GateSpec("qa", GateKind.SIGNOFF, "cfg-qa", role="qa-lead")
CAB = GateSpec("change-board", GateKind.APPROVAL, "cfg-cab", role="change-board", quorum=2)
ACCEPT = GateSpec("acceptance", GateKind.CRITERIA, "cfg-ac", role="product", criteria=(
    CriterionSpec("AC-1", "find by registration number", "regression/test_search.py::test_by_reg_number"),
    CriterionSpec("AC-2", "certificate prints", None),
))


def binding(gate: GateSpec, *, sha: str = SHA, target_version: str = "1.2.0-rc.1", tool: str = "0.1.0",
            config: str | None = None) -> EvidenceBinding:
    """The evidence binding of a gate on a candidate."""
    return EvidenceBinding(sha, config or gate.config_hash, "http://127.0.0.1:7070", target_version, tool)


def expected(*gates: GateSpec) -> dict[str, EvidenceBinding | None]:
    """The current expected bindings of gates on the candidate SHA."""
    return {g.name: binding(g) for g in gates}


def run(gate: GateSpec, state: GateState, *, run_id: int = 1, sha: str = SHA, minutes_ago: int = 30,
        summary: dict[str, object] | None = None, **bind: str) -> GateRun:
    """A finished gate run."""
    started = NOW - timedelta(minutes=minutes_ago)
    return GateRun(run_id, gate.name, sha, state, binding(gate, sha=sha, **bind), started,
                   started + timedelta(minutes=5), summary or {})


def decide(kind: DecisionKind, gate: GateSpec, actor: str, *, sha: str = SHA, comment: str = "ok",
           criterion: str | None = None, minutes_ago: int = 10) -> Decision:
    """A recorded decision."""
    return Decision(kind, gate.name, actor, gate.role, sha, comment, NOW - timedelta(minutes=minutes_ago),
                    criterion=criterion)


def waiver(gate: GateSpec, actor: str = "rm@example.org", *, sha: str = SHA, hours_left: float = 24,
           reason: str = "known flaky, tracked in OPS-12") -> Waiver:
    """A waiver expiring hours_left after NOW (negative: already expired)."""
    return Waiver(gate.name, actor, reason, NOW + timedelta(hours=hours_left), NOW - timedelta(hours=1), sha)
