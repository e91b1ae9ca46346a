"""Seeded sandbox data sets (SQLite and PostgreSQL) and throwaway projects whose gates are operations drills."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ops_data import RC, RECORDS, VERSION, DataSet, facts, project_toml

from release.workflow.context import Context, open_context
from tests.conftest import REPO_ROOT
from tests.gitrepo import make_repo


@pytest.fixture(scope="session")
def sqlite_data(tmp_path_factory: pytest.TempPathFactory) -> DataSet:
    """Last night's production backup: a seeded SQLite sandbox database (never written by a test)."""
    from sandbox.seed import seed_database

    path = tmp_path_factory.mktemp("ops-data") / "production-backup.db"
    seed_database(f"sqlite:///{path}", records=RECORDS, seed=11, batch=100)
    return facts(path)


@pytest.fixture(scope="session")
def pg_data(pg_server, sqlite_data: DataSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The same kind of data set in PostgreSQL: (its URL, a real pg_dump -Fc of it)."""
    from sqlalchemy.engine import make_url

    from sandbox.seed import seed_database

    url = pg_server.create_database()
    seed_database(url, records=RECORDS, seed=11, batch=100)
    dump = tmp_path_factory.mktemp("ops-pg") / "production.dump"
    parsed = make_url(url)
    env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": parsed.password or ""}
    dsn = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), dsn], check=True, env=env,
                   capture_output=True)
    yield url, dump
    pg_server.drop_database(url)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Callable[..., tuple[Context, object]]]:
    """A git repository with a release.toml of the given gates, its ledger and one recorded candidate."""
    opened: list[Context] = []

    def make(gates: str, environ: dict[str, str] | None = None) -> tuple[Context, object]:
        repo = make_repo(tmp_path / "repo", ["feat: registration core"], files={"release.toml": project_toml(gates)})
        sha = repo.git("rev-parse", "HEAD").strip()
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), **(environ or {})}
        ctx = open_context(repo.path, actor="rm@example.org", environ=env)
        opened.append(ctx)
        _, candidate = ctx.ledger.create_release_with_candidate(VERSION, preparer="rm@example.org",
                                                                previous_version=None, rc=RC,
                                                                tag=f"v{VERSION}-rc.{RC}", sha=sha)
        return ctx, candidate

    yield make
    for ctx in opened:
        ctx.ledger.close()
