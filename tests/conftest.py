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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Send each module's tests (or each explicit `xdist_group`) to one xdist worker, under `--dist loadgroup`.

    pytest-xdist 3.8 marks a test's group by rewriting `item._nodeid`, but pytest 9 keeps a node's id in `_id`, so
    the mark is lost and a group's tests spread over both workers: a module-scoped sandbox or seeded repository is
    then built twice, and the tests that share one PostgreSQL server run at once. This does what xdist meant to,
    and groups the unmarked tests by module, so a module's fixtures are built once (pytest-xdist's `loadfile`).
    """
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers run with --dist loadgroup only
        return
    from _pytest.nodeid import coerce_node_id

    for item in items:
        if "@" in item.nodeid:  # an xdist that still marks it itself
            continue
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        group = "_".join(names) if names else item.nodeid.split("::", 1)[0]
        item._id = coerce_node_id(f"{item.nodeid}@{group}")
    # Groups go out in collection order, so a long group collected last keeps one worker busy while the other
    # idles. Send the groups holding `slow` tests first (a stable sort: each group keeps its own order).
    slow = {item.nodeid.rsplit("@", 1)[1] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.rsplit("@", 1)[1] not in slow)


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
