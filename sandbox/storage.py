"""Storage: SQLAlchemy 2 tables and queries; SQLite (WAL, busy_timeout) by default, PostgreSQL by URL."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.pool import NullPool

metadata = MetaData()

events = Table(
    "event", metadata,
    Column("id", String(36), primary_key=True),
    Column("type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("tracking_id", String(16), nullable=False),
    Column("registration_number", String(32)),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_by_role", String(32)),
    Column("created_at_location", String(64)),
    Column("create_transaction_id", String(200), nullable=False),
    # 0 normally; a fresh number under the no-idempotency defect, so the unique key stops deduplicating.
    Column("replay", Integer, nullable=False, default=0),
    Column("assigned_to", String(64)),
    Column("flags", Text, nullable=False, default="[]"),
    Column("declaration", Text, nullable=False, default="{}"),
    Column("dob", String(10)),
    Column("event_date", String(10)),
    Column("declared_at", String(32)),
    Column("declared_location", String(64)),
    Column("registered_at", String(32)),
    Column("registered_location", String(64)),
)

actions = Table(
    "action", metadata,
    Column("id", String(36), primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("position", Integer, nullable=False),
    Column("type", String(24), nullable=False),
    Column("status", String(16), nullable=False, default="Accepted"),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_by_role", String(32)),
    Column("created_at_location", String(64)),
    Column("transaction_id", String(200), nullable=False),
    Column("replay", Integer, nullable=False, default=0),
    Column("payload", Text, nullable=False, default="{}"),
)

event_flags = Table(
    "event_flag", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("flag", String(32), primary_key=True),
    sqlite_with_rowid=False,
)

name_parts = Table(
    "name_part", metadata,
    Column("event_id", String(36), nullable=False),
    Column("field_id", String(32), nullable=False),
    Column("token", String(64), nullable=False),
)

name_variants = Table(
    "name_variant", metadata,
    Column("variant", String(64), primary_key=True),
    Column("token", String(64), primary_key=True),
    sqlite_with_rowid=False,
)

# A number can be claimed once: the UNIQUE guard behind the counter.
registration_numbers = Table(
    "registration_number", metadata,
    Column("number", String(32), primary_key=True),
    Column("event_id", String(36), nullable=False),
)

counters = Table(
    "counter", metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Integer, nullable=False),
)

# Secondary indexes: dropped and rebuilt around a bulk seed.
SECONDARY_INDEXES: tuple[Index, ...] = (
    Index("ux_event_tracking_id", events.c.tracking_id, unique=True),
    Index("ux_event_create_txn", events.c.create_transaction_id, events.c.created_by, events.c.replay, unique=True),
    Index("ix_event_created_at", events.c.created_at),
    Index("ix_event_updated_at", events.c.updated_at),
    Index("ix_event_status_created", events.c.status, events.c.created_at),
    Index("ix_event_type_created", events.c.type, events.c.created_at),
    Index("ix_event_registration_number", events.c.registration_number),
    # (type, date, id) covers the type check and the id join, so DOB searches read only matching event rows.
    Index("ix_event_type_dob", events.c.type, events.c.dob, events.c.id),
    Index("ix_event_type_event_date", events.c.type, events.c.event_date, events.c.id),
    Index("ux_action_txn", actions.c.event_id, actions.c.type, actions.c.transaction_id, actions.c.replay,
          unique=True),
    Index("ix_event_flag_flag", event_flags.c.flag, event_flags.c.event_id),
    Index("ix_name_part_lookup", name_parts.c.field_id, name_parts.c.token, name_parts.c.event_id),
    Index("ix_name_part_event", name_parts.c.event_id),
)

REGISTRATION_COUNTER = "registration_number"
OBSOLETE_INDEXES = ("ix_event_dob", "ix_event_event_date")  # replaced by covering indexes


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _sqlite_pragmas(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL", "cache_size=-65536",
                       "mmap_size=1073741824", "temp_store=MEMORY"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store:
    """The sandbox database: a read pool and a serialised write path."""

    def __init__(self, url: str, *, read_pool_size: int = 8) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            args = {"check_same_thread": False, "timeout": 30}
            self.read_engine = create_engine(url, connect_args=args, pool_size=read_pool_size,
                                             max_overflow=read_pool_size, pool_timeout=60)
            # One writer connection: SQLite has one writer anyway; BEGIN IMMEDIATE also guards other processes.
            self.write_engine = create_engine(url, connect_args=args, pool_size=1, max_overflow=0,
                                              pool_timeout=120)
            _sqlite_pragmas(self.read_engine, immediate=False)
            _sqlite_pragmas(self.write_engine, immediate=True)
        else:
            self.read_engine = create_engine(url, pool_size=read_pool_size, max_overflow=read_pool_size,
                                             pool_pre_ping=True)
            self.write_engine = self.read_engine

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction."""
        with self.read_engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction (committed on success, rolled back on error)."""
        with self.write_engine.connect() as conn, conn.begin():
            yield conn

    def create_schema(self) -> None:
        """Create missing tables and indexes and the counter row."""
        with self.write() as conn:
            metadata.create_all(conn)
            for name in OBSOLETE_INDEXES:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
            for index in SECONDARY_INDEXES:
                index.create(conn, checkfirst=True)
            if conn.execute(select(counters.c.value).where(counters.c.name == REGISTRATION_COUNTER)).first() is None:
                conn.execute(insert(counters).values(name=REGISTRATION_COUNTER, value=0))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()


def bulk_engine(url: str) -> Engine:
    """An engine for bulk loading: SQLite with synchronous=OFF (seeding only)."""
    if not url.startswith("sqlite"):
        return create_engine(url, poolclass=NullPool)
    engine = create_engine(url, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=OFF", "cache_size=-262144",
                       "temp_store=MEMORY"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# ---------------------------------------------------------------------------------------------- queries


# Hot-path statements are prebuilt text: building Core constructs per call cost more CPU than SQLite's own work.
_EVENT_COLUMNS = [c.name for c in events.columns]
_ACTION_COLUMNS = [c.name for c in actions.columns]
_SELECT_ACTIONS = text('SELECT * FROM "action" WHERE event_id = :event_id ORDER BY position')
_SELECT_EVENT = text('SELECT * FROM "event" WHERE id = :event_id')
_SELECT_EVENT_LOCKED = text('SELECT * FROM "event" WHERE id = :event_id FOR UPDATE')
_FIND_CREATED = text('SELECT id FROM "event" WHERE create_transaction_id = :txn AND created_by = :by AND replay = 0')
_FIND_ACTION = text('SELECT 1 FROM "action" WHERE event_id = :event_id AND type = :type '
                    'AND transaction_id = :txn AND replay = 0')
_TRACKING_TAKEN = text('SELECT 1 FROM "event" WHERE tracking_id = :tracking_id')
_INSERT_EVENT = text(f'INSERT INTO "event" ({", ".join(_EVENT_COLUMNS)}) '
                     f'VALUES ({", ".join(":" + c for c in _EVENT_COLUMNS)})')
_INSERT_ACTION = text(f'INSERT INTO "action" ({", ".join(_ACTION_COLUMNS)}) '
                      f'VALUES ({", ".join(":" + c for c in _ACTION_COLUMNS)})')
_DELETE_FLAGS = text("DELETE FROM event_flag WHERE event_id = :event_id")
_INSERT_FLAG = text("INSERT INTO event_flag (event_id, flag) VALUES (:event_id, :flag)")
_DELETE_NAMES = text("DELETE FROM name_part WHERE event_id = :event_id")
_INSERT_NAME = text("INSERT INTO name_part (event_id, field_id, token) VALUES (:event_id, :field_id, :token)")
_KNOWN_TOKENS = text("SELECT token FROM name_variant WHERE variant IN :tokens AND token IN :tokens").bindparams(
    bindparam("tokens", expanding=True))
_COUNTER = text("SELECT value FROM counter WHERE name = :name")
_COUNTER_LOCKED = text("SELECT value FROM counter WHERE name = :name FOR UPDATE")
_SET_COUNTER = text("UPDATE counter SET value = :value WHERE name = :name")
_CLAIM = text("INSERT INTO registration_number (number, event_id) VALUES (:number, :event_id)")
_UPDATES: dict[tuple[str, ...], Any] = {}


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def action_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """An action row as the wire's ActionDocument."""
    out: dict[str, Any] = {
        "id": row["id"], "type": row["type"], "status": row["status"], "createdAt": row["created_at"],
        "createdBy": row["created_by"], "createdByRole": row["created_by_role"],
        "createdAtLocation": row["created_at_location"], "transactionId": row["transaction_id"],
    }
    payload = json.loads(row["payload"]) if row["payload"] else {}
    out["declaration"] = payload.pop("declaration", {})
    out["annotation"] = payload.pop("annotation", {})
    out.update(payload)
    return out


def load_actions(conn: Connection, event_id: str) -> list[dict[str, Any]]:
    """Every action of one event, oldest first."""
    return [action_dict(cast(Mapping[str, Any], r))
            for r in conn.execute(_SELECT_ACTIONS, {"event_id": event_id}).mappings()]


def load_event_row(conn: Connection, event_id: str, *, for_update: bool = False) -> Mapping[str, Any] | None:
    """One event row, or None; `for_update` locks it for this transaction (PostgreSQL; SQLite has one writer)."""
    statement = _SELECT_EVENT_LOCKED if for_update and _postgres(conn) else _SELECT_EVENT
    return cast(Mapping[str, Any] | None, conn.execute(statement, {"event_id": event_id}).mappings().first())


def find_created_event(conn: Connection, transaction_id: str, created_by: str) -> str | None:
    """The event an earlier create with this transactionId and creator made, if any."""
    return conn.execute(_FIND_CREATED, {"txn": transaction_id, "by": created_by}).scalar()


def find_action(conn: Connection, event_id: str, action_type: str, transaction_id: str) -> bool:
    """Whether this event already has this action type with this transactionId."""
    found = conn.execute(_FIND_ACTION, {"event_id": event_id, "type": action_type, "txn": transaction_id}).first()
    return found is not None


def tracking_id_taken(conn: Connection, tracking_id: str) -> bool:
    """Whether a tracking ID is already in use."""
    return conn.execute(_TRACKING_TAKEN, {"tracking_id": tracking_id}).first() is not None


def insert_event(conn: Connection, row: Mapping[str, Any]) -> None:
    """Insert a new event row."""
    conn.execute(_INSERT_EVENT, {c: row.get(c) for c in _EVENT_COLUMNS})


def insert_action(conn: Connection, row: Mapping[str, Any]) -> None:
    """Append one action row."""
    conn.execute(_INSERT_ACTION, {c: row.get(c) for c in _ACTION_COLUMNS})


def update_event(conn: Connection, event_id: str, values: Mapping[str, Any]) -> None:
    """Write the derived state back onto the event row."""
    keys = tuple(sorted(values))
    statement = _UPDATES.get(keys)
    if statement is None:
        unknown = set(keys) - set(_EVENT_COLUMNS)
        if unknown:
            raise KeyError(f"not event columns: {sorted(unknown)}")
        statement = text(f'UPDATE "event" SET {", ".join(f"{k} = :{k}" for k in keys)} WHERE id = :event_id__')
        _UPDATES[keys] = statement
    conn.execute(statement, {**values, "event_id__": event_id})


def replace_flags(conn: Connection, event_id: str, flags: Iterable[str]) -> None:
    """Replace an event's flag rows."""
    conn.execute(_DELETE_FLAGS, {"event_id": event_id})
    rows = [{"event_id": event_id, "flag": f} for f in sorted(set(flags))]
    if rows:
        conn.execute(_INSERT_FLAG, rows)


def replace_name_parts(conn: Connection, event_id: str, parts: Sequence[tuple[str, str]]) -> bool:
    """Replace an event's name index rows and add new tokens' deletion variants; True if the vocabulary grew."""
    from sandbox.domain import deletion_variants

    conn.execute(_DELETE_NAMES, {"event_id": event_id})
    if not parts:
        return False
    conn.execute(_INSERT_NAME, [{"event_id": event_id, "field_id": f, "token": t} for f, t in parts])
    tokens = sorted({t for _, t in parts})
    known = set(conn.execute(_KNOWN_TOKENS, {"tokens": tokens}).scalars())
    new_rows = [{"variant": v, "token": t} for t in tokens if t not in known for v in sorted(deletion_variants(t))]
    if new_rows:
        insert_ignore(conn, name_variants, new_rows)
    return bool(new_rows)


def insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping those that already exist (SQLite and PostgreSQL)."""
    if _postgres(conn):
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        conn.execute(pg_insert(table).on_conflict_do_nothing(), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert
        conn.execute(sqlite_insert(table).on_conflict_do_nothing(), rows)


def allocate_registration_counter(conn: Connection) -> int:
    """Take the next registration sequence number, locking the counter row for this transaction."""
    statement = _COUNTER_LOCKED if _postgres(conn) else _COUNTER
    current = int(conn.execute(statement, {"name": REGISTRATION_COUNTER}).scalar_one())
    conn.execute(_SET_COUNTER, {"name": REGISTRATION_COUNTER, "value": current + 1})
    return current + 1


def peek_registration_counter(conn: Connection) -> int:
    """The counter's value without taking it (used by the racy defect and the seeder)."""
    return int(conn.execute(_COUNTER, {"name": REGISTRATION_COUNTER}).scalar_one())


def set_registration_counter(conn: Connection, value: int) -> None:
    """Overwrite the counter (the racy defect and the seeder)."""
    conn.execute(_SET_COUNTER, {"name": REGISTRATION_COUNTER, "value": value})


def claim_registration_number(conn: Connection, number: str, event_id: str) -> None:
    """Record a number as used; the primary key refuses a second claim."""
    conn.execute(_CLAIM, {"number": number, "event_id": event_id})


def dumps(value: Any) -> str:
    """Compact JSON for stored columns."""
    return _dumps(value)
