"""Migration 0002 binds rows written before row images existed: a legacy ledger verifies, then catches tampering."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from ledger_data import PREPARER, SHA1
from sqlalchemy import Table, insert, select, text

from release.gates.canonical import ZERO_HASH, canonical_json
from release.ledger import Ledger
from release.ledger.audit import event_hash
from release.ledger.database import _alembic_config, current_revision, lock_for_write, make_engine
from release.ledger.integrity import BASELINE_ACTION, COVERED
from release.ledger.schema import AuditEventRow

pytestmark = pytest.mark.integration

AT = datetime(2026, 1, 5, 9, 30, 0, 123456, tzinfo=UTC)
EVENTS: Table = AuditEventRow.__table__  # type: ignore[assignment]


def legacy_ledger(url: str) -> None:
    """A ledger at revision 0001 with rows and the audit events the tool wrote before 0002 (no row images)."""
    engine = make_engine(url, create=True)
    try:
        with engine.connect().execution_options(ledger_write=True) as conn:
            conn.begin()
            lock_for_write(conn)
            command.upgrade(_alembic_config(conn), "0001")
            conn.commit()
        with engine.begin() as conn:
            conn.execute(insert(COVERED["releases"]).values(id=1, version="1.2.0", previous_version="1.1.0",
                                                            preparer=PREPARER, created_at=AT, state="PREPARED"))
            conn.execute(insert(COVERED["candidates"]).values(id=1, release_id=1, rc=1, tag="v1.2.0-rc.1", sha=SHA1,
                                                              created_at=AT, created_by=PREPARER))
            conn.execute(insert(COVERED["decisions"]).values(
                id=1, candidate_id=1, gate="change-board", kind="rejection", actor="chair@example.org",
                role="change-board", comment="backout plan missing", at=AT))
            prev = ZERO_HASH
            legacy: list[tuple[str, str, str, dict[str, Any]]] = [
                (PREPARER, "release.created", "1.2.0",
                 {"version": "1.2.0", "previous_version": "1.1.0", "preparer": PREPARER}),
                (PREPARER, "candidate.added", "1.2.0/rc.1", {"version": "1.2.0", "rc": 1, "tag": "v1.2.0-rc.1",
                                                             "sha": SHA1}),
                ("chair@example.org", "decision.rejection", "1.2.0/rc.1/change-board",
                 {"gate": "change-board", "sha": SHA1, "comment": "backout plan missing"}),
            ]
            for seq, (actor, action, subject, payload) in enumerate(legacy, start=1):
                digest = event_hash(prev, seq, AT, actor, action, subject, payload)
                conn.execute(insert(EVENTS).values(seq=seq, at=AT, actor=actor, action=action, subject=subject,
                                                   payload=canonical_json(payload), prev_hash=prev, hash=digest))
                prev = digest
            if conn.dialect.name == "postgresql":  # the old service let the sequence number its events
                conn.execute(text("SELECT setval(pg_get_serial_sequence('audit_events', 'seq'), 3)"))
                for table in ("releases", "candidates", "decisions"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1)"))
    finally:
        engine.dispose()


def test_a_legacy_ledger_is_bound_by_one_baseline_event(ledger_url: str, repo: Path) -> None:
    legacy_ledger(ledger_url)
    with Ledger.open(ledger_url, repo) as ledger:
        assert current_revision(ledger.engine) == "0003"
        events = ledger.audit_events()
        assert [e.action for e in events] == ["release.created", "candidate.added", "decision.rejection",
                                              BASELINE_ACTION]
        baseline = events[-1]
        assert baseline.actor == "release-migration" and baseline.prev_hash == events[-2].hash
        assert sorted((r["table"], r["values"]["id"]) for r in baseline.payload["rows"]) == [
            ("candidates", 1), ("decisions", 1), ("releases", 1)]
        report = ledger.verify_audit()
        assert report.ok, report.problems
        assert report.checked_rows == 3
        with ledger.engine.begin() as conn:
            conn.execute(text("UPDATE decisions SET kind = 'approval' WHERE id = 1"))
        assert [(p.table, p.row_id, p.field, p.seq) for p in ledger.verify_audit().rows] == [
            ("decisions", 1, "kind", baseline.seq)]
    with Ledger.open(ledger_url, repo) as again:  # migrating again appends nothing
        assert len(again.audit_events()) == 4


def test_a_fresh_ledger_gets_no_baseline_event(ledger: Ledger) -> None:
    assert ledger.audit_events() == []
    ledger.create_release("1.2.0", preparer=PREPARER)
    assert [e.action for e in ledger.audit_events()] == ["release.created"]
    with ledger.engine.connect() as conn:
        [payload] = conn.execute(select(EVENTS.c.payload)).scalars()
    assert json.loads(payload)["rows"][0]["table"] == "releases"
    assert ledger.verify_audit().ok
