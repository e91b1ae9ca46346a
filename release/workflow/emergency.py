"""The emergency path through a freeze window: authorised by an emergency role, recorded, and reviewed afterwards.

Modelled on an ITIL emergency change and on GitHub environments' required reviewers: an emergency promotion
still needs someone other than the person who runs it to authorise it (``[emergency] role`` and ``quorum``; the
promoter, the preparer and the release's commit authors never count, as for approvals), and a reason. It lifts the
freeze window only: every gate must still pass or be validly waived (a failing gate has its own, time-limited path:
``release waive``). Afterwards a follow-up review (``release review``, by ``review_role``) is required before the
next normal release is prepared or promoted. Everything is an audit event (release.workflow.freeze names them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from release.config import EmergencySettings, FreezeWindow
from release.errors import (
    Blocked,
    DecisionInvalid,
    DuplicateApproval,
    InputError,
    NotInRole,
    SeparationOfDuties,
    UsageError,
)
from release.gates import (
    DecisionKind,
    GateKind,
    GateSpec,
    ReleaseFacts,
    eligibility_problem,
    iso_utc,
    norm_actor,
)
from release.ledger import AuditEvent, ReleaseState
from release.workflow.context import Context
from release.workflow.freeze import (
    APPROVAL_ACTION,
    EMERGENCY_ACTION,
    REVIEW_ACTION,
    describe,
    latest_event,
    pending_review_reason,
    pending_reviews,
)
from release.workflow.status import normalise_version, release_facts

#: Release states in which the emergency change has happened and can be reviewed.
REVIEWABLE = frozenset({ReleaseState.PROMOTED, ReleaseState.FAILED_AFTER_PROMOTE, ReleaseState.ROLLED_BACK})


def settings(ctx: Context) -> EmergencySettings:
    """The [emergency] table; Blocked (exit 1) when release.toml has none: nobody can authorise an emergency."""
    found = ctx.config.emergency
    if found is None:
        raise Blocked(f"{ctx.config.path.name} has no [emergency] table, so no emergency promotion can be "
                      'authorised: add [emergency] role = "<a [roles] entry>" (docs/freeze-and-emergency.md); '
                      "nothing was changed")
    return found


def _spec(found: EmergencySettings, role: str) -> GateSpec:
    """The emergency role as an approval gate's spec, so the approval rules of release.gates apply unchanged."""
    return GateSpec(name="emergency", kind=GateKind.APPROVAL, config_hash="", role=role, quorum=found.quorum)


@dataclass(frozen=True)
class EmergencyApproval:
    """One emergency approval as recorded, for printing."""

    version: str
    candidate_tag: str
    candidate_sha: str
    actor: str
    role: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The `release emergency-approve --json` shape."""
        return {"version": self.version, "candidate": {"tag": self.candidate_tag, "sha": self.candidate_sha},
                "actor": self.actor, "role": self.role, "reason": self.reason}


def _problem(found: EmergencySettings, actor: str, facts: ReleaseFacts) -> str | None:
    """Why `actor` may not authorise this emergency promotion (role, separation of duties), or None."""
    return eligibility_problem(DecisionKind.APPROVAL, _spec(found, found.role), actor, facts)


def approve(ctx: Context, version: str, *, reason: str) -> EmergencyApproval:
    """Record the acting person's emergency approval of the release's newest candidate (an audit event)."""
    actor = ctx.require_actor()
    found = settings(ctx)
    if not reason.strip():
        raise DecisionInvalid("an emergency approval needs a reason (--reason TEXT); nothing recorded")
    ctx.ledger.require_intact()
    release = ctx.ledger.get_release(normalise_version(ctx, version))
    if release.state is not ReleaseState.PREPARED:
        raise InputError(f"release {release.version} is {release.state.value}; an emergency approval is given "
                         "before promotion")
    candidate = ctx.ledger.latest_candidate(release.version)
    if candidate is None:
        raise InputError(f"release {release.version} has no candidate yet; run release prepare")
    facts = release_facts(ctx, release, candidate)
    problem = _problem(found, actor, facts)
    if problem is not None:
        error = SeparationOfDuties if "prepared release" in problem else NotInRole
        raise error(f"emergency approval of {release.version} refused: {problem}; nothing recorded")
    if norm_actor(actor) in approvers_of(ctx.ledger.audit_events(), release.version, candidate.sha):
        raise DuplicateApproval(f"{actor} already approved the emergency promotion of {candidate.tag}; one person "
                                "cannot fill two approval slots")
    ctx.ledger.append_audit(actor, APPROVAL_ACTION, release.version,
                            {"candidate_sha": candidate.sha, "candidate_tag": candidate.tag, "role": found.role,
                             "reason": reason.strip()}, now=ctx.now())
    return EmergencyApproval(release.version, candidate.tag, candidate.sha, actor, found.role, reason.strip())


def approvers_of(events: Sequence[AuditEvent], version: str, candidate_sha: str) -> list[str]:
    """The distinct people (normalised) who recorded an emergency approval of this candidate, in order."""
    seen: list[str] = []
    for event in events:
        if (event.action == APPROVAL_ACTION and event.subject == version
                and event.payload.get("candidate_sha") == candidate_sha and norm_actor(event.actor) not in seen):
            seen.append(norm_actor(event.actor))
    return seen


def authorise(ctx: Context, version: str, facts: ReleaseFacts, promoter: str, reason: str | None,
              window: FreezeWindow | None) -> dict[str, Any]:
    """What the emergency record holds, once the approvals reach the quorum; Blocked (exit 1) otherwise.

    Each approval is checked again now (the role may have changed since), and the promoter's own approval never
    counts: GitHub environments' "prevent self-review", and ITIL's separation of the change authority from the
    implementer.
    """
    found = settings(ctx)
    if reason is None or not reason.strip():
        raise UsageError("--emergency needs --reason TEXT: why this cannot wait for the freeze window to end")
    if window is None:
        raise UsageError(f"--emergency is for promoting inside a freeze window, and none is in force now; promote "
                         f"{version} without --emergency")
    counted = [a for a in approvers_of(ctx.ledger.audit_events(), version, facts.candidate_sha)
               if a != norm_actor(promoter) and _problem(found, a, facts) is None]
    if len(counted) < found.quorum:
        have = f"{len(counted)} valid" + (f" ({', '.join(counted)})" if counted else "")
        raise Blocked(f"emergency promotion of {version} refused: it needs {found.quorum} approval(s) from role "
                      f"{found.role} and has {have}; the promoter, the preparer and commit authors do not count. "
                      f"A member runs `release emergency-approve {version} --reason TEXT --as EMAIL`; nothing was "
                      "changed")
    return {"reason": reason.strip(), "role": found.role, "quorum": found.quorum, "approvers": counted,
            "candidate_sha": facts.candidate_sha, "window": {"label": window.label, "text": describe(window),
                                                             "start": iso_utc(window.start),
                                                             "end": iso_utc(window.end)}}


def record(ctx: Context, version: str, actor: str, detail: dict[str, Any]) -> None:
    """Write the emergency record (right after the claim, before any ref moves): the record says emergency."""
    ctx.ledger.append_audit(actor, EMERGENCY_ACTION, version, detail, now=ctx.now())


def recorded(ctx: Context, version: str) -> dict[str, Any] | None:
    """The emergency record of `version` (its payload plus who promoted and when), or None."""
    event = latest_event(ctx.ledger.audit_events(), EMERGENCY_ACTION, version)
    if event is None:
        return None
    return {**event.payload, "promoted_by": event.actor, "at": iso_utc(event.at)}


def refuse_pending(ctx: Context, doing: str, *, besides: str | None = None) -> None:
    """Blocked (exit 1) while an emergency promotion other than `besides` awaits its follow-up review."""
    pending = [v for v in pending_reviews(ctx.ledger.audit_events()) if v != besides]
    if pending:
        raise Blocked(f"{doing} refused: " + "; ".join(pending_review_reason(v) for v in pending)
                      + "; nothing was changed")


@dataclass(frozen=True)
class Review:
    """A recorded follow-up review, for printing."""

    version: str
    actor: str
    notes: str
    at: str

    def to_json(self) -> dict[str, Any]:
        """The `release review --json` shape."""
        return {"version": self.version, "reviewed_by": self.actor, "notes": self.notes, "at": self.at}


def review(ctx: Context, version: str, *, notes: str) -> Review:
    """Record the follow-up review of an emergency promotion (ITIL's post-implementation review)."""
    actor = ctx.require_actor()
    found = settings(ctx)
    if not notes.strip():
        raise DecisionInvalid("a review needs notes (--notes TEXT): what happened and what follows; nothing recorded")
    ctx.ledger.require_intact()
    release = ctx.ledger.get_release(normalise_version(ctx, version))
    events = ctx.ledger.audit_events()
    emergency = latest_event(events, EMERGENCY_ACTION, release.version)
    if emergency is None:
        raise InputError(f"release {release.version} was not promoted on the emergency path; there is nothing to "
                         "review")
    if release.version not in pending_reviews(events):
        done = latest_event(events, REVIEW_ACTION, release.version)
        who = f" by {done.actor} at {iso_utc(done.at)[:19]}" if done else ""
        raise InputError(f"the emergency promotion of {release.version} is already reviewed{who}")
    if release.state not in REVIEWABLE:
        raise InputError(f"release {release.version} is {release.state.value}; review it once its promotion has "
                         "finished")
    candidate = ctx.ledger.latest_candidate(release.version)
    if candidate is None:
        raise InputError(f"release {release.version} has no candidate")
    facts = release_facts(ctx, release, candidate)
    problem = eligibility_problem(DecisionKind.APPROVAL, _spec(found, found.reviewers), actor, facts)
    if problem is None and norm_actor(actor) == norm_actor(emergency.actor):
        problem = f"{actor} ran the emergency promotion and cannot review it"
    if problem is not None:
        error = NotInRole if "not in role" in problem else SeparationOfDuties
        raise error(f"review of {release.version} refused: {problem}; nothing recorded")
    event = ctx.ledger.append_audit(actor, REVIEW_ACTION, release.version,
                                    {"notes": notes.strip(), "emergency_seq": emergency.seq,
                                     "role": found.reviewers}, now=ctx.now())
    return Review(release.version, actor, notes.strip(), iso_utc(event.at))
