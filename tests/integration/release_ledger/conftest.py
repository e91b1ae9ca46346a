"""Ledger fixtures: a throwaway PostgreSQL per session, a fresh database per test, a ledger per backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from release.ledger import Ledger
from tests.conftest import free_port
from tests.pg import PgServer, PostgresMissing, start_server

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres, pytest.mark.xdist_group("pg")]),
]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the whole session (RELEASE_TEST_PG_URL, or a cluster started here and stopped)."""
    try:
        server = start_server(free_port())
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> str:
    """SQLAlchemy URL of the session's PostgreSQL admin database."""
    return pg_server.admin_url


@pytest.fixture
def fresh_pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A folder that looks like a git repository root (the ledger only needs .git to find the root)."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return root


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, repo: Path) -> str:
    """A ledger URL on each backend: SQLite in the repo, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{repo / '.release' / 'ledger.db'}"
    return str(request.getfixturevalue("fresh_pg_url"))


@pytest.fixture
def ledger(ledger_url: str, repo: Path) -> Iterator[Ledger]:
    """An opened, migrated ledger on each backend."""
    opened = Ledger.open(ledger_url, repo)
    yield opened
    opened.close()
