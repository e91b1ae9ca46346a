"""Record lifecycles, history, idempotency, version and concurrent registration against a real sandbox."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sandbox_wire import Api, TrpcError, birth_declaration, death_declaration, registration_number, user_token

pytestmark = pytest.mark.integration


def test_version_reports_app_version_and_commit(sandbox):
    response = httpx.get(f"{sandbox.url}/api/version")
    assert response.json() == {"version": "2.0.7-test", "commit": "c0ffee" + "0" * 34}


def test_ping_answers_without_auth(sandbox):
    assert httpx.get(f"{sandbox.url}/ping").json() == {"status": "ok"}


def _lifecycle(sandbox, event_type, declaration):
    agent = Api(sandbox.url, user_token(sandbox.url, "k.bwalya"))
    registrar = Api(sandbox.url, user_token(sandbox.url, "k.mweene"))
    created = agent.call("event.create", {"transactionId": str(uuid.uuid4()), "type": event_type})
    declared = agent.declare(created["id"], declaration)
    registrar.action("assignment.assign", created["id"], type="ASSIGN", assignedTo="6a1f0c3e-0000-4000-8000-000000000003")
    registered = registrar.register(created["id"])
    printed = registrar.action("printCertificate.request", created["id"])
    fetched = agent.call("event.get", {"eventId": created["id"]}, method="GET")
    return created, declared, registered, printed, fetched, registrar


@pytest.mark.parametrize("event_type,declaration", [("birth", birth_declaration("Lubuto", "Zulu")),
                                                    ("death", death_declaration("Mulenga", "Tembo"))])
def test_full_lifecycle_create_declare_assign_register_print(sandbox, event_type, declaration):
    created, _declared, registered, _printed, fetched, registrar = _lifecycle(sandbox, event_type, declaration)
    assert created["type"] == event_type and created["trackingId"][0] == event_type[0].upper()
    assert [a["type"] for a in fetched["actions"]] == ["CREATE", "DECLARE", "ASSIGN", "REGISTER",
                                                        "PRINT_CERTIFICATE"]
    for action in fetched["actions"]:
        assert action["createdBy"] and action["createdAt"].endswith("Z") and action["transactionId"]
        assert action["status"] == "Accepted"
    roles = [a["createdByRole"] for a in fetched["actions"]]
    assert roles == ["FIELD_AGENT", "FIELD_AGENT", "LOCAL_REGISTRAR", "LOCAL_REGISTRAR", "LOCAL_REGISTRAR"]
    number = registration_number(registered)
    assert number and registration_number(fetched) == number
    index = registrar.search([{"trackingId": {"type": "exact", "term": created["trackingId"]}}])
    assert index["total"] == 1
    hit = index["results"][0]
    assert hit["status"] == "REGISTERED" and "certificate-printed" in hit["flags"]
    assert hit["legalStatuses"]["REGISTERED"]["registrationNumber"] == number
    assert hit["legalStatuses"]["DECLARED"]["createdAt"] == fetched["actions"][1]["createdAt"]
    assert hit["declaration"] == declaration


def test_rest_create_notify_get(api, sandbox):
    headers = api.headers()
    created = httpx.post(f"{sandbox.url}/api/events/events", headers=headers,
                         json={"type": "birth", "transactionId": str(uuid.uuid4()), "createdAtLocation": "x"})
    assert created.status_code == 200
    event_id = created.json()["id"]
    partial = {"child.name": {"firstname": "Naledi", "surname": "Moyo"}, "child.dob": "2024-02-02"}
    notified = httpx.post(f"{sandbox.url}/api/events/events/{event_id}/notify", headers=headers,
                          json={"transactionId": str(uuid.uuid4()), "type": "NOTIFY", "declaration": partial,
                                "annotation": {"test-data": "crvs-release"}})
    assert notified.status_code == 200, notified.text
    fetched = httpx.get(f"{sandbox.url}/api/events/events/{event_id}", headers=headers).json()
    assert [a["type"] for a in fetched["actions"]] == ["CREATE", "NOTIFY"]
    hit = api.rest_search([{"trackingId": {"type": "exact", "term": fetched["trackingId"]}}])["results"][0]
    assert hit["status"] == "NOTIFIED" and set(hit["flags"]) == {"incomplete", "test-data"}


def test_register_of_incomplete_notified_record_is_refused_naming_fields(api):
    event = api.create()
    api.action("notify.request", event["id"], declaration={"child.dob": "2024-01-01"})
    with pytest.raises(TrpcError) as caught:
        api.register(event["id"])
    assert caught.value.status == 400 and "child.name" in caught.value.fields


def test_reject_sets_flag_and_keeps_status_then_archive(api):
    event = api.create()
    api.declare(event["id"], birth_declaration("Thandiwe", "Ngoma"))
    api.action("reject.request", event["id"], reason={"message": "blurred ID photo"})
    hit = api.search([{"trackingId": {"type": "exact", "term": event["trackingId"]}}])["results"][0]
    assert hit["status"] == "DECLARED" and "rejected" in hit["flags"]
    archived = api.action("archive.request", event["id"])
    assert archived["actions"][-1]["type"] == "ARCHIVE"
    with pytest.raises(TrpcError) as caught:
        api.register(event["id"])
    assert caught.value.status == 409 and caught.value.code == "CONFLICT"


def test_print_certificate_before_registration_is_a_conflict(api):
    event = api.create()
    api.declare(event["id"], birth_declaration())
    with pytest.raises(TrpcError) as caught:
        api.action("printCertificate.request", event["id"])
    assert caught.value.status == 409


def test_action_on_record_assigned_to_someone_else_is_a_conflict(api, sandbox):
    event = api.create()
    api.declare(event["id"], birth_declaration())
    api.action("assignment.assign", event["id"], type="ASSIGN", assignedTo="someone-else")
    with pytest.raises(TrpcError) as caught:
        api.register(event["id"])
    assert caught.value.status == 409
    api.action("assignment.unassign", event["id"], type="UNASSIGN")
    assert registration_number(api.register(event["id"]))


def test_repeated_transaction_id_applies_once_and_returns_same_result(api):
    event = api.create()
    api.declare(event["id"], birth_declaration())
    first = api.register(event["id"], transaction_id="reg-once")
    second = api.register(event["id"], transaction_id="reg-once")
    assert first == second
    fetched = api.call("event.get", {"eventId": event["id"]})
    assert [a["type"] for a in fetched["actions"]].count("REGISTER") == 1


def test_repeated_create_makes_one_event(api):
    transaction_id = f"create-{uuid.uuid4()}"
    first = api.create(transaction_id=transaction_id)
    second = api.create(transaction_id=transaction_id)
    assert first["id"] == second["id"] and first == second
    found = api.search([{"trackingId": {"type": "exact", "term": first["trackingId"]}}])
    assert found["total"] == 1


def test_twenty_concurrent_registrations_get_distinct_numbers(api, sandbox):
    events = []
    for i in range(20):
        event = api.create()
        api.declare(event["id"], birth_declaration(f"Conc{i}", "Mwale"))
        events.append(event["id"])

    def register(event_id):
        caller = Api(sandbox.url, api.token)
        try:
            return registration_number(caller.register(event_id))
        finally:
            caller.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        numbers = list(pool.map(register, events))
    assert all(numbers) and len(set(numbers)) == 20


def test_unknown_event_is_404(api):
    with pytest.raises(TrpcError) as caught:
        api.call("event.get", {"eventId": str(uuid.uuid4())})
    assert caught.value.status == 404 and caught.value.code == "NOT_FOUND"


def test_unknown_procedure_is_404(api):
    response = api.raw("event.nonsense", {})
    assert response.status_code == 404
