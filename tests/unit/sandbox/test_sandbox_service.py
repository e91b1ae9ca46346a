"""RecordService against a real SQLite store: OpenCRVS v2.0.0's rules, each refused and accepted case."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import locations
from sandbox.auth import Principal
from sandbox.domain import DEFAULT_SYSTEM_SCOPES, ROLE_SCOPES, ActionType
from sandbox.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    InputInvalid,
    InternalError,
    NotFound,
    ValidationFailed,
)
from sandbox.faults import Faults
from sandbox.service import RecordService
from sandbox.storage import Store

pytestmark = pytest.mark.unit


def user(uid: str, role: str) -> Principal:
    return Principal(uid, role, frozenset(ROLE_SCOPES[role]), False, locations.OFFICE_ID)


CLERK = user("6a1f0c3e-0000-4000-8000-000000000001", "HOSPITAL_CLERK")
AGENT = user("6a1f0c3e-0000-4000-8000-000000000002", "REGISTRATION_AGENT")
REGISTRAR = user("6a1f0c3e-0000-4000-8000-000000000003", "LOCAL_REGISTRAR")
SYSTEM = Principal("4b3e5c7a-8d2f-4a1b-9c6e-0f5d7a2b8c91", "", frozenset(DEFAULT_SYSTEM_SCOPES), True, None)
HOME = {"country": "FAR", "addressType": "DOMESTIC", "administrativeArea": locations.KLOW}


def birth(first: str = "Chipo", last: str = "Banda", **extra: Any) -> dict[str, Any]:
    dob = (dt.date.today() - dt.timedelta(days=20)).isoformat()
    return {"child.name": {"firstname": first, "surname": last}, "child.gender": "female", "child.dob": dob,
            "child.placeOfBirth": "HEALTH_FACILITY", "child.birthLocation": locations.KLOW_VILLAGE_HOSPITAL,
            "informant.relation": "MOTHER", "informant.email": "informant@example.org",
            "mother.name": {"firstname": "Mwila", "surname": last}, "mother.dob": "1994-01-01",
            "mother.nationality": "FAR", "mother.idType": "NONE", "mother.address": HOME,
            "father.detailsNotAvailable": True, "father.reason": "Not known", **extra}


def txn() -> str:
    return str(uuid.uuid4())


class World:
    """A service over a fresh database, with the calls the tests repeat."""

    def __init__(self, service: RecordService) -> None:
        self.svc = service

    def create(self, who: Principal = CLERK, **extra: Any) -> str:
        location = {"createdAtLocation": locations.OFFICE_ID} if who.is_system else {}
        return str(self.svc.create_event(who, {"type": "birth", "transactionId": txn(), **location, **extra})["id"])

    def review(self, who: Principal = CLERK) -> dict[str, Any]:
        path = self.svc.upload(who, txn(), "signature.png", "image/png", b"\x89PNG")
        return {"review.comment": "ok", "review.signature": {"path": path, "originalFilename": "signature.png",
                                                              "type": "image/png"}}

    def act(self, who: Principal, kind: ActionType, event_id: str, **extra: Any) -> dict[str, Any]:
        return self.svc.apply_action(who, kind, {"eventId": event_id, "transactionId": txn(), **extra})

    def declare(self, who: Principal, event_id: str, declaration: dict | None = None, **extra: Any) -> dict:
        extra.setdefault("annotation", self.review(who))
        return self.act(who, ActionType.DECLARE, event_id, declaration=declaration or birth(), **extra)

    def assign(self, who: Principal, event_id: str) -> dict[str, Any]:
        return self.act(who, ActionType.ASSIGN, event_id, type="ASSIGN", assignedTo=who.id)

    def registered(self) -> str:
        event_id = self.create(REGISTRAR)
        self.declare(REGISTRAR, event_id, keepAssignment=True)
        self.act(REGISTRAR, ActionType.REGISTER, event_id)
        return event_id


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    db = Store(f"sqlite:///{tmp_path / 'sandbox.db'}")
    db.create_schema()
    yield db
    db.dispose()


@pytest.fixture
def world(store) -> World:
    return World(RecordService(store, Faults()))


def kinds(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["type"], a["status"]) for a in document["actions"]]


def refused(exc_type: type[ApiError], call: Any, *args: Any, **kwargs: Any) -> ApiError:
    with pytest.raises(exc_type) as caught:
        call(*args, **kwargs)
    return caught.value


# ------------------------------------------------------------------------------------------- who may do what


@pytest.mark.parametrize("kind,extra", [
    (ActionType.DECLARE, {}), (ActionType.REGISTER, {}), (ActionType.REJECT, {"content": {"reason": "x"}}),
    (ActionType.ARCHIVE, {"content": {"reason": "x"}}), (ActionType.PRINT_CERTIFICATE, {}),
    (ActionType.ASSIGN, {"type": "ASSIGN", "assignedTo": "x"}), (ActionType.UNASSIGN, {}),
])
def test_a_system_client_may_not_run_user_only_actions(world, kind, extra):
    event_id = world.create(SYSTEM)
    error = refused(Forbidden, world.act, SYSTEM, kind, event_id, **extra)
    assert error.http_status == 403


def test_a_system_client_creates_and_notifies_without_assignment(world):
    event_id = world.create(SYSTEM)
    notified = world.act(SYSTEM, ActionType.NOTIFY, event_id, createdAtLocation=locations.OFFICE_ID,
                         declaration={"child.name": {"firstname": "Chipo", "surname": "Banda"}})
    assert ("ASSIGN", "Accepted") not in kinds(notified)
    assert kinds(notified)[-2:] == [("NOTIFY", "Requested"), ("NOTIFY", "Accepted")]
    assert all(a["createdByUserType"] == "system" and "createdByRole" not in a for a in notified["actions"])


def test_created_at_location_is_required_for_systems_and_refused_for_users(world):
    error = refused(BadRequest, world.svc.create_event, SYSTEM, {"type": "birth", "transactionId": txn()})
    assert error.message == "createdAtLocation is required and must be a valid location id"
    unknown = str(uuid.uuid4())
    error = refused(BadRequest, world.svc.create_event, SYSTEM,
                    {"type": "birth", "transactionId": txn(), "createdAtLocation": unknown})
    assert error.message == "createdAtLocation must be a valid location id"
    error = refused(BadRequest, world.svc.create_event, CLERK,
                    {"type": "birth", "transactionId": txn(), "createdAtLocation": locations.OFFICE_ID})
    assert error.message == "createdAtLocation is not allowed for non-system users"
    event_id = world.create(CLERK)
    error = refused(BadRequest, world.act, CLERK, ActionType.NOTIFY, event_id, createdAtLocation=locations.OFFICE_ID)
    assert error.message == "createdAtLocation is not allowed for non-system users"


def test_declare_ignores_a_users_created_at_location(world):
    """declare.ts has no requireLocationForSystemUserAction: the user's office is stamped instead."""
    event_id = world.create(CLERK)
    declared = world.declare(CLERK, event_id, createdAtLocation=locations.KLOW_VILLAGE_HOSPITAL)
    assert {a["createdAtLocation"] for a in declared["actions"] if a["type"] == "DECLARE"} == {locations.OFFICE_ID}


def test_a_system_notify_needs_a_location(world):
    event_id = world.create(SYSTEM)
    error = refused(BadRequest, world.act, SYSTEM, ActionType.NOTIFY, event_id, declaration={})
    assert error.message == "createdAtLocation is required and must be a valid location id"


def test_scopes_are_checked_per_action(world):
    event_id = world.create(CLERK)
    world.declare(CLERK, event_id, keepAssignment=True)
    error = refused(Forbidden, world.act, CLERK, ActionType.REGISTER, event_id)
    assert error.http_status == 403
    reader = Principal("r", "", frozenset({"type=record.read"}), True, None)
    refused(Forbidden, world.svc.search, reader, {})
    refused(Forbidden, world.svc.create_event, reader, {"type": "birth", "transactionId": txn()})


# ------------------------------------------------------------------------------------------- assignment


def test_create_assigns_the_creator_and_actions_need_the_assignment(world):
    created = world.svc.create_event(CLERK, {"type": "birth", "transactionId": txn()})
    assert kinds(created) == [("CREATE", "Accepted"), ("ASSIGN", "Accepted")]
    assert created["actions"][1]["assignedTo"] == CLERK.id
    error = refused(Conflict, world.declare, AGENT, created["id"])
    assert error.message == "You are not assigned to this event"


def test_a_write_action_unassigns_unless_keep_assignment(world):
    event_id = world.create(CLERK)
    declared = world.declare(CLERK, event_id)
    assert kinds(declared)[-3:] == [("DECLARE", "Requested"), ("DECLARE", "Accepted"), ("UNASSIGN", "Accepted")]
    kept = world.create(REGISTRAR)
    assert kinds(world.declare(REGISTRAR, kept, keepAssignment=True))[-1] == ("DECLARE", "Accepted")


def test_assign_conflicts_when_someone_else_holds_it_and_unassigning_others_needs_a_scope(world):
    event_id = world.create(CLERK)
    refused(Conflict, world.assign, AGENT, event_id)
    refused(Forbidden, world.act, AGENT, ActionType.UNASSIGN, event_id)
    released = world.act(REGISTRAR, ActionType.UNASSIGN, event_id)  # record.unassign-others
    assert kinds(released)[-1] == ("UNASSIGN", "Accepted")
    assert world.assign(AGENT, event_id)["actions"][-1]["assignedTo"] == AGENT.id


def test_assign_input_needs_its_type(world):
    event_id = world.create(CLERK)
    error = refused(BadRequest, world.act, CLERK, ActionType.ASSIGN, event_id, assignedTo=CLERK.id)
    assert json.loads(error.message)[0]["path"] == ["type"]


def test_print_after_register_needs_a_new_assignment(world):
    event_id = world.registered()
    error = refused(Conflict, world.act, REGISTRAR, ActionType.PRINT_CERTIFICATE, event_id)
    assert error.message == "You are not assigned to this event"
    world.assign(REGISTRAR, event_id)
    printed = world.act(REGISTRAR, ActionType.PRINT_CERTIFICATE, event_id, content={"templateId": "v2.birth"})
    assert kinds(printed)[-3:] == [("PRINT_CERTIFICATE", "Requested"), ("PRINT_CERTIFICATE", "Accepted"),
                                   ("UNASSIGN", "Accepted")]


# ------------------------------------------------------------------------------------------- validated


def test_register_without_validated_is_409_and_validate_declaration_fixes_it(world):
    event_id = world.create(CLERK)
    world.declare(CLERK, event_id)
    world.assign(REGISTRAR, event_id)
    error = refused(Conflict, world.act, REGISTRAR, ActionType.REGISTER, event_id, keepAssignment=True)
    assert error.message == "Conditions for action: REGISTER were not met, action cannot be performed"
    world.act(REGISTRAR, ActionType.UNASSIGN, event_id)
    world.assign(AGENT, event_id)
    validated = world.svc.custom_action(AGENT, {"eventId": event_id, "transactionId": txn(),
                                                "customActionType": "VALIDATE_DECLARATION"})
    assert kinds(validated)[-3:] == [("CUSTOM", "Requested"), ("CUSTOM", "Accepted"), ("UNASSIGN", "Accepted")]
    world.assign(REGISTRAR, event_id)
    registered = world.act(REGISTRAR, ActionType.REGISTER, event_id)
    numbers = [a.get("registrationNumber") for a in registered["actions"] if a["type"] == "REGISTER"]
    assert numbers == [None, "RN0000000001"]  # the Accepted action carries the number


def test_custom_action_scope_and_configuration(world):
    event_id = world.create(REGISTRAR)
    world.declare(REGISTRAR, event_id, keepAssignment=True)
    # farajaland's registrar has no VALIDATE_DECLARATION scope: the record is "not found" for that action.
    refused(NotFound, world.svc.custom_action, REGISTRAR,
            {"eventId": event_id, "transactionId": txn(), "customActionType": "VALIDATE_DECLARATION"})
    world.act(REGISTRAR, ActionType.UNASSIGN, event_id)
    world.assign(AGENT, event_id)
    # Already validated by the registrar's DECLARE: the action's SHOW conditional fails.
    error = refused(Conflict, world.svc.custom_action, AGENT,
                    {"eventId": event_id, "transactionId": txn(), "customActionType": "VALIDATE_DECLARATION"})
    assert "Conditions for action: CUSTOM" in error.message


def test_there_is_no_validate_action_type():
    assert "VALIDATE" not in {a.value for a in ActionType}


# ------------------------------------------------------------------------------------------- inputs


def test_reject_takes_content_reason_and_refuses_unknown_keys(world):
    event_id = world.create(CLERK)
    world.declare(CLERK, event_id)
    world.assign(AGENT, event_id)
    error = refused(BadRequest, world.act, AGENT, ActionType.REJECT, event_id, reason={"message": "Wrong name"})
    assert json.loads(error.message)[0]["code"] == "unrecognized_keys"
    error = refused(BadRequest, world.act, AGENT, ActionType.REJECT, event_id, content={"reason": ""})
    assert json.loads(error.message)[0]["message"] == "Message cannot be empty"
    rejected = world.act(AGENT, ActionType.REJECT, event_id, content={"reason": "Wrong name"})
    assert rejected["actions"][-2]["content"] == {"reason": "Wrong name"}


def test_archive_needs_a_reason(world):
    event_id = world.create(CLERK)
    world.declare(CLERK, event_id, keepAssignment=True)
    world.act(CLERK, ActionType.UNASSIGN, event_id)
    world.assign(AGENT, event_id)
    error = refused(BadRequest, world.act, AGENT, ActionType.ARCHIVE, event_id)
    assert json.loads(error.message)[0]["path"] == ["content"]
    archived = world.act(AGENT, ActionType.ARCHIVE, event_id, content={"reason": "Duplicate"})
    assert ("ARCHIVE", "Accepted") in kinds(archived)


def test_event_ids_must_be_uuids_and_exist(world):
    refused(BadRequest, world.svc.get_event, SYSTEM, {"eventId": "nope"})
    error = refused(NotFound, world.svc.get_event, SYSTEM, {"eventId": str(uuid.uuid4())})
    assert error.message.startswith("Event not found with ID: ")


# ------------------------------------------------------------------------------------------- declarations


def test_declare_validates_the_form_and_answers_opencrvs_issue_lists(world):
    event_id = world.create(CLERK)
    incomplete = {k: v for k, v in birth().items() if k != "mother.address"}
    error = refused(ValidationFailed, world.declare, CLERK, event_id, incomplete)
    assert error.message == '[{"message":"Required","id":"mother.address"}]'  # JSON.stringify drops undefined
    error = refused(ValidationFailed, world.declare, CLERK, event_id, annotation={})
    assert {i["id"] for i in json.loads(error.message)} == {"review.comment", "review.signature"}


def test_an_unknown_field_on_declare_is_what_opencrvs_throws(world):
    event_id = world.create(CLERK)
    error = refused(InternalError, world.declare, CLERK, event_id, birth(**{"foo.bar": "x"}))
    assert error.http_status == 500 and error.message == "Field with id foo.bar not found in event config"


def test_an_unknown_field_on_notify_is_an_unexpected_field(world):
    event_id = world.create(CLERK)
    error = refused(ValidationFailed, world.act, CLERK, ActionType.NOTIFY, event_id, declaration={"foo.bar": 1})
    assert json.loads(error.message) == [{"message": "Unexpected field", "id": "foo.bar", "value": 1}]


def test_the_signature_must_be_an_uploaded_file(world):
    event_id = world.create(CLERK)
    annotation = {"review.comment": "ok", "review.signature": {"path": "/ocrvs/never-uploaded.png",
                                                              "originalFilename": "s.png", "type": "image/png"}}
    error = refused(BadRequest, world.declare, CLERK, event_id, annotation=annotation)
    assert error.message == "File not found: /ocrvs/never-uploaded.png"


def test_upload_is_idempotent_by_transaction_id(world):
    key = txn()
    first = world.svc.upload(CLERK, key, "a.png", "image/png", b"1")
    assert world.svc.upload(CLERK, key, "a.png", "image/png", b"1") == first
    assert world.svc.upload(CLERK, txn(), "a.png", "image/png", b"1") != first
    assert world.svc.file_exists(first) and not world.svc.file_exists("/ocrvs/nope.png")


def test_upload_stores_the_file_as_transaction_id_dot_extension(world):
    """fileUploadHandler (core documents/src/features/uploadDocument/handler.ts): `<transactionId>.<ext>`, under the
    optional folder; fileExistsHandler reads `/ocrvs/<path>` and `<path>` as the same file."""
    key = txn()
    assert world.svc.upload(CLERK, key, "scan.final.PDF", "application/pdf", b"1") == f"{key}.PDF"
    assert world.svc.upload(AGENT, key, "other.PDF", "application/pdf", b"2") == f"{key}.PDF"  # replaces it
    assert world.svc.upload(CLERK, key, "a.png", "image/png", b"3", "signatures") == f"signatures/{key}.png"
    assert world.svc.file_exists(f"/ocrvs/{key}.PDF") and world.svc.file_exists(f"signatures/{key}.png")
    assert not world.svc.file_exists(f"/ocrvs/{key}.png")


def _direct_notify(world: World, who: Principal = SYSTEM, **extra: Any) -> dict[str, Any]:
    body = {"transactionId": txn(), "eventType": "birth", "createdAtLocation": locations.KLOW_VILLAGE_HOSPITAL,
            "declaration": {"child.name": {"firstname": "Chipo", "surname": "Banda"}}, "annotation": {}, **extra}
    return world.svc.create_and_notify(who, body)


def test_create_and_notify_creates_a_notified_record_once(world):
    """createAndNotify.ts: create with `<transactionId>:create`, then NOTIFY; a replay answers the same record."""
    key = txn()
    first = _direct_notify(world, transactionId=key, type="NOTIFY", unknown="stripped")
    assert kinds(first) == [("CREATE", "Accepted"), ("NOTIFY", "Requested"), ("NOTIFY", "Accepted")]
    assert first["actions"][0]["transactionId"] == f"{key}:create" and first["actions"][1]["transactionId"] == key
    assert all(a["createdAtLocation"] == locations.KLOW_VILLAGE_HOSPITAL for a in first["actions"])
    assert _direct_notify(world, transactionId=key, type="NOTIFY") == first


@pytest.mark.parametrize(("who", "extra", "error", "message"), [
    (CLERK, {}, Forbidden, "FORBIDDEN"),
    (SYSTEM, {"eventType": "marriage"}, BadRequest, "No configuration found for event type: marriage"),
    (SYSTEM, {"createdAtLocation": None}, InputInvalid, None),
    (SYSTEM, {"createdAtLocation": str(uuid.uuid4())}, BadRequest, "createdAtLocation must be a valid location id"),
    (SYSTEM, {"declaration": {"foo.bar": 1}}, ValidationFailed, '[{"message":"Unexpected field","id":"foo.bar","value":1}]'),
], ids=["user", "unknown-event-type", "no-location", "unknown-location", "unexpected-field"])
def test_create_and_notify_refusals(world, who, extra, error, message):
    caught = refused(error, _direct_notify, world, who, **extra)
    if message is not None:
        assert caught.message == message


def test_a_notified_record_cannot_be_declared_directly(world):
    event_id = world.create(CLERK)
    world.act(CLERK, ActionType.NOTIFY, event_id, declaration={"child.gender": "female"}, keepAssignment=True)
    error = refused(Conflict, world.declare, CLERK, event_id)
    assert error.message.startswith("Action 'DECLARE' cannot be performed on an event in 'NOTIFIED' state")


# ------------------------------------------------------------------------------------------- idempotency, READ


def test_a_repeated_transaction_id_returns_the_record_unchanged(world):
    event_id = world.create(REGISTRAR)
    key, annotation = txn(), world.review(REGISTRAR)
    payload = {"eventId": event_id, "transactionId": key, "declaration": birth(), "annotation": annotation,
               "keepAssignment": True}
    first = world.svc.apply_action(REGISTRAR, ActionType.DECLARE, payload)
    again = world.svc.apply_action(REGISTRAR, ActionType.DECLARE, payload)
    assert kinds(again) == kinds(first)
    created = {"type": "birth", "transactionId": txn()}
    assert world.svc.create_event(CLERK, created)["id"] == world.svc.create_event(CLERK, created)["id"]


def test_no_idempotency_defect_writes_the_action_twice(store):
    world = World(RecordService(store, Faults(defects=frozenset({"no-idempotency"}))))
    event_id = world.create(REGISTRAR)
    payload = {"eventId": event_id, "transactionId": txn(), "declaration": birth(),
               "annotation": world.review(REGISTRAR), "keepAssignment": True}
    world.svc.apply_action(REGISTRAR, ActionType.DECLARE, payload)
    error = refused(Conflict, world.svc.apply_action, REGISTRAR, ActionType.DECLARE, payload)
    assert "DECLARE" in error.message  # the second DECLARE is now judged on its own: DECLARED allows none


def test_get_writes_a_read_action_every_time(world):
    event_id = world.create(CLERK)
    first = world.svc.get_event(CLERK, {"eventId": event_id})
    second = world.svc.get_event(SYSTEM, event_id)
    assert [a["type"] for a in second["actions"]] == ["CREATE", "ASSIGN", "READ", "READ"]
    assert first["actions"][-1]["createdBy"] == CLERK.id and second["actions"][-1]["createdByUserType"] == "system"


# ------------------------------------------------------------------------------------------- requested / accepted


def test_async_confirmation_answers_requested_and_accepts_later(store):
    world = World(RecordService(store, Faults(), async_confirm_s=0.3))
    event_id = world.create(REGISTRAR)
    declared = world.declare(REGISTRAR, event_id)
    assert kinds(declared)[-1] == ("DECLARE", "Requested")
    assert world.svc.search(SYSTEM, {})["total"] == 0  # still CREATED: only Accepted actions count
    # The form check runs first (the declaration is not accepted yet), then declare:requested blocks REGISTER.
    refused(ValidationFailed, world.act, REGISTRAR, ActionType.REGISTER, event_id)
    refused(Conflict, world.act, REGISTRAR, ActionType.REGISTER, event_id, declaration=birth())
    time.sleep(0.35)
    document = world.svc.get_event(REGISTRAR, {"eventId": event_id})
    assert [k for k in kinds(document) if k[0] != "READ"][-3:] == [
        ("DECLARE", "Requested"), ("DECLARE", "Accepted"), ("UNASSIGN", "Accepted")]
    accepted = next(a for a in document["actions"] if a["type"] == "DECLARE" and a["status"] == "Accepted")
    assert accepted["originalActionId"] == declared["actions"][-1]["id"]
    assert world.svc.search(SYSTEM, {})["results"][0]["status"] == "DECLARED"


def test_stuck_requested_defect_never_accepts(store):
    world = World(RecordService(store, Faults(defects=frozenset({"stuck-requested"})), async_confirm_s=0.05))
    event_id = world.create(REGISTRAR)
    world.declare(REGISTRAR, event_id)
    time.sleep(0.1)
    document = world.svc.get_event(REGISTRAR, {"eventId": event_id})
    assert ("DECLARE", "Accepted") not in kinds(document)
    assert world.svc.confirm_due_events() == 0


# ------------------------------------------------------------------------------------------- search


def test_search_hides_created_records_strips_secured_fields_and_ors_name_terms(world):
    world.create(CLERK)
    event_id = world.create(REGISTRAR)
    world.declare(REGISTRAR, event_id, birth("Chipo", "Banda"))
    found = world.svc.search(SYSTEM, {})
    assert found["total"] == 1
    hit = found["results"][0]
    assert "child.dob" not in hit["declaration"] and "mother.address" not in hit["declaration"]
    assert hit["declaration"]["child.name"] == {"firstname": "Chipo", "surname": "Banda"}
    assert hit["legalStatuses"]["DECLARED"]["createdByRole"] == "LOCAL_REGISTRAR"
    assert "test-data" not in hit["flags"] and "validated" in hit["flags"]
    either = {"query": {"type": "and", "clauses": [{"data": {"child.name": {"type": "exact",
                                                                              "term": "Chipo Nobody"}}}]}}
    assert world.svc.search(SYSTEM, either)["total"] == 1
    by_dob = {"query": {"type": "and", "clauses": [{"data": {"child.dob": {"type": "exact",
                                                                           "term": birth()["child.dob"]}}}]}}
    assert world.svc.search(SYSTEM, by_dob)["total"] == 1  # secured fields are still searchable


def test_drop_field_defect_loses_the_field(store):
    world = World(RecordService(store, Faults(defects=frozenset({"drop-field:mother.nationality"}))))
    event_id = world.create(REGISTRAR)
    declared = world.declare(REGISTRAR, event_id, keepAssignment=True)
    request = next(a for a in declared["actions"] if a["type"] == "DECLARE")
    assert "mother.nationality" not in request["declaration"]


def test_a_scope_for_another_event_type_hides_the_record(world):
    event_id = world.create(SYSTEM)
    deaths_only = Principal("d", "", frozenset({"type=record.notify&event=death", "type=record.read&event=death"}),
                            True, None)
    refused(NotFound, world.act, deaths_only, ActionType.NOTIFY, event_id, createdAtLocation=locations.OFFICE_ID)
    refused(NotFound, world.svc.get_event, deaths_only, {"eventId": event_id})
