"""The operations gates' runs: a migration rehearsal and a backup-restore drill on real databases.

``kind = "migration"`` restores a copy of production data (a SQLite file, or a ``pg_dump -Fc`` dump restored with
``pg_restore``) into a scratch database, snapshots it, runs the candidate's migration command on it and snapshots
it again. ``kind = "restore-drill"`` backs the deployment's database up with its own tool (SQLite's backup API, or
``pg_dump`` on a snapshot exported from the same transaction that reads the source), restores the backup into
scratch, timed against the RTO, and compares the copy with its source. Both decide with release.gates.ops.

A snapshot is written to the scratch folder in record-id order (one line per record: the id, then a digest per
configured field), so a million records are compared by a streaming merge in constant memory. The evidence (a
JSON file, stored with its sha256 like every artifact) holds counts and record ids only. Scratch copies and
databases are removed when the run ends, whatever happened. Anything that stops a drill from deciding (a dump
that does not restore, a missing source, a tool that cannot start) is ERROR, never PASSED.

The snapshot reads the sandbox's tables (``event``: id, type, status, registration_number, declaration JSON); a
deployment with another schema exposes the same columns through a view named ``event`` (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from release.config import GateConfig, Target
from release.gates import GateState
from release.gates.ops import Comparison, age_text, compare, drill_verdict, rehearsal_verdict
from release.ledger import CandidateRecord
from release.workflow.context import Context
from release.workflow.deploy import command_argv, run_command

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
DEFAULT_TIMEOUT_S = 3600.0
#: Files up to this size get a sha256 in the evidence; larger ones their size and modification time.
HASH_LIMIT_BYTES = 1 << 30


class DrillError(Exception):
    """The drill could not decide (a source that is missing, a dump that does not restore): ERROR."""


@dataclass(frozen=True)
class DrillResult:
    """What a drill decided, why, and the files that prove it (gate_runner records it)."""

    state: GateState
    reason: str
    summary: Mapping[str, Any] = field(default_factory=dict)
    files: Sequence[tuple[Path, str]] = ()


# ------------------------------------------------------------------------------------------------ databases


@dataclass(frozen=True)
class Database:
    """A database the drill reads or writes: a SQLite file, or a PostgreSQL database by SQLAlchemy URL."""

    path: Path | None = None
    url: str | None = None

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite file."""
        return self.path is not None

    def placeholder(self) -> str:
        """What {db} becomes in a command: the file, or the SQLAlchemy URL without its password (in PGPASSWORD)."""
        if self.path is not None:
            return str(self.path)
        from sqlalchemy.engine import make_url

        return make_url(str(self.url)).set(password=None).render_as_string(hide_password=False)

    def dsn(self) -> str:
        """The libpq URL without its password (for psql, pg_dump, pg_restore and psycopg)."""
        from sqlalchemy.engine import make_url

        return make_url(str(self.url)).set(drivername="postgresql", password=None).render_as_string(
            hide_password=False)

    def password(self) -> str | None:
        """The PostgreSQL password, handed to tools in PGPASSWORD, never on a command line."""
        from sqlalchemy.engine import make_url

        return None if self.url is None else make_url(self.url).password

    def shown(self) -> str:
        """For reasons and evidence: the file name, or the URL with its password masked."""
        if self.path is not None:
            return self.path.name
        from sqlalchemy.engine import make_url

        return make_url(str(self.url)).render_as_string(hide_password=True)


def _pg_env(environ: Mapping[str, str], *dbs: Database) -> dict[str, str]:
    env = dict(environ)
    for db in dbs:
        password = db.password()
        if password:
            env["PGPASSWORD"] = password
    return env


def _pg_connect(db: Database) -> Any:
    import psycopg

    return psycopg.connect(db.dsn(), password=db.password()) if db.password() else psycopg.connect(db.dsn())


class ScratchServer:
    """A PostgreSQL server where throwaway databases are made for a restore, and dropped after."""

    def __init__(self, url: str) -> None:
        self.admin = Database(url=url)
        self.made: list[Database] = []

    def create(self) -> Database:
        """A new, empty database on the scratch server."""
        from sqlalchemy.engine import make_url

        name = f"crvs_scratch_{uuid.uuid4().hex[:12]}"
        with closing(_pg_connect(self.admin)) as conn:
            conn.autocommit = True
            conn.execute(f'CREATE DATABASE "{name}"')
        db = Database(url=make_url(str(self.admin.url)).set(database=name).render_as_string(hide_password=False))
        self.made.append(db)
        return db

    def drop_all(self) -> None:
        """Drop every database this server made (closing leftover connections)."""
        from sqlalchemy.engine import make_url

        for db in self.made:
            with suppress(Exception), closing(_pg_connect(self.admin)) as conn:
                conn.autocommit = True
                conn.execute(f'DROP DATABASE IF EXISTS "{make_url(str(db.url)).database}" WITH (FORCE)')
        self.made.clear()


def backup_format(path: Path) -> str:
    """'sqlite' or 'pg-custom' by the file's first bytes; DrillError for anything else."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise DrillError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "pg-custom"
    raise DrillError(f"{path.name} is neither a SQLite database nor a pg_dump custom-format dump (-Fc)")


def sqlite_copy(source: Path, dest: Path) -> None:
    """Copy a SQLite database with its backup API (a consistent copy even while it is written); never writes source."""
    dest.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
                closing(sqlite3.connect(dest)) as dst:
            src.backup(dst)
    except sqlite3.Error as exc:
        raise DrillError(f"{source.name} did not restore: {exc}") from None


def pg_restore(dump: Path, into: Database, environ: Mapping[str, str], timeout_s: float) -> None:
    """Restore a custom-format dump with pg_restore (stopping at the first error); DrillError when it fails."""
    argv = ("pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", into.dsn(), str(dump))
    result = run_command(argv, Path.cwd(), timeout_s=timeout_s, env=_pg_env(environ, into))
    if not result.ok:
        raise DrillError(f"the dump {dump.name} did not restore: pg_restore "
                         f"{'timed out or could not start' if result.exit_code is None else f'exited {result.exit_code}'}"
                         f": {_tail(result.output_tail)}")


def _tail(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-2:])[:300]


# ------------------------------------------------------------------------------------------------ snapshots


@dataclass(frozen=True)
class Snapshot:
    """A database reduced to what the comparison needs; the per-record lines live in two files."""

    counts: Mapping[str, int]
    records: Path
    numbers: Path
    checksums: Mapping[str, str]
    record_count: int

    def record_digests(self) -> Iterator[tuple[str, tuple[str | None, ...]]]:
        """(record id, per-field digests) in id order, read back from the file."""
        with self.records.open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                yield parts[0], tuple(None if p == "-" else p for p in parts[1:])

    def registration_numbers(self) -> Iterator[str]:
        """The registration numbers, sorted and without repeats."""
        with self.numbers.open(encoding="utf-8") as fh:
            for line in fh:
                yield line.rstrip("\n")


def _digest(value: Any) -> str | None:
    if value is None:
        return None
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=8).hexdigest()


def _records_sql(dialect: str) -> tuple[str, str]:
    # Both sides are merged in Python's string order: PostgreSQL must sort bytewise, as SQLite's BINARY does.
    collate = ' COLLATE "C"' if dialect == "postgresql" else ""
    return (f'SELECT id, type, status, registration_number, declaration FROM "event" ORDER BY id{collate}',
            f'SELECT DISTINCT registration_number{collate} AS n FROM "event" WHERE registration_number IS NOT NULL '
            f'ORDER BY n')


def take_snapshot(rows: Iterable[Sequence[Any]], numbers: Iterable[Sequence[Any]], fields: Sequence[str],
                  folder: Path, name: str) -> Snapshot:
    """Write a snapshot from (id, type, status, registration_number, declaration) rows in id order."""
    folder.mkdir(parents=True, exist_ok=True)
    records_path, numbers_path = folder / f"{name}.records", folder / f"{name}.numbers"
    counts: Counter[str] = Counter()
    sums = {f: hashlib.sha256() for f in fields}
    total = 0
    with records_path.open("w", encoding="utf-8") as out:
        for record_id, event_type, status, _number, declaration in rows:
            counts[f"{event_type}/{status}"] += 1
            total += 1
            try:
                values = json.loads(declaration) if declaration else {}
            except ValueError:
                values = None
            if not isinstance(values, dict):
                raise DrillError(f"record {record_id} holds a declaration that is not a JSON object")
            digests = [_digest(values.get(f)) for f in fields]
            for f, d in zip(fields, digests, strict=True):
                sums[f].update(f"{record_id}\t{d or '-'}\n".encode())
            out.write("\t".join([str(record_id), *(d or "-" for d in digests)]) + "\n")
    with numbers_path.open("w", encoding="utf-8") as out:
        for (number,) in numbers:
            out.write(f"{number}\n")
    return Snapshot(dict(counts), records_path, numbers_path, {f: h.hexdigest() for f, h in sums.items()}, total)


def snapshot_sqlite(conn: sqlite3.Connection, fields: Sequence[str], folder: Path, name: str) -> Snapshot:
    """A snapshot of a SQLite database, read on `conn` (inside whatever transaction it holds)."""
    records_sql, numbers_sql = _records_sql("sqlite")
    try:
        return take_snapshot(conn.execute(records_sql), conn.execute(numbers_sql), fields, folder, name)
    except sqlite3.Error as exc:
        raise DrillError(f"cannot read the records: {exc}") from None


def snapshot_sqlite_file(path: Path, fields: Sequence[str], folder: Path, name: str) -> Snapshot:
    """A snapshot of a SQLite file opened read-only."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return snapshot_sqlite(conn, fields, folder, name)
    except sqlite3.Error as exc:
        raise DrillError(f"cannot open {path.name}: {exc}") from None


def snapshot_pg(conn: Any, fields: Sequence[str], folder: Path, name: str) -> Snapshot:
    """A snapshot of a PostgreSQL database on a psycopg connection, streamed with server-side cursors."""
    import psycopg

    records_sql, numbers_sql = _records_sql("postgresql")
    try:
        with conn.cursor(name=f"records_{uuid.uuid4().hex[:8]}") as rows, \
                conn.cursor(name=f"numbers_{uuid.uuid4().hex[:8]}") as numbers:
            rows.itersize = numbers.itersize = 5000
            rows.execute(records_sql)
            numbers.execute(numbers_sql)
            return take_snapshot(rows, numbers, fields, folder, name)
    except psycopg.Error as exc:
        raise DrillError(f"cannot read the records: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def snapshot_of(db: Database, fields: Sequence[str], folder: Path, name: str) -> Snapshot:
    """A snapshot of a scratch database, SQLite or PostgreSQL."""
    if db.path is not None:
        return snapshot_sqlite_file(db.path, fields, folder, name)
    import psycopg

    try:
        with closing(_pg_connect(db)) as conn, conn.transaction():
            return snapshot_pg(conn, fields, folder, name)
    except psycopg.Error as exc:
        raise DrillError(f"cannot read {db.shown()}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def compare_snapshots(before: Snapshot, after: Snapshot, fields: Sequence[str],
                      labels: Mapping[str, str]) -> Comparison:
    """Stream both snapshots through release.gates.ops.compare."""
    return compare(before.counts, after.counts, before.record_digests(), after.record_digests(),
                   before.registration_numbers(), after.registration_numbers(), fields, labels)


# ------------------------------------------------------------------------------------------------ helpers


def _path(ctx: Context, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else ctx.root / path


def file_facts(path: Path) -> dict[str, Any]:
    """Size, modification time and (below HASH_LIMIT_BYTES) sha256 of a source or backup file."""
    stat = path.stat()
    facts: dict[str, Any] = {"name": path.name, "size": stat.st_size,
                             "modified": datetime.fromtimestamp(stat.st_mtime).astimezone().isoformat()}
    if stat.st_size <= HASH_LIMIT_BYTES:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        facts["sha256"] = digest.hexdigest()
    return facts


def _scratch_server(ctx: Context, gate: GateConfig) -> ScratchServer:
    var = gate.options.get("scratch_url_env")
    if not var:
        raise DrillError(f"gate {gate.name}: a PostgreSQL restore needs scratch_url_env, the env var holding a "
                         "PostgreSQL URL where a throwaway database may be created")
    url = ctx.environ.get(str(var))
    if not url:
        raise DrillError(f"gate {gate.name}: the environment variable {var} (scratch_url_env) is not set")
    return ScratchServer(_sqlalchemy_url(url))


def _sqlalchemy_url(url: str) -> str:
    """A PostgreSQL URL as SQLAlchemy's psycopg form (postgres:// and postgresql:// accepted)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise DrillError("expected a PostgreSQL URL (postgresql://user@host:port/db)")


def _fill(template: str, values: Mapping[str, str], candidate: CandidateRecord) -> tuple[str, ...]:
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return command_argv(template, version=f"{candidate.version}-rc.{candidate.rc}", commit=candidate.sha,
                        tag=candidate.tag, strict=False)


def _command_env(ctx: Context, candidate: CandidateRecord, target: Target, *dbs: Database) -> dict[str, str]:
    env = _pg_env(ctx.environ, *dbs)
    env.update(RELEASE_CANDIDATE_TAG=candidate.tag, RELEASE_CANDIDATE_SHA=candidate.sha,
               RELEASE_CANDIDATE_VERSION=f"{candidate.version}-rc.{candidate.rc}", RELEASE_TARGET_NAME=target.name)
    return env


def _write_evidence(path: Path, data: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _timeout(gate: GateConfig) -> float:
    return float(gate.options.get("timeout", DEFAULT_TIMEOUT_S))


# ------------------------------------------------------------------------------------------------ rehearsal


def _restore_source(ctx: Context, gate: GateConfig, scratch: Path, server: list[ScratchServer]) -> tuple[Database, str]:
    """The production copy in a scratch database, and the source's format."""
    source = _path(ctx, str(gate.options["source"]))
    if not source.is_file():
        raise DrillError(f"the source {gate.options['source']} is not a file")
    kind = backup_format(source)
    if kind == "sqlite":
        db = Database(path=scratch / "rehearsal.db")
        sqlite_copy(source, db.path)  # type: ignore[arg-type]
        return db, kind
    pg = _scratch_server(ctx, gate)
    server.append(pg)
    db = pg.create()
    pg_restore(source, db, ctx.environ, _timeout(gate))
    return db, kind


def rehearse(ctx: Context, gate: GateConfig, target: Target, candidate: CandidateRecord, workdir: Path) -> DrillResult:
    """Run the candidate's migrations on a copy of production data and compare the data before and after."""
    fields = list(gate.options.get("fields") or ())
    labels = dict(gate.options.get("labels") or {})
    scratch = workdir / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    servers: list[ScratchServer] = []
    evidence = workdir / "rehearsal.json"
    summary: dict[str, Any] = {"fields": fields}
    files: list[tuple[Path, str]] = []
    try:
        try:
            started = time.monotonic()
            db, kind = _restore_source(ctx, gate, scratch, servers)
            summary.update(source=file_facts(_path(ctx, str(gate.options["source"]))), source_format=kind,
                           restore_s=round(time.monotonic() - started, 3))
            before = snapshot_of(db, fields, scratch, "before")
        except DrillError as exc:
            return DrillResult(GateState.ERROR, str(exc), summary)
        argv = _fill(str(gate.options["migrate"]), {"db": db.placeholder(), "dsn": db.dsn() if db.url else "",
                                                     "out": str(workdir), "source": str(gate.options["source"])},
                     candidate)
        started = time.monotonic()
        result = run_command(argv, ctx.root, timeout_s=_timeout(gate),
                             env=_command_env(ctx, candidate, target, db))
        summary["migrate_s"] = round(time.monotonic() - started, 3)
        log = workdir / "migrate-output.txt"
        log.write_text(result.output_tail, encoding="utf-8")
        files.append((log, "log"))
        summary["exit_code"] = result.exit_code
        if result.exit_code is None:
            return DrillResult(GateState.ERROR, f"migration command did not complete: {_tail(result.output_tail)}",
                               summary, files)
        if result.exit_code != 0:
            return DrillResult(GateState.FAILED, f"the migration failed on a copy of production data (exit "
                                                 f"{result.exit_code}): {_tail(result.output_tail)}", summary, files)
        try:
            after = snapshot_of(db, fields, scratch, "after")
        except DrillError as exc:
            return DrillResult(GateState.ERROR, f"after the migration: {exc}", summary, files)
        comparison = compare_snapshots(before, after, fields, labels)
        state, reason = rehearsal_verdict(comparison)
        summary.update(comparison=comparison.to_json(), checksums={"before": dict(before.checksums),
                                                                   "after": dict(after.checksums)})
        files.append((_write_evidence(evidence, {"gate": gate.name, "kind": gate.kind, "state": state.value,
                                                 "reason": reason, **summary}), "rehearsal"))
        return DrillResult(state, reason, summary, files)
    finally:
        for server in servers:
            server.drop_all()
        shutil.rmtree(scratch, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ restore drill


def _drill_database(ctx: Context, gate: GateConfig) -> Database:
    if gate.options.get("database"):
        path = _path(ctx, str(gate.options["database"]))
        if not path.is_file():
            raise DrillError(f"the database {gate.options['database']} is not a file")
        return Database(path=path)
    var = str(gate.options["database_env"])
    url = ctx.environ.get(var)
    if not url:
        raise DrillError(f"gate {gate.name}: the environment variable {var} (database_env) is not set")
    return Database(url=_sqlalchemy_url(url))


def _backup_sqlite(ctx: Context, gate: GateConfig, db: Database, backup: Path, scratch: Path, fields: Sequence[str],
                   run: Any) -> Snapshot:
    """Snapshot the source and back it up in the same read transaction, so both see the same data."""
    assert db.path is not None
    try:
        with closing(sqlite3.connect(f"file:{db.path}?mode=ro", uri=True, isolation_level=None)) as src:
            src.execute("BEGIN")
            source = snapshot_sqlite(src, fields, scratch, "source")
            if gate.options.get("backup"):
                run(str(gate.options["backup"]), {"db": str(db.path), "backup": str(backup)}, "backup")
            else:
                with closing(sqlite3.connect(backup)) as dst:
                    src.backup(dst)
            src.execute("COMMIT")
    except sqlite3.Error as exc:
        raise DrillError(f"cannot back up {db.shown()}: {exc}") from None
    return source


def _backup_pg(ctx: Context, gate: GateConfig, db: Database, backup: Path, scratch: Path, fields: Sequence[str],
               run: Any) -> Snapshot:
    """pg_dump on a snapshot exported by the transaction that reads the source: both see the same data."""
    import psycopg

    try:
        with closing(_pg_connect(db)) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                exported = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
                source = snapshot_pg(conn, fields, scratch, "source")
                if gate.options.get("backup"):
                    run(str(gate.options["backup"]), {"db": db.placeholder(), "dsn": db.dsn(), "backup": str(backup),
                                                      "snapshot": str(exported)}, "backup", db)
                else:
                    run(f"pg_dump --format=custom --snapshot={exported} --file {{backup}} {{dsn}}",
                        {"dsn": db.dsn(), "backup": str(backup)}, "backup", db)
    except psycopg.Error as exc:
        raise DrillError(f"cannot back up {db.shown()}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    return source


def _restore(ctx: Context, gate: GateConfig, db: Database, backup: Path, scratch: Path,
             servers: list[ScratchServer], run: Any) -> tuple[Database, float]:
    """Restore the backup into a scratch database; the seconds it took (what the RTO bounds)."""
    if not backup.is_file() or backup.stat().st_size == 0:
        raise DrillError("the backup step wrote no backup file")
    if db.is_sqlite:
        into = Database(path=scratch / "restored.db")
    else:
        server = _scratch_server(ctx, gate)
        servers.append(server)
        into = server.create()
    started = time.monotonic()
    if gate.options.get("restore"):
        run(str(gate.options["restore"]), {"backup": str(backup), "db": into.placeholder(),
                                           "dsn": into.dsn() if into.url else ""}, "restore", into)
    elif db.is_sqlite:
        with open(backup, "rb") as fh:
            if not fh.read(16).startswith(SQLITE_MAGIC):
                raise DrillError(f"the backup {backup.name} did not restore: it is not a SQLite database")
        sqlite_copy(backup, into.path)  # type: ignore[arg-type]
    else:
        pg_restore(backup, into, ctx.environ, _timeout(gate))
    return into, time.monotonic() - started


def recent_drill(ctx: Context, gate: GateConfig, target: Target, now: datetime) -> tuple[Any, float] | None:
    """The newest drill of this gate, with this config, on this target, that passed within max_age (and its age)."""
    max_age = gate.options.get("max_age")
    if not max_age:
        return None
    best: tuple[Any, float] | None = None
    for release in ctx.ledger.list_releases():
        for run in ctx.ledger.runs_for_release(release.version):
            if (run.gate != gate.name or run.state is not GateState.PASSED or run.finished_at is None
                    or run.binding.config_hash != gate.config_hash() or run.binding.target_url != target.gateway):
                continue
            drilled = run.summary.get("drilled_at") if isinstance(run.summary, Mapping) else None
            if not isinstance(drilled, str) or run.summary.get("reused_run"):
                continue
            age = (now - datetime.fromisoformat(drilled)).total_seconds()
            if 0 <= age <= float(max_age) and (best is None or age < best[1]):
                best = (run, age)
    return best


def _reuse(ctx: Context, gate: GateConfig, run: Any, age: float, workdir: Path) -> DrillResult:
    """PASSED on the evidence of a drill that passed within max_age; the reason gives its age."""
    kept = dict(run.summary)
    files: list[tuple[Path, str]] = []
    for ref in run.artifacts:
        if ref.kind == "drill":
            copy = workdir / f"reused-{Path(ref.path).name}"
            shutil.copyfile(ctx.ledger.artifacts.path_of(ref), copy)
            files.append((copy, "drill"))
    summary = {k: kept[k] for k in ("drilled_at", "restore_s", "rto_s", "records", "backup") if k in kept}
    summary.update(reused_run=run.id, drill_age_s=round(age), max_age_s=gate.options["max_age"])
    reason = (f"restore drill passed {age_text(age)} ago (run {run.id}, {kept.get('drilled_at')}; max_age "
              f"{age_text(float(gate.options['max_age']))}): {kept.get('reason', '')}")
    return DrillResult(GateState.PASSED, reason[:400], summary, files)


def drill(ctx: Context, gate: GateConfig, target: Target, candidate: CandidateRecord, workdir: Path) -> DrillResult:
    """Back up the deployment's database, restore it into scratch within the RTO, and verify the copy."""
    now = ctx.now()
    recent = recent_drill(ctx, gate, target, now)
    if recent is not None:
        return _reuse(ctx, gate, recent[0], recent[1], workdir)
    fields = list(gate.options.get("fields") or ())
    labels = dict(gate.options.get("labels") or {})
    rto = float(gate.options["rto"])
    scratch = workdir / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    servers: list[ScratchServer] = []
    files: list[tuple[Path, str]] = []
    summary: dict[str, Any] = {"fields": fields, "rto_s": rto, "drilled_at": now.isoformat()}
    if gate.options.get("max_age"):  # status and promote re-check the drill's age against it (gates/evaluate.py)
        summary["max_age_s"] = float(gate.options["max_age"])

    def run(template: str, values: Mapping[str, str], step: str, *dbs: Database) -> None:
        argv = _fill(template, {**values, "out": str(workdir)}, candidate)
        result = run_command(argv, ctx.root, timeout_s=_timeout(gate),
                             env=_command_env(ctx, candidate, target, *dbs))
        log = workdir / f"{step}-output.txt"
        log.write_text(result.output_tail, encoding="utf-8")
        files.append((log, "log"))
        if not result.ok:
            how = "did not complete" if result.exit_code is None else f"exited {result.exit_code}"
            raise DrillError(f"the {step} command {how}: {_tail(result.output_tail)}")

    try:
        try:
            database = _drill_database(ctx, gate)
            backup = scratch / ("backup.db" if database.is_sqlite else "backup.dump")
            take = _backup_sqlite if database.is_sqlite else _backup_pg
            source = take(ctx, gate, database, backup, scratch, fields, run)
            summary["backup"] = {"size": backup.stat().st_size if backup.is_file() else 0}
            restored, seconds = _restore(ctx, gate, database, backup, scratch, servers, run)
            summary["restore_s"] = round(seconds, 4)
            copy = snapshot_of(restored, fields, scratch, "restored")
        except DrillError as exc:
            return DrillResult(GateState.ERROR, str(exc), summary, files)
        comparison = compare_snapshots(source, copy, fields, labels)
        state, reason = drill_verdict(comparison, seconds, rto)
        summary.update(records=comparison.records_before, comparison=comparison.to_json(),
                       checksums={"source": dict(source.checksums), "restored": dict(copy.checksums)})
        files.append((_write_evidence(workdir / "drill.json", {"gate": gate.name, "kind": gate.kind,
                                                               "state": state.value, "reason": reason, **summary}),
                      "drill"))
        return DrillResult(state, reason, summary, files)
    finally:
        for server in servers:
            server.drop_all()
        shutil.rmtree(scratch, ignore_errors=True)


__all__ = ["Database", "DrillError", "DrillResult", "ScratchServer", "Snapshot", "backup_format", "drill",
           "recent_drill", "rehearse", "snapshot_of", "sqlite_copy", "take_snapshot"]
