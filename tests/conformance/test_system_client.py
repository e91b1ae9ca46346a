"""What a system client (an integration) may do: create, read, search and notify, over REST on the register host
as farajaland's e2e/testcases/events-rest-api/*.spec.ts do, and over tRPC as the performance test does."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.conformance.records import Hosts, Places, actions_of, create, get
from tests.conformance.schemas import EVENT_DOCUMENT, SEARCH_RESULT, assert_conforms, assert_trpc_error
from tests.conformance.wire import mutation, new_id, rest

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("conformance")]

NON_EXISTING_UUID = "b3ca0644-ffc4-461f-afe0-5fb84bedfcfd"  # events-rest-api/helpers.ts


def _rest_create(hosts: Hosts, token: str, body: dict[str, Any]) -> Any:
    return rest("POST", f"{hosts.rest}/events", token, body)


def _child(days_ago: int = 1) -> dict[str, Any]:
    return {"child.name": {"firstname": "Conf", "surname": "Ormance"},
            "child.dob": (date.today() - timedelta(days=days_ago)).isoformat()}


def test_rest_create_answers_an_event_with_only_create(hosts: Hosts, system_token: str, places: Places) -> None:
    """events-create.spec.ts 'HTTP 200 with valid payload': body.type is the event type and actions.length is 1
    (core createEvent: system users create events without assignment)."""
    answer = _rest_create(hosts, system_token,
                          {"type": "birth", "transactionId": new_id(), "createdAtLocation": places.hospital})
    assert answer.status_code == 200, answer.text[:500]
    body = answer.json()
    assert_conforms(body, EVENT_DOCUMENT, "the REST create answer")
    assert body["type"] == "birth"
    assert len(body["actions"]) == 1
    create_action = body["actions"][0]
    assert create_action["type"] == "CREATE" and create_action["createdByUserType"] == "system"
    assert create_action["createdAtLocation"] == places.hospital
    assert "createdByRole" not in create_action, "buildAction sets no role for a system user"


def test_rest_create_is_idempotent(hosts: Hosts, system_token: str, places: Places) -> None:
    """events-create.spec.ts 'API is idempotent': the same transactionId twice answers the same body."""
    body = {"type": "birth", "transactionId": new_id(), "createdAtLocation": places.hospital}
    first, second = _rest_create(hosts, system_token, body), _rest_create(hosts, system_token, body)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()


@pytest.mark.parametrize(("body", "message"), [
    ({"type": "birth"}, None),
    ({"type": "birth", "transactionId": "t"}, "createdAtLocation is required and must be a valid location id"),
    ({"type": "birth", "transactionId": "t", "createdAtLocation": NON_EXISTING_UUID},
     "createdAtLocation must be a valid location id"),
], ids=["no-transaction-id", "no-created-at-location", "unknown-location"])
def test_rest_create_refusals_are_400(hosts: Hosts, system_token: str, body: dict[str, Any],
                                      message: str | None) -> None:
    """events-create.spec.ts: 'HTTP 400 without transaction id', 'when createdAtLocation is missing', 'when
    createdAtLocation is invalid' (core middleware/validate/index.ts requireCreatedAtLocationForSystemUser)."""
    if "transactionId" in body:
        body = {**body, "transactionId": new_id()}
    answer = _rest_create(hosts, system_token, body)
    assert answer.status_code == 400, answer.text[:300]
    if message is not None:
        assert answer.json()["message"] == message


def test_rest_create_with_a_missing_payload_is_400(hosts: Hosts, system_token: str) -> None:
    """events-create.spec.ts 'HTTP 400 with missing payload'."""
    assert rest("POST", f"{hosts.rest}/events", system_token).status_code == 400


def test_rest_get_answers_the_event_and_writes_read(hosts: Hosts, system_token: str, places: Places) -> None:
    """events-get.spec.ts: `GET {register}/api/events/events/{id}` is 200 with body.id; event/index.ts get writes
    a READ action by the system client."""
    event_id = _rest_create(hosts, system_token,
                            {"type": "birth", "transactionId": new_id(), "createdAtLocation": places.hospital}
                            ).json()["id"]
    answer = rest("GET", f"{hosts.rest}/events/{event_id}", system_token)
    assert answer.status_code == 200, answer.text[:300]
    body = answer.json()
    assert body["id"] == event_id
    read = body["actions"][-1]
    assert read["type"] == "READ" and read["createdByUserType"] == "system"


def test_rest_notify_answers_requested_then_accepted(hosts: Hosts, system_token: str, places: Places) -> None:
    """events-notify.spec.ts 'HTTP 200 with valid payload': actions are exactly CREATE, NOTIFY Requested, NOTIFY
    Accepted."""
    event_id = _rest_create(hosts, system_token,
                            {"type": "birth", "transactionId": new_id(), "createdAtLocation": places.hospital}
                            ).json()["id"]
    answer = rest("POST", f"{hosts.rest}/events/{event_id}/notify", system_token,
                  {"eventId": event_id, "transactionId": new_id(), "type": "NOTIFY", "declaration": _child(),
                   "annotation": {}, "createdAtLocation": places.hospital})
    assert answer.status_code == 200, answer.text[:500]
    body = answer.json()
    assert body["type"] == "birth"
    assert [(a["type"], a["status"]) for a in body["actions"]] == [
        ("CREATE", "Accepted"), ("NOTIFY", "Requested"), ("NOTIFY", "Accepted")]
    assert body["actions"][2]["originalActionId"] == body["actions"][1]["id"]


def test_rest_notify_is_idempotent(hosts: Hosts, system_token: str, places: Places) -> None:
    """events-notify.spec.ts 'API is idempotent'."""
    event_id = _rest_create(hosts, system_token,
                            {"type": "birth", "transactionId": new_id(), "createdAtLocation": places.hospital}
                            ).json()["id"]
    body = {"eventId": event_id, "transactionId": new_id(), "type": "NOTIFY", "declaration": _child(),
            "annotation": {}, "createdAtLocation": places.hospital}
    first = rest("POST", f"{hosts.rest}/events/{event_id}/notify", system_token, body)
    second = rest("POST", f"{hosts.rest}/events/{event_id}/notify", system_token, body)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()


@pytest.mark.parametrize(("body", "message"), [
    (None, "Input validation failed"),
    ({"type": "foobar"}, "Input validation failed"),
    ("no-location", "createdAtLocation is required and must be a valid location id"),
], ids=["missing-payload", "invalid-payload", "no-created-at-location"])
def test_rest_notify_refusals_are_400(hosts: Hosts, system_token: str, places: Places, body: Any,
                                      message: str) -> None:
    """events-notify.spec.ts: 'HTTP 400 with missing payload' / 'with invalid payload' ('Input validation
    failed', trpc-to-openapi) and 'when trying to notify an event without createdAtLocation'."""
    event_id = _rest_create(hosts, system_token,
                            {"type": "birth", "transactionId": new_id(), "createdAtLocation": places.hospital}
                            ).json()["id"]
    if body == "no-location":
        body = {"eventId": event_id, "transactionId": new_id(), "type": "NOTIFY", "declaration": _child(),
                "annotation": {}}
    answer = rest("POST", f"{hosts.rest}/events/{event_id}/notify", system_token, body)
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["message"] == message


def test_rest_direct_notify_creates_and_notifies(hosts: Hosts, system_token: str, places: Places) -> None:
    """events-notify.spec.ts 'HTTP 200 when direct-notifying an event': `POST {register}/api/events/events/notify`
    (core router/event/actions/createAndNotify.ts)."""
    answer = rest("POST", f"{hosts.rest}/events/notify", system_token,
                  {"transactionId": new_id(), "type": "NOTIFY", "createdAtLocation": places.hospital,
                   "eventType": "birth", "declaration": _child(), "annotation": {}})
    assert answer.status_code == 200, answer.text[:300]


def test_rest_search_answers_results(hosts: Hosts, system_token: str) -> None:
    """events-search.spec.ts: `POST {register}/api/events/events/search` is 200 with an array `results`."""
    answer = rest("POST", f"{hosts.rest}/events/search", system_token,
                  {"query": {"type": "and", "clauses": [{"eventType": "birth"}]}, "limit": 5, "offset": 0})
    assert answer.status_code == 200, answer.text[:300]
    assert_conforms(answer.json(), SEARCH_RESULT, "the REST search answer")


def test_system_client_trpc_create_get_search(hosts: Hosts, system_token: str, places: Places) -> None:
    """The same over tRPC: event.create (with createdAtLocation), event.get (a READ by the system) and
    event.search are userAndSystemProcedure (event/index.ts)."""
    created = mutation(hosts.events, "event.create",
                       {"type": "death", "transactionId": new_id(), "createdAtLocation": places.hospital},
                       system_token).data
    assert [a["type"] for a in created["actions"]] == ["CREATE"]
    read = get(hosts, system_token, created["id"]).data
    assert read["actions"][-1]["type"] == "READ"
    assert read["actions"][-1]["createdByUserType"] == "system"
    found = mutation(hosts.events, "event.search",
                     {"query": {"type": "and", "clauses": [{"eventType": "death"}]}, "limit": 5},
                     system_token)
    assert_conforms(found.data, SEARCH_RESULT, "the tRPC search answer")


def test_system_client_may_not_act_on_an_assigned_record(hosts: Hosts, system_token: str, clerk: str,
                                                         places: Places) -> None:
    """middleware/authorization/index.ts requireAssignment: 'System user can not perform action on assigned
    event' (CONFLICT). A user's new record is assigned to its creator, so a system notify on it is 409."""
    event_id = create(hosts, clerk, "birth").data["id"]
    answer = mutation(hosts.events, "event.actions.notify.request",
                      {"eventId": event_id, "transactionId": new_id(), "declaration": _child(), "annotation": {},
                       "createdAtLocation": places.hospital}, system_token)
    assert_trpc_error(answer, 409, "CONFLICT")
    assert not actions_of(get(hosts, clerk, event_id).data, "NOTIFY")


def test_rest_through_the_gateway(hosts: Hosts, system_token: str) -> None:
    """The register host's `/api/*` is the gateway's `/*` (packages/client/nginx.conf), and the gateway proxies
    `/events/{path*}` to the events service (gateway/src/v2-events/event-config/routes.ts), so REST search is also
    `POST {gateway}/events/events/search`."""
    answer = rest("POST", f"{hosts.events}/events/search", system_token,
                  {"query": {"type": "and", "clauses": [{"eventType": "birth"}]}, "limit": 5, "offset": 0})
    assert answer.status_code == 200, answer.text[:300]
    assert_conforms(answer.json(), SEARCH_RESULT, "the REST search answer through the gateway")


def test_notify_gives_a_notified_incomplete_record(hosts: Hosts, system_token: str, places: Places) -> None:
    """A partial declaration sent with NOTIFY makes the record NOTIFIED (EventMetadata.ts EventStatus) with the
    inherent flag `incomplete`, which mirrors that status (core packages/commons/src/events/state/flags.ts)."""
    created = _rest_create(hosts, system_token,
                           {"type": "birth", "transactionId": new_id(), "createdAtLocation": places.hospital}).json()
    notified = rest("POST", f"{hosts.rest}/events/{created['id']}/notify", system_token,
                    {"eventId": created["id"], "transactionId": new_id(), "type": "NOTIFY", "declaration": _child(),
                     "annotation": {}, "createdAtLocation": places.hospital})
    assert notified.status_code == 200, notified.text[:300]
    found = mutation(hosts.events, "event.search",
                     {"query": {"type": "and", "clauses": [{"eventType": "birth", "trackingId":
                                                            {"type": "exact", "term": created["trackingId"]}}]}},
                     system_token).data
    assert found["total"] == 1
    index = found["results"][0]
    assert index["status"] == "NOTIFIED" and "incomplete" in index["flags"]
    assert index["createdByUserType"] == "system"
    assert index["legalStatuses"].get("DECLARED") is None
