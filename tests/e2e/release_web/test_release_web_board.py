"""The change board in a real Chromium: approve, reject, refusals, a stale page, and `release status` after each."""

from __future__ import annotations

import json

import pytest

from tests.changeboard import BOARD, PASSWORD, PREPARER, QA, Board, release_cli

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def status(board: Board) -> dict:
    done = release_cli(board.project, board.env, "status", "1.1.0", "--json")
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def board_decisions(board: Board) -> list[tuple[str, str]]:
    gate = next(g for g in status(board)["gates"] if g["gate"] == "change-board")
    return [(d["kind"], d["actor"]) for d in gate["decisions"]]


def open_as(browser, board: Board, email: str):
    context = browser.new_context(base_url=board.url)
    page = context.new_page()
    page.goto("/releases/1.1.0")
    assert "/login" in page.url
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url("**/releases/1.1.0")
    return context, page


def member_reads_and_approves(browser, board: Board) -> None:
    context, page = open_as(browser, board, BOARD[0])
    assert page.get_by_test_id("current-user").inner_text().startswith(BOARD[0])
    record = page.get_by_test_id("change-record")
    assert "Test evidence" in record.inner_text()
    assert page.locator("[data-testid=change-record] svg").count() >= 3  # charts drawn inline
    page.get_by_test_id("comment-approve-change-board").fill("Evidence read; load within budget.")
    page.get_by_test_id("submit-approve-change-board").click()
    # The browser gate FAILED: approving over it takes a second, server-side step.
    assert "browser (FAILED)" in page.get_by_test_id("confirm-message").inner_text()
    assert board_decisions(board) == []
    page.get_by_test_id("submit-confirm").click()
    assert "recorded approval on change-board" in page.get_by_test_id("flash-info").inner_text()
    assert board_decisions(board) == [("approval", BOARD[0])]
    context.close()


def second_member_rejects(browser, board: Board) -> None:
    context, page = open_as(browser, board, BOARD[1])
    page.get_by_test_id("comment-reject-change-board").fill("Browser gate failed on the print button.")
    page.get_by_test_id("submit-reject-change-board").click()
    assert "recorded rejection" in page.get_by_test_id("flash-info").inner_text()
    assert board_decisions(board) == [("approval", BOARD[0]), ("rejection", BOARD[1])]
    context.close()


def preparer_is_refused(browser, board: Board) -> None:
    before = board.audit_count()
    context, page = open_as(browser, board, PREPARER)
    # The page never offers what the POST would refuse: no approve form, and it says why.
    assert page.get_by_test_id("submit-approve-change-board").count() == 0
    assert "prepared release 1.1.0" in page.get_by_test_id("not-offered").inner_text()
    assert board.audit_count() == before
    assert board_decisions(board) == [("approval", BOARD[0]), ("rejection", BOARD[1])]
    context.close()


def test_anonymous_post_is_refused(browser, board: Board) -> None:
    before = board.audit_count()
    context = browser.new_context(base_url=board.url)
    response = context.request.post("/releases/1.1.0/decide", form={
        "gate": "change-board", "action": "approve", "candidate_sha": board.project.sha, "report_hash": "x",
        "csrf_token": "x", "comment": ""})
    assert response.status == 401
    assert board.audit_count() == before
    context.close()


def stale_page_is_refused_after_a_new_candidate(browser, board: Board) -> None:
    context, page = open_as(browser, board, QA)
    shown = page.get_by_test_id("candidate-sha").inner_text()
    assert shown == board.project.sha
    new_sha = board.project.new_candidate()  # `release prepare` cut rc.2 while the page was open
    before = board.audit_count()
    page.get_by_test_id("submit-signoff-qa").click()
    assert "new candidate" in page.get_by_test_id("error-message").inner_text()
    assert board.audit_count() == before
    after = status(board)
    assert after["candidate"]["sha"] == new_sha
    qa_gate = next(g for g in after["gates"] if g["gate"] == "qa")
    assert qa_gate["decisions"] == [] and qa_gate["state"] == "PENDING"
    page.goto("/releases/1.1.0")
    assert page.get_by_test_id("candidate-sha").inner_text() == new_sha
    context.close()


def test_board_flow(browser, board: Board) -> None:
    """One board, in order: approve, reject, the preparer refused, then a stale page refused after rc.2."""
    member_reads_and_approves(browser, board)
    second_member_rejects(browser, board)
    preparer_is_refused(browser, board)
    stale_page_is_refused_after_a_new_candidate(browser, board)
