"""Bind every row that decides to the audit chain, so editing, deleting or inserting a row is caught.

Every ledger write puts, in its audit event's payload under ``rows``, the after-image of each row it created or
changed (every column; JSON columns and the web password hash as a sha256). The chain's hashes cover the payload,
so replaying the events in seq order says what each covered table must hold, and verification compares that with
the tables column by column, in one pass:

- a row whose columns differ from its newest image is named with the column and the event's seq;
- a row no event made is "without its event" (inserted behind the ledger's back, or its event was deleted);
- an image whose row is gone is "an event without its row" (the row was deleted);
- candidates, artifacts, decisions and waivers are never changed once written, and a gate run never after it
  finished, so a later image of one is reported too (a forged event appended to flip a decision is caught).

A column an image does not name (one a later migration added) must still hold NULL there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Table, select
from sqlalchemy.orm import Session

from release.gates.canonical import canonical_hash, canonical_json, iso_utc, sha256_hex
from release.ledger.records import RowProblem
from release.ledger.schema import (
    ArtifactRow,
    Base,
    CandidateRow,
    DecisionRow,
    GateRunRow,
    PromotionStepRow,
    RecordVersionRow,
    ReleaseRow,
    WaiverRow,
    WebUserRow,
)

#: Payload key of the row after-images in an audit event.
ROWS_KEY = "rows"
#: Audit action of the event migration 0002 appends to bind rows written before rows were imaged.
BASELINE_ACTION = "ledger.integrity_baseline"
#: Every table whose rows decide something (web_users: who may decide in the web UI), in foreign-key order.
COVERED: dict[str, Table] = {
    str(m.__tablename__): m.__table__  # type: ignore[misc]
    for m in (ReleaseRow, CandidateRow, GateRunRow, ArtifactRow, DecisionRow, WaiverRow, PromotionStepRow, WebUserRow,
              RecordVersionRow)  # record_versions: the records decisions name (migration 0003)
}
#: Tables whose rows are written once and never changed.
IMMUTABLE = frozenset({"candidates", "artifacts", "decisions", "waivers", "record_versions"})
#: Columns kept in an image only as a sha256: never put a secret in the audit log.
SECRET_COLUMNS = frozenset({("web_users", "password_hash")})
DIGEST = "sha256:"


def _value(table: str, column: Column[Any], value: Any) -> Any:
    """One column as the image records it: plain JSON, datetimes as ISO UTC, JSON and secrets as a digest."""
    if value is None:
        return None
    if (table, column.name) in SECRET_COLUMNS:
        return DIGEST + sha256_hex(str(value))
    if isinstance(column.type, JSON):
        return DIGEST + canonical_hash(value)
    if isinstance(value, datetime):
        return iso_utc(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, (bool, int, float, str)):
        return value
    return canonical_json(value)


def image_of(table: Table, values: Mapping[Any, Any]) -> dict[str, Any]:
    """The image of one row given its column values (as the typed columns return them)."""
    return {c.name: _value(table.name, c, values.get(c.name)) for c in table.columns}


def row_image(row: Base) -> dict[str, Any]:
    """The ``rows`` entry for an ORM row just written (after flush, so ids are assigned)."""
    table: Table = row.__table__  # type: ignore[assignment]
    return {"table": table.name, "values": image_of(table, {c.name: getattr(row, c.name) for c in table.columns})}


def images(*rows: Base) -> list[dict[str, Any]]:
    """The ``rows`` payload value for the rows a write created or changed."""
    return [row_image(r) for r in rows]


def read_tables(s: Session) -> tuple[dict[str, list[dict[str, Any]]], list[RowProblem]]:
    """Every covered row as its image, read in the caller's (snapshot) transaction; unreadable rows are problems."""
    found: dict[str, list[dict[str, Any]]] = {}
    problems: list[RowProblem] = []
    for name, table in COVERED.items():
        try:
            found[name] = [image_of(table, r._mapping) for r in s.execute(select(table).order_by(table.c.id))]
            continue
        except (ValueError, TypeError, AssertionError, OverflowError):
            pass  # a value the column type cannot read (written with raw SQL): find which rows, one by one
        found[name] = []
        for row_id in s.execute(select(table.c.id).order_by(table.c.id)).scalars():
            try:
                row = s.execute(select(table).where(table.c.id == row_id)).one()
                found[name].append(image_of(table, row._mapping))
            except (ValueError, TypeError, AssertionError, OverflowError) as exc:
                problems.append(RowProblem(name, row_id, None, None,
                                           f"{name} row {row_id}: a column cannot be read ({exc.__class__.__name__}); "
                                           "it was written behind the ledger's back"))
    return found, problems


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def cross_check(events: Iterable[tuple[int, Any]], tables: Mapping[str, Sequence[Mapping[str, Any]]],
                unreadable: Sequence[RowProblem] = ()) -> list[RowProblem]:
    """Replay the images of (seq, payload) events and compare them with the tables' rows; every disagreement."""
    problems: list[RowProblem] = []
    expected: dict[tuple[str, Any], tuple[int, Mapping[str, Any]]] = {}
    for seq, payload in events:
        entries = payload.get(ROWS_KEY) if isinstance(payload, Mapping) else None
        if entries is None:
            continue
        if not isinstance(entries, list):
            problems.append(RowProblem("audit_events", seq, ROWS_KEY, seq, f"audit event seq {seq}: rows is malformed"))
            continue
        for entry in entries:
            table = entry.get("table") if isinstance(entry, Mapping) else None
            values = entry.get("values") if isinstance(entry, Mapping) else None
            if table not in COVERED or not isinstance(values, Mapping) or "id" not in values:
                problems.append(RowProblem("audit_events", seq, ROWS_KEY, seq,
                                           f"audit event seq {seq}: a row image names no known table and id"))
                continue
            key = (str(table), values["id"])
            before = expected.get(key)
            if before is not None and (table in IMMUTABLE or (table == "gate_runs" and before[1].get("finished_at"))):
                problems.append(RowProblem(str(table), values["id"], None, seq,
                                           f"{table} row {values['id']}: audit event seq {seq} changes a row that "
                                           f"is never changed once {'finished' if table == 'gate_runs' else 'made'} "
                                           f"(made at seq {before[0]})"))
            expected[key] = (seq, values)
    skip = {(p.table, p.row_id) for p in unreadable}
    problems.extend(unreadable)
    for name in COVERED:
        for row in tables.get(name, ()):
            row_id = row.get("id")
            recorded = expected.pop((name, row_id), None)
            if recorded is None:
                problems.append(RowProblem(name, row_id, None, None,
                                           f"{name} row {row_id}: no audit event made this row (it was inserted "
                                           "behind the ledger's back, or its event was deleted)"))
                continue
            seq, values = recorded
            for column, actual in row.items():
                want = values.get(column)
                if type(actual) is not type(want) or actual != want:  # strict: 1 is not True, "1" is not 1
                    problems.append(RowProblem(name, row_id, column, seq,
                                               f"{name} row {row_id}: {column} is {_describe(actual)} but audit event "
                                               f"seq {seq} recorded {_describe(want)}"))
    for (name, row_id), (seq, _values) in sorted(expected.items(), key=lambda item: item[1][0]):
        if (name, row_id) in skip:
            continue
        problems.append(RowProblem(name, row_id, None, seq,
                                   f"{name} row {row_id}: audit event seq {seq} recorded this row but it is "
                                   "missing (it was deleted)"))
    return problems


__all__ = ["BASELINE_ACTION", "COVERED", "IMMUTABLE", "ROWS_KEY", "SECRET_COLUMNS", "cross_check", "image_of",
           "images", "read_tables", "row_image"]
