"""Validation: bad input is a 400 that names the field, and nothing is stored."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from crvs_client import BadRequest, NotFound, ServerError, current_state
from crvs_client.client import exact, new_transaction_id
from regression.data import signed_annotation
from regression.expect import refused

pytestmark = pytest.mark.integrity


def _refused_naming(call, field_id: str, what: str) -> BadRequest:
    try:
        call()
    except BadRequest as exc:
        assert field_id in exc.fields or field_id in exc.message, \
            f"validation: {what} must be refused naming {field_id!r}; the error named {list(exc.fields)}"
        return exc
    pytest.fail(f"validation: {what} was accepted; it must be refused with 400 naming {field_id!r}", pytrace=False)


def _declare_refused(hospital_clerk, declarations, field_id: str, what: str, **overrides):
    declaration = declarations.birth(**overrides)
    created = hospital_clerk.create_event("birth")
    annotation = signed_annotation(hospital_clerk)
    _refused_naming(lambda: hospital_clerk.declare(created["id"], declaration, annotation=annotation), field_id, what)
    state = current_state(hospital_clerk.get_event(created["id"]))
    assert state.status == "CREATED" and "DECLARE" not in state.action_types(), \
        f"validation: after refusing {what}, the record must stay CREATED with no DECLARE action"
    mother = declaration.get("mother.name")
    if isinstance(mother, dict):
        found = hospital_clerk.search([{"status": exact("DECLARED"), "data": {"mother.name": exact(mother["surname"])}}])
        assert found["total"] == 0, f"validation: a refused declaration ({what}) must not be searchable as DECLARED"


@pytest.mark.smoke
def test_missing_required_field_is_400(hospital_clerk, declarations):
    declaration = declarations.birth()
    del declaration["child.dob"]
    created = hospital_clerk.create_event("birth")
    annotation = signed_annotation(hospital_clerk)
    _refused_naming(lambda: hospital_clerk.declare(created["id"], declaration, annotation=annotation), "child.dob",
                    "a birth declaration without the child's date of birth")
    assert current_state(hospital_clerk.get_event(created["id"])).status == "CREATED", \
        "validation: a refused declaration must leave the record CREATED"


def test_future_date_of_birth_is_400(hospital_clerk, declarations):
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    _declare_refused(hospital_clerk, declarations, "child.dob", "a date of birth in the future", child__dob=future)


def test_impossible_date_is_400(hospital_clerk, declarations):
    _declare_refused(hospital_clerk, declarations, "child.dob", "an impossible date (30 February)", child__dob="2023-02-30")


def test_malformed_date_is_400(hospital_clerk, declarations):
    _declare_refused(hospital_clerk, declarations, "child.dob", "a date that is not YYYY-MM-DD", child__dob="12/01/2024")


def test_name_of_wrong_type_is_400(hospital_clerk, declarations):
    _declare_refused(hospital_clerk, declarations, "child.name", "a child's name that is a plain string",
                     child__name="Chipo Banda")


def test_weight_of_wrong_type_is_400(hospital_clerk, declarations):
    _declare_refused(hospital_clerk, declarations, "child.weightAtBirth", "a weight that is not a number",
                     child__weightAtBirth="heavy")


def test_missing_mother_address_is_400(hospital_clerk, declarations):
    _declare_refused(hospital_clerk, declarations, "mother.address", "a birth declaration without the mother's address",
                     mother__address=None)


def test_missing_father_reason_is_400(hospital_clerk, declarations):
    _declare_refused(hospital_clerk, declarations, "father.reason",
                     "father.detailsNotAvailable without father.reason", father__reason=None)


def test_missing_signature_is_400(hospital_clerk, declarations):
    declaration = declarations.birth()
    created = hospital_clerk.create_event("birth")
    _refused_naming(lambda: hospital_clerk.declare(created["id"], declaration,
                                                   annotation={"review.comment": "no signature"}),
                    "review.signature", "a declaration without the review signature")


def test_unknown_field_is_refused_and_nothing_stored(hospital_clerk, declarations):
    """OpenCRVS v2.0.0 throws a plain Error for an unknown field id ("Field with id … not found in event
    config", packages/commons/src/events/utils.ts getDeclarationFieldById), which tRPC answers as 500; a 400
    is as good. Either way the record must stay CREATED."""
    declaration = declarations.birth(child__favouriteColour="blue")
    created = hospital_clerk.create_event("birth")
    annotation = signed_annotation(hospital_clerk)
    try:
        hospital_clerk.declare(created["id"], declaration, annotation=annotation)
        accepted = True
    except (BadRequest, ServerError) as exc:
        accepted = False
        assert "child.favouriteColour" in exc.message or "child.favouriteColour" in exc.fields, \
            f"validation: refusing an unknown field id must name it; the error said {exc.message[:120]!r}"
    assert not accepted, "validation: a declaration with an unknown field id (child.favouriteColour) was accepted"
    state = current_state(hospital_clerk.get_event(created["id"]))
    assert state.status == "CREATED" and "DECLARE" not in state.action_types(), \
        "validation: after refusing an unknown field id, the record must stay CREATED with no DECLARE action"


def test_death_before_birth_is_400(hospital_clerk, declarations):
    declaration = declarations.death(deceased__dob="1990-05-01", eventDetails__date="1980-01-01")
    created = hospital_clerk.create_event("death")
    annotation = signed_annotation(hospital_clerk)
    _refused_naming(lambda: hospital_clerk.declare(created["id"], declaration, annotation=annotation),
                    "eventDetails.date",
                    "a date of death before the date of birth")
    assert current_state(hospital_clerk.get_event(created["id"])).status == "CREATED", \
        "validation: a refused death declaration must leave the record CREATED"


def test_death_without_date_of_death_is_400(hospital_clerk, declarations):
    declaration = declarations.death()
    del declaration["eventDetails.date"]
    created = hospital_clerk.create_event("death")
    annotation = signed_annotation(hospital_clerk)
    _refused_naming(lambda: hospital_clerk.declare(created["id"], declaration, annotation=annotation),
                    "eventDetails.date",
                    "a death declaration without the date of death")


def test_unknown_event_type_is_400_and_creates_nothing(hospital_clerk):
    transaction_id = new_transaction_id()
    _refused_naming(lambda: hospital_clerk.create_event("marriage", transaction_id=transaction_id), "type",
                    "an unknown event type")
    # Had the refused call stored anything under this transactionId, a retry would return it.
    created = hospital_clerk.create_event("birth", transaction_id=transaction_id)
    assert created["type"] == "birth", "validation: a refused create must not store a record under its transactionId"


def test_notify_with_wrong_type_is_400(system_client, declarations):
    created = system_client.rest_create_event("birth")
    _refused_naming(lambda: system_client.rest_notify(created["id"], {"child.weightAtBirth": "heavy"}),
                    "child.weightAtBirth", "a notification with a weight that is not a number")
    assert current_state(system_client.rest_get_event(created["id"])).status == "CREATED", \
        "validation: a refused notification must leave the record CREATED"


def test_malformed_envelope_is_400_not_500(crvs, hospital_clerk):
    url = f"{crvs.url}/events/event.create?batch=1"
    headers = {"Authorization": f"Bearer {hospital_clerk.token}", "Content-Type": "application/json"}
    for body in ('{"0": {"nojson": 1}}', "not json", '{"0": {"json": "a string"}}', "[]"):
        resp = httpx.post(url, content=body, headers=headers, timeout=15)
        assert resp.status_code == 400, f"a malformed tRPC envelope must be refused with 400, got {resp.status_code}"


def test_unknown_procedure_is_404(hospital_clerk):
    refused(lambda: hospital_clerk.mutation("event.actions.teleport.request", {"eventId": "x", "transactionId": "y"}),
            NotFound, "an unknown tRPC procedure must answer 404")


def test_unknown_record_is_404(hospital_clerk):
    refused(lambda: hospital_clerk.get_event("00000000-0000-4000-8000-00000000dead"), NotFound,
            "event.get of a record that does not exist must answer 404")
