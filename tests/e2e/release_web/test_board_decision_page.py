"""The decision page in Chromium: who is offered Approve, the summary on the first screen, record versions, axe-core."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.changeboard import BOARD, PASSWORD, Board, release_cli

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

AXE = Path(__file__).resolve().parents[3] / ".tools" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
OUTSIDER = "outsider@example.org"  # a change-board account whose address release.toml does not list in the role
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def decision_board(board: Board) -> Board:
    """The module's board, with one account outside the configured role."""
    done = release_cli(board.project, board.env, "users", "add", OUTSIDER, "--role", "change-board",
                       input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    return board


def login(browser, board: Board, email: str, path: str = "/releases/1.1.0", **options):
    context = browser.new_context(base_url=board.url, viewport=VIEWPORT, **options)
    page = context.new_page()
    page.goto(path)
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"**{path}")
    return context, page


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations of the page (axe.min.js from scripts/setup; missing is an error)."""
    if not AXE.is_file():
        raise AssertionError(f"axe-core is not installed at {AXE}; run scripts/setup")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def inside_first_screen(page, test_id: str) -> None:
    box = page.get_by_test_id(test_id).first.bounding_box()
    assert box is not None, test_id
    assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], (test_id, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"], (test_id, box)


def test_outsider_sees_no_buttons_and_why(browser, decision_board: Board) -> None:
    context, page = login(browser, decision_board, OUTSIDER)
    assert page.get_by_test_id("submit-approve-change-board").count() == 0
    assert page.get_by_test_id("submit-reject-change-board").count() == 0
    assert OUTSIDER in page.get_by_test_id("no-forms").inner_text()
    assert "change-board" in page.get_by_test_id("not-offered").inner_text()
    context.close()


def test_member_approves_once_over_a_confirmation_with_the_summary_on_the_first_screen(browser,
                                                                                       decision_board: Board) -> None:
    context, page = login(browser, decision_board, BOARD[1])
    summary = page.get_by_test_id("decision-summary")
    assert "BLOCKED" in page.get_by_test_id("summary-verdict").inner_text()
    assert "browser" in page.get_by_test_id("summary-failed").inner_text()
    assert page.get_by_test_id("summary-no-decisions").count() == 1
    for test_id in ("summary-verdict", "summary-blocking", "summary-approvals", "submit-approve-change-board"):
        inside_first_screen(page, test_id)
    page.screenshot(path=str(decision_board.project.path / ".release" / "summary-1280x800.png"))
    assert summary.is_visible()
    first_hash = page.get_by_test_id("report-hash").inner_text()
    page.get_by_test_id("comment-approve-change-board").fill("Read it; the browser gate is known.")
    page.get_by_test_id("submit-approve-change-board").click()
    page.get_by_test_id("submit-confirm").click()
    assert "recorded approval on change-board" in page.get_by_test_id("flash-info").inner_text()
    [decision] = [d for d in decision_board.decisions() if d.actor == BOARD[1]]
    assert decision.report_hash == first_hash  # the record version the member read
    # Not offered a second time, and told why; the approval sits in the summary.
    assert page.get_by_test_id("submit-approve-change-board").count() == 0
    assert "already" in page.get_by_test_id("not-offered").inner_text()
    # Reject stays open (it outweighs every approval), labelled and explained as withdrawing the approval.
    assert "withdraws your approval" in page.get_by_test_id("submit-reject-change-board").inner_text()
    assert "You approved change-board" in page.get_by_test_id("note-reject-change-board").inner_text()
    assert f"{BOARD[1]}: approval" in page.get_by_test_id("summary-approvals").inner_text()
    inside_first_screen(page, "summary-approvals")
    # The decision made a new record version; the one approved stays readable and says it is superseded.
    assert page.get_by_test_id("report-hash").inner_text() != first_hash
    page.get_by_test_id("record-history").locator("summary").click()
    page.locator("[data-testid^=record-link-]").first.click()
    assert "superseded" in page.get_by_test_id("superseded").inner_text()
    assert "Test evidence" in page.get_by_test_id("change-record").inner_text()
    page.get_by_test_id("current-record-link").click()
    page.wait_for_url("**/releases/1.1.0")
    context.close()


def test_record_styles_stay_inside_the_record(browser, decision_board: Board) -> None:
    context, page = login(browser, decision_board, BOARD[0])
    # The page's own heading and table styles are the page's, whatever the record's stylesheet says.
    page_h1 = page.evaluate("getComputedStyle(document.querySelector('main h1')).fontSize")
    assert page_h1 == "24px"
    assert page.evaluate("document.querySelector('#record').shadowRoot !== null")
    assert page.evaluate("document.querySelectorAll('main > style, main style').length") == 0
    context.close()


def test_axe_finds_no_serious_violation_on_login_list_and_release_pages(browser, decision_board: Board) -> None:
    # bypass_csp lets the test inject axe.min.js: the board's CSP allows no script at all.
    context = browser.new_context(base_url=decision_board.url, viewport=VIEWPORT, bypass_csp=True)
    page = context.new_page()
    page.goto("/login")
    assert axe_violations(page) == []
    context.close()
    context, page = login(browser, decision_board, BOARD[0], path="/", bypass_csp=True)
    assert axe_violations(page) == []
    page.goto("/releases/1.1.0")
    assert axe_violations(page) == []
    context.close()
