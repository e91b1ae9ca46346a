"""SQLAlchemy ORM tables of the ledger; Alembic migrations create them, never create_all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and store UTC (naive on SQLite, aware elsewhere)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every timestamp must carry a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)


class ReleaseRow(Base):
    """A release version and its lifecycle state."""

    __tablename__ = "releases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    previous_version: Mapped[str | None] = mapped_column(String(64))
    preparer: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(32))
    promotion_owner: Mapped[str | None] = mapped_column(String(320))
    promotion_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CandidateRow(Base):
    """A release candidate: an rc tag on a commit."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("release_id", "rc"), UniqueConstraint("release_id", "sha"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="RESTRICT"), index=True)
    rc: Mapped[int] = mapped_column(Integer)
    tag: Mapped[str] = mapped_column(String(128))
    sha: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(320))


class GateRunRow(Base):
    """One run of an automated gate, with the binding its evidence is valid for."""

    __tablename__ = "gate_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="RESTRICT"), index=True)
    gate: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(32))
    commit_sha: Mapped[str] = mapped_column(String(64))
    config_hash: Mapped[str] = mapped_column(String(64))
    target_url: Mapped[str] = mapped_column(String(1024))
    target_version: Mapped[str] = mapped_column(String(128))
    tool_version: Mapped[str] = mapped_column(String(128))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ArtifactRow(Base):
    """An evidence file of a gate run, by path relative to the evidence root and sha256."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("gate_run_id", "relpath"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gate_run_id: Mapped[int] = mapped_column(ForeignKey("gate_runs.id", ondelete="RESTRICT"), index=True)
    relpath: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(64))


class DecisionRow(Base):
    """A sign-off, approval, rejection or acceptance on one candidate."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="RESTRICT"), index=True)
    gate: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(320))
    role: Mapped[str | None] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    report_hash: Mapped[str | None] = mapped_column(String(64))
    criterion: Mapped[str | None] = mapped_column(String(128))
    #: An SSH signature (ssh-keygen -Y sign) over the decision's canonical bytes, for CLI decisions that need one.
    signature: Mapped[str | None] = mapped_column(Text)
    #: Where it was made: "cli" or "web" (NULL for decisions recorded before migration 0003).
    via: Mapped[str | None] = mapped_column(String(16))


class WaiverRow(Base):
    """A time-limited waiver of one gate for one candidate."""

    __tablename__ = "waivers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="RESTRICT"), index=True)
    gate: Mapped[str] = mapped_column(String(128))
    actor: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PromotionStepRow(Base):
    """One step of a release's promotion, recorded so a failure can resume or roll back."""

    __tablename__ = "promotion_steps"
    __table_args__ = (UniqueConstraint("release_id", "step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="RESTRICT"), index=True)
    step: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEventRow(Base):
    """A link of the append-only audit chain; hash covers seq, at, actor, action, subject and payload."""

    __tablename__ = "audit_events"
    __table_args__ = {"sqlite_autoincrement": True}
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(512))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class WebUserRow(Base):
    """A web UI account."""

    __tablename__ = "web_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(512))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecordVersionRow(Base):
    """One rendered version of a release's change record: the exact bytes a board member read, by hash.

    Written once on prepare, on each decision and when the evidence under it changed; never changed after.
    """

    __tablename__ = "record_versions"
    __table_args__ = (UniqueConstraint("release_id", "n"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="RESTRICT"), index=True)
    n: Mapped[int] = mapped_column(Integer)
    #: sha256 of the canonical JSON of the stored record data: what a decision names as the record it was made on.
    record_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The record's content hash (release.report.sections.content_hash): the same across decisions.
    content_hash: Mapped[str] = mapped_column(String(64))
    #: A hash of everything the record shows but its render time, to tell whether a new version is due.
    fingerprint: Mapped[str] = mapped_column(String(64))
    candidate_sha: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: {"data": the record data the html, md and pdf are rendered from}; a JSON column, so the audit image holds
    #: its digest, not the whole record.
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class NotifyOutboxRow(Base):
    """One webhook delivery of one event, written in the transaction of the event (a transactional outbox).

    Not bound to the audit chain: it decides nothing, and its status changes as the deliverer works.
    """

    __tablename__ = "notify_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(64), unique=True)
    webhook: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(512))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    audit_seq: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
