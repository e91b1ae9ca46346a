"""A throwaway PostgreSQL cluster for tests: RELEASE_TEST_PG_URL if set, else initdb + pg_ctl in a temp dir."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

PG_URL_ENV = "RELEASE_TEST_PG_URL"


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries were found and RELEASE_TEST_PG_URL is not set."""


def find_bindir() -> Path:
    """Return the folder holding initdb and pg_ctl (Debian's /usr/lib/postgresql/<v>/bin or PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PostgresMissing(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql (Debian: apt-get install "
        f"postgresql) or set {PG_URL_ENV}=postgresql+psycopg://user@host:port/db")


@dataclass
class PgServer:
    """A reachable PostgreSQL server; admin_url is a SQLAlchemy URL to a database we may CREATE DATABASE from."""

    admin_url: str
    _datadir: Path | None = None
    _bindir: Path | None = None
    _workdir: Path | None = None

    def _conninfo(self, database: str | None = None) -> str:
        url = make_url(self.admin_url)
        if database is not None:
            url = url.set(database=database)
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def create_database(self) -> str:
        """Create a fresh, empty database and return its SQLAlchemy (psycopg) URL."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self._conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return make_url(self.admin_url).set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a database made by create_database (closing leftover connections)."""
        name = make_url(url).database
        with psycopg.connect(self._conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop a cluster this module started and delete its files (no-op for an external server)."""
        if self._datadir is None or self._bindir is None:
            return
        _run_as_owner([str(self._bindir / "pg_ctl"), "-D", str(self._datadir), "-m", "immediate", "-w", "stop"],
                      check=False)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)


def _run_as_owner(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary, as the postgres user when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def start_server(port: int) -> PgServer:
    """Return RELEASE_TEST_PG_URL's server, or start a throwaway cluster on 127.0.0.1:port."""
    external = os.environ.get(PG_URL_ENV)
    if external:
        return PgServer(admin_url=external)
    bindir = find_bindir()
    workdir = Path(tempfile.mkdtemp(prefix="crvs-pg-"))
    if os.geteuid() == 0:
        import pwd

        owner = pwd.getpwnam("postgres")
        os.chown(workdir, owner.pw_uid, owner.pw_gid)
    datadir = workdir / "data"
    try:
        _run_as_owner([str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres",
                       "-E", "UTF8", "--no-sync", "--no-instructions"])
        options = (f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        _run_as_owner([str(bindir / "pg_ctl"), "-D", str(datadir), "-o", options, "-l", str(workdir / "server.log"),
                       "-w", "-t", "60", "start"])
    except BaseException:
        log = workdir / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(workdir, ignore_errors=True)
        if detail:
            raise RuntimeError(f"PostgreSQL did not start; server.log tail:\n{detail}") from None
        raise
    return PgServer(admin_url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", _datadir=datadir,
                    _bindir=bindir, _workdir=workdir)
