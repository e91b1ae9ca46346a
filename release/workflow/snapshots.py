"""Change record versions: each prepare and each decision renders the record and stores it, by hash, in the ledger.

The board approves a specific record (as a GitHub review approves a specific commit): a decision names the hash of
the stored version it was made on, and a version stays readable after a newer one supersedes it. A version is
only written when what the record shows changed (its fingerprint: everything but the render time and audit head),
so re-reading the page writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from release.errors import DecisionRefused, InputError
from release.gates.canonical import canonical_hash
from release.ledger.records import RecordVersion
from release.workflow.context import Context

#: Keys of the record data that change on every render, not with what the record says.
RENDER_KEYS = frozenset({"generated_at", "audit_head", "audit_head_seq", "audit_witness", "charts", "evaluated"})


class RecordSuperseded(DecisionRefused):
    """The record version a decision names is no longer the current one; nothing was recorded (exit 1)."""


def fingerprint(data: Mapping[str, Any]) -> str:
    """A hash of what the record shows, leaving out what changes on every render (pure)."""
    return canonical_hash({k: v for k, v in data.items() if k not in RENDER_KEYS})


def _live(ctx: Context, version: str) -> dict[str, Any]:
    from release.report.record import change_record_data

    return change_record_data(ctx, version)


def snapshot(ctx: Context, version: str, reason: str, data: Mapping[str, Any] | None = None) -> RecordVersion:
    """Store the record as it stands as the next version (or return the newest, if it says the same).

    What is stored is the record's data: html, md and pdf are pure renderings of it (release.report.record), so a
    version is as cheap to store as to hash, and any format of an old version can be rendered again.
    """
    from release.notify import attach

    attach(ctx)  # a version stored on prepare announces candidate.ready through the outbox
    record = dict(data) if data is not None else _live(ctx, version)
    newest = ctx.ledger.record_version(record["version"])
    if newest is not None and newest.fingerprint == fingerprint(record):
        return newest  # the record says what it said: reading it again writes (and renders) nothing
    stored, _ = ctx.ledger.add_record_version(
        record["version"], data=record, content_hash=str(record["content_hash"]),
        fingerprint=fingerprint(record), candidate_sha=(record.get("candidate") or {}).get("sha"),
        verdict=str(record["verdict"]), reason=reason, actor=ctx.actor or "release", now=ctx.now())
    return stored


def current_for_decision(ctx: Context, version: str, pinned: str | None) -> str:
    """The record hash a decision is made on: the pinned one if it is still current, else the current one.

    Without a pin the record is brought up to date first (a new version when the evidence changed since the last
    one). A pin that names no version of this release is an input error (exit 2); one that is superseded, or that
    no longer matches what the record would show now, is refused (exit 1) and nothing is written.
    """
    from release.workflow.status import normalise_version

    name = normalise_version(ctx, version)
    if pinned is None:
        return snapshot(ctx, name, "decision-basis").record_hash
    wanted = pinned.strip().lower()
    found = ctx.ledger.record_version(name, record_hash=wanted, body=False)
    if found is None:
        raise InputError(f"no change record {wanted[:16]} for release {name}; `release report {name}` or the web "
                         "page shows the current record's hash")
    newest = ctx.ledger.record_version(name, body=False)
    assert newest is not None
    if newest.n != found.n:
        raise RecordSuperseded(f"change record {found.n} ({wanted[:12]}) of release {name} is superseded by record "
                               f"{newest.n} ({newest.record_hash[:12]}); read it and decide again; nothing recorded")
    if fingerprint(_live(ctx, name)) != found.fingerprint:
        raise RecordSuperseded(f"the evidence of release {name} changed since change record {found.n} "
                               f"({wanted[:12]}) was rendered; read the current record and decide again; "
                               "nothing recorded")
    return found.record_hash


def after_write(ctx: Context, version: str, reason: str, *, deliver: bool = True) -> RecordVersion | None:
    """After a decision or waiver: store the record it leads to and send notifications (never fails the write).

    The web passes deliver=False and sends from a background thread, so a slow receiver never holds a page.
    """
    from release.errors import ReleaseError
    from release.notify import deliver_now

    stored = None
    try:
        stored = snapshot(ctx, version, reason)
    except ReleaseError:
        stored = None  # the decision is recorded; the next read renders the version this one would have been
    if deliver:
        deliver_now(ctx)
    return stored
