"""The Ledger service: every write is one transaction that also appends its audit event."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from release.errors import (
    DecisionInvalid,
    InputError,
    LedgerConflict,
    LedgerTampered,
    LedgerUnavailable,
    PromotionSuperseded,
    UnknownCandidate,
    UnknownGateRun,
    UnknownRelease,
)
from release.gates.canonical import ZERO_HASH, canonical_json
from release.gates.decisions import check_decision, check_waiver
from release.gates.model import (
    FINISHED_RUN_STATES,
    ArtifactRef,
    Decision,
    DecisionKind,
    EvidenceBinding,
    GateRun,
    GateSpec,
    GateState,
    ReleaseFacts,
    Waiver,
)
from release.ledger import audit as chain
from release.ledger import integrity
from release.ledger.artifacts import ArtifactStore
from release.ledger.database import lock_for_write, make_engine, migrate
from release.ledger.location import find_repo_root, resolve_evidence_root, resolve_ledger_url
from release.ledger.records import (
    AuditCheckpoint,
    AuditEvent,
    AuditReport,
    CandidateRecord,
    DeliveryStatus,
    OutboxDelivery,
    PromotionStep,
    RecordVersion,
    ReleaseRecord,
    ReleaseState,
    StepStatus,
    WebUser,
)
from release.ledger.schema import (
    ArtifactRow,
    AuditEventRow,
    CandidateRow,
    DecisionRow,
    GateRunRow,
    NotifyOutboxRow,
    PromotionStepRow,
    RecordVersionRow,
    ReleaseRow,
    WaiverRow,
    WebUserRow,
)

#: Payload key of the row images that bind each written row to its audit event (see release/ledger/integrity.py).
ROWS = integrity.ROWS_KEY
#: Release states a new promotion may be claimed from.
CLAIMABLE = (ReleaseState.PREPARED.value,)


def _check_candidate(rc: int, sha: str) -> None:
    """A candidate needs an rc number from 1 and a commit sha."""
    if rc < 1 or not sha.strip():
        raise InputError(f"a candidate needs rc >= 1 and a commit sha (got rc={rc}, sha={sha!r})")


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise InputError("timestamps must carry a timezone")
    return now


def _release(row: ReleaseRow) -> ReleaseRecord:
    return ReleaseRecord(row.version, row.previous_version, row.preparer, row.created_at, ReleaseState(row.state),
                         row.promotion_owner, row.promotion_started_at)


def _candidate(row: CandidateRow, version: str) -> CandidateRecord:
    return CandidateRecord(row.id, version, row.rc, row.tag, row.sha, row.created_at, row.created_by)


def _decision(row: DecisionRow, sha: str) -> Decision:
    return Decision(DecisionKind(row.kind), row.gate, row.actor, row.role, sha, row.comment, row.at,
                    row.report_hash, row.criterion, signature=row.signature)


def _waiver(row: WaiverRow, sha: str) -> Waiver:
    return Waiver(row.gate, row.actor, row.reason, row.expires_at, row.created_at, sha)


class Ledger:
    """The release ledger: releases, candidates, gate runs, evidence, decisions, waivers and the audit chain."""

    #: (webhook name, events it subscribes to), set by release.notify.attach from [[notify.webhook]]: each
    #: audit event that announces one of those events gets an outbox row per webhook, in its own transaction.
    notify_routes: tuple[tuple[str, frozenset[str]], ...] = ()

    def __init__(self, engine: Engine, evidence_root: Path) -> None:
        """Wrap an already migrated engine; use Ledger.open instead."""
        self.engine = engine
        self.artifacts = ArtifactStore(evidence_root)

    # ----- lifecycle ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None, repo_root: Path | None = None, *, create: bool = True) -> Ledger:
        """Open (and migrate to head) the ledger at url, RELEASE_LEDGER_URL or <repo>/.release/ledger.db.

        With create=False a missing ledger raises LedgerNotFound instead of creating one.
        """
        root = repo_root or find_repo_root()
        engine = make_engine(resolve_ledger_url(url, root), create=create)
        try:
            migrate(engine, create=create)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, resolve_evidence_root(root))

    @property
    def evidence_root(self) -> Path:
        """Folder where evidence files are stored."""
        return self.artifacts.root

    def close(self) -> None:
        """Release every database connection."""
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        """Use the ledger as a context manager that closes it."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the ledger."""
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            except OperationalError as exc:
                raise LedgerUnavailable(f"ledger read failed: {str(exc).splitlines()[0]}") from exc

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """One serialised transaction: commit on success, roll back everything on any error."""
        bind = self.engine.execution_options(ledger_write=True)
        with Session(bind, expire_on_commit=False) as session:
            try:
                with session.begin():
                    lock_for_write(session.connection())
                    yield session
            except IntegrityError as exc:
                raise LedgerConflict(f"ledger write refused by a constraint: {str(exc.orig).splitlines()[0]}") from exc
            except OperationalError as exc:
                raise LedgerUnavailable(f"ledger write failed: {str(exc).splitlines()[0]}") from exc

    # ----- audit --------------------------------------------------------------------------------------

    def _append(self, session: Session, actor: str, action: str, subject: str, payload: Mapping[str, Any],
                at: datetime) -> AuditEventRow:
        """Append one audit event inside the caller's transaction (which holds the write lock)."""
        clean = chain.scrub(payload)
        text = canonical_json(clean)
        head = session.execute(select(AuditEventRow.hash).order_by(AuditEventRow.seq.desc()).limit(1)).scalar()
        prev = head or ZERO_HASH
        row = AuditEventRow(at=at, actor=actor, action=action, subject=subject, payload=text, prev_hash=prev,
                            hash="")
        session.add(row)
        session.flush()  # assigns seq, which the hash covers
        row.hash = chain.event_hash(prev, row.seq, at, actor, action, subject, json.loads(text))
        session.flush()
        self._enqueue(session, row, json.loads(text))  # the outbox row commits (or rolls back) with its event
        return row

    def append_audit(self, actor: str, action: str, subject: str, payload: Mapping[str, Any],
                     *, now: datetime | None = None) -> AuditEvent:
        """Append one audit event on its own (secret-looking payload keys are dropped)."""
        with self._write() as s:
            row = self._append(s, actor, action, subject, payload, _now(now))
            return self._event(row)

    @staticmethod
    def _event(row: AuditEventRow) -> AuditEvent:
        return AuditEvent(row.seq, row.at, row.actor, row.action, row.subject, json.loads(row.payload),
                          row.prev_hash, row.hash)

    def audit_events(self, *, since_seq: int = 0) -> list[AuditEvent]:
        """Return audit events after since_seq, in order."""
        with self._read() as s:
            rows = s.scalars(select(AuditEventRow).where(AuditEventRow.seq > since_seq)
                             .order_by(AuditEventRow.seq)).all()
            return [self._event(r) for r in rows]

    def audit_head(self) -> str:
        """Return the hash of the newest audit event (64 zeros for an empty chain)."""
        with self._read() as s:
            head = s.execute(select(AuditEventRow.hash).order_by(AuditEventRow.seq.desc()).limit(1)).scalar()
            return head or ZERO_HASH

    def audit_checkpoint(self) -> AuditCheckpoint:
        """The newest audit event as a checkpoint (seq 0 and 64 zeros for an empty chain), to publish as a witness."""
        with self._read() as s:
            row = s.execute(select(AuditEventRow.seq, AuditEventRow.hash).order_by(AuditEventRow.seq.desc())
                            .limit(1)).first()
            return AuditCheckpoint(row.seq, row.hash) if row is not None else AuditCheckpoint(0, ZERO_HASH)

    @contextmanager
    def _snapshot(self) -> Iterator[Session]:
        """A read transaction that sees one consistent state of every table (events and rows together).

        SQLite in WAL mode gives each read transaction a snapshot; PostgreSQL needs REPEATABLE READ for it, else
        a write committed between reading the events and reading the rows would look like tampering.
        """
        bind = self.engine
        if self.engine.dialect.name == "postgresql":
            bind = self.engine.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind, expire_on_commit=False) as session:
            try:
                with session.begin():
                    yield session
            except OperationalError as exc:
                raise LedgerUnavailable(f"ledger read failed: {str(exc).splitlines()[0]}") from exc

    def verify_audit(self, evidence_root: Path | None = None, *, against: Sequence[AuditCheckpoint] = (),
                     artifacts: bool = True) -> AuditReport:
        """Verify the ledger in one pass and name every problem, the first one first.

        Checks the hash chain; every witness in `against` (the chain still holds that event at that seq with that
        hash); every row of every deciding table against the images its audit events recorded (integrity.py);
        and, with artifacts, every stored evidence file's sha256 against its row and its gate_run.finished record.
        """
        root = Path(evidence_root) if evidence_root is not None else self.evidence_root
        with self._snapshot() as s:
            rows = s.execute(select(AuditEventRow.seq, AuditEventRow.at, AuditEventRow.actor, AuditEventRow.action,
                                    AuditEventRow.subject, AuditEventRow.payload, AuditEventRow.prev_hash,
                                    AuditEventRow.hash).order_by(AuditEventRow.seq)).all()
            tables, unreadable = integrity.read_tables(s)
        count, problems, head = chain.verify_chain(tuple(r) for r in rows)
        links = [(r.seq, r.hash) for r in rows]
        for witness in against:
            problem = chain.check_witness(links, witness)
            if problem is not None:
                problems.append(problem)
        payloads: list[tuple[int, Any]] = []
        audited: dict[str, str] = {}
        for r in rows:
            try:
                payload = json.loads(r.payload)
            except (ValueError, TypeError):
                continue  # verify_chain already named the event
            payloads.append((r.seq, payload))
            if r.action == "gate_run.finished" and isinstance(payload, dict):
                for ref in payload.get("artifacts") or []:
                    if isinstance(ref, dict) and "path" in ref and "sha256" in ref:
                        audited[str(ref["path"])] = str(ref["sha256"])
        checked_artifacts = 0
        if artifacts:
            for art in tables.get("artifacts", []):
                relpath, sha256, size = art["relpath"], art["sha256"], art["size"]
                checked_artifacts += 1
                if not (isinstance(relpath, str) and isinstance(sha256, str) and type(size) is int):
                    problems.append(f"artifacts row {art['id']}: malformed (written behind the ledger's back)")
                    continue
                if audited.get(relpath) != sha256:
                    problems.append(f"artifact {relpath}: ledger row does not match the audit record")
                    continue
                problem = chain.verify_artifact(root, relpath, sha256, size)
                if problem is not None:
                    problems.append(problem)
        row_problems = integrity.cross_check(payloads, tables, unreadable)
        problems.extend(p.message for p in row_problems)
        return AuditReport(ok=not problems, first_broken=problems[0] if problems else None, checked_events=count,
                           checked_artifacts=checked_artifacts, head=head, problems=tuple(problems),
                           head_seq=rows[-1].seq if rows else 0,
                           checked_rows=sum(len(v) for v in tables.values()) + len(unreadable),
                           rows=tuple(row_problems), witnesses=tuple(against))

    def require_intact(self, *, against: Sequence[AuditCheckpoint] = ()) -> AuditReport:
        """Verify before deciding: raise LedgerTampered (exit 1) naming the first row or event that disagrees.

        The chain and every deciding row, in one pass; evidence files are re-hashed by `audit verify` only.
        """
        report = self.verify_audit(against=against, artifacts=False)
        if not report.ok:
            more = f" (+{len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
            raise LedgerTampered(f"ledger tampered: {report.first_broken}{more}; nothing was decided. "
                                 "Run `release audit verify` to list every problem")
        return report

    # ----- releases -----------------------------------------------------------------------------------

    def _release_row(self, s: Session, version: str) -> ReleaseRow:
        row = s.scalars(select(ReleaseRow).where(ReleaseRow.version == version)).one_or_none()
        if row is None:
            raise UnknownRelease(f"no release {version} in the ledger")
        return row

    def create_release(self, version: str, *, preparer: str, previous_version: str | None = None,
                       now: datetime | None = None) -> ReleaseRecord:
        """Record a new release in state PREPARED; a duplicate version is LedgerConflict."""
        with self._write() as s:
            return _release(self._insert_release(s, version, preparer, previous_version, _now(now)))

    def create_release_with_candidate(self, version: str, *, preparer: str, previous_version: str | None,
                                      rc: int, tag: str, sha: str,
                                      now: datetime | None = None) -> tuple[ReleaseRecord, CandidateRecord]:
        """Record a new release and its first candidate in ONE transaction: both rows and events, or neither.

        A failure between two separate writes would leave a release without a candidate that no rc tag
        names. A release recorded meanwhile by a concurrent prepare is reused (the candidate is idempotent per
        sha), exactly as when the two are written apart.
        """
        at = _now(now)
        _check_candidate(rc, sha)
        with self._write() as s:
            rel = s.scalars(select(ReleaseRow).where(ReleaseRow.version == version)).first()
            if rel is None:
                rel = self._insert_release(s, version, preparer, previous_version, at)
            return _release(rel), self._insert_candidate(s, rel, version, rc, tag, sha, preparer, at)

    def _insert_release(self, s: Session, version: str, preparer: str, previous_version: str | None,
                        at: datetime) -> ReleaseRow:
        """Insert the release row and its audit event inside the caller's transaction."""
        if s.scalars(select(ReleaseRow.id).where(ReleaseRow.version == version)).first() is not None:
            raise LedgerConflict(f"release {version} already exists in the ledger")
        row = ReleaseRow(version=version, previous_version=previous_version, preparer=preparer, created_at=at,
                         state=ReleaseState.PREPARED.value)
        s.add(row)
        s.flush()
        self._append(s, preparer, "release.created", version,
                     {"version": version, "previous_version": previous_version, "preparer": preparer,
                      ROWS: integrity.images(row)}, at)
        return row

    def get_release(self, version: str) -> ReleaseRecord:
        """Return the release, or raise UnknownRelease."""
        with self._read() as s:
            return _release(self._release_row(s, version))

    def list_releases(self) -> list[ReleaseRecord]:
        """Return every release, oldest first."""
        with self._read() as s:
            return [_release(r) for r in s.scalars(select(ReleaseRow).order_by(ReleaseRow.created_at, ReleaseRow.id))]

    def set_release_state(self, version: str, state: ReleaseState | str, *, actor: str,
                          now: datetime | None = None, detail: Mapping[str, Any] | None = None) -> ReleaseRecord:
        """Move a release to a new lifecycle state (audited with the previous state)."""
        at, new = _now(now), ReleaseState(state)
        with self._write() as s:
            row = self._release_row(s, version)
            previous = row.state
            row.state = new.value
            s.flush()
            self._append(s, actor, "release.state", version,
                         {"from": previous, "to": new.value, "detail": dict(detail or {}),
                          ROWS: integrity.images(row)}, at)
            return _release(row)

    # ----- promotion claim and steps ------------------------------------------------------------------

    def claim_promotion(self, version: str, owner: str, *, resume: bool = False,
                        now: datetime | None = None) -> bool:
        """Compare-and-set the release into PROMOTING for owner; True for exactly one concurrent claimer.

        A PREPARED release with no owner is claimed by the first caller. A release already PROMOTING
        (an owner died mid-way) is re-claimed only by the same owner id, or by anyone with resume=True
        (the explicit `--resume` decision); the takeover is audited with the previous owner.
        """
        at = _now(now)
        with self._write() as s:
            row = self._release_row(s, version)
            previous_owner = row.promotion_owner
            result: CursorResult[Any] = s.execute(  # type: ignore[assignment]
                update(ReleaseRow)
                .where(ReleaseRow.version == version, ReleaseRow.state.in_(CLAIMABLE),
                       ReleaseRow.promotion_owner.is_(None))
                .values(state=ReleaseState.PROMOTING.value, promotion_owner=owner, promotion_started_at=at)
                .execution_options(synchronize_session=False))
            won = result.rowcount == 1
            action = "promotion.claimed"
            if not won:
                takeover = ReleaseRow.promotion_owner == owner
                if resume:
                    takeover = ReleaseRow.promotion_owner.is_not(None)
                result = s.execute(  # type: ignore[assignment]
                    update(ReleaseRow)
                    .where(ReleaseRow.version == version, ReleaseRow.state == ReleaseState.PROMOTING.value, takeover)
                    .values(promotion_owner=owner, promotion_started_at=at)
                    .execution_options(synchronize_session=False))
                won = result.rowcount == 1
                action = "promotion.resumed"
            if won:
                s.refresh(row)  # the compare-and-set bypassed the session: image what the database now holds
                self._append(s, owner, action, version, {"owner": owner, "previous_owner": previous_owner,
                                                         "resume": resume, ROWS: integrity.images(row)}, at)
            return won

    def release_promotion(self, version: str, owner: str, *, now: datetime | None = None) -> bool:
        """Give up owner's claim before anything changed: back to PREPARED with no owner; False if not held."""
        at = _now(now)
        with self._write() as s:
            row = self._release_row(s, version)
            result: CursorResult[Any] = s.execute(  # type: ignore[assignment]
                update(ReleaseRow)
                .where(ReleaseRow.version == version, ReleaseRow.state == ReleaseState.PROMOTING.value,
                       ReleaseRow.promotion_owner == owner)
                .values(state=ReleaseState.PREPARED.value, promotion_owner=None, promotion_started_at=None)
                .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                return False
            s.refresh(row)
            self._append(s, owner, "promotion.released", version, {"owner": owner, ROWS: integrity.images(row)}, at)
            return True

    @staticmethod
    def _check_owner(rel: ReleaseRow, owner: str) -> None:
        """Fence: the caller must still hold the claim (PROMOTING and the same owner), else PromotionSuperseded.

        Checked inside the caller's write transaction, which holds the write lock, so no other process can
        take the claim between this check and the write that follows it (a fencing token, as in a lease).
        """
        if rel.state != ReleaseState.PROMOTING.value or rel.promotion_owner != owner:
            current = rel.promotion_owner or "nobody"
            raise PromotionSuperseded(
                f"release {rel.version}: promotion is no longer held by {owner} (state {rel.state}, current owner "
                f"{current}); this process stops before it acts")

    def assert_promotion_owner(self, version: str, owner: str) -> None:
        """Raise PromotionSuperseded unless version is PROMOTING and owned by owner (checked under the write lock)."""
        with self._write() as s:
            self._check_owner(self._release_row(s, version), owner)

    def record_step(self, version: str, step: str, status: StepStatus | str,
                    detail: Mapping[str, Any] | None = None, *, actor: str = "release",
                    now: datetime | None = None, owner: str | None = None) -> PromotionStep:
        """Record (or update) the status of one promotion step.

        With owner, the same transaction first checks that owner still holds the promotion claim and raises
        PromotionSuperseded (writing nothing) when it does not.
        """
        at, st = _now(now), StepStatus(status)
        body = json.loads(canonical_json(dict(detail or {})))
        with self._write() as s:
            rel = self._release_row(s, version)
            if owner is not None:
                self._check_owner(rel, owner)
            row = s.scalars(select(PromotionStepRow).where(PromotionStepRow.release_id == rel.id,
                                                           PromotionStepRow.step == step)).one_or_none()
            if row is None:
                row = PromotionStepRow(release_id=rel.id, step=step, status=st.value, detail=body, at=at)
                s.add(row)
            else:
                row.status, row.detail, row.at = st.value, body, at
            s.flush()
            self._append(s, actor, "promotion.step", version,
                         {"step": step, "status": st.value, "detail": body, ROWS: integrity.images(row)}, at)
            return PromotionStep(step, st, body, at)

    def steps(self, version: str) -> list[PromotionStep]:
        """Return every recorded promotion step of a release in the order first recorded."""
        with self._read() as s:
            rel = self._release_row(s, version)
            rows = s.scalars(select(PromotionStepRow).where(PromotionStepRow.release_id == rel.id)
                             .order_by(PromotionStepRow.id)).all()
            return [PromotionStep(r.step, StepStatus(r.status), r.detail, r.at) for r in rows]

    def completed_steps(self, version: str) -> list[str]:
        """Return the names of the steps marked done, in order."""
        return [p.step for p in self.steps(version) if p.status is StepStatus.DONE]

    # ----- candidates ---------------------------------------------------------------------------------

    def add_candidate(self, version: str, *, rc: int, tag: str, sha: str, created_by: str,
                      now: datetime | None = None) -> CandidateRecord:
        """Record a candidate; the same sha again returns the existing one, a taken rc is LedgerConflict."""
        at = _now(now)
        _check_candidate(rc, sha)
        with self._write() as s:
            return self._insert_candidate(s, self._release_row(s, version), version, rc, tag, sha, created_by, at)

    def _insert_candidate(self, s: Session, rel: ReleaseRow, version: str, rc: int, tag: str, sha: str,
                          created_by: str, at: datetime) -> CandidateRecord:
        """Insert a candidate and its audit event in the caller's transaction; the same sha returns the old one."""
        same = s.scalars(select(CandidateRow).where(CandidateRow.release_id == rel.id,
                                                    CandidateRow.sha == sha)).one_or_none()
        if same is not None:
            return _candidate(same, version)
        row = CandidateRow(release_id=rel.id, rc=rc, tag=tag, sha=sha, created_at=at, created_by=created_by)
        s.add(row)
        s.flush()
        self._append(s, created_by, "candidate.added", f"{version}/rc.{rc}",
                     {"version": version, "rc": rc, "tag": tag, "sha": sha, ROWS: integrity.images(row)}, at)
        return _candidate(row, version)

    def candidates(self, version: str) -> list[CandidateRecord]:
        """Return the release's candidates, lowest rc first."""
        with self._read() as s:
            rel = self._release_row(s, version)
            rows = s.scalars(select(CandidateRow).where(CandidateRow.release_id == rel.id)
                             .order_by(CandidateRow.rc)).all()
            return [_candidate(r, version) for r in rows]

    def latest_candidate(self, version: str) -> CandidateRecord | None:
        """Return the candidate with the highest rc, or None when there is none yet."""
        found = self.candidates(version)
        return found[-1] if found else None

    def get_candidate(self, version: str, *, rc: int | None = None, sha: str | None = None) -> CandidateRecord:
        """Return the candidate with this rc or sha, or raise UnknownCandidate."""
        for cand in self.candidates(version):
            if (rc is not None and cand.rc == rc) or (sha is not None and cand.sha == sha):
                return cand
        raise UnknownCandidate(f"release {version} has no candidate {'rc.' + str(rc) if rc is not None else sha}")

    def _candidate_row(self, s: Session, version: str, sha: str) -> CandidateRow:
        rel = self._release_row(s, version)
        row = s.scalars(select(CandidateRow).where(CandidateRow.release_id == rel.id,
                                                   CandidateRow.sha == sha)).one_or_none()
        if row is None:
            raise UnknownCandidate(f"release {version} has no candidate on commit {sha[:12]}")
        return row

    # ----- gate runs ----------------------------------------------------------------------------------

    def _run(self, s: Session, row: GateRunRow) -> GateRun:
        cand = s.get(CandidateRow, row.candidate_id)
        assert cand is not None
        arts = s.scalars(select(ArtifactRow).where(ArtifactRow.gate_run_id == row.id).order_by(ArtifactRow.id)).all()
        binding = EvidenceBinding(row.commit_sha, row.config_hash, row.target_url, row.target_version,
                                  row.tool_version)
        return GateRun(row.id, row.gate, cand.sha, GateState(row.state), binding, row.started_at, row.finished_at,
                       dict(row.summary or {}), tuple(ArtifactRef(a.relpath, a.sha256, a.size, a.kind) for a in arts))

    def start_gate_run(self, candidate: CandidateRecord, gate: str, binding: EvidenceBinding, *,
                       actor: str = "release", now: datetime | None = None) -> GateRun:
        """Record that a gate started running on a candidate (state RUNNING) with its evidence binding."""
        at = _now(now)
        with self._write() as s:
            if s.get(CandidateRow, candidate.id) is None:
                raise UnknownCandidate(f"no candidate with id {candidate.id}")
            row = GateRunRow(candidate_id=candidate.id, gate=gate, state=GateState.RUNNING.value,
                             commit_sha=binding.commit_sha, config_hash=binding.config_hash,
                             target_url=binding.target_url, target_version=binding.target_version,
                             tool_version=binding.tool_version, summary={}, started_at=at)
            s.add(row)
            s.flush()
            self._append(s, actor, "gate_run.started", f"{candidate.version}/rc.{candidate.rc}/{gate}",
                         {"run_id": row.id, "gate": gate, "binding": binding, ROWS: integrity.images(row)}, at)
            return self._run(s, row)

    def store_artifact(self, run_id: int, src_path: Path, kind: str) -> ArtifactRef:
        """Copy an evidence file of a run into the evidence store; pass the ref to finish_gate_run."""
        with self._read() as s:
            row = s.get(GateRunRow, run_id)
            if row is None:
                raise UnknownGateRun(f"no gate run {run_id}")
            cand = s.get(CandidateRow, row.candidate_id)
            assert cand is not None
            rel = s.get(ReleaseRow, cand.release_id)
            assert rel is not None
            version, rc, gate = rel.version, cand.rc, row.gate
        return self.artifacts.store(Path(src_path), version=version, rc=rc, gate=gate, run_id=run_id, kind=kind)

    def finish_gate_run(self, run_id: int, state: GateState | str, summary: Mapping[str, Any],
                        artifacts: Sequence[ArtifactRef] = (), *, binding: EvidenceBinding | None = None,
                        actor: str = "release", now: datetime | None = None) -> GateRun:
        """Record a run's final state, summary and artifacts (and, if given, the binding observed at the end)."""
        at, final = _now(now), GateState(state)
        if final not in FINISHED_RUN_STATES:
            raise InputError(f"a gate run cannot finish as {final.value}; expected one of "
                             f"{', '.join(sorted(s.value for s in FINISHED_RUN_STATES))}")
        body = json.loads(canonical_json(dict(summary)))
        with self._write() as s:
            row = s.get(GateRunRow, run_id)
            if row is None:
                raise UnknownGateRun(f"no gate run {run_id}")
            if row.finished_at is not None:
                raise LedgerConflict(f"gate run {run_id} already finished as {row.state}")
            row.state, row.summary, row.finished_at = final.value, body, at
            if binding is not None:
                row.commit_sha, row.config_hash = binding.commit_sha, binding.config_hash
                row.target_url, row.target_version = binding.target_url, binding.target_version
                row.tool_version = binding.tool_version
            added = [ArtifactRow(gate_run_id=run_id, relpath=ref.path, sha256=ref.sha256, size=ref.size, kind=ref.kind)
                     for ref in artifacts]
            s.add_all(added)
            s.flush()
            run = self._run(s, row)
            self._append(s, actor, "gate_run.finished", f"run/{run_id}/{row.gate}",
                         {"run_id": run_id, "gate": row.gate, "state": final.value, "binding": run.binding,
                          "summary_hash": chain.sha256_hex(canonical_json(body)),
                          "artifacts": [{"path": a.path, "sha256": a.sha256, "size": a.size, "kind": a.kind}
                                        for a in artifacts], ROWS: integrity.images(row, *added)}, at)
            return run

    def get_gate_run(self, run_id: int) -> GateRun:
        """Return one gate run, or raise UnknownGateRun."""
        with self._read() as s:
            row = s.get(GateRunRow, run_id)
            if row is None:
                raise UnknownGateRun(f"no gate run {run_id}")
            return self._run(s, row)

    def runs_for(self, candidate: CandidateRecord, gate: str | None = None) -> list[GateRun]:
        """Return a candidate's gate runs (optionally of one gate), oldest first."""
        with self._read() as s:
            query = select(GateRunRow).where(GateRunRow.candidate_id == candidate.id)
            if gate is not None:
                query = query.where(GateRunRow.gate == gate)
            return [self._run(s, r) for r in s.scalars(query.order_by(GateRunRow.started_at, GateRunRow.id))]

    def runs_for_release(self, version: str) -> list[GateRun]:
        """Return the gate runs of every candidate of a release, oldest first (evaluate shows older ones STALE)."""
        with self._read() as s:
            rel = self._release_row(s, version)
            rows = s.scalars(select(GateRunRow).join(CandidateRow, CandidateRow.id == GateRunRow.candidate_id)
                             .where(CandidateRow.release_id == rel.id)
                             .order_by(GateRunRow.started_at, GateRunRow.id)).all()
            return [self._run(s, r) for r in rows]

    # ----- decisions and waivers ----------------------------------------------------------------------

    def _decisions(self, s: Session, version: str, candidate_sha: str | None) -> list[Decision]:
        rel = self._release_row(s, version)
        query = (select(DecisionRow, CandidateRow.sha).join(CandidateRow, CandidateRow.id == DecisionRow.candidate_id)
                 .where(CandidateRow.release_id == rel.id))
        if candidate_sha is not None:
            query = query.where(CandidateRow.sha == candidate_sha)
        return [_decision(d, sha) for d, sha in s.execute(query.order_by(DecisionRow.at, DecisionRow.id))]

    def decisions_for(self, version: str, candidate_sha: str | None = None) -> list[Decision]:
        """Return the release's decisions (on every candidate, or on one sha), oldest first."""
        with self._read() as s:
            return self._decisions(s, version, candidate_sha)

    def record_decision(self, decision: Decision, *, spec: GateSpec, facts: ReleaseFacts,
                        now: datetime | None = None, via: str | None = None) -> Decision:
        """Check the decision with check_decision against what is recorded, then record it, atomically.

        via says where it was made ("cli" or "web"; None for callers that do not say).
        """
        at = _now(now)
        if decision.gate != spec.name or decision.candidate_sha != facts.candidate_sha:
            raise DecisionInvalid(f"decision is for {decision.gate}@{decision.candidate_sha[:12]} but the gate and "
                                  f"candidate given are {spec.name}@{facts.candidate_sha[:12]}")
        with self._write() as s:
            cand = self._candidate_row(s, facts.version, facts.candidate_sha)
            existing = self._decisions(s, facts.version, facts.candidate_sha)
            check_decision(decision.kind, spec, decision.actor, facts, existing, at,
                           criterion=decision.criterion, comment=decision.comment)
            role = decision.role or spec.role
            row = DecisionRow(candidate_id=cand.id, gate=decision.gate, kind=DecisionKind(decision.kind).value,
                              actor=decision.actor, role=role, comment=decision.comment, at=decision.at,
                              report_hash=decision.report_hash, criterion=decision.criterion,
                              signature=decision.signature, via=via)
            s.add(row)
            s.flush()
            self._append(s, decision.actor, f"decision.{DecisionKind(decision.kind).value}",
                         f"{facts.version}/rc.{cand.rc}/{decision.gate}",
                         {"gate": decision.gate, "sha": facts.candidate_sha, "role": role,
                          "comment": decision.comment, "report_hash": decision.report_hash,
                          "criterion": decision.criterion, "decided_at": decision.at,
                          "signature": decision.signature, "via": via, ROWS: integrity.images(row)}, at)
            return Decision(DecisionKind(decision.kind), decision.gate, decision.actor, role, decision.candidate_sha,
                            decision.comment, decision.at, decision.report_hash, decision.criterion,
                            signature=decision.signature)

    def waivers_for(self, version: str, candidate_sha: str | None = None) -> list[Waiver]:
        """Return the release's waivers (on every candidate, or on one sha), oldest first."""
        with self._read() as s:
            rel = self._release_row(s, version)
            query = (select(WaiverRow, CandidateRow.sha).join(CandidateRow, CandidateRow.id == WaiverRow.candidate_id)
                     .where(CandidateRow.release_id == rel.id))
            if candidate_sha is not None:
                query = query.where(CandidateRow.sha == candidate_sha)
            return [_waiver(w, sha) for w, sha in s.execute(query.order_by(WaiverRow.created_at, WaiverRow.id))]

    def record_waiver(self, waiver: Waiver, *, spec: GateSpec, facts: ReleaseFacts,
                      now: datetime | None = None) -> Waiver:
        """Check the waiver with check_waiver at now, then record it, atomically."""
        at = _now(now)
        if waiver.gate != spec.name or waiver.candidate_sha != facts.candidate_sha:
            raise DecisionInvalid(f"waiver is for {waiver.gate}@{waiver.candidate_sha[:12]} but the gate and "
                                  f"candidate given are {spec.name}@{facts.candidate_sha[:12]}")
        check_waiver(spec, waiver.actor, facts, waiver.reason, waiver.expires_at, at)
        with self._write() as s:
            cand = self._candidate_row(s, facts.version, facts.candidate_sha)
            row = WaiverRow(candidate_id=cand.id, gate=waiver.gate, actor=waiver.actor, reason=waiver.reason,
                            expires_at=waiver.expires_at, created_at=waiver.created_at)
            s.add(row)
            s.flush()
            self._append(s, waiver.actor, "waiver.recorded", f"{facts.version}/rc.{cand.rc}/{waiver.gate}",
                         {"gate": waiver.gate, "sha": facts.candidate_sha, "reason": waiver.reason,
                          "expires_at": waiver.expires_at, ROWS: integrity.images(row)}, at)
            return waiver

    # ----- web users ----------------------------------------------------------------------------------

    def add_web_user(self, email: str, role: str, password_hash: str, *, actor: str,
                     now: datetime | None = None) -> WebUser:
        """Create a web UI account; the password hash is stored but never audited."""
        at = _now(now)
        with self._write() as s:
            if s.scalars(select(WebUserRow.id).where(WebUserRow.email == email)).first() is not None:
                raise LedgerConflict(f"web user {email} already exists")
            row = WebUserRow(email=email, role=role, password_hash=password_hash, disabled=False, created_at=at)
            s.add(row)
            s.flush()
            self._append(s, actor, "web_user.added", email,
                         {"email": email, "role": role, ROWS: integrity.images(row)}, at)
            return WebUser(email, role, password_hash, False, at)

    def get_web_user(self, email: str) -> WebUser | None:
        """Return a web UI account by e-mail, or None."""
        with self._read() as s:
            row = s.scalars(select(WebUserRow).where(WebUserRow.email == email)).one_or_none()
            if row is None:
                return None
            return WebUser(row.email, row.role, row.password_hash, row.disabled, row.created_at)

    def list_web_users(self) -> list[WebUser]:
        """Return every web UI account, ordered by e-mail."""
        with self._read() as s:
            rows = s.scalars(select(WebUserRow).order_by(WebUserRow.email)).all()
            return [WebUser(r.email, r.role, r.password_hash, bool(r.disabled), r.created_at) for r in rows]

    def set_web_user_disabled(self, email: str, disabled: bool, *, actor: str, now: datetime | None = None) -> None:
        """Disable or re-enable a web UI account."""
        at = _now(now)
        with self._write() as s:
            row = s.scalars(select(WebUserRow).where(WebUserRow.email == email)).one_or_none()
            if row is None:
                raise InputError(f"no web user {email}")
            row.disabled = disabled
            s.flush()
            self._append(s, actor, "web_user.disabled" if disabled else "web_user.enabled", email,
                         {"email": email, ROWS: integrity.images(row)}, at)

    # ----- change record versions (snapshots a decision names) ------------------------------------------

    @staticmethod
    def _record_version(row: RecordVersionRow, version: str, *, body: bool) -> RecordVersion:
        return RecordVersion(version, row.n, row.record_hash, row.content_hash, row.fingerprint, row.candidate_sha,
                             row.verdict, row.reason, row.created_by, row.created_at,
                             dict(row.body or {}) if body else {})

    def add_record_version(self, version: str, *, data: Mapping[str, Any], content_hash: str, fingerprint: str,
                           candidate_sha: str | None, verdict: str, reason: str, actor: str,
                           now: datetime | None = None) -> tuple[RecordVersion, bool]:
        """Store a record's data as the release's next version; (version, True), or (newest, False) when the
        newest version already has this fingerprint (nothing written: the record says what it said).

        The record hash is the sha256 of the data's canonical JSON: the renderers are pure functions of it.
        """
        at = _now(now)
        text = canonical_json(dict(data))
        record_hash = chain.sha256_hex(text)
        with self._write() as s:
            rel = self._release_row(s, version)
            newest = s.scalars(select(RecordVersionRow).where(RecordVersionRow.release_id == rel.id)
                               .order_by(RecordVersionRow.n.desc()).limit(1)).one_or_none()
            if newest is not None and newest.fingerprint == fingerprint:
                return self._record_version(newest, version, body=True), False
            row = RecordVersionRow(release_id=rel.id, n=(newest.n + 1) if newest is not None else 1,
                                   record_hash=record_hash, content_hash=content_hash, fingerprint=fingerprint,
                                   candidate_sha=candidate_sha, verdict=verdict, reason=reason, created_by=actor,
                                   created_at=at, body={"data": json.loads(text)})
            s.add(row)
            s.flush()
            self._append(s, actor, "record.rendered", f"{version}/record/{row.n}",
                         {"version": version, "n": row.n, "record_hash": record_hash, "content_hash": content_hash,
                          "candidate_sha": candidate_sha, "verdict": verdict, "reason": reason,
                          ROWS: integrity.images(row)}, at)
            return self._record_version(row, version, body=True), True

    def record_versions(self, version: str) -> list[RecordVersion]:
        """Every stored version of the release's record, oldest first, without their bodies."""
        with self._read() as s:
            rel = self._release_row(s, version)
            rows = s.scalars(select(RecordVersionRow).where(RecordVersionRow.release_id == rel.id)
                             .order_by(RecordVersionRow.n)).all()
            return [self._record_version(r, version, body=False) for r in rows]

    def record_version(self, version: str, *, n: int | None = None, record_hash: str | None = None,
                       body: bool = True) -> RecordVersion | None:
        """One version by number or hash (neither: the newest), with its body; None when there is no such one."""
        with self._read() as s:
            rel = self._release_row(s, version)
            query = select(RecordVersionRow).where(RecordVersionRow.release_id == rel.id)
            if n is not None:
                query = query.where(RecordVersionRow.n == n)
            if record_hash is not None:
                query = query.where(RecordVersionRow.record_hash == record_hash)
            row = s.scalars(query.order_by(RecordVersionRow.n.desc()).limit(1)).one_or_none()
            return self._record_version(row, version, body=body) if row is not None else None

    # ----- notification outbox ------------------------------------------------------------------------

    def _enqueue(self, s: Session, event_row: AuditEventRow, payload: Mapping[str, Any]) -> None:
        """An outbox row per subscribed webhook when this audit event announces a notification event."""
        if not self.notify_routes:
            return
        from release.notify.events import announce

        for event, body in announce(event_row.action, event_row.subject, event_row.actor, payload):
            for webhook, events in self.notify_routes:
                if event not in events:
                    continue
                s.add(NotifyOutboxRow(delivery_id=_delivery_id(), webhook=webhook, event=event,
                                      subject=event_row.subject, payload={**body, "audit_seq": event_row.seq},
                                      audit_seq=event_row.seq, status=DeliveryStatus.PENDING.value, attempts=0,
                                      next_attempt_at=event_row.at, created_at=event_row.at))
        s.flush()

    @staticmethod
    def _delivery(row: NotifyOutboxRow) -> OutboxDelivery:
        return OutboxDelivery(row.id, row.delivery_id, row.webhook, row.event, row.subject, dict(row.payload or {}),
                              DeliveryStatus(row.status), row.attempts, row.next_attempt_at, row.last_error,
                              row.created_at, row.delivered_at, row.audit_seq)

    def outbox(self, *, status: DeliveryStatus | None = None) -> list[OutboxDelivery]:
        """Every delivery in the outbox (or those with one status), oldest first."""
        with self._read() as s:
            query = select(NotifyOutboxRow)
            if status is not None:
                query = query.where(NotifyOutboxRow.status == status.value)
            return [self._delivery(r) for r in s.scalars(query.order_by(NotifyOutboxRow.id))]

    def claim_due_delivery(self, now: datetime, lease_s: float) -> OutboxDelivery | None:
        """Take the oldest pending delivery that is due, leasing it for lease_s (a second deliverer skips it)."""
        from datetime import timedelta

        at = _now(now)
        with self._write() as s:
            row = s.scalars(select(NotifyOutboxRow).where(NotifyOutboxRow.status == DeliveryStatus.PENDING.value,
                                                          NotifyOutboxRow.next_attempt_at <= at)
                            .order_by(NotifyOutboxRow.next_attempt_at, NotifyOutboxRow.id).limit(1)).one_or_none()
            if row is None:
                return None
            row.next_attempt_at = at + timedelta(seconds=lease_s)
            s.flush()
            return self._delivery(row)

    def finish_delivery(self, row_id: int, *, delivered: bool, error: str | None, retry_at: datetime | None,
                        now: datetime | None = None) -> OutboxDelivery:
        """Record one attempt: delivered, failed for good (retry_at None), or pending again until retry_at.

        A delivery already delivered stays delivered (a late second deliverer cannot undo it): idempotent.
        """
        at = _now(now)
        with self._write() as s:
            row = s.get(NotifyOutboxRow, row_id)
            if row is None:
                raise InputError(f"no outbox delivery {row_id}")
            if row.status != DeliveryStatus.PENDING.value:
                return self._delivery(row)
            row.attempts += 1
            row.last_error = None if delivered else (error or "failed")[:2000]
            if delivered:
                row.status, row.delivered_at = DeliveryStatus.DELIVERED.value, at
            elif retry_at is None:
                row.status = DeliveryStatus.FAILED.value
            else:
                row.next_attempt_at = retry_at
            s.flush()
            return self._delivery(row)

    def retry_failed_deliveries(self, *, now: datetime | None = None) -> int:
        """Make every failed delivery pending again (attempts reset), as GitHub's "Redeliver"; how many."""
        at = _now(now)
        with self._write() as s:
            result: CursorResult[Any] = s.execute(  # type: ignore[assignment]
                update(NotifyOutboxRow).where(NotifyOutboxRow.status == DeliveryStatus.FAILED.value)
                .values(status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=at)
                .execution_options(synchronize_session=False))
            return int(result.rowcount or 0)


def _delivery_id() -> str:
    """A fresh delivery id (a UUID, as GitHub's X-GitHub-Delivery): receivers use it to drop a repeat."""
    import uuid

    return str(uuid.uuid4())
