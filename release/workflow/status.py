"""The checklist of a release: gate specs, facts and target identities fed to the pure evaluate().

An open release is evaluated against live targets: each automated gate's target is probed now, so evidence bound
to a build the target no longer runs turns STALE, and an unreachable target leaves it INCONCLUSIVE (fail closed).
A settled release (PROMOTED, FAILED_AFTER_PROMOTE, ROLLED_BACK) is a record: it is evaluated from the recorded
evidence alone, as of its promotion, and no target is probed. Stopping staging after a promotion, or re-rendering
the report a year later, must not turn a recorded PASSED into INCONCLUSIVE ("target identity unknown").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from release import __version__
from release.config import Config, GateConfig
from release.gates import (
    DEFAULT_WAIVER_ROLE,
    Checklist,
    CriterionSpec,
    EvidenceBinding,
    GateKind,
    GateRun,
    GateSpec,
    GateStatus,
    ReleaseFacts,
    evaluate,
    iso_utc,
)
from release.ledger import CandidateRecord, ReleaseRecord
from release.versioning import format_ref
from release.workflow.context import Context
from release.workflow.freeze import (
    EMERGENCY_ACTION,
    REVIEW_ACTION,
    FreezeNotice,
    blocking_reason,
    latest_event,
    notice,
    pending_review_reason,
    pending_reviews,
)
from release.workflow.target import TargetIdentity, probe

#: Who attests criteria by hand when a criteria gate names no `role` in release.toml.
CRITERIA_DEFAULT_ROLE = DEFAULT_WAIVER_ROLE


def gate_spec(gate: GateConfig) -> GateSpec:
    """The decision-relevant view of one configured gate."""
    role = gate.role
    if gate.kind == GateKind.CRITERIA.value and role is None:
        role = str(gate.options.get("role") or CRITERIA_DEFAULT_ROLE)
    return GateSpec(name=gate.name, kind=GateKind(gate.kind), config_hash=gate.config_hash(), role=role,
                    quorum=gate.quorum, criteria=tuple(CriterionSpec(c.id, c.text, c.verify) for c in gate.items),
                    target=gate.target if gate.automated else None)


def gate_specs(config: Config) -> tuple[GateSpec, ...]:
    """Every configured gate as a GateSpec, in config order."""
    return tuple(gate_spec(g) for g in config.gates.values())


def release_facts(ctx: Context, release: ReleaseRecord, candidate: CandidateRecord) -> ReleaseFacts:
    """Preparer, commit authors since the previous production version, and role members."""
    since = None
    if release.previous_version:
        previous_tag = format_ref(ctx.config.release.tag, release.previous_version)
        since = previous_tag if ctx.git.tag_sha(previous_tag) else None
    authors = frozenset(ctx.git.authors_between(since, candidate.sha)) if ctx.git.resolve(candidate.sha) else frozenset()
    roles = {role: frozenset(members) for role, members in ctx.config.roles.items()}
    return ReleaseFacts(version=release.version, candidate_sha=candidate.sha, preparer=release.preparer,
                        commit_authors=authors, roles=roles)


def tool_version() -> str:
    """The tool version evidence is bound to."""
    return __version__


def expected_binding(gate: GateConfig, candidate_sha: str, seen: TargetIdentity | None,
                     target_url: str) -> EvidenceBinding | None:
    """What current evidence of `gate` must be bound to; None when the target's identity is unknown."""
    if seen is None:
        return None
    return EvidenceBinding(commit_sha=candidate_sha, config_hash=gate.config_hash(), target_url=target_url,
                           target_version=seen.version, tool_version=tool_version())


@dataclass(frozen=True)
class ReleaseView:
    """A release, its newest candidate, and its evaluated checklist."""

    release: ReleaseRecord
    candidate: CandidateRecord | None
    facts: ReleaseFacts | None
    specs: tuple[GateSpec, ...]
    checklist: Checklist
    targets: Mapping[str, TargetIdentity | None] = field(default_factory=dict)
    #: "live" (targets probed now) or "recorded" (a settled release: recorded evidence only, no probe)
    evaluated_from: str = "live"
    #: the moment a recorded evaluation stands at (the promotion claim), or None
    as_of: datetime | None = None
    #: freeze windows in force or ahead (an open release only), and emergency promotions awaiting review
    freeze: FreezeNotice | None = None
    pending_reviews: tuple[str, ...] = ()
    #: the emergency record of this release (promoted inside a freeze window) and its follow-up review, if any
    emergency: Mapping[str, Any] | None = None
    review: Mapping[str, Any] | None = None


def resolve_release(ctx: Context, version: str | None) -> ReleaseRecord:
    """The named release (a leading 'v' or the tag format is accepted), or the newest one."""
    from release.errors import UnknownRelease

    if version is None:
        releases = ctx.ledger.list_releases()
        if not releases:
            raise UnknownRelease("no release in the ledger yet; run `release prepare` first")
        return releases[-1]
    return ctx.ledger.get_release(normalise_version(ctx, version))


def normalise_version(ctx: Context, text: str) -> str:
    """Accept 'X.Y.Z', 'vX.Y.Z', a candidate tag 'vX.Y.Z-rc.N' or the configured tag format; return 'X.Y.Z'."""
    from release.errors import InvalidVersion
    from release.versioning import parse_plain_version, parse_version_tag

    text = text.strip()
    tagged = parse_version_tag(text, ctx.config.release.tag)
    # A candidate tag (vX.Y.Z-rc.N) names its release, as CI jobs on rc tags pass it.
    if tagged is not None and not tagged.build and (not tagged.prerelease or str(tagged.prerelease).startswith("rc.")):
        return str(tagged.finalize_version())
    try:
        return str(parse_plain_version(text))
    except InvalidVersion:
        raise InvalidVersion(f"invalid version {text!r}: expected X.Y.Z, e.g. 1.2.0") from None


def evaluate_release(ctx: Context, version: str | None = None, *, operations: bool = True) -> ReleaseView:
    """Evaluate every gate of a release's newest candidate: live for an open release, from records once settled.

    An open release probes each automated gate's target now. A settled one (SETTLED_STATES) never probes: see
    settled_view. An open release is also blocked by a freeze window in force and by another release's emergency
    promotion that awaits its follow-up review, as promote would refuse it (``operations=False`` leaves both out:
    promote checks them itself, before its emergency path).
    """
    ctx.ledger.require_intact()  # verify before deciding: a row that disagrees with the audit chain is exit 1
    release = resolve_release(ctx, version)
    specs = gate_specs(ctx.config)
    candidate = ctx.ledger.latest_candidate(release.version)
    if candidate is None:
        checklist = Checklist((), promotable=False, blocking_reasons=("no candidate recorded for this release",))
        return ReleaseView(release, None, None, specs, checklist)
    facts = release_facts(ctx, release, candidate)
    runs = ctx.ledger.runs_for_release(release.version)
    if release.state.value in SETTLED_STATES:
        return operations_view(ctx, settled_view(ctx, release, candidate, facts, specs, runs), block=False)
    seen: dict[str, TargetIdentity | None] = {}
    bindings: dict[str, EvidenceBinding | None] = {}
    for gate in ctx.config.gates.values():
        if not gate.automated:
            continue
        target = ctx.config.targets[gate.target]
        if target.name not in seen:
            seen[target.name] = probe(target, environ=ctx.environ)
        bindings[gate.name] = expected_binding(gate, candidate.sha, seen[target.name], target.gateway)
    checklist = evaluate(specs, facts, runs, ctx.ledger.decisions_for(release.version),
                         ctx.ledger.waivers_for(release.version), bindings, ctx.now())
    return operations_view(ctx, ReleaseView(release, candidate, facts, specs, checklist, seen), block=operations)


def operations_view(ctx: Context, view: ReleaseView, *, block: bool) -> ReleaseView:
    """The view with its emergency record and review, the freeze notice and pending reviews; with `block` (an open
    release) a window in force and another release's pending review are blocking reasons, as promote refuses."""
    events = ctx.ledger.audit_events()
    version = view.release.version
    emergency, review = latest_event(events, EMERGENCY_ACTION, version), latest_event(events, REVIEW_ACTION, version)
    found = dataclasses.replace(
        view, emergency=None if emergency is None else {**emergency.payload, "promoted_by": emergency.actor,
                                                          "at": iso_utc(emergency.at)},
        review=None if review is None else {**review.payload, "reviewed_by": review.actor, "at": iso_utc(review.at)})
    if not block:
        return found
    now = notice(ctx.config.freeze, ctx.now())
    pending = tuple(v for v in pending_reviews(events) if v != version)
    reasons = [blocking_reason(now.active)] if now.active is not None else []
    reasons += [pending_review_reason(v) for v in pending]
    checklist = view.checklist
    if reasons:
        checklist = dataclasses.replace(checklist, promotable=False,
                                        blocking_reasons=(*checklist.blocking_reasons, *reasons))
    return dataclasses.replace(found, checklist=checklist, freeze=now, pending_reviews=pending)


def settled_view(ctx: Context, release: ReleaseRecord, candidate: CandidateRecord, facts: ReleaseFacts,
                 specs: tuple[GateSpec, ...], runs: Sequence[GateRun]) -> ReleaseView:
    """The checklist of a settled release from the ledger alone, as it stood when its promotion was claimed.

    Gate runs recorded after the claim (a gate re-run, or evidence imported later) are left out, by the audit
    chain's order rather than by timestamps, which come from other machines' clocks for imported evidence.
    Decisions and waivers need no cut: the ledger takes them only before promotion (workflow/decisions.py). Waivers
    are judged at the claim's time, so one that expired since does not change the record. Each automated gate's
    evidence is checked against the binding its own run recorded, for this candidate's commit: promote checked
    that binding against the live target before it moved anything. Nothing is probed.
    """
    as_of = release.promotion_started_at
    recorded = runs_recorded_before_claim(ctx, release.version)
    kept = [r for r in runs if recorded is None or r.id in recorded]
    bindings: dict[str, EvidenceBinding | None] = {}
    seen: dict[str, TargetIdentity | None] = {}
    for gate in ctx.config.gates.values():
        if not gate.automated:
            continue
        run = latest_run(kept, gate.name, candidate.sha)
        bindings[gate.name] = None if run is None else recorded_binding(run, candidate.sha)
        if run is not None and gate.target not in seen:
            seen[gate.target] = recorded_identity(run)
    checklist = evaluate(specs, facts, kept, ctx.ledger.decisions_for(release.version),
                         ctx.ledger.waivers_for(release.version), bindings, as_of or ctx.now())
    return ReleaseView(release, candidate, facts, specs, checklist, seen, evaluated_from="recorded", as_of=as_of)


#: The audit events that claim a release's promotion (promote evaluates the checklist just before claiming).
CLAIM_ACTIONS = frozenset({"promotion.claimed", "promotion.resumed"})


def runs_recorded_before_claim(ctx: Context, version: str) -> set[int] | None:
    """Ids of the gate runs finished in the ledger before the release's last promotion claim (None: no claim)."""
    events = ctx.ledger.audit_events()
    claims = [e.seq for e in events if e.action in CLAIM_ACTIONS and e.subject == version]
    if not claims:
        return None
    return {int(e.payload["run_id"]) for e in events
            if e.seq < claims[-1] and e.action == "gate_run.finished" and isinstance(e.payload.get("run_id"), int)}


def latest_run(runs: Sequence[GateRun], gate: str, candidate_sha: str) -> GateRun | None:
    """The newest run of `gate` on this candidate, ordered as evaluate() orders them (started_at, then id)."""
    mine = sorted((r for r in runs if r.gate == gate and r.candidate_sha == candidate_sha),
                  key=lambda r: (r.started_at, r.id))
    return mine[-1] if mine else None


def recorded_binding(run: GateRun, candidate_sha: str) -> EvidenceBinding:
    """What a settled record expects of its own evidence: the run's recorded binding on the candidate's commit."""
    b = run.binding
    return EvidenceBinding(commit_sha=candidate_sha, config_hash=b.config_hash, target_url=b.target_url,
                           target_version=b.target_version, tool_version=b.tool_version)


def recorded_identity(run: GateRun) -> TargetIdentity | None:
    """The target identity a run recorded in its summary (what the target reported then), or None."""
    data = run.summary.get("target") if isinstance(run.summary, Mapping) else None
    if not isinstance(data, Mapping) or not data.get("version"):
        return None
    images = data.get("images")
    return TargetIdentity(str(data.get("url") or run.binding.target_url), str(data["version"]),
                          str(data.get("how") or ""),
                          {str(k): str(v) for k, v in images.items()} if isinstance(images, Mapping) else {})


#: Release states after a promotion: their verdict is what happened, not a fresh evaluation against live targets.
SETTLED_STATES = frozenset({"PROMOTED", "FAILED_AFTER_PROMOTE", "ROLLED_BACK"})


def verdict(view: ReleaseView) -> str:
    """PROMOTABLE or BLOCKED for a release still open; its lifecycle state once it has been promoted."""
    state = view.release.state.value
    if state in SETTLED_STATES:
        return state
    return "PROMOTABLE" if view.checklist.promotable else "BLOCKED"


def gate_status_json(status: GateStatus) -> dict[str, Any]:
    """A JSON-able view of one checklist line (counts and ids only; no secrets)."""
    run = status.evidence
    evidence = None
    if run is not None:
        evidence = {
            "run_id": run.id, "state": run.state.value, "commit": run.binding.commit_sha,
            "candidate_sha": run.candidate_sha, "target_url": run.binding.target_url,
            "target_version": run.binding.target_version, "tool_version": run.binding.tool_version,
            "config_hash": run.binding.config_hash, "started_at": iso_utc(run.started_at),
            "finished_at": iso_utc(run.finished_at) if run.finished_at else None,
            "reason": run.summary.get("reason") if isinstance(run.summary, Mapping) else None,
            # what the target reported and how it was asked, plus the deploy step's image tags
            "target_identity": run.summary.get("target") if isinstance(run.summary, Mapping) else None,
            "artifacts": [{"path": a.path, "sha256": a.sha256, "size": a.size, "kind": a.kind} for a in run.artifacts],
        }
    waiver = None
    if status.waiver is not None:
        w = status.waiver
        waiver = {"actor": w.actor, "reason": w.reason, "expires_at": iso_utc(w.expires_at),
                  "created_at": iso_utc(w.created_at)}
    return {
        "gate": status.gate, "kind": status.kind.value, "state": status.state.value,
        "counts": status.state.counts, "reasons": list(status.reasons), "evidence": evidence,
        "decisions": [{"kind": d.kind.value, "actor": d.actor, "role": d.role, "comment": d.comment,
                       "criterion": d.criterion, "at": iso_utc(d.at)} for d in status.decisions],
        "waiver": waiver,
    }


def view_json(view: ReleaseView) -> dict[str, Any]:
    """The `release status --json` shape."""
    cand = view.candidate
    return {
        "version": view.release.version,
        "state": view.release.state.value,
        "previous_version": view.release.previous_version,
        "preparer": view.release.preparer,
        "candidate": None if cand is None else {"rc": cand.rc, "tag": cand.tag, "sha": cand.sha,
                                                "created_at": iso_utc(cand.created_at)},
        "promotable": view.checklist.promotable,
        "blocking_reasons": list(view.checklist.blocking_reasons),
        "gates": [gate_status_json(g) for g in view.checklist.gates],
        "targets": {name: (seen.to_json() if seen else None) for name, seen in view.targets.items()},
        "evaluated": {"from": view.evaluated_from, "as_of": iso_utc(view.as_of) if view.as_of else None},
        **operations_json(view),
    }


def operations_json(view: ReleaseView) -> dict[str, Any]:
    """The freeze window in force or ahead, pending reviews, and this release's emergency record and review: the
    keys `release status --json` and the change record share (release.report.text prints them)."""
    return {
        "freeze": view.freeze.to_json() if view.freeze else None,
        "pending_reviews": list(view.pending_reviews),
        "emergency": dict(view.emergency) if view.emergency else None,
        "review": dict(view.review) if view.review else None,
    }
