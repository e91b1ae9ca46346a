"""The web client's pure parts: record view derivation, form → wire input, error wording."""

from __future__ import annotations

import pytest

from sandbox.web import forms
from sandbox.web.records import User, index_row, record_view

pytestmark = pytest.mark.unit

REGISTRAR = User("u-reg", "k.mweene", "LOCAL_REGISTRAR",
                 frozenset({"record.read", "record.assign", "record.register", "record.print-certificate"}))
FIELD_AGENT = User("u-fa", "k.bwalya", "FIELD_AGENT", frozenset({"record.read", "record.declare"}))
BIRTH = {"child.name": {"firstname": "Chipo", "surname": "Banda"}, "child.gender": "female",
         "child.dob": "2024-01-02", "mother.name": {"firstname": "Mwila", "surname": "Banda"},
         "informant.relation": "MOTHER"}


def action(kind: str, by: str = "u-fa", **extra: object) -> dict[str, object]:
    return {"id": kind, "type": kind, "status": "Accepted", "createdAt": "2024-01-03T10:00:00Z",
            "createdBy": by, "createdByRole": "FIELD_AGENT", **extra}


def document(*actions: dict[str, object]) -> dict[str, object]:
    return {"id": "e1", "type": "birth", "trackingId": "B1234567", "actions": list(actions)}


@pytest.mark.parametrize(("actions", "status", "assigned"), [
    ([action("CREATE")], "CREATED", None),
    ([action("CREATE"), action("DECLARE", declaration=BIRTH)], "DECLARED", None),
    ([action("CREATE"), action("DECLARE", declaration=BIRTH), action("ASSIGN", assignedTo="u-reg")], "DECLARED", "u-reg"),
    ([action("CREATE"), action("ASSIGN", assignedTo="u-reg"), action("DECLARE", declaration=BIRTH)], "DECLARED", None),
    ([action("CREATE"), action("ASSIGN", assignedTo="u-reg"), action("DECLARE", declaration=BIRTH, keepAssignment=True)],
     "DECLARED", "u-reg"),
    ([action("CREATE"), action("NOTIFY", declaration=BIRTH), action("VALIDATE")], "DECLARED", None),
    ([action("CREATE"), action("NOTIFY", declaration={"child.dob": "2024-01-02"}), action("VALIDATE")], "NOTIFIED", None),
    ([action("CREATE"), action("DECLARE", declaration=BIRTH), action("REGISTER", registrationNumber="R1")], "REGISTERED", None),
    ([action("CREATE"), action("ARCHIVE")], "ARCHIVED", None),
    ([action("CREATE"), {**action("DECLARE", declaration=BIRTH), "status": "Rejected"}], "CREATED", None),
])
def test_status_and_assignment_follow_the_actions(actions, status, assigned):
    view = record_view(document(*actions), REGISTRAR)
    assert (view.status, view.assigned_to) == (status, assigned)


def test_registrar_may_register_a_declared_record_but_a_field_agent_may_not():
    doc = document(action("CREATE"), action("DECLARE", declaration=BIRTH))
    assert record_view(doc, REGISTRAR).can_register
    agent = record_view(doc, FIELD_AGENT)
    assert not (agent.can_register or agent.can_assign or agent.can_print)


def test_register_is_hidden_when_somebody_else_holds_the_record():
    doc = document(action("CREATE"), action("DECLARE", declaration=BIRTH), action("ASSIGN", assignedTo="u-other"))
    assert not record_view(doc, REGISTRAR).can_register


def test_registered_record_shows_number_history_and_print():
    doc = document(action("CREATE"), action("DECLARE", declaration=BIRTH),
                   action("REGISTER", by="u-reg", registrationNumber="2024BR0001"))
    view = record_view(doc, REGISTRAR)
    assert (view.registration_number, view.subject_name, view.can_print, view.can_register) == (
        "2024BR0001", "Chipo Banda", True, False)
    assert [row.action for row in view.history] == ["CREATE", "DECLARE", "REGISTER"]
    assert view.history[2].actor == "u-reg (FIELD_AGENT)"
    assert "2024BR0001" in view.history[2].detail


def test_birth_form_becomes_the_contract_declaration_and_blank_fields_are_left_out():
    values = forms.birth_form_values({"child_firstname": " Chipo ", "child_surname": "Banda", "child_gender": "female",
                                      "child_dob": "2024-01-02", "mother_firstname": "Mwila",
                                      "mother_surname": "Banda", "informant_relation": "MOTHER"})
    assert forms.birth_declaration(values) == BIRTH
    assert forms.birth_declaration({**values, "child_dob": "", "child_gender": ""}).keys() == {
        "child.name", "mother.name", "informant.relation"}


def test_field_errors_name_the_field_in_the_users_words():
    message = forms.field_error_message(("child.dob",), "date is in the future")
    assert "Child's date of birth" in message and "child.dob" in message
    assert forms.invalid_inputs(("child.name", "unknown.x")) == {"child_firstname", "child_surname"}


def test_search_form_becomes_one_anded_clause():
    form = forms.SearchForm.from_params({"name": "Chipo Banda", "dob": "2024-01-02", "tracking_id": "b123",
                                         "registration_number": ""})
    clause = forms.search_input(form)["query"]["clauses"][0]
    assert clause == {"data": {"child.name": {"type": "fuzzy", "term": "Chipo Banda"},
                               "child.dob": {"type": "exact", "term": "2024-01-02"}},
                      "trackingId": {"type": "exact", "term": "B123"}}
    assert forms.SearchForm.from_params({"name": "  "}).is_empty


def test_index_row_reads_name_and_registration_number():
    row = index_row({"id": "e1", "type": "birth", "status": "REGISTERED", "trackingId": "B1",
                     "declaration": BIRTH, "legalStatuses": {"DECLARED": None,
                                                             "REGISTERED": {"registrationNumber": "R9"}}})
    assert (row.name, row.registration_number, row.dob) == ("Chipo Banda", "R9", "2024-01-02")


def test_search_errors_name_the_input_not_the_wire_path():
    assert forms.search_error_message(("query.clauses[0].data.child.dob.term",), "not a date") == (
        "Please correct the search: Date of birth.")
    assert forms.search_error_message((), "bad query") == "The search was refused: bad query"
