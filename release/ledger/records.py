"""Plain records the ledger returns besides the gate domain types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ReleaseState(StrEnum):
    """Where a release stands in its lifecycle."""

    PREPARED = "PREPARED"
    PROMOTING = "PROMOTING"
    PROMOTED = "PROMOTED"
    FAILED_AFTER_PROMOTE = "FAILED_AFTER_PROMOTE"
    ROLLED_BACK = "ROLLED_BACK"


class StepStatus(StrEnum):
    """Status of one promotion step; only DONE steps are skipped on resume."""

    STARTED = "started"
    DONE = "done"
    FAILED = "failed"
    UNDONE = "undone"


@dataclass(frozen=True)
class ReleaseRecord:
    """A release as recorded in the ledger."""

    version: str
    previous_version: str | None
    preparer: str
    created_at: datetime
    state: ReleaseState
    promotion_owner: str | None = None
    promotion_started_at: datetime | None = None


@dataclass(frozen=True)
class CandidateRecord:
    """A release candidate: one rc tag on one commit."""

    id: int
    version: str
    rc: int
    tag: str
    sha: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class PromotionStep:
    """One recorded step of a promotion, so a failed promotion can resume or roll back."""

    step: str
    status: StepStatus
    detail: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True)
class AuditEvent:
    """One link of the append-only audit chain."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditReport:
    """The result of verifying the audit chain and every stored artifact."""

    ok: bool
    first_broken: str | None
    checked_events: int
    checked_artifacts: int
    head: str
    problems: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class WebUser:
    """A person who may sign in to the web UI (the password hash is never audited or logged)."""

    email: str
    role: str
    password_hash: str
    disabled: bool
    created_at: datetime
