"""Table tests for evaluate(): each row is one situation and the state a release manager must see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from gate_builders import (
    ACCEPT,
    AUTHOR,
    CAB,
    FACTS,
    LOAD,
    NOW,
    OLD_SHA,
    PREPARER,
    QA,
    REGRESSION,
    binding,
    decide,
    expected,
    run,
    waiver,
)

from release.gates import (
    Decision,
    DecisionKind,
    EvidenceBinding,
    GateKind,
    GateRun,
    GateSpec,
    GateState,
    Waiver,
    evaluate,
)

pytestmark = pytest.mark.unit

A, S, R = DecisionKind.APPROVAL, DecisionKind.SIGNOFF, DecisionKind.REJECTION


@dataclass
class Case:
    """One row: inputs for one gate and the state and reason fragment expected."""

    id: str
    spec: GateSpec
    state: GateState
    reason: str
    runs: list[GateRun] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    bindings: dict[str, EvidenceBinding | None] | None = None


CASES = [
    Case("automated-no-run", REGRESSION, GateState.PENDING, "no run on this candidate"),
    Case("automated-passed", REGRESSION, GateState.PASSED, "run 1: PASSED", runs=[run(REGRESSION, GateState.PASSED)]),
    Case("automated-failed", REGRESSION, GateState.FAILED, "run 1: FAILED", runs=[run(REGRESSION, GateState.FAILED)]),
    Case("automated-error-blocks", LOAD, GateState.ERROR, "ERROR", runs=[run(LOAD, GateState.ERROR)]),
    Case("automated-inconclusive-blocks", LOAD, GateState.INCONCLUSIVE, "INCONCLUSIVE",
         runs=[run(LOAD, GateState.INCONCLUSIVE)]),
    Case("automated-running-blocks", LOAD, GateState.RUNNING, "RUNNING", runs=[run(LOAD, GateState.RUNNING)]),
    Case("latest-run-wins", REGRESSION, GateState.FAILED, "run 2", runs=[
        run(REGRESSION, GateState.PASSED, run_id=1, minutes_ago=60),
        run(REGRESSION, GateState.FAILED, run_id=2, minutes_ago=5)]),
    Case("stale-new-commit", REGRESSION, GateState.STALE, "commit changed: bbbbbbbbbbbb → cccccccccccc",
         runs=[run(REGRESSION, GateState.PASSED, sha=OLD_SHA)]),
    Case("stale-config-changed", REGRESSION, GateState.STALE, "gate config changed",
         runs=[run(REGRESSION, GateState.PASSED, config="cfg-old")]),
    Case("stale-target-version", REGRESSION, GateState.STALE, "target version changed: 1.2.0-rc.1 → 1.2.0-rc.2",
         runs=[run(REGRESSION, GateState.PASSED)],
         bindings={"regression": binding(REGRESSION, target_version="1.2.0-rc.2")}),
    Case("stale-tool-version", REGRESSION, GateState.STALE, "tool version changed",
         runs=[run(REGRESSION, GateState.PASSED, tool="0.0.9")]),
    Case("unknown-expected-binding-blocks", REGRESSION, GateState.INCONCLUSIVE, "cannot confirm",
         runs=[run(REGRESSION, GateState.PASSED)], bindings={"regression": None}),
    Case("signoff-missing", QA, GateState.PENDING, "awaiting sign-off from role qa-lead"),
    Case("signoff-given", QA, GateState.PASSED, "signed off by qa@example.org",
         decisions=[decide(S, QA, "qa@example.org")]),
    Case("signoff-by-outsider-ignored", QA, GateState.PENDING, "not in role qa-lead",
         decisions=[decide(S, QA, "ops@example.org")]),
    Case("signoff-on-old-sha-ignored", QA, GateState.PENDING, "1 decision(s) on an older candidate not counted",
         decisions=[decide(S, QA, "qa@example.org", sha=OLD_SHA)]),
    Case("signoff-rejected", QA, GateState.FAILED, "rejected by qa@example.org: search is broken",
         decisions=[decide(R, QA, "qa@example.org", comment="search is broken")]),
    Case("approval-quorum-distinct", CAB, GateState.PASSED, "approved by chair@example.org, ops@example.org",
         decisions=[decide(A, CAB, "chair@example.org", minutes_ago=20), decide(A, CAB, "ops@example.org")]),
    Case("approval-same-person-twice", CAB, GateState.PENDING, "1 of 2 approvals",
         decisions=[decide(A, CAB, "chair@example.org", minutes_ago=20), decide(A, CAB, "Chair@Example.org ")]),
    Case("approval-by-preparer-ignored", CAB, GateState.PENDING, f"approval by {PREPARER} not counted",
         decisions=[decide(A, CAB, "chair@example.org"), decide(A, CAB, PREPARER)]),
    Case("approval-by-commit-author-ignored", CAB, GateState.PENDING, f"approval by {AUTHOR} not counted",
         decisions=[decide(A, CAB, "chair@example.org"), decide(A, CAB, AUTHOR)]),
    Case("approval-on-old-sha-ignored", CAB, GateState.PENDING, "decision(s) on an older candidate not counted",
         decisions=[decide(A, CAB, "chair@example.org", sha=OLD_SHA), decide(A, CAB, "ops@example.org", sha=OLD_SHA)]),
    Case("approval-rejection-wins", CAB, GateState.FAILED, "rejected by rg@example.org: rollback plan missing",
         decisions=[decide(A, CAB, "chair@example.org"), decide(A, CAB, "ops@example.org"),
                    decide(R, CAB, "rg@example.org", comment="rollback plan missing")]),
    Case("rejection-on-old-sha-ignored", CAB, GateState.PASSED, "approved by",
         decisions=[decide(R, CAB, "rg@example.org", sha=OLD_SHA, comment="no"),
                    decide(A, CAB, "chair@example.org"), decide(A, CAB, "ops@example.org")]),
    Case("criteria-pending", ACCEPT, GateState.PENDING, "AC-1 not verified"),
    Case("criteria-verified-and-attested", ACCEPT, GateState.PASSED, "AC-1 verified by regression/test_search.py",
         runs=[run(REGRESSION, GateState.PASSED,
                   summary={"passed_nodeids": ["regression/test_search.py::test_by_reg_number"]})],
         decisions=[decide(DecisionKind.ACCEPTANCE, ACCEPT, "po@example.org", criterion="AC-2")]),
    Case("criteria-both-attested", ACCEPT, GateState.PASSED, "AC-1 accepted by po@example.org",
         decisions=[decide(DecisionKind.ACCEPTANCE, ACCEPT, "po@example.org", criterion="AC-1"),
                    decide(DecisionKind.ACCEPTANCE, ACCEPT, "po@example.org", criterion="AC-2")]),
    Case("criteria-node-failed", ACCEPT, GateState.PENDING, "AC-1 not verified",
         runs=[run(REGRESSION, GateState.FAILED, summary={
             "passed_nodeids": [], "failed_nodeids": ["regression/test_search.py::test_by_reg_number"]})],
         decisions=[decide(DecisionKind.ACCEPTANCE, ACCEPT, "po@example.org", criterion="AC-2")]),
    Case("criteria-stale-evidence-does-not-verify", ACCEPT, GateState.PENDING, "AC-1 not verified",
         runs=[run(REGRESSION, GateState.PASSED, sha=OLD_SHA,
                   summary={"passed_nodeids": ["regression/test_search.py::test_by_reg_number"]})],
         decisions=[decide(DecisionKind.ACCEPTANCE, ACCEPT, "po@example.org", criterion="AC-2")]),
    Case("criteria-attested-by-outsider", ACCEPT, GateState.PENDING, "not in role product",
         decisions=[decide(DecisionKind.ACCEPTANCE, ACCEPT, "ops@example.org", criterion="AC-1"),
                    decide(DecisionKind.ACCEPTANCE, ACCEPT, "po@example.org", criterion="AC-2")]),
    Case("waiver-valid", LOAD, GateState.WAIVED, "waived by rm@example.org until 2025-03-02",
         runs=[run(LOAD, GateState.FAILED)], waivers=[waiver(LOAD)]),
    Case("waiver-expired", LOAD, GateState.FAILED, "waiver expired 2025-03-01T11:00",
         runs=[run(LOAD, GateState.FAILED)], waivers=[waiver(LOAD, hours_left=-1)]),
    Case("waiver-by-ineligible-actor", LOAD, GateState.FAILED, "waiver by ops@example.org not counted",
         runs=[run(LOAD, GateState.FAILED)], waivers=[waiver(LOAD, "ops@example.org")]),
    Case("waiver-by-preparer", LOAD, GateState.FAILED, f"waiver by {PREPARER} not counted",
         runs=[run(LOAD, GateState.FAILED)], waivers=[waiver(LOAD, PREPARER)]),
    Case("waiver-for-old-sha", LOAD, GateState.ERROR, "older candidate",
         runs=[run(LOAD, GateState.ERROR)], waivers=[waiver(LOAD, sha=OLD_SHA)]),
    Case("waiver-of-manual-gate-by-role", QA, GateState.WAIVED, "waived by qa@example.org",
         waivers=[waiver(QA, "qa@example.org")]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gate_state(case: Case) -> None:
    specs = [case.spec] if case.spec is not ACCEPT else [REGRESSION, ACCEPT]
    bindings = case.bindings if case.bindings is not None else expected(REGRESSION, LOAD)
    checklist = evaluate(specs, FACTS, case.runs, case.decisions, case.waivers, bindings, NOW)
    status = checklist.gate(case.spec.name)
    assert status.state is case.state, status.reasons
    assert any(case.reason in r for r in status.reasons), status.reasons
    assert checklist.promotable is (all(s.state.counts for s in checklist.gates))


def test_promotable_only_when_every_gate_counts() -> None:
    runs = [run(REGRESSION, GateState.PASSED), run(LOAD, GateState.FAILED, run_id=2,
                                                     summary={"reason": "event.search FAIL: +50% slower"})]
    decisions = [decide(S, QA, "qa@example.org")]
    blocked = evaluate([REGRESSION, LOAD, QA], FACTS, runs, decisions, [], expected(REGRESSION, LOAD), NOW)
    assert not blocked.promotable
    assert blocked.blocking_reasons == ("load: FAILED: run 2: FAILED; event.search FAIL: +50% slower",)
    waived = evaluate([REGRESSION, LOAD, QA], FACTS, runs, decisions, [waiver(LOAD)], expected(REGRESSION, LOAD), NOW)
    assert waived.promotable and waived.blocking_reasons == ()
    assert waived.gate("load").waiver == waiver(LOAD)


def test_waiver_does_not_outlive_its_expiry() -> None:
    runs = [run(LOAD, GateState.FAILED)]
    later = NOW.replace(day=3)
    checklist = evaluate([LOAD], FACTS, runs, [], [waiver(LOAD)], expected(LOAD), later)
    assert checklist.gate("load").state is GateState.FAILED and not checklist.promotable


def test_no_gates_is_not_promotable() -> None:
    checklist = evaluate([], FACTS, [], [], [], {}, NOW)
    assert not checklist.promotable and "no gates" in checklist.blocking_reasons[0]


def test_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        evaluate([QA], FACTS, [], [], [], {}, NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("state", "expected_state"),
    [(GateState.PASSED, GateState.INCONCLUSIVE), (GateState.FAILED, GateState.FAILED),
     (GateState.ERROR, GateState.ERROR), (GateState.INCONCLUSIVE, GateState.INCONCLUSIVE)],
)
def test_unknown_target_identity_keeps_a_failed_runs_own_reason(state, expected_state) -> None:
    runs = [run(LOAD, state, summary={"reason": "event.search FAIL: +50% slower"})]
    checklist = evaluate([LOAD], FACTS, runs, [], [], {"load": None}, NOW)
    status = checklist.gate("load")
    assert status.state is expected_state
    assert not checklist.promotable
    assert any("target identity is unknown" in r for r in status.reasons)
    if state is not GateState.PASSED:
        assert "event.search FAIL: +50% slower" in status.reasons


DRILL = GateSpec("restore", GateKind.RESTORE_DRILL, "cfg-drill")


@pytest.mark.parametrize(("days_ago", "max_age_days", "state", "says"), [
    (1, 30, GateState.PASSED, "run 1: PASSED"),
    (29.9, 30, GateState.PASSED, "run 1: PASSED"),
    (31, 30, GateState.STALE, "31.0 days old, older than max_age 30.0 days"),
    (31, None, GateState.PASSED, "run 1: PASSED"),  # no max_age: a drill per candidate, its age does not matter
], ids=["fresh", "just-inside", "expired", "no-max-age"])
def test_a_reused_restore_drill_goes_stale_once_older_than_max_age(days_ago, max_age_days, state, says) -> None:
    """The age keeps running after the gate ran: status and promote decide on it now, not when the run finished."""
    summary: dict[str, object] = {"drilled_at": (NOW - timedelta(days=days_ago)).isoformat()}
    if max_age_days is not None:
        summary["max_age_s"] = max_age_days * 86400.0
    checklist = evaluate([DRILL], FACTS, [run(DRILL, GateState.PASSED, summary=summary)], [], [], expected(DRILL),
                         now=NOW)
    assert checklist.gates[0].state is state
    assert any(says in reason for reason in checklist.gates[0].reasons), checklist.gates[0].reasons
    assert checklist.promotable is (state is GateState.PASSED)


def test_a_drill_whose_time_cannot_be_read_does_not_count() -> None:
    bad = run(DRILL, GateState.PASSED, summary={"drilled_at": "yesterday", "max_age_s": 86400.0})
    checklist = evaluate([DRILL], FACTS, [bad], [], [], expected(DRILL), now=NOW)
    assert checklist.gates[0].state is GateState.STALE and not checklist.promotable
