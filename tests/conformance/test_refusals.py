"""What OpenCRVS v2.0.0 refuses, and with which status: sent as farajaland's e2e and the performance test send
requests, checked against core's router and middleware."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from tests.conformance import farajaland
from tests.conformance.conftest import Logins
from tests.conformance.records import (
    Hosts,
    Places,
    Record,
    actions_of,
    assign,
    create,
    declare,
    declared_record,
    get,
    register,
    registered_record,
    search_tracking_id,
    upload_signature,
)
from tests.conformance.schemas import assert_trpc_error
from tests.conformance.wire import mutation, new_id, rest

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("conformance")]


def _system_event(hosts: Hosts, system_token: str, places: Places) -> str:
    answer = mutation(hosts.events, "event.create",
                      {"type": "birth", "transactionId": new_id(), "createdAtLocation": places.hospital},
                      system_token)
    return str(answer.data["id"])


def _user_only_inputs(event_id: str, location: str) -> dict[str, dict[str, Any]]:
    base = {"eventId": event_id, "transactionId": new_id(), "declaration": {}, "createdAtLocation": location}
    return {
        "event.actions.declare.request": {**base, "annotation": {}},
        "event.actions.register.request": {**base, "annotation": {}},
        "event.actions.reject.request": {**base, "content": {"reason": "Conformance"}},
        "event.actions.archive.request": {**base, "content": {"reason": "Conformance"}},
        "event.actions.printCertificate.request": base,
        "event.actions.assignment.assign": {"type": "ASSIGN", "eventId": event_id, "transactionId": new_id(),
                                            "assignedTo": event_id, "declaration": {}},
        "event.actions.assignment.unassign": {"type": "UNASSIGN", "eventId": event_id, "transactionId": new_id(),
                                              "declaration": {}},
    }


@pytest.mark.parametrize("procedure", list(_user_only_inputs("x", "y")))
def test_system_client_may_not_run_user_only_actions(hosts: Hosts, system_token: str, places: Places,
                                                     procedure: str) -> None:
    """core packages/events/src/router/event/actions/index.ts SYSTEM_USER_ALLOWED_ACTIONS (NOTIFY and the three
    correction actions) get userAndSystemProcedure; every other action, declare (actions/declare.ts) and
    assign/unassign (event/index.ts) are userOnlyProcedure, which answers FORBIDDEN to a system user
    (router/trpc.ts) before the input is looked at."""
    event_id = _system_event(hosts, system_token, places)
    answer = mutation(hosts.events, procedure, _user_only_inputs(event_id, places.hospital)[procedure],
                      system_token)
    assert_trpc_error(answer, 403, "FORBIDDEN")


def test_there_is_no_validate_procedure(hosts: Hosts, registrar: str, places: Places) -> None:
    """v2.0.0's event router has no `actions.validate` (event/index.ts); validation is farajaland's custom action
    VALIDATE_DECLARATION. An unknown procedure is tRPC NOT_FOUND (404)."""
    event_id = create(hosts, registrar, "birth").data["id"]
    answer = mutation(hosts.events, "event.actions.validate.request",
                      {"eventId": event_id, "transactionId": new_id(), "declaration": {}}, registrar)
    assert_trpc_error(answer, 404, "NOT_FOUND")


def test_user_created_at_location_on_create_is_400(hosts: Hosts, registrar: str, places: Places) -> None:
    """core packages/events/src/router/middleware/validate/index.ts requireCreatedAtLocationForSystemUser:
    'createdAtLocation is not allowed for non-system users' (BAD_REQUEST)."""
    answer = mutation(hosts.events, "event.create",
                      {"type": "birth", "transactionId": new_id(), "createdAtLocation": places.hospital}, registrar)
    error = assert_trpc_error(answer, 400, "BAD_REQUEST")
    assert error["message"] == "createdAtLocation is not allowed for non-system users"


def test_user_created_at_location_on_register_is_400(hosts: Hosts, registrar: str, places: Places) -> None:
    """The default action procedures (register, reject, archive, print, notify) run
    requireLocationForSystemUserAction (actions/index.ts), so a user's createdAtLocation there is 400 too."""
    record = declared_record(hosts, registrar, places, keep_assignment=True)
    answer = mutation(hosts.events, "event.actions.register.request",
                      {"eventId": record.event_id, "transactionId": new_id(), "declaration": record.declaration,
                       "annotation": record.annotation, "createdAtLocation": places.hospital}, registrar)
    error = assert_trpc_error(answer, 400, "BAD_REQUEST")
    assert error["message"] == "createdAtLocation is not allowed for non-system users"


def test_user_created_at_location_on_declare_is_ignored(hosts: Hosts, registrar: str, places: Places) -> None:
    """actions/declare.ts builds its own procedure without requireLocationForSystemUserAction and without
    `.strict()`; service/events/events.ts buildAction sets a user's createdAtLocation to the user's
    primaryOfficeId. So the sent location is ignored, not refused."""
    created = create(hosts, registrar, "birth").data
    office = actions_of(created, "CREATE")[0]["createdAtLocation"]
    record = Record(created["id"], created["trackingId"],
                    farajaland.birth_declaration(village_id=places.village, hospital_id=places.hospital),
                    farajaland.annotation(upload_signature(hosts, registrar)))
    answer = mutation(hosts.events, "event.actions.declare.request",
                      {"eventId": record.event_id, "transactionId": new_id(), "declaration": record.declaration,
                       "annotation": record.annotation, "keepAssignment": True,
                       "createdAtLocation": places.hospital}, registrar)
    assert answer.status == 200, answer.body
    declares = actions_of(answer.data, "DECLARE")
    assert declares and all(a["createdAtLocation"] == office for a in declares)
    assert office != places.hospital


def test_print_after_register_without_reassign_is_409(hosts: Hosts, registrar: str, places: Places,
                                                      logins: Logins) -> None:
    """REGISTER without keepAssignment unassigns (events.ts resolveKeepAssignment); print's requireAssignment
    (middleware/authorization/index.ts) answers CONFLICT 'You are not assigned to this event'. After a new
    `assignment.assign` the record is the registrar's again (assign.ts; buildAction sets assignedTo = caller)."""
    record = registered_record(hosts, registrar, places)
    answer = mutation(hosts.events, "event.actions.printCertificate.request",
                      {"eventId": record.event_id, "transactionId": new_id(), "declaration": {}, "annotation": {}},
                      registrar)
    error = assert_trpc_error(answer, 409, "CONFLICT")
    assert error["message"] == "You are not assigned to this event"
    assigned = assign(hosts, registrar, record.event_id, logins.user_id("k.mweene"))
    last = actions_of(assigned.data, "ASSIGN")[-1]
    assert last["assignedTo"] == logins.user_id("k.mweene")
    assert last["status"] == "Accepted"


def test_register_without_validated_is_409(hosts: Hosts, clerk: str, registrar: str, places: Places,
                                           logins: Logins) -> None:
    """farajaland src/events/birth/index.ts: DECLARE adds the `validated` flag only for REGISTRATION_AGENT,
    LOCAL_REGISTRAR or EMBASSY_OFFICIAL; REGISTER is ENABLEd only with `flag('validated')`. A HOSPITAL_CLERK's
    declaration has no flag, so register is CONFLICT (core service/events/events.ts
    throwConflictIfActionNotAllowed: 'Conditions for action: REGISTER were not met…')."""
    record = declared_record(hosts, clerk, places, keep_assignment=False)
    found = search_tracking_id(hosts, registrar, "birth", record.tracking_id).data
    assert found["total"] == 1 and "validated" not in found["results"][0]["flags"]
    assert assign(hosts, registrar, record.event_id, logins.user_id("k.mweene")).status == 200
    answer = register(hosts, registrar, record)
    error = assert_trpc_error(answer, 409, "CONFLICT")
    assert "REGISTER" in error["message"]


def test_validate_declaration_custom_action_lets_register_through(hosts: Hosts, clerk: str, agent: str,
                                                                  registrar: str, places: Places,
                                                                  logins: Logins) -> None:
    """farajaland birth/index.ts custom action VALIDATE_DECLARATION (REGISTRATION_AGENT's scope,
    src/data-seeding/roles/roles.ts) adds `validated`; then the registrar's REGISTER is accepted."""
    record = declared_record(hosts, clerk, places, keep_assignment=False)
    assert assign(hosts, agent, record.event_id, logins.user_id("f.katongo")).status == 200
    validated = mutation(hosts.events, "event.actions.custom.request",
                         {"eventId": record.event_id, "transactionId": new_id(), "declaration": {},
                          "annotation": {}, "customActionType": "VALIDATE_DECLARATION"}, agent)
    assert validated.status == 200, validated.body
    assert [a["status"] for a in actions_of(validated.data, "CUSTOM")] == ["Requested", "Accepted"]
    found = search_tracking_id(hosts, registrar, "birth", record.tracking_id).data
    assert "validated" in found["results"][0]["flags"]
    assert assign(hosts, registrar, record.event_id, logins.user_id("k.mweene")).status == 200
    answer = register(hosts, registrar, record)
    assert answer.status == 200, answer.body
    assert [a["status"] for a in actions_of(answer.data, "REGISTER")] == ["Requested", "Accepted"]


@pytest.mark.parametrize("action", ["reject", "archive"])
def test_reason_message_instead_of_content_reason_is_400(hosts: Hosts, agent: str, registrar: str,
                                                         places: Places, action: str) -> None:
    """core packages/commons/src/events/ActionInput.ts: reject and archive take `content: ReasonContent`
    (`{reason: string}`, ActionDocument.ts), and actions/index.ts parses inputs with `.strict()`: the old
    `reason: {message}` is an unknown key and `content` is missing, BAD_REQUEST. The right shape is accepted and
    the action keeps its content."""
    record = declared_record(hosts, agent, places, keep_assignment=True)
    procedure = f"event.actions.{action}.request"
    wrong = mutation(hosts.events, procedure,
                     {"eventId": record.event_id, "transactionId": new_id(), "declaration": {},
                      "reason": {"message": "Conformance check"}}, agent)
    assert_trpc_error(wrong, 400, "BAD_REQUEST")
    right = mutation(hosts.events, procedure,
                     {"eventId": record.event_id, "transactionId": new_id(), "declaration": {},
                      "content": {"reason": "Conformance check"}}, agent)
    assert right.status == 200, right.body
    done = actions_of(right.data, action.upper())
    assert done and done[0]["content"] == {"reason": "Conformance check"}
    assert done[0]["status"] == "Requested" and done[-1]["status"] == "Accepted"
    index = search_tracking_id(hosts, registrar, "birth", record.tracking_id).data["results"][0]
    if action == "reject":
        assert index["status"] == "DECLARED" and "rejected" in index["flags"]
    else:
        assert index["status"] == "ARCHIVED"


def test_unknown_field_id_in_rest_notify_is_400(hosts: Hosts, system_token: str, places: Places) -> None:
    """farajaland e2e/testcases/events-rest-api/events-notify.spec.ts 'HTTP 400 with payload containing
    declaration with unexpected fields' (core middleware/validate/index.ts validateNotifyAction: 'Unexpected
    field'); the message is exactly the JSON list the e2e asserts."""
    event_id = rest("POST", f"{hosts.rest}/events", system_token,
                    {"type": "birth", "transactionId": new_id(), "createdAtLocation": places.hospital}).json()["id"]
    answer = rest("POST", f"{hosts.rest}/events/{event_id}/notify", system_token, {
        "eventId": event_id, "transactionId": new_id(), "type": "NOTIFY",
        "declaration": {"foo.bar": "this should cause an error", "child.name": {"surname": "Conformance"},
                        "child.dob": (date.today() - timedelta(days=1)).isoformat()},
        "annotation": {}})
    assert answer.status_code == 400, answer.text[:500]
    assert answer.json()["message"] == (
        '[{"message":"Unexpected field","id":"foo.bar","value":"this should cause an error"}]')


def test_wrong_value_type_in_rest_notify_is_400(hosts: Hosts, system_token: str, places: Places) -> None:
    """events-notify.spec.ts 'HTTP 400 with payload containing declaration with values of wrong type'."""
    event_id = rest("POST", f"{hosts.rest}/events", system_token,
                    {"type": "birth", "transactionId": new_id(), "createdAtLocation": places.hospital}).json()["id"]
    answer = rest("POST", f"{hosts.rest}/events/{event_id}/notify", system_token, {
        "eventId": event_id, "transactionId": new_id(), "type": "NOTIFY",
        "declaration": {"child.name": {"surname": 12345}}, "annotation": {}})
    assert answer.status_code == 400, answer.text[:500]
    assert answer.json()["message"] == '[{"message":"Invalid input","id":"child.name","value":{"surname":12345}}]'


def test_unknown_field_id_in_trpc_notify_is_400(hosts: Hosts, clerk: str) -> None:
    """The same rule over tRPC for a user with record.notify (farajaland HOSPITAL_CLERK): BAD_REQUEST whose
    message is a JSON string of `[{message, id, value}]` (validate/utils.ts throwWhenNotEmpty)."""
    event_id = create(hosts, clerk, "birth").data["id"]
    answer = mutation(hosts.events, "event.actions.notify.request",
                      {"eventId": event_id, "transactionId": new_id(), "annotation": {},
                       "declaration": {"foo.bar": "x", "child.name": {"firstname": "Conf", "surname": "Ormance"}}},
                      clerk)
    error = assert_trpc_error(answer, 400, "BAD_REQUEST")
    assert json.loads(error["message"]) == [{"message": "Unexpected field", "id": "foo.bar", "value": "x"}]


def test_unknown_field_id_in_declare_is_500(hosts: Hosts, registrar: str, places: Places) -> None:
    """core middleware/validate/index.ts validateDeclarationUpdateAction calls getDeclarationFieldById for every
    key, which throws 'Field with id foo.bar not found in event config' (commons/src/events/utils.ts) as a plain
    Error, so tRPC answers INTERNAL_SERVER_ERROR (500; router/trpc.ts errorFormatter replaces the message with
    'Internal server error' in production). The issue's "unknown field id: 400" holds for NOTIFY (tests above).
    Either way nothing is recorded."""
    created = create(hosts, registrar, "birth").data
    declaration = {**farajaland.birth_declaration(village_id=places.village, hospital_id=places.hospital),
                   "foo.bar": "not a field"}
    record = Record(created["id"], created["trackingId"], declaration,
                    farajaland.annotation(upload_signature(hosts, registrar)))
    error = assert_trpc_error(declare(hosts, registrar, record, keep_assignment=True), 500, "INTERNAL_SERVER_ERROR")
    assert error["message"] in ("Field with id foo.bar not found in event config", "Internal server error")
    assert not actions_of(get(hosts, registrar, record.event_id).data, "DECLARE")


def test_file_value_that_was_never_uploaded_is_400(hosts: Hosts, registrar: str, places: Places) -> None:
    """core service/events/events.ts addAction: every file value of the declaration must exist in the document
    store, else BAD_REQUEST 'File not found: <path>' (farajaland birth documents.proofOfBirth is a FILE field)."""
    created = create(hosts, registrar, "birth").data
    missing = f"{new_id()}.png"
    declaration = {**farajaland.birth_declaration(village_id=places.village, hospital_id=places.hospital),
                   "documents.proofOfBirth": {"path": missing, "originalFilename": "proof.png", "type": "image/png"}}
    record = Record(created["id"], created["trackingId"], declaration,
                    farajaland.annotation(upload_signature(hosts, registrar)))
    error = assert_trpc_error(declare(hosts, registrar, record, keep_assignment=True), 400, "BAD_REQUEST")
    assert error["message"] == f"File not found: {missing}"


def test_missing_required_field_is_400_with_a_json_list(hosts: Hosts, registrar: str, places: Places) -> None:
    """farajaland mother.ts: `mother.address` is required. validateDeclarationUpdateAction answers BAD_REQUEST
    with a JSON string of `[{message, id, value?}]` (core snapshot event.actions.declare.test.ts.snap:
    `{"message":"Required","id":…}`)."""
    created = create(hosts, registrar, "birth").data
    declaration = farajaland.birth_declaration(village_id=places.village, hospital_id=places.hospital)
    del declaration["mother.address"]
    record = Record(created["id"], created["trackingId"], declaration,
                    farajaland.annotation(upload_signature(hosts, registrar)))
    error = assert_trpc_error(declare(hosts, registrar, record, keep_assignment=True), 400, "BAD_REQUEST")
    errors = json.loads(error["message"])
    assert isinstance(errors, list) and errors
    for entry in errors:
        assert set(entry) <= {"message", "id", "value"} and {"message", "id"} <= set(entry), entry
    assert {"message": "Required", "id": "mother.address"} in errors


@pytest.mark.parametrize("missing", ["father", "child.birthLocation", "review.signature"])
def test_farajaland_required_fields_are_enforced(hosts: Hosts, registrar: str, places: Places,
                                                 missing: str) -> None:
    """farajaland birth forms: father's details or `father.detailsNotAvailable` + `father.reason`
    (pages/father.ts), `child.birthLocation` for a HEALTH_FACILITY birth (pages/child.ts) and the review
    annotation's `review.signature` (birth/index.ts DECLARE review) are required: BAD_REQUEST."""
    created = create(hosts, registrar, "birth").data
    declaration = farajaland.birth_declaration(village_id=places.village, hospital_id=places.hospital)
    annotation = farajaland.annotation(upload_signature(hosts, registrar))
    if missing == "father":
        del declaration["father.detailsNotAvailable"], declaration["father.reason"]
    elif missing == "review.signature":
        del annotation["review.signature"]
    else:
        del declaration[missing]
    record = Record(created["id"], created["trackingId"], declaration, annotation)
    assert_trpc_error(declare(hosts, registrar, record, keep_assignment=True), 400, "BAD_REQUEST")


def test_declare_drops_unknown_top_level_keys(hosts: Hosts, registrar: str, places: Places) -> None:
    """Unlike the default action procedures (`inputSchema.strict()`, actions/index.ts), declare.ts parses
    `DeclareActionInput` without `.strict()`: zod strips an unknown top-level key, the declaration goes through."""
    created = create(hosts, registrar, "birth").data
    answer = mutation(hosts.events, "event.actions.declare.request",
                      {"eventId": created["id"], "transactionId": new_id(), "keepAssignment": True,
                       "declaration": farajaland.birth_declaration(village_id=places.village,
                                                                   hospital_id=places.hospital),
                       "annotation": farajaland.annotation(upload_signature(hosts, registrar)),
                       "clientNote": "not part of DeclareActionInput"}, registrar)
    assert answer.status == 200, answer.body
    assert all("clientNote" not in a for a in actions_of(answer.data, "DECLARE"))
