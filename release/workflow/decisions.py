"""Sign-off, approval, rejection, acceptance and waivers: checked by the shared check_decision, then recorded.

A CLI decision may carry an SSH signature over its DecisionStatement (release.signing): made here with
`ssh-keygen -Y sign` (Signing.key), or made offline over the bytes `--print-payload` wrote (Signing.payload and
Signing.signature). Either way it is verified against the committed allowed-signers file before anything is
recorded, and a gate with require_signature = true refuses a CLI decision without one. Web decisions come through
the same functions with via="web": the logged-in session authenticates them, as before.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

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
from release.signing import (
    DecisionStatement,
    SignatureRefused,
    SigningUnavailable,
    check_time,
    load_allowed_signers,
    read_payload,
    read_signature,
    sign,
    signing_time,
    verify,
)
from release.workflow.context import Context
from release.workflow.status import gate_spec, normalise_version, release_facts

#: Where a decision comes from: the CLI (a bare claim of who acts, unless signed) or a web session.
Via = Literal["cli", "web"]


@dataclass(frozen=True)
class Signing:
    """How a CLI decision is signed: with a key now (ssh-keygen -Y sign), or with a statement and its signature
    made offline (the file `--print-payload` wrote, and the FILE.sig ssh-keygen made of it)."""

    key: Path | None = None
    payload: Path | None = None
    signature: Path | None = None

    @property
    def given(self) -> bool:
        """True when any way of signing was asked for."""
        return any(v is not None for v in (self.key, self.payload, self.signature))


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
        signed = self.detail.get("signed_with")
        return (f"recorded {what} on {self.gate} for {self.candidate_tag} by {self.actor}"
                + (f" (signed with {signed})" if signed else ""))


def _target(ctx: Context, version: str) -> tuple[ReleaseRecord, CandidateRecord, ReleaseFacts]:
    release = ctx.ledger.get_release(normalise_version(ctx, version))
    if release.state is not ReleaseState.PREPARED:
        raise InputError(f"release {release.version} is {release.state.value}; decisions are taken before promotion")
    candidate = ctx.ledger.latest_candidate(release.version)
    if candidate is None:
        raise InputError(f"release {release.version} has no candidate yet; run release prepare")
    return release, candidate, release_facts(ctx, release, candidate)


def gate_spec_of(ctx: Context, name: str) -> GateSpec:
    """The named gate as a GateSpec; UsageError for an unknown gate."""
    return gate_spec(ctx.config.gate(name))


_gate = gate_spec_of


def _signers(ctx: Context) -> bytes:
    """The committed allowed-signers file release.toml names; exit 2 when there is none to check against."""
    setting = ctx.config.signatures.allowed_signers
    if setting is None:
        raise SigningUnavailable("a signature was given but release.toml has no [signatures] allowed_signers to "
                                 "check it against (docs/signing.md)")
    path = (ctx.config.path.parent / setting).resolve()
    try:
        rel = path.relative_to(ctx.root.resolve())
    except ValueError:
        raise InputError(f"[signatures] allowed_signers {setting!r} is outside the repository") from None
    return load_allowed_signers(ctx.root, rel.as_posix())


def _statement(ctx: Context, kind: DecisionKind, spec: GateSpec, facts: ReleaseFacts, actor: str, comment: str,
               criterion: str | None, now: datetime) -> DecisionStatement:
    """This decision as the statement a signer signs, with the hash of the change record as it stands now."""
    from release.report.record import change_record_data

    record_hash = str(change_record_data(ctx, facts.version)["content_hash"])
    return DecisionStatement(release=facts.version, gate=spec.name, kind=kind.value, candidate_sha=facts.candidate_sha,
                             record_hash=record_hash, actor=actor, comment=comment, at=signing_time(now),
                             criterion=criterion)


def _signed(ctx: Context, expected: DecisionStatement, signing: Signing, now: datetime) -> tuple[DecisionStatement,
                                                                                                 str, str]:
    """(statement, signature, key fingerprint) once the signature verifies for the actor; refused otherwise."""
    signers = _signers(ctx)  # before any passphrase prompt: no point signing what cannot be checked
    if signing.key is not None:
        if signing.payload is not None or signing.signature is not None:
            raise UsageError("pass either --sign-with KEY or --payload FILE --signature FILE.sig, not both")
        statement, signature = expected, sign(expected.payload(), signing.key, environ=ctx.environ)
    else:
        if signing.payload is None or signing.signature is None:
            raise UsageError("a signature made offline needs both --payload FILE (what --print-payload wrote) and "
                             "--signature FILE.sig (what ssh-keygen -Y sign made of it)")
        given = read_payload(signing.payload)
        wrong = expected.differences(given)
        if wrong:
            # A statement for another release, gate, candidate, record or person: a replay, or a stale one.
            raise SignatureRefused("the signed statement is not this decision: " + "; ".join(wrong)
                                   + "; nothing recorded")
        check_time(given.at, now)
        statement = dataclasses.replace(expected, at=given.at)
        signature = read_signature(signing.signature)
    verified = verify(statement.payload(), signature, allowed_signers=signers, principal=statement.actor,
                      at=statement.at, environ=ctx.environ)
    return statement, signature, verified.key


def _decide(ctx: Context, kind: DecisionKind, spec: GateSpec, version: str, *, comment: str = "",
            criterion: str | None = None, expected_sha: str | None = None,
            report_hash: str | None = None, signing: Signing | None = None, via: Via | None = None,
            record: str | None = None) -> Recorded:
    from release.notify import attach
    from release.workflow.snapshots import after_write, current_for_decision

    attach(ctx)  # the decision's outbox rows are written in its own transaction
    actor = ctx.require_actor()
    # The web passes the candidate and record it showed; a caller that does not say is the web exactly then.
    source: Via = via or ("web" if expected_sha is not None else "cli")
    signing = signing or Signing()
    if source == "web" and signing.given:
        raise UsageError("a web decision is authenticated by its session, not signed")
    _, candidate, facts = _target(ctx, version)
    if expected_sha is not None and expected_sha != candidate.sha:
        # The web form names the candidate the member read; a newer rc means they did not read this one.
        raise DecisionInvalid(f"candidate {expected_sha[:12]} is no longer the newest ({candidate.tag} is); "
                              "nothing recorded")
    now = ctx.now()
    # The same rule function the web UI calls; the ledger checks it again inside its write transaction.
    check_decision(kind, spec, actor, facts, ctx.ledger.decisions_for(facts.version, facts.candidate_sha), now,
                   criterion=criterion, comment=comment)
    at, signature, signed_with = now, None, None
    required = source == "cli" and ctx.config.gate(spec.name).require_signature
    if required and not signing.given:
        raise SignatureRefused(f"gate {spec.name} requires a signed decision from the CLI: pass --sign-with KEY (or "
                               "set RELEASE_SIGNING_KEY), or --payload FILE --signature FILE.sig made offline "
                               "(docs/signing.md); nothing recorded")
    pinned = current_for_decision(ctx, facts.version, record) if record is not None else None  # reads only
    if signing.given:
        statement, signature, signed_with = _signed(
            ctx, _statement(ctx, kind, spec, facts, actor, comment, criterion, now), signing, now)
        at, report_hash = statement.at, statement.record_hash
    elif source == "cli":
        # The board approves a specific record: the pinned version, or the current one (stored now if the
        # evidence changed since the last). A signed statement names the record by its content hash instead.
        report_hash = pinned or current_for_decision(ctx, facts.version, None)
    decision = Decision(kind=kind, gate=spec.name, actor=actor, role=spec.role, candidate_sha=candidate.sha,
                        comment=comment, at=at, report_hash=report_hash, criterion=criterion, signature=signature)
    ctx.ledger.record_decision(decision, spec=spec, facts=facts, now=now, via=source)
    after_write(ctx, facts.version, "decision", deliver=source != "web")  # a new record version, with it in
    authenticated = "ssh-signature" if signature else ("web-session" if source == "web" else "none")
    detail: dict[str, Any] = {"comment": comment, "criterion": criterion, "at": iso_utc(at),
                              "authenticated": authenticated, "report_hash": report_hash}
    if signed_with:
        detail["signed_with"] = signed_with
    return Recorded(facts.version, candidate.tag, candidate.sha, spec.name, kind.value, actor, detail)


def statement(ctx: Context, kind: DecisionKind, spec: GateSpec, version: str, *, comment: str = "",
              criterion: str | None = None) -> DecisionStatement:
    """What `--print-payload` writes: the statement to sign offline, after the same checks a decision gets.

    Nothing is recorded. The time in it is now; it must be recorded within release.signing.SIGNATURE_WINDOW.
    """
    actor = ctx.require_actor()
    _, _candidate, facts = _target(ctx, version)
    now = ctx.now()
    check_decision(kind, spec, actor, facts, ctx.ledger.decisions_for(facts.version, facts.candidate_sha), now,
                   criterion=criterion, comment=comment)
    return _statement(ctx, kind, spec, facts, actor, comment, criterion, now)


def sign_off(ctx: Context, gate: str, version: str, *, comment: str = "", expected_sha: str | None = None,
             report_hash: str | None = None, signing: Signing | None = None, via: Via | None = None) -> Recorded:
    """Record a sign-off on a signoff gate by the acting person (the web passes the sha and report it showed)."""
    return _decide(ctx, DecisionKind.SIGNOFF, _gate(ctx, gate), version, comment=comment,
                   expected_sha=expected_sha, report_hash=report_hash, signing=signing, via=via)


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
            comment: str = "", expected_sha: str | None = None, report_hash: str | None = None,
            signing: Signing | None = None, via: Via | None = None, record: str | None = None) -> Recorded:
    """Record an approval (or, with reject, a rejection) on an approval gate (web: with the sha and report seen).

    record pins the change record version (its hash) the CLI decision is made on; refused once superseded.
    """
    kind = DecisionKind.REJECTION if reject else DecisionKind.APPROVAL
    return _decide(ctx, kind, approval_gate(ctx, gate), version, comment=comment, expected_sha=expected_sha,
                   report_hash=report_hash, signing=signing, via=via, record=record)


def criteria_gate(ctx: Context, criterion: str, gate: str | None = None) -> GateSpec:
    """The criteria gate that lists criterion (or the named one); an unknown criterion is an input error."""
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
    return gate_spec(owners[0])


def accept(ctx: Context, version: str, criterion: str, *, comment: str = "", gate: str | None = None,
           signing: Signing | None = None, via: Via | None = None) -> Recorded:
    """Record the acceptance of one criterion; an unknown criterion is an input error."""
    return _decide(ctx, DecisionKind.ACCEPTANCE, criteria_gate(ctx, criterion, gate), version, comment=comment,
                   criterion=criterion, signing=signing, via=via)


def parse_expiry(text: str) -> datetime:
    """'YYYY-MM-DD' -> the end of that day, UTC (a waiver is valid through the day it names)."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"invalid expiry {text!r}: expected a date YYYY-MM-DD") from None
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=UTC)


def waive(ctx: Context, gate: str, version: str, *, reason: str, expires: str) -> Recorded:
    """Record a time-limited waiver of a gate for the current candidate (checked by check_waiver)."""
    from release.notify import attach
    from release.workflow.snapshots import after_write

    attach(ctx)
    actor = ctx.require_actor()
    expires_at = parse_expiry(expires)
    spec = _gate(ctx, gate)
    _, candidate, facts = _target(ctx, version)
    now = ctx.now()
    waiver = Waiver(gate=spec.name, actor=actor, reason=reason, expires_at=expires_at, created_at=now,
                    candidate_sha=candidate.sha)
    ctx.ledger.record_waiver(waiver, spec=spec, facts=facts, now=now)
    after_write(ctx, facts.version, "waiver")
    return Recorded(facts.version, candidate.tag, candidate.sha, spec.name, "waiver", actor,
                    {"reason": reason, "expires_at": iso_utc(expires_at), "at": iso_utc(now)})
