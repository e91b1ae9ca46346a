"""Every deciding row is bound to the audit chain: any field changed, any row deleted or inserted, is caught.

The ledger here is built through the Ledger API with realistic rows (two releases, candidates, gate runs with
evidence, approvals with an SSH signature, an acceptance, a rejection, a waiver, a claimed promotion with its
steps, a web account). Tampering is done the way an attacker with database access would: raw SQL on a plain
connection that enforces no foreign keys (PostgreSQL: session_replication_role = replica). The real release
cycle is covered by test_ledger_tamper_cycle.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ledger_data import PREPARER, SHA1, SHA2, binding, now, seed
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    Table,
    TypeDecorator,
    bindparam,
    create_engine,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapper

from release.errors import LedgerTampered
from release.gates import Decision, DecisionKind, GateKind, GateSpec, GateState, ReleaseFacts, Waiver
from release.gates.canonical import ZERO_HASH, canonical_json
from release.ledger import Ledger, ReleaseState, StepStatus
from release.ledger.audit import event_hash
from release.ledger.integrity import COVERED
from release.ledger.records import AuditCheckpoint, AuditReport
from release.ledger.schema import AuditEventRow, Base

pytestmark = pytest.mark.integration

CAB = GateSpec("change-board", GateKind.APPROVAL, "cfg-cab", role="change-board", quorum=2)
QA = GateSpec("qa", GateKind.SIGNOFF, "cfg-qa", role="qa-lead")
REG = GateSpec("regression", GateKind.PYTEST, "cfg-reg")
ROLES = {"change-board": frozenset({"chair@example.org", "ops@example.org", "registrar@example.org"}),
         "qa-lead": frozenset({"qa@example.org"}), "release-manager": frozenset({"rm@example.org"})}
FACTS = ReleaseFacts("1.2.0", SHA1, PREPARER, frozenset({"dev@example.org"}), ROLES)
FACTS_2 = ReleaseFacts("1.3.0", SHA2, PREPARER, frozenset({"dev@example.org"}), ROLES)
SIGNATURE = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTk=\n-----END SSH SIGNATURE-----\n"
#: Every table whose rows decide, plus the chain itself.
TABLES: dict[str, Table] = {**COVERED, "audit_events": AuditEventRow.__table__}  # type: ignore[dict-item]


def build_ledger(ledger: Ledger, tmp: Path) -> None:
    """A promoted release 1.2.0 and an open 1.3.0 with every kind of deciding row, all through the Ledger API."""
    cand = seed(ledger, tmp)  # 1.2.0, rc.1 on SHA1, a passed regression run with a junit artifact
    at = now()
    ledger.record_decision(Decision(DecisionKind.APPROVAL, CAB.name, "chair@example.org", None, SHA1, "looks good", at,
                                    report_hash="ab" * 32, signature=SIGNATURE), spec=CAB, facts=FACTS)
    ledger.record_decision(Decision(DecisionKind.APPROVAL, CAB.name, "ops@example.org", None, SHA1, "", at,
                                    report_hash="ab" * 32, signature=SIGNATURE), spec=CAB, facts=FACTS)
    ledger.record_decision(Decision(DecisionKind.SIGNOFF, QA.name, "qa@example.org", None, SHA1, "smoke ok", at),
                           spec=QA, facts=FACTS)
    ledger.record_waiver(Waiver(REG.name, "rm@example.org", "flaky on staging", at + timedelta(days=3), at, SHA1),
                         spec=REG, facts=FACTS)
    run = ledger.start_gate_run(cand, "load", binding())
    report = tmp / "load-summary.json"
    report.write_text(json.dumps({"p95_ms": 412.5, "requests": 1200}))
    ledger.finish_gate_run(run.id, GateState.PASSED, {"p95_ms": 412.5}, [ledger.store_artifact(run.id, report, "load")])
    owner = "rm@example.org (pid 4242 on build-1)"
    assert ledger.claim_promotion("1.2.0", owner)
    for step in ("tag", "production-branch", "deploy"):
        ledger.record_step("1.2.0", step, StepStatus.STARTED, {"step": step}, owner=owner)
        ledger.record_step("1.2.0", step, StepStatus.DONE, {"step": step, "ok": True})
    ledger.set_release_state("1.2.0", ReleaseState.PROMOTED, actor="rm@example.org")
    ledger.add_record_version("1.2.0", data={"version": "1.2.0", "verdict": "PROMOTABLE"}, content_hash="cd" * 32,
                              fingerprint="ef" * 32, candidate_sha=SHA1, verdict="PROMOTABLE", reason="prepare",
                              actor=PREPARER)
    # an open release: the second parent every foreign key can be pointed at
    ledger.create_release("1.3.0", preparer=PREPARER, previous_version="1.2.0")
    cand2 = ledger.add_candidate("1.3.0", rc=1, tag="v1.3.0-rc.1", sha=SHA2, created_by=PREPARER)
    run2 = ledger.start_gate_run(cand2, "regression", binding(SHA2))
    junit = tmp / "junit2.xml"
    junit.write_text('<testsuite name="regression" tests="3" failures="1"/>')
    ledger.finish_gate_run(run2.id, GateState.FAILED, {"failed": ["regression/test_b.py::test_b"]},
                           [ledger.store_artifact(run2.id, junit, "junit")])
    ledger.record_decision(Decision(DecisionKind.REJECTION, CAB.name, "registrar@example.org", None, SHA2,
                                    "backout plan missing", at), spec=CAB, facts=FACTS_2)
    ledger.add_web_user("chair@example.org", "change-board", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
                        actor="rm@example.org")
    ledger.set_web_user_disabled("chair@example.org", True, actor="rm@example.org")


# ----- tampering the way an attacker with database access would ------------------------------------------------


_ENGINES: dict[str, Engine] = {}


@contextmanager
def raw(ledger: Ledger) -> Iterator[Connection]:
    """A plain connection, committed on exit: no ledger code, and no foreign-key checks to stop a rewrite."""
    url = ledger.engine.url.render_as_string(hide_password=False)
    if url not in _ENGINES:
        _ENGINES[url] = create_engine(url)
    with _ENGINES[url].begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET session_replication_role = replica")
        yield conn


def dispose_raw() -> None:
    """Close every tamper connection (a test's teardown)."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


def rows_of(ledger: Ledger, table: Table) -> list[dict[str, Any]]:
    """Every row of a table, typed, ordered by primary key."""
    [pk] = table.primary_key.columns
    with ledger.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(pk))]


def set_value(ledger: Ledger, table: Table, key: Any, column: Column[Any], value: Any) -> None:
    """UPDATE one field with raw SQL (the value bound with the column's own type, so it is well-formed)."""
    [pk] = table.primary_key.columns
    statement = text(f'UPDATE "{table.name}" SET "{column.name}" = :value WHERE "{pk.name}" = :key').bindparams(
        bindparam("value", type_=column.type), bindparam("key", type_=pk.type))
    with raw(ledger) as conn:
        assert conn.execute(statement, {"value": value, "key": key}).rowcount == 1


def delete_row(ledger: Ledger, table: Table, key: Any) -> None:
    """DELETE one row with raw SQL."""
    [pk] = table.primary_key.columns
    with raw(ledger) as conn:
        conn.execute(text(f'DELETE FROM "{table.name}" WHERE "{pk.name}" = :key'), {"key": key})


def insert_row(ledger: Ledger, table: Table, values: dict[str, Any]) -> None:
    """INSERT one row with raw SQL, every column bound with its type."""
    names = list(values)
    statement = text(f'INSERT INTO "{table.name}" ({", ".join(chr(34) + n + chr(34) for n in names)}) '
                     f'VALUES ({", ".join(":" + n for n in names)})').bindparams(
        *(bindparam(n, type_=table.c[n].type) for n in names))
    with raw(ledger) as conn:
        conn.execute(statement, values)


def other_value(ledger: Ledger, table: Table, row: dict[str, Any], column: Column[Any]) -> Any:
    """A different value of the column's own type, that the table's constraints accept."""
    value = row[column.name]
    if column.foreign_keys:
        [fk] = column.foreign_keys
        parents = [r[fk.column.name] for r in rows_of(ledger, fk.column.table)]
        others = [p for p in parents if p != value]
        assert others, f"{table.name}.{column.name}: the test ledger needs a second parent to point at"
        return others[0]
    if column.primary_key:
        return max(r[column.name] for r in rows_of(ledger, table)) + 1000
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type  # UTCDateTime is a DateTime
    if isinstance(kind, Boolean):
        return not value
    if isinstance(kind, Integer):
        return value + 100
    if isinstance(kind, DateTime):
        return (value + timedelta(seconds=1)) if value is not None else datetime(2030, 1, 1, tzinfo=UTC)
    if isinstance(kind, JSON):
        return {**(value or {}), "forged": True}
    if value is None:
        return "forged"
    if value == "":
        return "x"
    return unlike(value)


def unlike(value: str) -> str:
    """The same string with its last character changed: never equal to value, and the same length (String(n))."""
    return value[:-1] + ("a" if value[-1] != "a" else "b")


def columns(table: Table) -> list[Column[Any]]:
    """The table's columns, by SQLAlchemy inspection of its ORM model."""
    mapper: Mapper[Any] = inspect(next(m.class_ for m in Base.registry.mappers if m.local_table is table))
    return list(mapper.columns)


def caught(report: AuditReport, table: str, row_id: Any, field: str | None) -> bool:
    """True when the report names this table, row and field (an audit event: any chain problem naming it)."""
    if table == "audit_events":
        return not report.ok and report.problems[0].startswith("audit event seq ")
    return any(p.table == table and p.row_id == row_id and p.field == field for p in report.rows)


# ----- tests ---------------------------------------------------------------------------------------------------


@pytest.fixture
def built(ledger: Ledger, tmp_path: Path) -> Iterator[Ledger]:
    """The realistic ledger, verified intact."""
    build_ledger(ledger, tmp_path)
    report = ledger.verify_audit()
    assert report.ok, report.problems
    yield ledger
    dispose_raw()


def test_intact_ledger_verifies_every_row(built: Ledger) -> None:
    report = built.verify_audit()
    total = sum(len(rows_of(built, t)) for t in COVERED.values())
    assert report.ok and report.checked_rows == total and report.rows == ()
    assert built.require_intact().ok
    with built.engine.connect() as conn:  # the loop below covers every column the database has
        for name, table in TABLES.items():
            assert {c["name"] for c in inspect(conn).get_columns(name)} == {c.name for c in columns(table)}


def test_every_field_of_every_deciding_row_is_caught(built: Ledger) -> None:
    missed: list[str] = []
    tried = 0
    for name, table in TABLES.items():
        [pk] = table.primary_key.columns
        for row in rows_of(built, table):
            for column in columns(table):
                key, original = row[pk.name], row[column.name]
                forged = other_value(built, table, row, column)
                try:
                    set_value(built, table, key, column, forged)
                except IntegrityError:  # e.g. (release_id, rc) taken there: point at no parent at all instead
                    forged = max(r[pk.name] for r in rows_of(built, next(iter(column.foreign_keys)).column.table)) + 99
                    set_value(built, table, key, column, forged)
                tried += 1
                report = built.verify_audit()
                named_id = forged if column.primary_key else key
                field = None if column.primary_key else column.name
                if not caught(report, name, named_id, field):
                    missed.append(f"{name} row {key}: {column.name} -> {forged!r}: {report.problems[:2]}")
                with pytest.raises(LedgerTampered):
                    built.require_intact()
                set_value(built, table, forged if column.primary_key else key, column, original)
                assert built.verify_audit().ok, f"restoring {name}.{column.name} left {built.verify_audit().problems}"
    assert missed == []
    assert tried > 150, tried


def test_every_deleted_row_is_caught(built: Ledger) -> None:
    missed = []
    for name, table in COVERED.items():
        for row in rows_of(built, table):
            delete_row(built, table, row["id"])
            report = built.verify_audit()
            if not any(p.table == name and p.row_id == row["id"] and "missing (it was deleted)" in p.message
                       for p in report.rows):
                missed.append(f"{name} row {row['id']}")
            insert_row(built, table, row)
            assert built.verify_audit().ok
    assert missed == []


def test_every_inserted_row_is_caught(built: Ledger) -> None:
    for name, table in COVERED.items():
        row = rows_of(built, table)[-1]
        copy = {**row, "id": row["id"] + 500}
        for unique in ("version", "email", "sha", "rc", "step", "relpath", "record_hash", "n"):
            if unique in copy:  # keep unique constraints happy: a forged row, not a duplicate
                copy[unique] = copy[unique] + 7 if isinstance(copy[unique], int) else unlike(copy[unique])
        insert_row(built, table, copy)
        report = built.verify_audit()
        assert [p.message for p in report.rows] == [
            f"{name} row {copy['id']}: no audit event made this row (it was inserted behind the ledger's back, "
            "or its event was deleted)"], name
        delete_row(built, table, copy["id"])
    assert built.verify_audit().ok


def test_a_rejection_turned_into_an_approval_is_named(built: Ledger) -> None:
    """The issue's exploit: `update decisions set kind='approval' where kind='rejection'`."""
    [rejection] = [r for r in rows_of(built, COVERED["decisions"]) if r["kind"] == "rejection"]
    with raw(built) as conn:
        conn.execute(text("UPDATE decisions SET kind = 'approval' WHERE kind = 'rejection'"))
    report = built.verify_audit()
    assert not report.ok
    [problem] = report.rows
    assert (problem.table, problem.row_id, problem.field) == ("decisions", rejection["id"], "kind")
    assert problem.message.startswith(f"decisions row {rejection['id']}: kind is 'approval' but audit event seq ")
    with pytest.raises(LedgerTampered, match=rf"ledger tampered: decisions row {rejection['id']}: kind") as refused:
        built.require_intact()
    assert refused.value.exit_code == 1


def test_a_changed_signature_is_caught(built: Ledger) -> None:
    signed = [d for d in built.decisions_for("1.2.0") if d.signature]
    assert len(signed) == 2 and signed[0].signature == SIGNATURE  # stored and returned
    event = next(e for e in built.audit_events() if e.action == "decision.approval")
    assert event.payload["signature"] == SIGNATURE  # and covered by the chain
    row = next(r for r in rows_of(built, COVERED["decisions"]) if r["signature"])
    set_value(built, COVERED["decisions"], row["id"], COVERED["decisions"].c.signature,
              SIGNATURE.replace("U1NI", "AAAA"))
    assert [(p.table, p.row_id, p.field) for p in built.verify_audit().rows] == [("decisions", row["id"], "signature")]


def _append_forged(ledger: Ledger, action: str, payload: dict[str, Any]) -> None:
    """Append a well-chained event the way an attacker who knows the format could (the chain has no secret)."""
    events: Table = AuditEventRow.__table__  # type: ignore[assignment]
    with raw(ledger) as conn:
        last = conn.execute(select(events.c.seq, events.c.hash).order_by(events.c.seq.desc()).limit(1)).first()
        seq, prev = (last.seq + 1, last.hash) if last else (1, ZERO_HASH)
        at, body = now(), json.loads(canonical_json(payload))
        insert_row_on(conn, events, {"seq": seq, "at": at, "actor": "mallory@example.org", "action": action,
                                     "subject": "1.3.0", "payload": canonical_json(body), "prev_hash": prev,
                                     "hash": event_hash(prev, seq, at, "mallory@example.org", action, "1.3.0", body)})


def insert_row_on(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    names = list(values)
    conn.execute(text(f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({", ".join(":" + n for n in names)})')
                 .bindparams(*(bindparam(n, type_=table.c[n].type) for n in names)), values)


def test_a_forged_event_rewriting_a_decision_is_caught(built: Ledger) -> None:
    """Flip the row and append a well-chained event with its new image: decisions are never changed once made."""
    [rejection] = [r for r in rows_of(built, COVERED["decisions"]) if r["kind"] == "rejection"]
    image = next(e for e in built.audit_events() if e.action == "decision.rejection").payload["rows"][0]
    _append_forged(built, "decision.approval", {"rows": [{"table": "decisions",
                                                          "values": {**image["values"], "kind": "approval"}}]})
    with raw(built) as conn:
        conn.execute(text("UPDATE decisions SET kind = 'approval' WHERE id = :id"), {"id": rejection["id"]})
    report = built.verify_audit()
    assert [(p.table, p.row_id, p.field) for p in report.rows] == [("decisions", rejection["id"], None)]
    assert "changes a row that is never changed once made" in report.rows[0].message


def test_clean_truncation_passes_alone_and_is_caught_against_a_witness(built: Ledger) -> None:
    """Undo the newest change (an account disabled) and delete its event: only a published head can tell."""
    witness = built.audit_checkpoint()
    assert witness.seq is not None
    newest = rows_of(built, TABLES["audit_events"])[-1]
    assert newest["action"] == "web_user.disabled"
    web_user = rows_of(built, COVERED["web_users"])[0]
    with raw(built) as conn:  # roll the account back to its previous image, and drop the event
        conn.execute(text("UPDATE web_users SET disabled = :d WHERE id = :id").bindparams(
            bindparam("d", type_=Boolean())), {"d": False, "id": web_user["id"]})
        conn.execute(text("DELETE FROM audit_events WHERE seq = :seq"), {"seq": newest["seq"]})
    assert built.verify_audit().ok  # the chain alone cannot see a clean truncation
    report = built.verify_audit(against=[witness])
    assert not report.ok
    assert report.first_broken == (f"witness ({witness}): the chain ends at seq {witness.seq - 1}, before the "
                                   f"published seq {witness.seq} (its newest events were deleted)")
    with pytest.raises(LedgerTampered, match="its newest events were deleted"):
        built.require_intact(against=[witness])
    assert built.verify_audit(against=[AuditCheckpoint(witness.seq - 1, newest["prev_hash"])]).ok


def test_a_rewritten_chain_is_caught_against_a_witness(built: Ledger) -> None:
    """Rewrite an early event and re-hash every later one: consistent alone, but not with the published head."""
    witness = built.audit_checkpoint()
    [rejection] = [r for r in rows_of(built, COVERED["decisions"]) if r["kind"] == "rejection"]
    events: Table = AuditEventRow.__table__  # type: ignore[assignment]
    with raw(built) as conn:
        conn.execute(text("UPDATE decisions SET kind = 'approval' WHERE id = :id"), {"id": rejection["id"]})
        prev = ZERO_HASH
        for event in conn.execute(select(events).order_by(events.c.seq)).all():
            body = json.loads(event.payload)
            action = event.action
            for entry in body.get("rows", []):
                if entry["table"] == "decisions" and entry["values"]["id"] == rejection["id"]:
                    entry["values"]["kind"], action = "approval", "decision.approval"
            digest = event_hash(prev, event.seq, event.at, event.actor, action, event.subject, body)
            conn.execute(text("UPDATE audit_events SET action = :a, payload = :p, prev_hash = :prev, hash = :h "
                              "WHERE seq = :seq"), {"a": action, "p": canonical_json(body), "prev": prev, "h": digest,
                                                    "seq": event.seq})
            prev = digest
    assert built.verify_audit().ok  # every link recomputed: only the witness can tell
    report = built.verify_audit(against=[witness])
    assert report.first_broken is not None and "(the chain was rewritten)" in report.first_broken
    assert built.verify_audit(against=[AuditCheckpoint(None, witness.hash)]).first_broken == (
        f"witness ({AuditCheckpoint(None, witness.hash)}): no event in the chain has this hash (the chain was "
        "truncated or rewritten)")


def test_fenced_step_writes_are_bound_too(built: Ledger) -> None:
    """A step recorded with owner= carries its image like any other write."""
    assert built.claim_promotion("1.3.0", "ci (pid 7 on runner)")
    built.record_step("1.3.0", "tag", StepStatus.STARTED, {"tag": "v1.3.0"}, owner="ci (pid 7 on runner)")
    assert built.verify_audit().ok
    with raw(built) as conn:
        conn.execute(text("UPDATE promotion_steps SET status = 'done' WHERE step = 'tag' AND status = 'started'"))
    assert [(p.table, p.field) for p in built.verify_audit().rows] == [("promotion_steps", "status")]


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_an_unreadable_value_names_its_row(built: Ledger) -> None:
    """SQLite stores anything: a timestamp that is not one is named, not a crash."""
    row = rows_of(built, COVERED["waivers"])[0]
    with raw(built) as conn:
        conn.execute(text("UPDATE waivers SET expires_at = 'tomorrow, honest' WHERE id = :id"), {"id": row["id"]})
    report = built.verify_audit()
    assert [p.message for p in report.rows] == [
        f"waivers row {row['id']}: a column cannot be read (ValueError); it was written behind the ledger's back"]
