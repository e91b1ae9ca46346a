"""Ledger fixtures: a ledger per backend (the PostgreSQL fixtures live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from release.ledger import Ledger

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres, pytest.mark.xdist_group("pg")]),
]


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
