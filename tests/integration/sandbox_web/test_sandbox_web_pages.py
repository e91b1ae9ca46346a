"""The sandbox web client in Debian's Chromium, against a real sandbox server process."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import httpx
import pytest
from faker import Faker
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

# One worker runs this module, so it starts one sandbox and one Chromium.
pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.xdist_group("sandbox_web_pages")]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DEV_CODE = "000000"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser, sandbox_url: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=sandbox_url)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def login(context: BrowserContext, username: str) -> Page:
    page = context.new_page()
    page.goto("/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill("test")
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("code-input").fill(DEV_CODE)
    page.get_by_test_id("code-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(username)
    return page


def declare_birth(page: Page, child: tuple[str, str], dob: str) -> None:
    page.get_by_test_id("nav-declare").click()
    page.get_by_test_id("child-firstname").fill(child[0])
    page.get_by_test_id("child-surname").fill(child[1])
    page.get_by_test_id("child-gender").select_option("female")
    page.get_by_test_id("child-dob").fill(dob)
    page.get_by_test_id("mother-firstname").fill(Faker().first_name_female())
    page.get_by_test_id("mother-surname").fill(child[1])
    page.get_by_test_id("informant-relation").select_option("MOTHER")
    page.get_by_test_id("declare-submit").click()


def recent(days: int = 20) -> str:
    """A date of birth recent enough to need no late-registration reason."""
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


def press(page: Page, button: str, notice: str) -> None:
    page.get_by_test_id(button).click()
    expect(page.get_by_test_id("flash-info")).to_contain_text(notice)


def unique_child() -> tuple[str, str]:
    fake = Faker()
    return fake.first_name_female(), fake.last_name() + fake.lexify("????").lower()


def test_login_refuses_a_wrong_code_then_accepts_the_dev_code(context: BrowserContext):
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_test_id("login-username").fill("k.bwalya")
    page.get_by_test_id("login-password").fill("wrong-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("flash-error")).to_contain_text("Wrong username or password")
    page.get_by_test_id("login-password").fill("test")
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("code-input").fill("123456")
    page.get_by_test_id("code-submit").click()
    expect(page.get_by_test_id("flash-error")).to_contain_text("Wrong code")
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    page.get_by_test_id("code-input").fill(DEV_CODE)
    page.get_by_test_id("code-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text("k.bwalya")
    expect(page.get_by_test_id("current-user")).to_contain_text("HOSPITAL_CLERK")
    [cookie] = context.cookies()
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Lax")
    assert DEV_CODE not in page.content()
    page.get_by_test_id("nav-logout").click()
    expect(page.get_by_test_id("flash-info")).to_contain_text("logged out")
    page.goto("/search")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_declare_validate_register_and_print_a_birth(browser: Browser, sandbox_url: str):
    child = unique_child()
    contexts = [browser.new_context(base_url=sandbox_url) for _ in range(3)]
    try:
        clerk, agent, registrar = (login(c, u) for c, u in zip(contexts, ("k.bwalya", "f.katongo", "k.mweene"),
                                                                 strict=True))
        declare_birth(clerk, child, recent())
        expect(clerk).to_have_url(re.compile(r"/records/[^/]+$"))
        expect(clerk.get_by_test_id("flash-info")).to_contain_text("Birth declared")
        expect(clerk.get_by_test_id("record-status")).to_have_text("DECLARED")
        expect(clerk.get_by_test_id("record-child-name")).to_have_text(f"{child[0]} {child[1]}")
        expect(clerk.get_by_test_id("record-registration-number")).to_have_text("")
        expect(clerk.get_by_test_id("record-flags")).not_to_contain_text("validated")
        tracking_id = clerk.get_by_test_id("record-tracking-id").inner_text().strip()
        assert tracking_id
        record_path = clerk.url.removeprefix(sandbox_url)
        for button in ("register-button", "validate-button", "print-button"):
            expect(clerk.get_by_test_id(button)).to_have_count(0)  # a hospital clerk declares only

        registrar.goto(record_path)  # a clerk's declaration is not validated: nothing to register yet
        expect(registrar.get_by_test_id("register-button")).to_have_count(0)
        expect(registrar.get_by_test_id("assign-button")).to_have_count(1)

        agent.goto(record_path)
        expect(agent.get_by_test_id("validate-button")).to_have_count(0)  # assign first
        press(agent, "assign-button", "Assigned to you")
        press(agent, "validate-button", "validated")
        expect(agent.get_by_test_id("record-flags")).to_contain_text("validated")
        expect(agent.get_by_test_id("record-assigned-to")).to_have_text("")  # the action unassigned it

        registrar.get_by_test_id("nav-search").click()
        registrar.get_by_test_id("search-name").fill(f"{child[1]} {child[0]}")  # name parts in any order
        registrar.get_by_test_id("search-submit").click()
        expect(registrar.get_by_test_id("search-total")).to_have_text("1")
        expect(registrar.get_by_test_id("search-result-status")).to_have_text("DECLARED")
        registrar.get_by_test_id("search-result-link").click()
        expect(registrar.get_by_test_id("record-tracking-id")).to_have_text(tracking_id)
        press(registrar, "assign-button", "Assigned to you")
        press(registrar, "register-button", "Registered")
        expect(registrar.get_by_test_id("record-status")).to_have_text("REGISTERED")
        number = registrar.get_by_test_id("record-registration-number").inner_text().strip()
        assert number
        expect(registrar.get_by_test_id("register-button")).to_have_count(0)
        expect(registrar.get_by_test_id("print-button")).to_have_count(0)  # REGISTER unassigned the record
        press(registrar, "assign-button", "Assigned to you")
        expect(registrar.get_by_test_id("print-button")).to_have_count(1)

        rows = registrar.get_by_test_id("history-row")
        actions = [a.strip() for a in rows.get_by_test_id("history-action").all_inner_texts()]
        actors = [a.strip() for a in rows.get_by_test_id("history-actor").all_inner_texts()]
        details = [a.strip() for a in rows.get_by_test_id("history-detail").all_inner_texts()]
        assert actions[0] == "CREATE" and actors[0] == "k.bwalya (HOSPITAL_CLERK)"
        declared = actions.index("DECLARE")
        assert actors[declared] == "k.bwalya (HOSPITAL_CLERK)"
        assert "VALIDATE_DECLARATION" in details and actors[details.index("VALIDATE_DECLARATION")] == (
            "f.katongo (REGISTRATION_AGENT)")
        registered = actions.index("REGISTER")
        assert actors[registered] == "k.mweene (LOCAL_REGISTRAR)" and number in details[registered]
        assert all(t.strip() for t in rows.get_by_test_id("history-time").all_inner_texts())

        registrar.get_by_test_id("nav-search").click()
        registrar.get_by_test_id("search-registration-number").fill(number)
        registrar.get_by_test_id("search-submit").click()
        expect(registrar.get_by_test_id("search-total")).to_have_text("1")
        expect(registrar.get_by_test_id("search-result-link")).to_have_text(tracking_id)
        expect(registrar.get_by_test_id("search-result-status")).to_have_text("REGISTERED")

        registrar.get_by_test_id("search-registration-number").fill("")
        registrar.get_by_test_id("search-tracking-id").fill(tracking_id)
        registrar.get_by_test_id("search-submit").click()
        expect(registrar.get_by_test_id("search-total")).to_have_text("1")
    finally:
        for c in contexts:
            c.close()


def test_future_date_of_birth_is_named_as_the_field_in_error(context: BrowserContext):
    page = login(context, "k.bwalya")
    records_before = int(page.get_by_test_id("workqueue-total").inner_text())
    child = unique_child()
    declare_birth(page, child, (dt.date.today() + dt.timedelta(days=30)).isoformat())
    expect(page).to_have_url(re.compile(r"/declare/birth$"))
    expect(page.get_by_test_id("flash-error")).to_contain_text("child.dob")
    expect(page.get_by_test_id("flash-error")).to_contain_text("date of birth")
    expect(page.get_by_test_id("child-dob")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("child-firstname")).to_have_value(child[0])
    # Correcting the date and sending the same form again declares it.
    page.get_by_test_id("child-dob").fill(recent(3))
    page.get_by_test_id("declare-submit").click()
    expect(page.get_by_test_id("record-status")).to_have_text("DECLARED")
    # The refused attempt and the corrected one made one record, not two.
    page.get_by_test_id("nav-home").click()
    expect(page.get_by_test_id("workqueue-total")).to_have_text(str(records_before + 1))
    expect(page.get_by_test_id("workqueue-row").first.get_by_test_id("workqueue-row-name")).to_have_text(
        f"{child[0]} {child[1]}")


def test_search_refuses_an_impossible_date_and_an_empty_form(context: BrowserContext):
    page = login(context, "k.mweene")
    page.goto("/search?dob=2024-13-45")
    expect(page.get_by_test_id("flash-error")).to_contain_text("Date of birth")
    expect(page.get_by_test_id("search-total")).to_have_count(0)
    page.get_by_test_id("search-dob").fill("")
    page.get_by_test_id("search-submit").click()
    expect(page.get_by_test_id("flash-error")).to_contain_text("Enter a name")


def test_a_hospital_clerk_forging_a_register_post_gets_an_error_message_not_a_crash(context: BrowserContext):
    page = login(context, "k.bwalya")
    declare_birth(page, unique_child(), recent(40))
    expect(page.get_by_test_id("record-status")).to_have_text("DECLARED")
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = context.request.post(page.url + "/register", form={"csrf_token": csrf or ""})
    assert response.ok  # redirected back to the record page, which names the refusal
    assert 'data-testid="flash-error"' in response.text()
    page.reload()
    expect(page.get_by_test_id("record-status")).to_have_text("DECLARED")


def test_posts_without_the_csrf_token_are_refused(context: BrowserContext, sandbox_url: str):
    page = login(context, "k.mweene")
    child = unique_child()
    response = context.request.post("/declare/birth", form={
        "child_firstname": child[0], "child_surname": child[1], "child_gender": "male", "child_dob": "2024-01-01",
        "mother_firstname": "Ruth", "mother_surname": child[1], "informant_relation": "MOTHER"})
    assert response.status == 403
    assert 'data-testid="flash-error"' in response.text()
    page.goto(f"/search?name={child[1]}")
    expect(page.get_by_test_id("search-total")).to_have_text("0")
    # A login form posted from elsewhere, with no session at all, is refused too.
    with httpx.Client(base_url=sandbox_url) as anonymous:
        refused = anonymous.post("/login", data={"username": "k.mweene", "password": "test"})
    assert refused.status_code == 403


def test_unknown_record_shows_an_error_page(context: BrowserContext):
    page = login(context, "k.bwalya")
    response = page.goto("/records/00000000-0000-4000-8000-000000000000")
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("flash-error")).to_be_visible()


def test_a_record_held_by_somebody_else_cannot_be_taken(browser: Browser, sandbox_url: str):
    contexts = [browser.new_context(base_url=sandbox_url) for _ in range(3)]
    try:
        clerk, reg_agent, registrar = (login(c, u) for c, u in zip(contexts, ("k.bwalya", "f.katongo", "k.mweene"),
                                                                     strict=True))
        declare_birth(clerk, unique_child(), recent(50))
        record_path = clerk.url.removeprefix(sandbox_url)
        reg_agent.goto(record_path)
        press(reg_agent, "assign-button", "Assigned to you")
        expect(reg_agent.get_by_test_id("record-assigned-to")).to_have_text("f.katongo")
        expect(reg_agent.get_by_test_id("register-button")).to_have_count(0)  # a registration agent never registers
        expect(reg_agent.get_by_test_id("validate-button")).to_have_count(1)

        registrar.goto(record_path)
        for button in ("register-button", "assign-button"):
            expect(registrar.get_by_test_id(button)).to_have_count(0)
        csrf = registrar.locator("input[name=csrf_token]").first.get_attribute("value")
        forged = contexts[2].request.post(sandbox_url + record_path + "/assign", form={"csrf_token": csrf or ""})
        assert forged.ok and "somebody else" in forged.text()
        registrar.reload()
        expect(registrar.get_by_test_id("record-assigned-to")).to_have_text("f.katongo")
        expect(registrar.get_by_test_id("record-status")).to_have_text("DECLARED")
    finally:
        for c in contexts:
            c.close()


def test_a_failing_api_call_shows_a_message_not_a_crash(context: BrowserContext):
    page = login(context, "k.mweene")
    declare_birth(page, unique_child(), recent(60))
    expect(page.get_by_test_id("record-flags")).to_contain_text("validated")  # a registrar's DECLARE validates
    press(page, "assign-button", "Assigned to you")
    press(page, "register-button", "Registered")
    expect(page.get_by_test_id("record-status")).to_have_text("REGISTERED")
    press(page, "assign-button", "Assigned to you")
    page.get_by_test_id("print-button").click()  # the sandbox fails every print on purpose (conftest)
    expect(page.get_by_test_id("flash-error")).to_contain_text("could not complete")
    expect(page.get_by_test_id("record-flags")).not_to_contain_text("certificate-printed")


def test_unknown_paths_get_the_index_page_and_the_api_is_under_api(sandbox_url: str):
    page = httpx.get(f"{sandbox_url}/a/deep/link/of/the/app")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert httpx.get(f"{sandbox_url}/api/ping").json() == {"success": True}
