"""Storage: SQLAlchemy 2 tables and queries; SQLite (WAL, busy_timeout) by default, PostgreSQL by URL."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
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
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger("sandbox.storage")
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
    # The rest of the EventIndex (legalStatuses, updatedBy..., placeOfEvent) as JSON: read, never filtered on.
    Column("meta", Text, nullable=False, default="{}"),
    # createdAt of a Requested action still waiting for its Accepted answer (--async-confirm); NULL otherwise.
    Column("pending_at", String(32)),
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
    Column("flag", String(64), primary_key=True),  # farajaland's custom flags run to 40 characters
    sqlite_with_rowid=False,
)

#: The name index. It holds rows only for events a search can return (status other than CREATED), and carries
#: the event's createdAt, so a name-only search is answered, counted and ordered from this index alone.
name_parts = Table(
    "name_part", metadata,
    Column("event_id", String(36), nullable=False),
    Column("field_id", String(32), nullable=False),
    Column("token", String(64), nullable=False),
    Column("created_at", String(32), nullable=True),
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

# Files posted to /upload (the gateway stores them in MinIO; the path is what declarations point at).
uploads = Table(
    "upload", metadata,
    Column("path", String(200), primary_key=True),
    Column("transaction_id", String(200), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
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
    # A Requested action and its Accepted twin share type and transactionId, so the status is part of the key.
    Index("ux_action_txn_status", actions.c.event_id, actions.c.type, actions.c.transaction_id, actions.c.status,
          actions.c.replay, unique=True),
    Index("ix_event_flag_flag", event_flags.c.flag, event_flags.c.event_id),
    Index("ix_name_part_sorted", name_parts.c.field_id, name_parts.c.token, name_parts.c.created_at,
          name_parts.c.event_id),
    Index("ix_name_part_event", name_parts.c.event_id),
    Index("ix_event_pending_at", events.c.pending_at),
    # id-first covering index: a name search probes candidates by id and sorts them without reading the wide
    # rows (OpenCRVS's OR-ed name `match` yields thousands of candidates on a large database).
    Index("ix_event_id_sort", events.c.id, events.c.status, events.c.type, events.c.created_at, events.c.updated_at,
          events.c.dob),
)

REGISTRATION_COUNTER = "registration_number"
# ix_event_dob, ix_event_event_date and ux_action_txn were replaced by covering indexes; ux_upload_txn went when an
# upload's path became `<transactionId>.<ext>` (a re-upload overwrites the file, as in MinIO).
# ix_name_part_lookup became ix_name_part_sorted when name_part gained created_at.
OBSOLETE_INDEXES = ("ix_event_dob", "ix_event_event_date", "ux_action_txn", "ux_upload_txn", "ix_name_part_lookup")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


#: With the background checkpointer, a commit checkpoints by itself only when the WAL passes this many pages
#: (a backstop should the checkpointer fall behind); SQLite's default is 1000.
BACKSTOP_AUTOCHECKPOINT_PAGES = 16384
CHECKPOINT_INTERVAL_S = 0.25


def _sqlite_pragmas(engine: Engine, *, immediate: bool, autocheckpoint: int | None = None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        pragmas = ["journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL", "cache_size=-65536",
                   "mmap_size=1073741824", "temp_store=MEMORY"]
        if autocheckpoint is not None:
            pragmas.append(f"wal_autocheckpoint={autocheckpoint}")
        for pragma in pragmas:
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class _Checkpointer(threading.Thread):
    """Copies the WAL back into the database from its own connection, so no commit pays for a checkpoint.

    SQLite's automatic checkpoint runs inside the COMMIT that crosses wal_autocheckpoint pages, holding the one
    write lock while it writes pages back and syncs; every writer queued behind it waits. A PASSIVE checkpoint
    from another connection takes no write lock and waits for no reader (https://sqlite.org/wal.html,
    "Application-Initiated Checkpoints"), so writers keep committing while it runs.
    """

    def __init__(self, path: str, interval_s: float) -> None:
        super().__init__(name="sqlite-checkpointer", daemon=True)
        self.path, self.interval_s = path, interval_s
        self.stopping = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            while not self.stopping.wait(self.interval_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # a busy or locked database: try again at the next tick
                    log.debug("background checkpoint skipped: %s", exc)
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


class Store:
    """The sandbox database: a read pool and a serialised write path."""

    def __init__(self, url: str, *, read_pool_size: int = 24, background_checkpoint: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._checkpointer: _Checkpointer | None = None
        if self.is_sqlite:
            args = {"check_same_thread": False, "timeout": 30}
            self.read_engine = create_engine(url, connect_args=args, pool_size=read_pool_size,
                                             max_overflow=read_pool_size, pool_timeout=60)
            # One writer connection: SQLite has one writer anyway; BEGIN IMMEDIATE also guards other processes.
            self.write_engine = create_engine(url, connect_args=args, pool_size=1, max_overflow=0,
                                              pool_timeout=120)
            _sqlite_pragmas(self.read_engine, immediate=False)
            path = make_url(url).database
            if background_checkpoint and path and path != ":memory:":
                _sqlite_pragmas(self.write_engine, immediate=True, autocheckpoint=BACKSTOP_AUTOCHECKPOINT_PAGES)
                self._checkpointer = _Checkpointer(path, CHECKPOINT_INTERVAL_S)
                self._checkpointer.start()
            else:
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
            create_schema_on(conn)

    def dispose(self) -> None:
        """Stop the checkpointer and close every pooled connection."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()


def create_schema_on(conn: Connection) -> None:
    """Today's schema on an open connection: missing tables, indexes and the counter row (idempotent).

    Store.create_schema runs it at start-up; the baseline migration (sandbox/migrations, revision 0001) runs the
    same function, so a database made either way is at the baseline revision.
    """
    metadata.create_all(conn)
    _add_name_part_created_at(conn)
    for name in OBSOLETE_INDEXES:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    for index in SECONDARY_INDEXES:
        index.create(conn, checkfirst=True)
    if conn.execute(select(counters.c.value).where(counters.c.name == REGISTRATION_COUNTER)).first() is None:
        conn.execute(insert(counters).values(name=REGISTRATION_COUNTER, value=0))


def _add_name_part_created_at(conn: Connection) -> None:
    """Bring a database from before name_part.created_at up to date (fill it; drop rows of CREATED events)."""
    from sqlalchemy import inspect

    if "created_at" in {c["name"] for c in inspect(conn).get_columns("name_part")}:
        return
    conn.exec_driver_sql("ALTER TABLE name_part ADD COLUMN created_at VARCHAR(32)")
    conn.exec_driver_sql("DELETE FROM name_part WHERE event_id IN (SELECT id FROM event WHERE status = 'CREATED')")
    conn.exec_driver_sql("UPDATE name_part SET created_at = (SELECT created_at FROM event WHERE event.id = "
                         "name_part.event_id)")


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
_SELECT_ACTIONS = text('SELECT * FROM "action" WHERE event_id = :event_id ORDER BY position, created_at')
_SELECT_EVENT = text('SELECT * FROM "event" WHERE id = :event_id')
_SELECT_EVENT_LOCKED = text('SELECT * FROM "event" WHERE id = :event_id FOR UPDATE')
_FIND_CREATED = text('SELECT id FROM "event" WHERE create_transaction_id = :txn AND created_by = :by AND replay = 0')
_TRACKING_TAKEN = text('SELECT 1 FROM "event" WHERE tracking_id = :tracking_id')
_INSERT_EVENT = text(f'INSERT INTO "event" ({", ".join(_EVENT_COLUMNS)}) '
                     f'VALUES ({", ".join(":" + c for c in _EVENT_COLUMNS)})')
_INSERT_ACTION = text(f'INSERT INTO "action" ({", ".join(_ACTION_COLUMNS)}) '
                      f'VALUES ({", ".join(":" + c for c in _ACTION_COLUMNS)})')
# A READ needs only its own row: the position is taken inside the INSERT, so no prior read of the history.
_INSERT_READ = text('INSERT INTO "action" (id, event_id, position, type, status, created_at, created_by, '
                    'created_by_role, created_at_location, transaction_id, replay, payload) '
                    'SELECT :id, :event_id, COALESCE(MAX(position), -1) + 1, :type, :status, :created_at, '
                    ':created_by, :created_by_role, :created_at_location, :transaction_id, 0, :payload '
                    'FROM "action" WHERE event_id = :event_id')
_DUE_PENDING = text('SELECT id FROM "event" WHERE pending_at IS NOT NULL AND pending_at <= :due '
                    'ORDER BY pending_at LIMIT :limit')
_UPLOAD_EXISTS = text("SELECT 1 FROM upload WHERE path = :path")
_DELETE_FLAGS = text("DELETE FROM event_flag WHERE event_id = :event_id")
_INSERT_FLAG = text("INSERT INTO event_flag (event_id, flag) VALUES (:event_id, :flag)")
_DELETE_NAMES = text("DELETE FROM name_part WHERE event_id = :event_id")
_INSERT_NAME = text("INSERT INTO name_part (event_id, field_id, token, created_at) "
                    "SELECT id, :field_id, :token, created_at FROM event WHERE id = :event_id")
_KNOWN_TOKENS = text("SELECT token FROM name_variant WHERE variant IN :tokens AND token IN :tokens").bindparams(
    bindparam("tokens", expanding=True))
_COUNTER = text("SELECT value FROM counter WHERE name = :name")
_COUNTER_LOCKED = text("SELECT value FROM counter WHERE name = :name FOR UPDATE")
_SET_COUNTER = text("UPDATE counter SET value = :value WHERE name = :name")
_CLAIM = text("INSERT INTO registration_number (number, event_id) VALUES (:number, :event_id)")
_UPDATES: dict[tuple[str, ...], Any] = {}


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


# Action keys stored in their own columns; everything else of the ActionDocument lives in the JSON payload.
ACTION_CORE_KEYS = frozenset({"id", "type", "status", "createdAt", "createdBy", "createdByRole", "createdAtLocation",
                              "transactionId"})


def action_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """An action row as the wire's ActionDocument (ActionDocument.ts); createdByRole is absent for systems."""
    out: dict[str, Any] = {
        "id": row["id"], "type": row["type"], "status": row["status"], "createdAt": row["created_at"],
        "createdBy": row["created_by"], "createdAtLocation": row["created_at_location"],
        "transactionId": row["transaction_id"],
    }
    if row["created_by_role"]:
        out["createdByRole"] = row["created_by_role"]
    payload = json.loads(row["payload"]) if row["payload"] else {}
    out["declaration"] = payload.pop("declaration", {})
    out.update(payload)
    return out


def action_row(event_id: str, position: int, action: Mapping[str, Any], replay: int) -> dict[str, Any]:
    """An ActionDocument as an action table row."""
    payload = {k: v for k, v in action.items() if k not in ACTION_CORE_KEYS}
    return {"id": action["id"], "event_id": event_id, "position": position, "type": action["type"],
            "status": action["status"], "created_at": action["createdAt"], "created_by": action["createdBy"],
            "created_by_role": action.get("createdByRole"), "created_at_location": action.get("createdAtLocation"),
            "transaction_id": action["transactionId"], "replay": replay, "payload": _dumps(payload)}


def insert_read(conn: Connection, event_id: str, action: Mapping[str, Any]) -> None:
    """Append a READ action with one statement (event.get writes one every time)."""
    row = action_row(event_id, 0, action, 0)
    conn.execute(_INSERT_READ, {k: row[k] for k in ("id", "event_id", "type", "status", "created_at", "created_by",
                                                    "created_by_role", "created_at_location", "transaction_id",
                                                    "payload")})


def due_pending_events(conn: Connection, due: str, limit: int = 200) -> list[str]:
    """Events whose Requested action has waited since `due` or earlier (oldest first)."""
    return list(conn.execute(_DUE_PENDING, {"due": due, "limit": limit}).scalars())


def upload_exists(conn: Connection, path: str) -> bool:
    """Whether a file was uploaded under this path."""
    return conn.execute(_UPLOAD_EXISTS, {"path": path}).first() is not None


def store_upload(conn: Connection, row: Mapping[str, Any]) -> None:
    """Store one uploaded file under its path, replacing a file already stored there (MinIO putObject)."""
    columns = [k for k in row if k != "path"]
    if _postgres(conn):
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        pg_statement = pg_insert(uploads).values(**row)
        conn.execute(pg_statement.on_conflict_do_update(
            index_elements=[uploads.c.path], set_={k: pg_statement.excluded[k] for k in columns}))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert
        sqlite_statement = sqlite_insert(uploads).values(**row)
        conn.execute(sqlite_statement.on_conflict_do_update(
            index_elements=[uploads.c.path], set_={k: sqlite_statement.excluded[k] for k in columns}))


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
    """Replace an event's name index rows and add new tokens' deletion variants; True if the vocabulary grew.

    The caller passes no parts for an event a search must not return (a CREATED draft): see `name_parts`.
    """
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
