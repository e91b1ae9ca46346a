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


#: How a witness line starts in a tag annotation, a change record or a bundle manifest.
WITNESS_PREFIX = "crvs-release-audit-head:"


@dataclass(frozen=True)
class AuditCheckpoint:
    """A published audit head: the chain had event `seq` with hash `hash` (seq None: the hash alone is known).

    Modelled on Sigstore Rekor's checkpoints: once a head is written where the ledger cannot rewrite it, the chain
    must still contain that event at that seq, so deleting the newest events is caught.
    """

    seq: int | None
    hash: str
    #: Where the checkpoint was read (a tag name, a file), for messages; not part of its identity.
    source: str = field(default="", compare=False)

    def witness_line(self) -> str:
        """The line written into tag annotations and change records: `crvs-release-audit-head: <seq> <hash>`."""
        return f"{WITNESS_PREFIX} {self.seq if self.seq is not None else '?'} {self.hash}"

    def __str__(self) -> str:
        return f"seq {self.seq} {self.hash[:16]}" if self.seq is not None else f"hash {self.hash[:16]}"


@dataclass(frozen=True)
class RowProblem:
    """A ledger row that disagrees with the audit chain: field None means the whole row (missing or unrecorded)."""

    table: str
    row_id: Any
    field: str | None
    seq: int | None
    message: str

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for `audit verify --json`."""
        return {"table": self.table, "row_id": self.row_id, "field": self.field, "seq": self.seq,
                "message": self.message}


@dataclass(frozen=True)
class AuditReport:
    """The result of verifying the audit chain, every deciding row against it, stored artifacts and witnesses."""

    ok: bool
    first_broken: str | None
    checked_events: int
    checked_artifacts: int
    head: str
    problems: tuple[str, ...] = field(default=())
    head_seq: int = 0
    checked_rows: int = 0
    rows: tuple[RowProblem, ...] = field(default=())
    witnesses: tuple[AuditCheckpoint, ...] = field(default=())

    @property
    def checkpoint(self) -> AuditCheckpoint:
        """The head this report verified, as a checkpoint to publish."""
        return AuditCheckpoint(self.head_seq, self.head)


@dataclass(frozen=True)
class WebUser:
    """A person who may sign in to the web UI (the password hash is never audited or logged)."""

    email: str
    role: str
    password_hash: str
    disabled: bool
    created_at: datetime


@dataclass(frozen=True)
class RecordVersion:
    """One stored version of a release's change record (n counts from 1; the newest one is current)."""

    version: str
    n: int
    record_hash: str
    content_hash: str
    fingerprint: str
    candidate_sha: str | None
    verdict: str
    reason: str
    created_by: str
    created_at: datetime
    #: {"data": the record data it renders from} (empty in listings, which leave it out).
    body: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


class DeliveryStatus(StrEnum):
    """Where one webhook delivery stands: pending until delivered, or failed after its last attempt."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class OutboxDelivery:
    """One webhook delivery of one event, as the outbox holds it."""

    id: int
    delivery_id: str
    webhook: str
    event: str
    subject: str
    payload: Mapping[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    audit_seq: int | None = None
