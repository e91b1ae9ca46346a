"""No POST changes the ledger without a live session, the right role and a fresh, single-use CSRF token."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.changeboard import BOARD, PASSWORD, QA, Board

pytestmark = pytest.mark.integration


def form_fields(html: str, testid: str) -> dict[str, str]:
    """The hidden inputs of the form with this data-testid."""
    match = re.search(rf'<form[^>]*data-testid="{re.escape(testid)}"[^>]*>(.*?)</form>', html, re.S)
    assert match, f"no form {testid}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', match.group(1)))


def login(board: Board, email: str, password: str = PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=board.url, timeout=60)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post("/login", data={"csrf_token": token, "email": email, "password": password, "next": "/"})
    assert done.status_code == 303, done.text
    return client


def test_anonymous_pages_redirect_to_login(board: Board) -> None:
    response = httpx.get(board.url, timeout=30)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_login_cookie_is_httponly_and_strict(board: Board) -> None:
    response = httpx.get(board.url + "login", timeout=30)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_anonymous_post_changes_nothing(board: Board) -> None:
    before = board.audit_count()
    response = httpx.post(board.url + "releases/1.1.0/decide", timeout=30,
                          data={"gate": "change-board", "action": "approve", "candidate_sha": board.project.sha,
                                "report_hash": "x", "csrf_token": "x", "comment": ""})
    assert response.status_code == 401
    assert board.audit_count() == before and board.decisions() == []


def test_bad_token_wrong_role_and_replay_change_nothing(board: Board) -> None:
    chair = login(board, BOARD[0])
    page = chair.get("/releases/1.1.0")
    assert page.status_code == 200
    fields = form_fields(page.text, "form-approve-change-board")
    before = board.audit_count()

    bad = chair.post("/releases/1.1.0/decide", data={**fields, "csrf_token": "forged", "comment": ""})
    assert bad.status_code == 403 and board.audit_count() == before

    qa = login(board, QA)
    qa_page = qa.get("/releases/1.1.0")
    assert 'data-testid="form-approve-change-board"' not in qa_page.text
    qa_fields = form_fields(qa_page.text, "form-signoff-qa")
    wrong_role = qa.post("/releases/1.1.0/decide", data={**qa_fields, "gate": "change-board", "action": "approve"})
    assert wrong_role.status_code == 403 and board.audit_count() == before
    # Someone else's token is bound to someone else's session.
    stolen = qa.post("/releases/1.1.0/decide", data={**fields, "comment": ""})
    assert stolen.status_code == 403 and board.audit_count() == before

    # The browser gate FAILED: the first POST only asks for a confirmation, and records nothing.
    asked = chair.post("/releases/1.1.0/decide", data={**fields, "comment": "read the record"})
    assert asked.status_code == 200 and 'data-testid="confirm-message"' in asked.text
    assert board.audit_count() == before
    # confirm=yes on the first form's token is not a confirmation: only the confirmation page's token is.
    skipped = chair.post("/releases/1.1.0/decide", data={**fields, "comment": "x", "confirm": "yes"})
    assert skipped.status_code == 403 and board.audit_count() == before
    ok = chair.post("/releases/1.1.0/decide", data=form_fields(asked.text, "form-confirm"))
    assert ok.status_code == 303
    after = board.audit_count()
    with board.project.ledger() as ledger:
        assert [e.action for e in ledger.audit_events(since_seq=before)] == ["decision.approval", "record.rendered"]
    [decision] = board.decisions()
    assert (decision.actor, decision.kind.value, decision.candidate_sha) == (BOARD[0], "approval", board.project.sha)
    assert decision.report_hash == fields["report_hash"]  # the stored record version the member read
    with board.project.ledger() as ledger, ledger.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("select via from decisions")).scalars().all() == ["web"]
        assert ledger.record_version("1.1.0", record_hash=fields["report_hash"]) is not None

    replay = chair.post("/releases/1.1.0/decide", data={**fields, "comment": "read the record"})
    assert replay.status_code == 403 and board.audit_count() == after


def test_a_disabled_account_is_logged_out(board: Board) -> None:
    from tests.changeboard import release_cli

    member = login(board, BOARD[1])
    assert member.get("/").status_code == 200
    done = release_cli(board.project, board.env, "users", "disable", BOARD[1])
    assert done.returncode == 0, done.stderr
    assert member.get("/").status_code == 303
    listed = release_cli(board.project, board.env, "users", "list", "--json")
    assert '"disabled": true' in listed.stdout and "password" not in listed.stdout


def test_login_rate_limit(board: Board) -> None:
    client = httpx.Client(base_url=board.url, timeout=60)
    for attempt in range(6):
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = client.post("/login", data={"csrf_token": token, "email": QA, "password": "wrong password!"})
        assert response.status_code == (401 if attempt < 5 else 429)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    right = client.post("/login", data={"csrf_token": token, "email": QA, "password": PASSWORD})
    assert right.status_code == 429  # even the right password waits out the window
