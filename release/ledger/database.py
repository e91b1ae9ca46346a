"""Engines for SQLite and PostgreSQL, write serialisation, and programmatic Alembic migrations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from release.errors import LedgerNotFound, LedgerUnavailable

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The newest migration's revision. A ledger already there is opened without loading Alembic and the migration
#: scripts (a few hundred ms of every command); tests/integration/release_ledger checks it is Alembic's head.
HEAD_REVISION = "0003"
#: Key of the PostgreSQL advisory lock that serialises ledger writes (and so the audit chain).
PG_WRITE_LOCK = 0x7E1EA5E
BUSY_TIMEOUT_MS = 30_000


def _sqlite_events(engine: Engine) -> None:
    """Turn on WAL, foreign keys and busy_timeout, and let writers BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN IMMEDIATE is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("ledger_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, create: bool) -> Engine:
    """Create an engine for url; with create=False a missing SQLite file is LedgerNotFound."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise LedgerUnavailable(f"ledger URL is not a valid SQLAlchemy URL: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:":
            raise LedgerUnavailable("the ledger needs a SQLite file, not an in-memory database")
        path = Path(database)
        if not path.exists():
            if not create:
                raise LedgerNotFound(f"no ledger at {path}; run `release prepare` first")
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        except (ArgumentError, NoSuchModuleError) as exc:
            raise LedgerUnavailable(f"cannot use ledger URL: {exc}") from exc
        _sqlite_events(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg":
        from release.extras import require_extra

        require_extra("postgres", purpose="a PostgreSQL ledger")  # psycopg is the [postgres] extra: exit 2 naming it
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise LedgerUnavailable(f"cannot use ledger URL {parsed.render_as_string(hide_password=True)}: {exc}") from exc


def lock_for_write(conn: Connection) -> None:
    """Serialise writers on PostgreSQL (SQLite does it with BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITE_LOCK})


def _alembic_config(conn: Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(engine: Engine, *, create: bool) -> None:
    """Apply every Alembic migration up to head, under the write lock; refuse an unmigrated DB unless create."""
    try:
        with engine.connect().execution_options(ledger_write=True) as conn:
            conn.begin()
            lock_for_write(conn)
            has_version = inspect(conn).has_table("alembic_version")
            if not create and not has_version:
                raise LedgerNotFound(
                    f"{engine.url.render_as_string(hide_password=True)} holds no ledger (no alembic_version table)")
            at = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none() \
                if has_version else None
            if at != HEAD_REVISION:  # anything else (older, newer, none) is Alembic's to upgrade or refuse
                from alembic import command

                command.upgrade(_alembic_config(conn), "head")
            conn.commit()
    except SQLAlchemyError as exc:
        raise LedgerUnavailable(
            f"cannot open ledger {engine.url.render_as_string(hide_password=True)}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}") from exc


def current_revision(engine: Engine) -> str | None:
    """Return the Alembic revision the database is at, or None."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
