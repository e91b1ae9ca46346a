"""Sign-off, approval, rejection, acceptance and waivers: checked by the shared check_decision, then recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from release.errors import DecisionInvalid, InputError, UsageError
from release.gates import (
    Decision,
    DecisionKind,
    GateKind,
    GateSpec,
    ReleaseFacts,
    Waiver,
    check_decision,
    iso_utc,
)
from release.ledger import CandidateRecord, ReleaseRecord, ReleaseState
from release.workflow.context import Context
from release.workflow.status import gate_spec, normalise_version, release_facts


@dataclass(frozen=True)
class Recorded:
    """A decision or waiver as recorded, for printing."""

    version: str
    candidate_tag: str
    candidate_sha: str
    gate: str
    kind: str
    actor: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """A JSON-able view."""
        return {"version": self.version, "candidate": {"tag": self.candidate_tag, "sha": self.candidate_sha},
                "gate": self.gate, "kind": self.kind, "actor": self.actor, **self.detail}

    def line(self) -> str:
        """One line for the terminal."""
        what = self.kind + (f" of {self.detail['criterion']}" if self.detail.get("criterion") else "")
        return f"recorded {what} on {self.gate} for {self.candidate_tag} by {self.actor}"


def _target(ctx: Context, version: str) -> tuple[ReleaseRecord, CandidateRecord, ReleaseFacts]:
    release = ctx.ledger.get_release(normalise_version(ctx, version))
    if release.state is not ReleaseState.PREPARED:
        raise InputError(f"release {release.version} is {release.state.value}; decisions are taken before promotion")
    candidate = ctx.ledger.latest_candidate(release.version)
    if candidate is None:
        raise InputError(f"release {release.version} has no candidate yet; run release prepare")
    return release, candidate, release_facts(ctx, release, candidate)


def _gate(ctx: Context, name: str) -> GateSpec:
    return gate_spec(ctx.config.gate(name))


def _decide(ctx: Context, kind: DecisionKind, spec: GateSpec, version: str, *, comment: str = "",
            criterion: str | None = None, expected_sha: str | None = None,
            report_hash: str | None = None) -> Recorded:
    actor = ctx.require_actor()
    _, candidate, facts = _target(ctx, version)
    if expected_sha is not None and expected_sha != candidate.sha:
        # The web form names the candidate the member read; a newer rc means they did not read this one.
        raise DecisionInvalid(f"candidate {expected_sha[:12]} is no longer the newest ({candidate.tag} is); "
                              "nothing recorded")
    now = ctx.now()
    # The same rule function the web UI calls; the ledger checks it again inside its write transaction.
    check_decision(kind, spec, actor, facts, ctx.ledger.decisions_for(facts.version, facts.candidate_sha), now,
                   criterion=criterion, comment=comment)
    decision = Decision(kind=kind, gate=spec.name, actor=actor, role=spec.role, candidate_sha=candidate.sha,
                        comment=comment, at=now, report_hash=report_hash, criterion=criterion)
    ctx.ledger.record_decision(decision, spec=spec, facts=facts, now=now)
    return Recorded(facts.version, candidate.tag, candidate.sha, spec.name, kind.value, actor,
                    {"comment": comment, "criterion": criterion, "at": iso_utc(now)})


def sign_off(ctx: Context, gate: str, version: str, *, comment: str = "", expected_sha: str | None = None,
             report_hash: str | None = None) -> Recorded:
    """Record a sign-off on a signoff gate by the acting person (the web passes the sha and report it showed)."""
    return _decide(ctx, DecisionKind.SIGNOFF, _gate(ctx, gate), version, comment=comment,
                   expected_sha=expected_sha, report_hash=report_hash)


def approval_gate(ctx: Context, name: str | None) -> GateSpec:
    """The named gate, or the single approval gate; UsageError when there is none or more than one."""
    if name is not None:
        return _gate(ctx, name)
    approvals = [g for g in ctx.config.gates.values() if g.kind == GateKind.APPROVAL.value]
    if len(approvals) != 1:
        names = ", ".join(g.name for g in approvals) or "none"
        raise UsageError(f"name the approval gate with --gate (approval gates: {names})")
    return gate_spec(approvals[0])


def approve(ctx: Context, version: str, *, gate: str | None = None, reject: bool = False,
            comment: str = "", expected_sha: str | None = None, report_hash: str | None = None) -> Recorded:
    """Record an approval (or, with reject, a rejection) on an approval gate (web: with the sha and report seen)."""
    kind = DecisionKind.REJECTION if reject else DecisionKind.APPROVAL
    return _decide(ctx, kind, approval_gate(ctx, gate), version, comment=comment, expected_sha=expected_sha,
                   report_hash=report_hash)


def accept(ctx: Context, version: str, criterion: str, *, comment: str = "", gate: str | None = None) -> Recorded:
    """Record the acceptance of one criterion; an unknown criterion is an input error."""
    gates = [g for g in ctx.config.gates.values() if g.kind == GateKind.CRITERIA.value
             and (gate is None or g.name == gate)]
    if gate is not None and not gates:
        ctx.config.gate(gate)  # raises the unknown-gate error
        raise UsageError(f"gate {gate} is not a criteria gate")
    owners = [g for g in gates if any(c.id == criterion for c in g.items)]
    if not owners:
        known = sorted(c.id for g in gates for c in g.items)
        raise InputError(f"unknown criterion {criterion!r}; known: {', '.join(known) or 'none'}")
    if len(owners) > 1:
        raise UsageError(f"criterion {criterion} is in gates {', '.join(g.name for g in owners)}; pass --gate")
    return _decide(ctx, DecisionKind.ACCEPTANCE, gate_spec(owners[0]), version, comment=comment,
                   criterion=criterion)


def parse_expiry(text: str) -> datetime:
    """'YYYY-MM-DD' -> the end of that day, UTC (a waiver is valid through the day it names)."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"invalid expiry {text!r}: expected a date YYYY-MM-DD") from None
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=UTC)


def waive(ctx: Context, gate: str, version: str, *, reason: str, expires: str) -> Recorded:
    """Record a time-limited waiver of a gate for the current candidate (checked by check_waiver)."""
    actor = ctx.require_actor()
    expires_at = parse_expiry(expires)
    spec = _gate(ctx, gate)
    _, candidate, facts = _target(ctx, version)
    now = ctx.now()
    waiver = Waiver(gate=spec.name, actor=actor, reason=reason, expires_at=expires_at, created_at=now,
                    candidate_sha=candidate.sha)
    ctx.ledger.record_waiver(waiver, spec=spec, facts=facts, now=now)
    return Recorded(facts.version, candidate.tag, candidate.sha, spec.name, "waiver", actor,
                    {"reason": reason, "expires_at": iso_utc(expires_at), "at": iso_utc(now)})
