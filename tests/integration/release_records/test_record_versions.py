"""Records are snapshots: each decision stores a new version; `release approve --record HASH` pins one."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.changeboard import BOARD, BoardProject, build_board_project, cli_env, release_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BoardProject, dict[str, str]]]:
    root = tmp_path_factory.mktemp("records")
    home = root / "home"
    home.mkdir()
    yield build_board_project(root), cli_env(home)


def versions(project: BoardProject) -> list:
    with project.ledger() as ledger:
        return ledger.record_versions("1.1.0")


def decisions(project: BoardProject) -> list:
    with project.ledger() as ledger:
        return ledger.decisions_for("1.1.0")


def test_a_cli_decision_is_made_on_the_current_version_and_makes_the_next(project) -> None:
    board, env = project
    done = release_cli(board, env, "approve", "1.1.0", "--as", BOARD[0], "--json")
    assert done.returncode == 0, done.stderr
    first, second = versions(board)
    [decision] = decisions(board)
    assert decision.report_hash == first.record_hash == json.loads(done.stdout)["report_hash"]
    assert (first.reason, second.reason) == ("decision-basis", "decision")
    assert first.content_hash == second.content_hash and first.record_hash != second.record_hash
    with board.ledger() as ledger:
        stored = ledger.record_version("1.1.0", n=2)
        assert stored is not None
        assert [d["actor"] for d in stored.body["data"]["decisions"]] == [BOARD[0]]  # the decision is in it
        assert ledger.verify_audit().ok  # versions are bound to the audit chain


def test_a_superseded_pin_is_refused_and_changes_nothing(project) -> None:
    board, env = project
    old = versions(board)[0].record_hash
    before = (versions(board), decisions(board))
    done = release_cli(board, env, "approve", "1.1.0", "--as", BOARD[1], "--record", old)
    assert done.returncode == 1, done.stderr
    assert "superseded by record 2" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert (versions(board), decisions(board)) == before


def test_an_unknown_pin_is_an_input_error(project) -> None:
    board, env = project
    done = release_cli(board, env, "approve", "1.1.0", "--as", BOARD[1], "--record", "ab" * 32)
    assert done.returncode == 2 and "no change record" in done.stderr


def test_the_current_pin_is_accepted(project) -> None:
    board, env = project
    shown = release_cli(board, env, "report", "1.1.0", "--format", "md", "--json")  # where a user reads the hash
    assert shown.returncode == 0, shown.stderr
    current = json.loads(shown.stdout)["record"]["hash"]
    assert current == versions(board)[-1].record_hash  # nothing changed since the last decision: no new version
    done = release_cli(board, env, "approve", "1.1.0", "--as", BOARD[1], "--record", current)
    assert done.returncode == 0, done.stderr
    assert [d.report_hash for d in decisions(board)][-1] == current


def test_editing_a_stored_version_is_caught_by_audit_verify(project) -> None:
    board, _env = project
    from sqlalchemy import text

    with board.ledger() as ledger:
        with ledger.engine.begin() as conn:
            conn.execute(text("UPDATE record_versions SET verdict = 'PROMOTABLE' WHERE n = 1"))
        report = ledger.verify_audit()
    assert not report.ok
    assert [(p.table, p.field) for p in report.rows] == [("record_versions", "verdict")]
