"""Record lifecycles over real HTTP, as OpenCRVS v2.0.0 + farajaland v2.0.0 run them: users, assignment, validated,
Requested/Accepted, READ on get, idempotency and concurrent registration."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sandbox_wire import AGENT, CLERK, OFFICE, REGISTRAR, Api, TrpcError, birth_declaration, death_declaration

pytestmark = pytest.mark.integration


def user_id(caller: Api) -> str:
    """The user id (`sub`) of a caller's token."""
    payload = str(caller.token).split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


@pytest.fixture(scope="module")
def clerk(sandbox) -> Iterator[Api]:
    caller = Api.login(sandbox.url, CLERK)
    yield caller
    caller.close()


@pytest.fixture(scope="module")
def agent(sandbox) -> Iterator[Api]:
    caller = Api.login(sandbox.url, AGENT)
    yield caller
    caller.close()


@pytest.fixture(scope="module")
def registrar(sandbox) -> Iterator[Api]:
    caller = Api.login(sandbox.url, REGISTRAR)
    yield caller
    caller.close()


def kinds(document: dict) -> list[tuple[str, str]]:
    return [(a["type"], a["status"]) for a in document["actions"]]


def refusal(call, *args, **kwargs) -> TrpcError:
    with pytest.raises(TrpcError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_ping_answers_success_with_the_version_header(sandbox):
    response = httpx.get(f"{sandbox.url}/ping")
    assert response.json() == {"success": True}
    assert response.headers.get("X-Version") == "2.0.7-test"


@pytest.mark.parametrize("event_type,declaration", [("birth", birth_declaration("Lubuto", "Zulu")),
                                                    ("death", death_declaration("Mulenga", "Tembo"))])
def test_clerk_declares_agent_validates_registrar_registers_and_prints(clerk, agent, registrar, event_type,
                                                                        declaration):
    created = clerk.create(event_type)
    assert kinds(created) == [("CREATE", "Accepted"), ("ASSIGN", "Accepted")]
    assert len(created["trackingId"]) == 6 and created["trackingId"].isalnum()
    declared = clerk.declare(created["id"], declaration)
    assert kinds(declared)[-3:] == [("DECLARE", "Requested"), ("DECLARE", "Accepted"), ("UNASSIGN", "Accepted")]
    registrar.assign(created["id"], user_id(registrar))
    not_validated = refusal(registrar.register, created["id"], keepAssignment=True)
    assert not_validated.status == 409 and not_validated.code == "CONFLICT"
    registrar.action("assignment.unassign", created["id"])
    agent.assign(created["id"], user_id(agent))
    agent.action("custom.request", created["id"], customActionType="VALIDATE_DECLARATION")
    registrar.assign(created["id"], user_id(registrar))
    registered = registrar.register(created["id"])
    accepted = [a for a in registered["actions"] if a["type"] == "REGISTER" and a["status"] == "Accepted"]
    assert len(accepted) == 1 and accepted[0]["registrationNumber"]
    assert accepted[0]["originalActionId"] == next(a["id"] for a in registered["actions"]
                                                   if a["type"] == "REGISTER" and a["status"] == "Requested")
    refused = refusal(registrar.action, "printCertificate.request", created["id"])
    assert refused.status == 409  # REGISTER unassigned the registrar: print needs a new assign
    registrar.assign(created["id"], user_id(registrar))
    registrar.action("printCertificate.request", created["id"])
    fetched = clerk.call("event.get", {"eventId": created["id"]}, method="GET")
    assert fetched["actions"][-1]["type"] == "READ" and "status" not in fetched
    for action in fetched["actions"]:
        assert action["createdBy"] and action["createdAt"].endswith("Z") and action["transactionId"]
        assert action["createdByUserType"] == "user" and action["createdAtLocation"] == OFFICE
    roles = {a["type"]: a["createdByRole"] for a in fetched["actions"] if a["status"] == "Requested"}
    assert roles == {"DECLARE": "HOSPITAL_CLERK", "CUSTOM": "REGISTRATION_AGENT", "REGISTER": "LOCAL_REGISTRAR",
                     "PRINT_CERTIFICATE": "LOCAL_REGISTRAR"}
    hit = registrar.search([{"trackingId": {"type": "exact", "term": created["trackingId"]}}])["results"][0]
    assert hit["status"] == "REGISTERED" and hit["flags"] == []
    assert hit["legalStatuses"]["REGISTERED"]["registrationNumber"] == accepted[0]["registrationNumber"]
    assert hit["legalStatuses"]["DECLARED"]["createdBy"] == user_id(clerk)
    assert set(hit["legalStatuses"]["DECLARED"]) >= {"createdAt", "createdBy", "createdAtLocation", "acceptedAt"}
    assert hit["potentialDuplicates"] == []


def test_a_registrar_declares_with_keep_assignment_and_registers_like_farajalands_e2e(registrar):
    _event, registered = registrar.registered_birth(birth_declaration("Mutale", "Phiri"))
    assert kinds(registered)[-3:] == [("REGISTER", "Requested"), ("REGISTER", "Accepted"), ("UNASSIGN", "Accepted")]
    assert ("UNASSIGN", "Accepted") not in kinds(registered)[:-1]  # DECLARE kept the assignment


def test_a_system_client_creates_and_notifies_but_may_not_declare(api, sandbox):
    created = api.create()
    assert kinds(created) == [("CREATE", "Accepted")]
    notified = api.action("notify.request", created["id"], createdAtLocation=OFFICE,
                          declaration={"child.name": {"firstname": "Naledi", "surname": "Moyo"}})
    assert kinds(notified)[-2:] == [("NOTIFY", "Requested"), ("NOTIFY", "Accepted")]
    refused = refusal(api.declare, created["id"], birth_declaration())
    assert refused.status == 403 and refused.code == "FORBIDDEN"
    refused = refusal(api.assign, created["id"], "anyone")
    assert refused.status == 403


def test_rest_create_notify_get_on_the_gateway(api, sandbox):
    headers = api.headers()
    created = httpx.post(f"{sandbox.url}/events/events", headers=headers,
                         json={"type": "birth", "transactionId": str(uuid.uuid4()), "createdAtLocation": OFFICE})
    assert created.status_code == 200, created.text
    event_id = created.json()["id"]
    partial = {"child.name": {"firstname": "Naledi", "surname": "Moyo"}}
    notified = httpx.post(f"{sandbox.url}/events/events/{event_id}/notify", headers=headers,
                          json={"transactionId": str(uuid.uuid4()), "type": "NOTIFY", "declaration": partial,
                                "createdAtLocation": OFFICE})
    assert notified.status_code == 200, notified.text
    fetched = httpx.get(f"{sandbox.url}/events/events/{event_id}", headers=headers).json()
    assert [a["type"] for a in fetched["actions"]] == ["CREATE", "NOTIFY", "NOTIFY", "READ"]
    hit = api.rest_search([{"trackingId": {"type": "exact", "term": fetched["trackingId"]}}])["results"][0]
    assert hit["status"] == "NOTIFIED" and hit["flags"] == ["incomplete"]


def test_created_at_location_for_a_user_is_refused(clerk):
    refused = refusal(clerk.call, "event.create", {"transactionId": str(uuid.uuid4()), "type": "birth",
                                                   "createdAtLocation": OFFICE})
    assert refused.status == 400 and refused.message == "createdAtLocation is not allowed for non-system users"


def test_reject_takes_content_reason_and_archive_ends_the_record(clerk, agent, registrar):
    event = clerk.create()
    clerk.declare(event["id"], birth_declaration("Thandiwe", "Ngoma"))
    agent.assign(event["id"], user_id(agent))
    old_shape = refusal(agent.action, "reject.request", event["id"], reason={"message": "blurred ID photo"})
    assert old_shape.status == 400
    agent.action("reject.request", event["id"], content={"reason": "blurred ID photo"}, keepAssignment=True)
    hit = agent.search([{"trackingId": {"type": "exact", "term": event["trackingId"]}}])["results"][0]
    assert hit["status"] == "DECLARED" and "rejected" in hit["flags"]
    archived = agent.action("archive.request", event["id"], content={"reason": "Duplicate"})
    assert ("ARCHIVE", "Accepted") in kinds(archived)
    registrar.assign(event["id"], user_id(registrar))
    refused = refusal(registrar.register, event["id"])
    assert refused.status == 409 and refused.code == "CONFLICT"


def test_print_certificate_before_registration_is_a_conflict(registrar):
    event = registrar.create()
    registrar.declare(event["id"], birth_declaration(), keepAssignment=True)
    assert refusal(registrar.action, "printCertificate.request", event["id"]).status == 409


def test_an_action_on_a_record_assigned_to_someone_else_is_a_conflict(clerk, agent):
    event = clerk.create()
    refused = refusal(agent.declare, event["id"], birth_declaration())
    assert refused.status == 409 and refused.message == "You are not assigned to this event"
    assert refusal(agent.assign, event["id"], user_id(agent)).status == 409


def test_a_repeated_transaction_id_applies_once(registrar):
    event = registrar.create()
    registrar.declare(event["id"], birth_declaration(), keepAssignment=True)
    first = registrar.register(event["id"], transaction_id="reg-once", keepAssignment=True)
    second = registrar.register(event["id"], transaction_id="reg-once", keepAssignment=True)
    assert first == second
    fetched = registrar.call("event.get", {"eventId": event["id"]})
    assert [a["type"] for a in fetched["actions"]].count("REGISTER") == 2  # Requested + Accepted


def test_a_repeated_create_makes_one_event(api):
    transaction_id = f"create-{uuid.uuid4()}"
    first = api.create(transaction_id=transaction_id)
    second = api.create(transaction_id=transaction_id)
    assert first["id"] == second["id"] and first == second


def test_twenty_concurrent_registrations_get_distinct_numbers(registrar, sandbox):
    events = []
    for i in range(20):
        event = registrar.create()
        registrar.declare(event["id"], birth_declaration(f"Conc{i}", "Mwale"), keepAssignment=True)
        events.append(event["id"])

    def register(event_id: str) -> str | None:
        caller = Api(sandbox.url, registrar.token, system=False)
        try:
            document = caller.register(event_id)
            return next(a.get("registrationNumber") for a in document["actions"]
                        if a["type"] == "REGISTER" and a["status"] == "Accepted")
        finally:
            caller.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        numbers = list(pool.map(register, events))
    assert all(numbers) and len(set(numbers)) == 20


def test_get_writes_a_read_action_each_time(api, clerk):
    event = clerk.create()
    api.call("event.get", {"eventId": event["id"]})
    fetched = clerk.call("event.get", {"eventId": event["id"]})
    reads = [a for a in fetched["actions"] if a["type"] == "READ"]
    assert [r["createdByUserType"] for r in reads] == ["system", "user"]


def test_unknown_event_is_404(api):
    refused = refusal(api.call, "event.get", {"eventId": str(uuid.uuid4())})
    assert refused.status == 404 and refused.code == "NOT_FOUND"


def test_unknown_procedure_is_404(api):
    assert api.raw("event.nonsense", {}).status_code == 404


def test_there_is_no_validate_procedure(api):
    assert api.raw("event.actions.validate.request", {}).status_code == 404
