"""The web client in Chromium: log in with the code, declare, search, register, read the record page."""

from __future__ import annotations

import re

import pytest

from crvs_client import current_state
from regression.data import full_name, validated

pytestmark = pytest.mark.browser

RECORD_URL = re.compile(r"/records/([^/?#]+)$")


def tid(page, testid: str):
    """The element with this data-testid."""
    return page.get_by_test_id(testid)


def login(page, user, code: str) -> None:
    """The two-step user login of the web client."""
    page.goto("/login")
    tid(page, "login-username").fill(user.username)
    tid(page, "login-password").fill(user.password)
    tid(page, "login-submit").click()
    tid(page, "code-input").fill(code)
    tid(page, "code-submit").click()
    tid(page, "current-user").wait_for()


def _user(crvs, role: str):
    return crvs.deployment.account(role)


@pytest.mark.smoke
def test_login_with_code_shows_current_user(ui, crvs):
    user = _user(crvs, "hospital_clerk")
    login(ui, user, crvs.deployment.login_code)
    assert user.username in tid(ui, "current-user").inner_text(), \
        "after logging in with the code, the page must show the current user"


def test_wrong_code_is_refused(ui, crvs):
    user = _user(crvs, "hospital_clerk")
    ui.goto("/login")
    tid(ui, "login-username").fill(user.username)
    tid(ui, "login-password").fill(user.password)
    tid(ui, "login-submit").click()
    tid(ui, "code-input").fill("99999" + ("8" if crvs.deployment.login_code.endswith("9") else "9"))
    tid(ui, "code-submit").click()
    tid(ui, "flash-error").wait_for()
    assert tid(ui, "current-user").count() == 0, "a wrong login code must not log the user in"


@pytest.mark.smoke
def test_declare_birth_through_form(ui, crvs, declarations, hospital_clerk):
    declaration = declarations.birth()
    child, mother = declaration["child.name"], declaration["mother.name"]
    login(ui, _user(crvs, "hospital_clerk"), crvs.deployment.login_code)
    tid(ui, "nav-declare").click()
    tid(ui, "child-firstname").fill(child["firstname"])
    tid(ui, "child-surname").fill(child["surname"])
    tid(ui, "child-gender").select_option(declaration["child.gender"])
    tid(ui, "child-dob").fill(declaration["child.dob"])
    tid(ui, "mother-firstname").fill(mother["firstname"])
    tid(ui, "mother-surname").fill(mother["surname"])
    tid(ui, "informant-relation").select_option("MOTHER")
    tid(ui, "declare-submit").click()
    ui.wait_for_url(RECORD_URL)
    event_id = RECORD_URL.search(ui.url).group(1)
    hospital_clerk.registry.add(event_id)  # created through the form: remembered for --cleanup
    assert tid(ui, "record-status").inner_text().strip() == "DECLARED", \
        "a birth declared through the form must show status DECLARED on its record page"
    assert tid(ui, "record-tracking-id").inner_text().strip(), "the record page must show a tracking ID"
    assert full_name(child) in tid(ui, "record-child-name").inner_text(), \
        "the record page must show the child's name as declared in the form"
    stored = current_state(hospital_clerk.get_event(event_id)).declaration
    assert stored.get("child.name") == child and stored.get("child.dob") == declaration["child.dob"], \
        "a birth declared through the form must be stored with the name and date of birth typed in"


def test_find_declared_birth_by_search(ui, crvs, new_birth):
    record = new_birth()
    login(ui, _user(crvs, "registration_agent"), crvs.deployment.login_code)
    tid(ui, "nav-search").click()
    # Name terms are ORed (an Elasticsearch match): the tagged surname alone is unique to this test.
    tid(ui, "search-name").fill(record.declaration["child.name"]["surname"])
    tid(ui, "search-submit").click()
    tid(ui, "search-total").wait_for()
    rows = tid(ui, "search-result")
    assert tid(ui, "search-total").inner_text().strip() == "1" and rows.count() == 1, \
        "searching the web client by the child's name must find exactly the declared birth"
    assert rows.first.get_by_test_id("search-result-status").inner_text().strip() == "DECLARED", \
        "the search result must show the record's status"
    rows.first.get_by_test_id("search-result-link").click()
    tid(ui, "record-tracking-id").wait_for()
    assert tid(ui, "record-tracking-id").inner_text().strip() == record.tracking_id, \
        "the search result link must open the record that was found"


@pytest.mark.smoke
def test_registrar_registers_through_the_record_page(ui, crvs, new_birth, registration_agent, registrar):
    record = validated(registration_agent, new_birth())
    login(ui, _user(crvs, "local_registrar"), crvs.deployment.login_code)
    ui.goto(f"/records/{record.id}")
    if tid(ui, "assign-button").count():
        tid(ui, "assign-button").click()
    tid(ui, "register-button").click()
    tid(ui, "record-status").filter(has_text="REGISTERED").wait_for()
    shown = tid(ui, "record-registration-number").inner_text().strip()
    assert shown, "after a registrar registers a record in the web client, its page must show the registration number"
    stored = current_state(registrar.get_event(record.id))
    assert stored.status == "REGISTERED" and stored.registration_number == shown, \
        "the registration number on the record page must be the one the API reports"


def test_record_page_shows_registration_number_and_history(ui, crvs, registered_birth):
    record = registered_birth()
    login(ui, _user(crvs, "local_registrar"), crvs.deployment.login_code)
    ui.goto(f"/records/{record.id}")
    assert tid(ui, "record-registration-number").inner_text().strip() == record.registration_number, \
        "the record page must show the registration number"
    rows = tid(ui, "history-row")
    actions = [rows.nth(i).get_by_test_id("history-action").inner_text().strip() for i in range(rows.count())]
    for kind in ("CREATE", "DECLARE", "REGISTER"):
        assert any(a.startswith(kind) for a in actions), f"the record history must list the {kind} action; it lists {actions}"
    register_row = rows.nth(next(i for i, a in enumerate(actions) if a.startswith("REGISTER")))
    assert _user(crvs, "local_registrar").username in register_row.get_by_test_id("history-actor").inner_text(), \
        "the history must name the registrar who registered the record"
    assert register_row.get_by_test_id("history-time").inner_text().strip(), "the history must show when each action happened"


def test_hospital_clerk_sees_no_register_button(ui, crvs, new_birth):
    record = new_birth()
    login(ui, _user(crvs, "hospital_clerk"), crvs.deployment.login_code)
    ui.goto(f"/records/{record.id}")
    tid(ui, "record-status").wait_for()
    assert tid(ui, "register-button").count() == 0, "a field agent must not be offered the register button"
