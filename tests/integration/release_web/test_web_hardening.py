"""The change board, hardened: login limits per address, HSTS with secure cookies, and only decidable forms.

Every test talks to a real `release serve` process on 127.0.0.1 over a project whose ledger was built through the
real Ledger API, with real accounts (argon2 hashes) added by `release users add`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.changeboard import (
    BOARD,
    PASSWORD,
    PREPARER,
    QA,
    T0,
    VERSION,
    Board,
    BoardProject,
    build_board_project,
    cli_env,
    release_cli,
    serve,
    start_board,
)
from tests.gitrepo import Commit

pytestmark = pytest.mark.integration

OUTSIDER = "outsider@example.org"  # a change-board account, but not in release.toml's change-board role
AUTHOR = BOARD[2]  # in the change-board role, and the author of rc.2's fix
SECURE = re.compile(r";\s*secure\s*(?:;|$)", re.IGNORECASE)


def login_attempt(client: httpx.Client, email: str, password: str) -> httpx.Response:
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return client.post("/login", data={"csrf_token": match.group(1), "email": email, "password": password, "next": "/"})


def login(url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120)
    done = login_attempt(client, email, PASSWORD)
    assert done.status_code == 303, done.text
    return client


def forms_on(page: str) -> dict[str, dict[str, str]]:
    """{data-testid: hidden fields} of every decision form on a release page."""
    forms = {}
    for testid, body in re.findall(r'<form[^>]*data-testid="(form-[^"]+)"[^>]*>(.*?)</form>', page, re.S):
        forms[testid] = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))
    return forms


# ----- decision forms ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    """A running board whose newest candidate (rc.2) has a fix by a board member; two more accounts."""
    for running in start_board(tmp_path_factory.mktemp("forms")):
        project = running.project
        sha = project.repo.commit(Commit("fix(print): certificate margins", author=AUTHOR))
        with project.ledger() as ledger:
            ledger.add_candidate(VERSION, rc=2, tag=f"v{VERSION}-rc.2", sha=sha, created_by=PREPARER,
                                 now=T0 + timedelta(hours=2))
        for email in (AUTHOR, OUTSIDER):
            done = release_cli(project, running.env, "users", "add", email, "--role", "change-board",
                               input=PASSWORD + "\n")
            assert done.returncode == 0, done.stderr
        yield running


def test_forms_are_offered_only_to_those_who_may_decide(board: Board) -> None:
    pages = {email: login(board.url, email).get(f"/releases/{VERSION}").text
             for email in (BOARD[0], BOARD[1], AUTHOR, PREPARER, OUTSIDER, QA)}
    offered = {email: set(forms_on(page)) for email, page in pages.items()}
    assert offered[BOARD[0]] == offered[BOARD[1]] == {"form-approve-change-board", "form-reject-change-board"}
    assert offered[QA] == {"form-signoff-qa"}
    # The preparer, a commit author and an account outside the configured role see no button, and are told why.
    for email in (PREPARER, AUTHOR, OUTSIDER):
        assert offered[email] == set(), email
        assert 'data-testid="no-forms"' in pages[email]
    assert "prepared release 1.1.0 or authored a commit in it" in pages[PREPARER]
    assert "prepared release 1.1.0 or authored a commit in it" in pages[AUTHOR]
    assert f"{OUTSIDER} is not in role change-board" in pages[OUTSIDER]

    # Every form offered is accepted, and a decision made is not offered again (one test: the board is shared).
    chair, ops, qa = login(board.url, BOARD[0]), login(board.url, BOARD[1]), login(board.url, QA)
    before = len(board.decisions())
    for client, testid, comment in ((chair, "form-approve-change-board", "read the record"),
                                    (qa, "form-signoff-qa", "regression reviewed"),
                                    (ops, "form-approve-change-board", "")):
        fields = forms_on(client.get(f"/releases/{VERSION}").text)[testid]
        done = client.post(f"/releases/{VERSION}/decide", data={**fields, "comment": comment})
        assert done.status_code == 303, done.text  # what the page offers, the server records
    decided = board.decisions()
    assert len(decided) == before + 3
    assert {(d.actor, d.kind.value) for d in decided[before:]} == {
        (BOARD[0], "approval"), (QA, "signoff"), (BOARD[1], "approval")}
    # The same rule as the ledger's check_decision: an approval once, a sign-off once; a rejection is still open
    # to a member who approved (check_decision accepts it, so the page offers it).
    assert set(forms_on(chair.get(f"/releases/{VERSION}").text)) == {"form-reject-change-board"}
    assert set(forms_on(qa.get(f"/releases/{VERSION}").text)) == set()
    page = qa.get(f"/releases/{VERSION}").text
    assert f"{QA} already recorded a signoff on qa" in page
    fields = forms_on(chair.get(f"/releases/{VERSION}").text)["form-reject-change-board"]
    rejected = chair.post(f"/releases/{VERSION}/decide", data={**fields, "comment": "changed my mind"})
    assert rejected.status_code == 303, rejected.text
    assert len(board.decisions()) == before + 4


# ----- login limits and HSTS --------------------------------------------------------------------------------------


@pytest.fixture
def fresh_board(tmp_path: Path) -> Iterator[Board]:
    """A board of its own: the address limit counts every failure from 127.0.0.1 for 15 minutes."""
    yield from start_board(tmp_path)


def test_many_accounts_from_one_address_are_limited(fresh_board: Board) -> None:
    client = httpx.Client(base_url=fresh_board.url, timeout=120)
    accounts = [BOARD[0], BOARD[1], PREPARER, QA, "nobody@example.org"]
    codes = [login_attempt(client, accounts[i % 5], f"guess number {i}").status_code for i in range(10)]
    assert codes == [401] * 10  # no account failed more than twice: the per-account limit never applied
    # The eleventh guess from this address is refused whichever account it names, even with the right password.
    refused = login_attempt(client, QA, PASSWORD)
    assert refused.status_code == 429 and "your address" in refused.text
    assert refused.headers["retry-after"] == "900"
    assert login_attempt(httpx.Client(base_url=fresh_board.url, timeout=120), BOARD[1], PASSWORD).status_code == 429


def test_logging_in_to_ones_own_account_does_not_reset_the_address(fresh_board: Board) -> None:
    client = httpx.Client(base_url=fresh_board.url, timeout=120)
    for i in range(9):
        assert login_attempt(client, [BOARD[0], BOARD[1], PREPARER][i % 3], f"guess {i}").status_code == 401
    assert login_attempt(httpx.Client(base_url=fresh_board.url, timeout=120), QA, PASSWORD).status_code == 303
    assert login_attempt(client, BOARD[0], "guess 9").status_code == 401  # the tenth failure is still counted
    assert login_attempt(client, BOARD[1], "guess 10").status_code == 429


def test_the_account_limit_still_holds_at_one_address(fresh_board: Board) -> None:
    client = httpx.Client(base_url=fresh_board.url, timeout=120)
    codes = [login_attempt(client, QA, "wrong password!").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert "this account" in login_attempt(client, QA, PASSWORD).text
    assert login_attempt(client, BOARD[0], PASSWORD).status_code == 303  # another account is not locked


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[BoardProject, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("hsts")
    home = tmp / "home"
    home.mkdir()
    return build_board_project(tmp), cli_env(home)


def test_secure_cookies_come_with_hsts(project: tuple[BoardProject, dict[str, str]]) -> None:
    with serve(*project) as url:
        response = httpx.get(url + "login", timeout=60)
        assert response.status_code == 200
        assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert SECURE.search(response.headers["set-cookie"])
        assert httpx.get(url + "healthz", timeout=60).headers["strict-transport-security"].startswith("max-age=")


def test_insecure_loopback_cookies_send_no_hsts(project: tuple[BoardProject, dict[str, str]]) -> None:
    with serve(*project, "--insecure-cookies") as url:
        response = httpx.get(url + "login", timeout=60)
        assert response.status_code == 200
        assert "strict-transport-security" not in response.headers
        assert not SECURE.search(response.headers["set-cookie"])
