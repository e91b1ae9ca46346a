"""`release audit verify` end to end: exit 0 intact, 1 broken naming the break, 2 without a ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ledger_data import seed
from sqlalchemy import text

from release.ledger import Ledger

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded(ledger: Ledger, ledger_url: str, repo: Path, tmp_path: Path) -> dict[str, str]:
    """A ledger with one release and artifact; returns the env the CLI needs to find it."""
    seed(ledger, tmp_path)
    sub = repo / "deep" / "inside"
    sub.mkdir(parents=True)
    return {} if ledger_url.startswith("sqlite") else {"RELEASE_LEDGER_URL": ledger_url}


def test_intact_exits_0(run_cli, seeded: dict[str, str], repo: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("audit", "verify", cwd=repo / "deep" / "inside", env=seeded)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("audit ok: 4 events, 1 artifacts verified")
    result = run_cli("audit", "verify", "--json", cwd=repo, env=seeded)
    assert result.exit_code == 0 and json.loads(result.stdout)["ok"] is True


def test_edited_event_exits_1_naming_it(run_cli, seeded: dict[str, str], ledger: Ledger,  # type: ignore[no-untyped-def]
                                        repo: Path) -> None:
    with ledger.engine.connect() as conn:
        conn.execute(text("UPDATE audit_events SET subject = 'forged' WHERE seq = 3"))
        conn.commit()
    result = run_cli("audit", "verify", cwd=repo, env=seeded)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: audit broken: audit event seq 3: content does not match its hash (the event was edited)"]
    result = run_cli("audit", "verify", "--json", cwd=repo, env=seeded)
    assert result.exit_code == 1 and json.loads(result.stdout)["first_broken"].startswith("audit event seq 3")


def test_tampered_artifact_exits_1(run_cli, seeded: dict[str, str], ledger: Ledger,  # type: ignore[no-untyped-def]
                                   repo: Path) -> None:
    [path] = [p for p in (repo / ".release" / "evidence").rglob("*") if p.is_file()]
    path.write_bytes(b"tampered")
    result = run_cli("audit", "verify", cwd=repo, env=seeded)
    assert result.exit_code == 1 and "junit.xml: sha256" in result.stderr


@pytest.mark.parametrize("backend", ["sqlite"])
def test_no_ledger_exits_2(run_cli, tmp_path: Path, backend: str) -> None:  # type: ignore[no-untyped-def]
    empty_repo = tmp_path / "empty"
    (empty_repo / ".git").mkdir(parents=True)
    result = run_cli("audit", "verify", cwd=empty_repo)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "no ledger at" in result.stderr
    assert not (empty_repo / ".release" / "ledger.db").exists(), "verify must not create a ledger"
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    result = run_cli("audit", "verify", cwd=outside)
    assert result.exit_code == 2 and "not inside a git repository" in result.stderr
    result = run_cli("audit", "verify", cwd=empty_repo, env={"RELEASE_LEDGER_URL": "nonsense://"})
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
