"""The checklist: every gate's state for one candidate, decided by a pure function."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from release.gates.canonical import iso_utc
from release.gates.decisions import eligibility_problem, waiver_problem
from release.gates.model import (
    FINISHED_RUN_STATES,
    RUN_STATES,
    Checklist,
    CriterionSpec,
    Decision,
    DecisionKind,
    EvidenceBinding,
    GateKind,
    GateRun,
    GateSpec,
    GateState,
    GateStatus,
    ReleaseFacts,
    Waiver,
    norm_actor,
)

#: Gate kinds whose run summaries may verify acceptance criteria by pytest node id.
VERIFYING_KINDS = frozenset({GateKind.PYTEST, GateKind.BROWSER, GateKind.COMMAND})


def _short(sha: str) -> str:
    return sha[:12]


def binding_changes(recorded: EvidenceBinding, expected: EvidenceBinding) -> tuple[str, ...]:
    """Name each field in which recorded evidence differs from what the candidate expects now."""
    changes: list[str] = []
    if recorded.commit_sha != expected.commit_sha:
        changes.append(f"commit changed: {_short(recorded.commit_sha)} → {_short(expected.commit_sha)}")
    if recorded.config_hash != expected.config_hash:
        changes.append("gate config changed")
    if recorded.target_url != expected.target_url:
        changes.append(f"target changed: {recorded.target_url} → {expected.target_url}")
    if recorded.target_version != expected.target_version:
        changes.append(f"target version changed: {recorded.target_version} → {expected.target_version}")
    if recorded.tool_version != expected.tool_version:
        changes.append(f"tool version changed: {recorded.tool_version} → {expected.tool_version}")
    return tuple(changes)


def _latest(runs: Iterable[GateRun]) -> GateRun | None:
    ordered = sorted(runs, key=lambda r: (r.started_at, r.id))
    return ordered[-1] if ordered else None


def _automated(spec: GateSpec, facts: ReleaseFacts, runs: Sequence[GateRun],
               expected: EvidenceBinding | None, now: datetime) -> tuple[GateState, list[str], GateRun | None]:
    mine = [r for r in runs if r.gate == spec.name]
    run = _latest(r for r in mine if r.candidate_sha == facts.candidate_sha)
    if run is None:
        older = _latest(mine)
        if older is not None:
            return GateState.STALE, [f"commit changed: {_short(older.candidate_sha)} → {_short(facts.candidate_sha)}; "
                                     "no run on this candidate yet"], older
        return GateState.PENDING, ["no run on this candidate yet"], None
    if expected is None:
        unknown = "cannot confirm the evidence binding: the expected target identity is unknown"
        if run.state is not GateState.PASSED and run.state in RUN_STATES:
            # A run that did not pass blocks whatever the target says now; keep its own reason in view.
            return run.state, [*_run_reasons(run), unknown], run
        return GateState.INCONCLUSIVE, [unknown], run
    changes = binding_changes(run.binding, expected)
    if changes:
        return GateState.STALE, list(changes), run
    if run.state not in RUN_STATES:
        return GateState.ERROR, [f"run {run.id} has an invalid stored state {run.state.value}"], run
    too_old = _expired_drill(run, now)
    if too_old:
        return GateState.STALE, [too_old], run
    return run.state, _run_reasons(run), run


def _expired_drill(run: GateRun, now: datetime) -> str | None:
    """Why a passed drill no longer counts: it was taken longer ago than the gate's max_age (None while it counts).

    A restore drill may be reused across candidates for `max_age`; that age keeps running after the gate ran, so
    status and promote re-check it instead of trusting the state recorded at the time.
    """
    summary = run.summary if isinstance(run.summary, Mapping) else {}
    max_age, drilled = summary.get("max_age_s"), summary.get("drilled_at")
    if run.state is not GateState.PASSED or not isinstance(max_age, int | float) or not isinstance(drilled, str):
        return None
    try:
        taken = datetime.fromisoformat(drilled)
    except ValueError:
        return f"run {run.id}: the drill's time {drilled!r} is unreadable; run the drill again"
    age = (now - taken).total_seconds() if taken.tzinfo is not None else float("inf")
    if age <= float(max_age):
        return None
    return (f"run {run.id}: the restore drill is {age / 86400:.1f} days old, older than max_age "
            f"{float(max_age) / 86400:.1f} days; run the drill again")


def _run_reasons(run: GateRun) -> list[str]:
    """'run N: STATE' and the run's own one-line reason, if it recorded one."""
    reasons = [f"run {run.id}: {run.state.value}"]
    detail = run.summary.get("reason") if isinstance(run.summary, Mapping) else None
    if isinstance(detail, str) and detail:
        reasons.append(detail)
    return reasons


def _valid_decisions(spec: GateSpec, facts: ReleaseFacts, decisions: Sequence[Decision],
                     kinds: frozenset[DecisionKind]) -> tuple[list[Decision], list[str]]:
    """Split this gate's decisions into those that count and reasons for those that do not."""
    counted: list[Decision] = []
    notes: list[str] = []
    older = 0
    for d in decisions:
        if d.gate != spec.name or DecisionKind(d.kind) not in kinds:
            continue
        if d.candidate_sha != facts.candidate_sha:
            older += 1
            continue
        problem = eligibility_problem(DecisionKind(d.kind), spec, d.actor, facts)
        if problem is not None:
            notes.append(f"{d.kind.value} by {d.actor} not counted: {problem}")
            continue
        counted.append(d)
    if older:
        notes.append(f"{older} decision(s) on an older candidate not counted")
    return counted, notes


def _signoff_or_approval(spec: GateSpec, facts: ReleaseFacts,
                         decisions: Sequence[Decision]) -> tuple[GateState, list[str], list[Decision]]:
    positive = DecisionKind.SIGNOFF if spec.kind is GateKind.SIGNOFF else DecisionKind.APPROVAL
    counted, notes = _valid_decisions(spec, facts, decisions, frozenset({positive, DecisionKind.REJECTION}))
    rejections = [d for d in counted if d.kind is DecisionKind.REJECTION]
    if rejections:
        first = min(rejections, key=lambda d: d.at)
        return GateState.FAILED, [f"rejected by {first.actor}: {first.comment}", *notes], counted
    approvers: dict[str, Decision] = {}
    for d in sorted((d for d in counted if d.kind is positive), key=lambda d: d.at):
        approvers.setdefault(norm_actor(d.actor), d)
    need = 1 if spec.kind is GateKind.SIGNOFF else max(1, spec.quorum)
    if len(approvers) >= need:
        names = ", ".join(d.actor for d in approvers.values())
        verb = "signed off" if spec.kind is GateKind.SIGNOFF else "approved"
        return GateState.PASSED, [f"{verb} by {names}", *notes], list(approvers.values())
    if spec.kind is GateKind.SIGNOFF:
        return GateState.PENDING, [f"awaiting sign-off from role {spec.role}", *notes], []
    return (GateState.PENDING, [f"{len(approvers)} of {need} approvals from role {spec.role}", *notes],
            list(approvers.values()))


def _node_passed(verify: str, evidence: Sequence[GateRun]) -> bool:
    """True when some current regression run passed node id `verify` (or all its listed variants)."""
    for run in evidence:
        passed = run.summary.get("passed_nodeids") or ()
        failed = run.summary.get("failed_nodeids") or ()
        if not isinstance(passed, (list, tuple)) or not isinstance(failed, (list, tuple)):
            continue

        def matches(node: object) -> bool:
            return isinstance(node, str) and (node == verify or node.startswith(verify + "["))

        if any(matches(n) for n in passed) and not any(matches(n) for n in failed):
            return True
    return False


def _criteria(spec: GateSpec, facts: ReleaseFacts, decisions: Sequence[Decision],
              evidence: Sequence[GateRun]) -> tuple[GateState, list[str], list[Decision]]:
    if not spec.criteria:
        return GateState.ERROR, [f"criteria gate {spec.name} lists no criteria"], []
    counted, notes = _valid_decisions(spec, facts, decisions, frozenset({DecisionKind.ACCEPTANCE}))
    used: list[Decision] = []
    missing: list[str] = []
    reasons: list[str] = []
    for criterion in spec.criteria:
        accepted = [d for d in counted if d.criterion == criterion.id]
        if accepted:
            used.append(accepted[0])
            reasons.append(f"{criterion.id} accepted by {accepted[0].actor}")
        elif criterion.verify and _node_passed(criterion.verify, evidence):
            reasons.append(f"{criterion.id} verified by {criterion.verify}")
        else:
            missing.append(_missing_reason(criterion))
    if missing:
        return GateState.PENDING, [*missing, *reasons, *notes], used
    return GateState.PASSED, [*reasons, *notes], used


def _missing_reason(criterion: CriterionSpec) -> str:
    if criterion.verify:
        return f"{criterion.id} not verified: {criterion.verify} has not passed on this candidate and nobody accepted it"
    return f"{criterion.id} not yet accepted"


def _apply_waiver(spec: GateSpec, facts: ReleaseFacts, state: GateState, reasons: list[str],
                  waivers: Sequence[Waiver], now: datetime) -> tuple[GateState, list[str], Waiver | None]:
    mine = sorted((w for w in waivers if w.gate == spec.name), key=lambda w: w.created_at, reverse=True)
    if state is GateState.PASSED or not mine:
        return state, reasons, None
    notes: list[str] = []
    for w in mine:
        if w.candidate_sha != facts.candidate_sha:
            notes.append(f"waiver by {w.actor} was for an older candidate {_short(w.candidate_sha)}")
            continue
        if w.expires_at <= now:
            notes.append(f"waiver expired {iso_utc(w.expires_at)}")
            continue
        problem = waiver_problem(spec, w.actor, facts)
        if problem is not None:
            notes.append(f"waiver by {w.actor} not counted: {problem}")
            continue
        if not w.reason.strip():
            notes.append(f"waiver by {w.actor} not counted: no reason given")
            continue
        return (GateState.WAIVED,
                [f"waived by {w.actor} until {iso_utc(w.expires_at)}: {w.reason}",
                 f"own state: {state.value}", *reasons], w)
    return state, [*reasons, *notes], None


def evaluate(
    specs: Sequence[GateSpec],
    facts: ReleaseFacts,
    runs: Sequence[GateRun],
    decisions: Sequence[Decision],
    waivers: Sequence[Waiver],
    expected_bindings: Mapping[str, EvidenceBinding | None],
    now: datetime,
) -> Checklist:
    """Decide every gate's state for facts.candidate_sha and whether that candidate may be promoted."""
    iso_utc(now)  # refuses a naive clock early
    automated: dict[str, tuple[GateState, list[str], GateRun | None]] = {
        s.name: _automated(s, facts, runs, expected_bindings.get(s.name), now) for s in specs if s.kind.automated
    }
    # Only current (not stale), finished regression evidence may verify acceptance criteria.
    verifying = [run for s in specs if s.kind in VERIFYING_KINDS
                 for state, _, run in [automated[s.name]]
                 if run is not None and state in FINISHED_RUN_STATES and state is not GateState.ERROR]
    statuses: list[GateStatus] = []
    for spec in specs:
        used: list[Decision] = []
        evidence: GateRun | None = None
        if spec.kind.automated:
            state, reasons, evidence = automated[spec.name]
        elif spec.kind is GateKind.CRITERIA:
            state, reasons, used = _criteria(spec, facts, decisions, verifying)
        else:
            state, reasons, used = _signoff_or_approval(spec, facts, decisions)
        state, reasons, waiver = _apply_waiver(spec, facts, state, reasons, waivers, now)
        statuses.append(GateStatus(spec.name, spec.kind, state, tuple(reasons), evidence, tuple(used), waiver))
    # Every reason, not only the first: "run 4: FAILED" alone does not say that event.search got slower.
    blocking = tuple(f"{s.gate}: {s.state.value}: {'; '.join(s.reasons) if s.reasons else 'no reason'}"
                     for s in statuses if not s.state.counts)
    if not specs:
        blocking = ("no gates are configured; nothing proves this candidate",)
    return Checklist(tuple(statuses), promotable=not blocking, blocking_reasons=blocking)
