"""Who may sign off, approve, reject, accept or waive: one pure check shared by the CLI and web UI."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from release.errors import (
    DecisionInvalid,
    DuplicateApproval,
    DuplicateDecision,
    NotInRole,
    SeparationOfDuties,
    WaiverInvalid,
    WrongGateKind,
)
from release.gates.canonical import iso_utc
from release.gates.model import Decision, DecisionKind, GateKind, GateSpec, ReleaseFacts, norm_actor

#: Which gate kinds accept which decision kinds.
ALLOWED_KINDS: dict[DecisionKind, frozenset[GateKind]] = {
    DecisionKind.SIGNOFF: frozenset({GateKind.SIGNOFF}),
    DecisionKind.APPROVAL: frozenset({GateKind.APPROVAL}),
    DecisionKind.REJECTION: frozenset({GateKind.SIGNOFF, GateKind.APPROVAL}),
    DecisionKind.ACCEPTANCE: frozenset({GateKind.CRITERIA}),
}

#: Decisions the preparer and commit authors may not make (waivers are refused to them too).
SEPARATION_OF_DUTIES: frozenset[DecisionKind] = frozenset({DecisionKind.APPROVAL, DecisionKind.REJECTION})


def eligibility_problem(kind: DecisionKind, spec: GateSpec, actor: str, facts: ReleaseFacts) -> str | None:
    """Say why actor may not make this decision on this gate by role and duties, or None if they may."""
    if spec.role is None:
        return f"gate {spec.name} names no role, so nobody can {kind.value} it"
    if norm_actor(actor) not in facts.members(spec.role):
        return f"{actor} is not in role {spec.role}"
    if kind in SEPARATION_OF_DUTIES and facts.is_conflicted(actor):
        return f"{actor} prepared release {facts.version} or authored a commit in it"
    return None


def waiver_problem(spec: GateSpec, actor: str, facts: ReleaseFacts) -> str | None:
    """Say why actor may not waive this gate, or None if they may."""
    role = spec.waiver_role_name
    if norm_actor(actor) not in facts.members(role):
        return f"{actor} is not in role {role}"
    if facts.is_conflicted(actor):
        return f"{actor} prepared release {facts.version} or authored a commit in it"
    return None


def check_decision(
    kind: DecisionKind | str,
    gate_spec: GateSpec,
    actor: str,
    facts: ReleaseFacts,
    existing_decisions: Iterable[Decision],
    now: datetime,
    *,
    criterion: str | None = None,
    comment: str = "",
) -> None:
    """Raise a DecisionRefused subclass unless actor may record this decision on facts.candidate_sha."""
    iso_utc(now)  # refuses a naive clock early
    kind = DecisionKind(kind)
    if gate_spec.kind not in ALLOWED_KINDS[kind]:
        raise WrongGateKind(f"cannot record a {kind.value} on gate {gate_spec.name} of kind {gate_spec.kind.value}")
    if not actor.strip():
        raise DecisionInvalid("a decision needs an actor")
    if kind is DecisionKind.ACCEPTANCE:
        known = {c.id for c in gate_spec.criteria}
        if criterion not in known:
            raise DecisionInvalid(f"gate {gate_spec.name} has no criterion {criterion!r}; known: {', '.join(sorted(known))}")
    elif criterion is not None:
        raise DecisionInvalid(f"a {kind.value} does not name a criterion")
    problem = eligibility_problem(kind, gate_spec, actor, facts)
    if problem is not None:
        error = SeparationOfDuties if "prepared release" in problem else NotInRole
        raise error(f"{kind.value} on {gate_spec.name} refused: {problem}")
    if kind is DecisionKind.REJECTION and not comment.strip():
        raise DecisionInvalid("a rejection needs a comment saying why")
    who = norm_actor(actor)
    for earlier in existing_decisions:
        if (earlier.gate == gate_spec.name and earlier.candidate_sha == facts.candidate_sha
                and DecisionKind(earlier.kind) is kind and norm_actor(earlier.actor) == who
                and earlier.criterion == criterion):
            if kind is DecisionKind.APPROVAL:
                raise DuplicateApproval(
                    f"{actor} already approved {gate_spec.name} for {facts.candidate_sha[:12]}; "
                    "one person cannot fill two approval slots")
            raise DuplicateDecision(f"{actor} already recorded a {kind.value} on {gate_spec.name} for {facts.candidate_sha[:12]}")


def check_waiver(
    gate_spec: GateSpec,
    actor: str,
    facts: ReleaseFacts,
    reason: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    """Raise WaiverInvalid, NotInRole or SeparationOfDuties unless actor may waive this gate now."""
    if not reason.strip():
        raise WaiverInvalid(f"waiver of {gate_spec.name} refused: a waiver needs a non-empty reason")
    if expires_at.tzinfo is None:
        raise WaiverInvalid(f"waiver of {gate_spec.name} refused: the expiry needs a timezone")
    if expires_at <= now:
        raise WaiverInvalid(f"waiver of {gate_spec.name} refused: expiry {iso_utc(expires_at)} is not in the future")
    problem = waiver_problem(gate_spec, actor, facts)
    if problem is not None:
        error = SeparationOfDuties if "prepared release" in problem else NotInRole
        raise error(f"waiver of {gate_spec.name} refused: {problem}")
