"""Fixtures shared by the project's own tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class CliResult:
    """What a user sees from one CLI run."""

    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """An environment without the developer's release settings, HOME in tmp_path."""
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "RELEASE_TEST_PG_URL")
    env = {k: v for k, v in os.environ.items() if k in keep}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), GIT_AUTHOR_NAME="Test Author", GIT_AUTHOR_EMAIL="author@example.org",
               GIT_COMMITTER_NAME="Test Author", GIT_COMMITTER_EMAIL="author@example.org",
               PYTHONUNBUFFERED="1", NO_COLOR="1")
    return env


@pytest.fixture
def run_cli(clean_env: dict[str, str], tmp_path: Path) -> Callable[..., CliResult]:
    """Run `release ...` as a subprocess with a clean environment; returns exit code and output."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            input: str | None = None, timeout: float = 300) -> CliResult:
        full_env = dict(clean_env)
        if env:
            full_env.update(env)
        proc = subprocess.run(
            [sys.executable, "-m", "release.cli.main", *args],
            cwd=str(cwd or tmp_path), env=full_env, input=input, capture_output=True, text=True, timeout=timeout,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def port() -> Iterator[int]:
    """A free loopback port."""
    yield free_port()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """A PostgreSQL server for the session: RELEASE_TEST_PG_URL, or a throwaway cluster started and stopped here."""
    from tests.pg import PostgresMissing, start_server

    try:
        server = start_server(free_port())
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server) -> str:
    """SQLAlchemy URL of the session's PostgreSQL admin database."""
    return str(pg_server.admin_url)


@pytest.fixture
def fresh_pg_url(pg_server) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)
