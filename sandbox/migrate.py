"""Versioned schema migrations of the sandbox database (Alembic, as the ledger's), with a defect branch.

The revisions live in sandbox/migrations/versions. ``0001_baseline`` is the schema Store.create_schema makes, so
a database made by ``sandbox serve`` or ``sandbox seed`` before migrations existed counts as the baseline (it is
stamped, not rebuilt). The clean line ends at CLEAN_HEAD. ``9001_drop_date_of_death`` branches off it: a defect
migration, as opencrvs-core #11115 lost dates of death, that a candidate ships only by naming it (``--to``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001_baseline"
#: Where `sandbox migrate` goes by default: the end of the clean line (never the defect branch).
CLEAN_HEAD = "0002_sorted_declarations"
DEFECT = "9001_drop_date_of_death"


class MigrateError(RuntimeError):
    """The migration could not be applied (unknown revision, a database that is not the sandbox's, ...)."""


@dataclass(frozen=True)
class MigrateResult:
    """Where the database stood before and after."""

    before: str | None
    after: str | None
    stamped: bool = False

    def to_json(self) -> dict[str, Any]:
        """The `sandbox migrate --json` shape."""
        return {"before": self.before, "after": self.after, "stamped_baseline": self.stamped}


def _engine(url: str) -> Engine:
    """An engine whose transactions really cover DDL (pysqlite would autocommit it)."""
    engine = create_engine(url, poolclass=NullPool)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            dbapi_conn.execute("PRAGMA busy_timeout=30000")

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    return engine


def _config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def revisions() -> list[str]:
    """Every revision id, oldest first (the defect branch last)."""
    script = ScriptDirectory(str(MIGRATIONS))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _resolve(target: str | None) -> str:
    """The revision id `--to` names: a full id, a unique prefix (e.g. 9001), or head (the clean head)."""
    if target in (None, "", "head", "heads", "clean"):
        return CLEAN_HEAD
    if target == "base":
        return "base"
    known = revisions()
    matches = [r for r in known if r == target] or [r for r in known if r.startswith(str(target))]
    if len(matches) != 1:
        raise MigrateError(f"unknown revision {target!r}; revisions: {', '.join(known)}")
    return matches[0]


def _ancestors(revision: str) -> set[str]:
    script = ScriptDirectory(str(MIGRATIONS))
    return {r.revision for r in script.iterate_revisions(revision, "base")}


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, or None (no alembic_version table, or an empty one)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


@contextmanager
def _connection(url: str) -> Iterator[Connection]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def migrate(url: str, to: str | None = None) -> MigrateResult:
    """Bring the database at `url` to revision `to` (default CLEAN_HEAD), in one transaction; MigrateError if not.

    A database with sandbox tables but no revision (made by Store.create_schema) is stamped at the baseline
    first. Going to an older revision downgrades.
    """
    target = _resolve(to)
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with _connection(url) as conn, conn.begin():
            cfg = _config(conn)
            before = current_revision(conn)
            stamped = False
            if before is None and inspect(conn).has_table("event"):
                command.stamp(cfg, BASELINE)
                before, stamped = BASELINE, True
            if target == "base":
                command.downgrade(cfg, "base")
            elif before is not None and before != target and target in _ancestors(before):
                command.downgrade(cfg, target)
            else:
                command.upgrade(cfg, target)
            after = current_revision(conn)
    except SQLAlchemyError as exc:
        raise MigrateError(f"migration to {target} failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    except MigrateError:
        raise
    except (CommandError, RuntimeError) as exc:
        raise MigrateError(f"migration to {target} failed: {exc}") from None
    return MigrateResult(before if not stamped else None, after, stamped)
