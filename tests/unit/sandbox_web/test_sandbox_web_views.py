"""The web client's pure parts: record view derivation, form → wire input, error wording."""

from __future__ import annotations

import pytest

from sandbox.domain import has_scope, parse_scope
from sandbox.web import forms
from sandbox.web.records import User, index_row, record_view

pytestmark = pytest.mark.unit

REGISTRAR = User("u-reg", "k.mweene", "LOCAL_REGISTRAR",
                 frozenset({"type=record.read&placeOfEvent=administrativeArea",
                            "type=record.register&placeOfEvent=administrativeArea",
                            "type=record.print-certified-copies&registeredIn=administrativeArea"}))
AGENT = User("u-agent", "f.katongo", "REGISTRATION_AGENT",
             frozenset({"type=record.declare&placeOfEvent=administrativeArea",
                        "type=record.custom-action&event=birth&customActionTypes=VALIDATE_DECLARATION,ESCALATE"}))
CLERK = User("u-fa", "k.bwalya", "HOSPITAL_CLERK",
             frozenset({"type=record.read&placeOfEvent=location", "type=record.declare&placeOfEvent=location"}))
FIELD_AGENT = CLERK
BIRTH = {"child.name": {"firstname": "Chipo", "surname": "Banda"}, "child.gender": "female",
         "child.dob": "2024-01-02", "mother.name": {"firstname": "Mwila", "surname": "Banda"},
         "informant.relation": "MOTHER"}


def action(kind: str, by: str = "u-fa", role: str = "HOSPITAL_CLERK", **extra: object) -> dict[str, object]:
    return {"id": kind, "type": kind, "status": "Accepted", "createdAt": "2024-01-03T10:00:00Z",
            "createdBy": by, "createdByRole": role, **extra}


def document(*actions: dict[str, object]) -> dict[str, object]:
    return {"id": "e1", "type": "birth", "trackingId": "B1234567", "actions": list(actions)}


@pytest.mark.parametrize(("actions", "status", "assigned"), [
    ([action("CREATE")], "CREATED", None),
    ([action("CREATE"), action("DECLARE", declaration=BIRTH)], "DECLARED", None),
    ([action("CREATE"), action("DECLARE", declaration=BIRTH), action("ASSIGN", assignedTo="u-reg")], "DECLARED", "u-reg"),
    # OpenCRVS writes the release as an UNASSIGN action after a write action without keepAssignment (events.ts).
    ([action("CREATE"), action("ASSIGN", assignedTo="u-reg"), action("DECLARE", declaration=BIRTH),
      action("UNASSIGN")], "DECLARED", None),
    ([action("CREATE"), action("ASSIGN", assignedTo="u-reg"), action("DECLARE", declaration=BIRTH, keepAssignment=True)],
     "DECLARED", "u-reg"),
    ([action("CREATE"), action("NOTIFY", declaration=BIRTH)], "NOTIFIED", None),
    ([action("CREATE"), {**action("DECLARE", declaration=BIRTH), "status": "Requested", "id": "r1"}], "CREATED", None),
    ([action("CREATE"), {**action("DECLARE", declaration=BIRTH), "status": "Requested", "id": "r1"},
      {**action("DECLARE"), "id": "a1", "declaration": {}, "originalActionId": "r1"}], "DECLARED", None),
    ([action("CREATE"), action("DECLARE", declaration=BIRTH), action("REGISTER", registrationNumber="R1")], "REGISTERED", None),
    ([action("CREATE"), action("ARCHIVE")], "ARCHIVED", None),
    ([action("CREATE"), {**action("DECLARE", declaration=BIRTH), "status": "Rejected"}], "CREATED", None),
])
def test_status_and_assignment_follow_the_actions(actions, status, assigned):
    view = record_view(document(*actions), REGISTRAR)
    assert (view.status, view.assigned_to) == (status, assigned)


def _assigned_to(user: User) -> dict[str, object]:
    return action("ASSIGN", by=user.user_id, role=user.role, assignedTo=user.user_id)


def test_registrar_registers_only_a_validated_declaration_assigned_to_them():
    clerk_declared = [action("CREATE"), action("DECLARE", declaration=BIRTH)]
    unassigned = record_view(document(*clerk_declared), REGISTRAR)
    assert unassigned.can_assign and not unassigned.can_register
    assigned = record_view(document(*clerk_declared, _assigned_to(REGISTRAR)), REGISTRAR)
    assert not assigned.can_register and not assigned.can_assign, "a clerk's declaration is not validated"
    validated = document(*clerk_declared, _assigned_to(AGENT),
                         action("CUSTOM", by="u-agent", role="REGISTRATION_AGENT",
                                customActionType="VALIDATE_DECLARATION"), _assigned_to(REGISTRAR))
    view = record_view(validated, REGISTRAR)
    assert view.can_register and "validated" in view.flags
    agent_declared = document(action("CREATE"), action("DECLARE", by="u-agent", role="REGISTRATION_AGENT",
                                                       declaration=BIRTH), _assigned_to(REGISTRAR))
    assert record_view(agent_declared, REGISTRAR).can_register
    clerk = record_view(document(*clerk_declared, _assigned_to(CLERK)), CLERK)
    assert not (clerk.can_register or clerk.can_print or clerk.can_validate)


def test_registration_agent_may_validate_what_is_assigned_to_them():
    doc = document(action("CREATE"), action("DECLARE", declaration=BIRTH), _assigned_to(AGENT))
    assert record_view(doc, AGENT).can_validate and not record_view(doc, AGENT).can_register


def test_register_is_hidden_when_somebody_else_holds_the_record():
    doc = document(action("CREATE"), action("DECLARE", declaration=BIRTH, by="u-agent", role="REGISTRATION_AGENT"),
                   action("ASSIGN", assignedTo="u-other"))
    view = record_view(doc, REGISTRAR)
    assert not view.can_register and not view.can_assign


def test_registered_record_shows_number_history_and_print_needs_a_new_assign():
    registered = [action("CREATE"), action("DECLARE", declaration=BIRTH, by="u-agent", role="REGISTRATION_AGENT"),
                  _assigned_to(REGISTRAR),
                  action("REGISTER", by="u-reg", role="LOCAL_REGISTRAR", registrationNumber="2024BR0001"),
                  action("UNASSIGN", by="u-reg", role="LOCAL_REGISTRAR")]
    view = record_view(document(*registered), REGISTRAR)
    assert (view.registration_number, view.subject_name, view.can_print, view.can_register) == (
        "2024BR0001", "Chipo Banda", False, False)
    assert view.can_assign
    assert [row.action for row in view.history] == ["CREATE", "DECLARE", "ASSIGN", "REGISTER", "UNASSIGN"]
    assert view.history[3].actor == "u-reg (LOCAL_REGISTRAR)" and "2024BR0001" in view.history[3].detail
    assert record_view(document(*registered, _assigned_to(REGISTRAR)), REGISTRAR).can_print


def test_scopes_are_read_in_opencrvs_encoding():
    assert parse_scope("type=record.custom-action&event=birth&customActionTypes=A,B") == (
        "record.custom-action", {"event": ("birth",), "customActionTypes": ("A", "B")})
    assert has_scope(AGENT.scopes, ("record.custom-action",), event_type="birth", custom_action="VALIDATE_DECLARATION")
    assert not has_scope(AGENT.scopes, ("record.custom-action",), event_type="death", custom_action="ESCALATE")
    assert not has_scope(AGENT.scopes, ("record.register",))


def test_birth_form_becomes_a_farajaland_declaration_and_blank_fields_are_left_out():
    values = forms.birth_form_values({"child_firstname": " Chipo ", "child_surname": "Banda", "child_gender": "female",
                                      "child_dob": "2024-01-02", "mother_firstname": "Mwila",
                                      "mother_surname": "Banda", "informant_relation": "MOTHER"},
                                     {"child_birth_location": "hf-1", "mother_area": "area-1"})
    declaration = forms.birth_declaration(values)
    assert {k: declaration[k] for k in BIRTH} == BIRTH
    assert declaration["child.placeOfBirth"] == "HEALTH_FACILITY" and declaration["child.birthLocation"] == "hf-1"
    assert declaration["mother.address"] == {"country": "FAR", "addressType": "DOMESTIC", "administrativeArea": "area-1"}
    assert declaration["mother.dobUnknown"] is True and declaration["mother.age"]["age"] == 30
    assert declaration["father.detailsNotAvailable"] is True and declaration["father.reason"]
    assert declaration["informant.email"].endswith("@example.org")
    with_dob = forms.birth_declaration({**values, "mother_dob": "1990-01-01"})
    assert with_dob["mother.dob"] == "1990-01-01" and "mother.age" not in with_dob
    blank = forms.birth_declaration({**values, "child_dob": "", "child_gender": ""})
    assert "child.dob" not in blank and "child.gender" not in blank
    assert "father.detailsNotAvailable" not in forms.birth_declaration({**values, "informant_relation": "FATHER"})


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
