"""400 paths: malformed envelopes and invalid declarations name the problem and change nothing."""

from __future__ import annotations

import json

import httpx
import pytest
from sandbox_wire import TrpcError, birth_declaration, death_declaration

pytestmark = pytest.mark.integration


def _total(api) -> int:
    return api.search([], limit=1)["total"]


def _error(response: httpx.Response) -> dict:
    body = response.json()
    return body[0]["error"]["json"] if isinstance(body, list) else body


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"1": {"json": {}}}', '{"0": {"input": {}}}', '{"0": 5}',
                                  '"string"'])
def test_malformed_mutation_envelope_is_400_and_creates_nothing(api, sandbox, body):
    before = _total(api)
    response = httpx.post(f"{sandbox.url}/events/event.create?batch=1", content=body, headers=api.headers())
    assert response.status_code == 400
    assert _error(response)["data"]["code"] == "BAD_REQUEST"
    assert _total(api) == before


def test_get_without_input_is_400(api, sandbox):
    response = httpx.get(f"{sandbox.url}/events/event.search?batch=1", headers=api.headers())
    assert response.status_code == 400


def test_get_with_broken_input_is_400(api, sandbox):
    response = httpx.get(f"{sandbox.url}/events/event.get", params={"batch": "1", "input": "{oops"},
                         headers=api.headers())
    assert response.status_code == 400


def test_input_of_wrong_type_is_400(api):
    for procedure, data in (("event.create", "birth"), ("event.search", [1]), ("event.get", 42),
                            ("event.actions.declare.request", None)):
        with pytest.raises(TrpcError) as caught:
            api.call(procedure, data)
        assert caught.value.status == 400, procedure


def test_mutation_by_get_is_refused(api, sandbox):
    response = httpx.get(f"{sandbox.url}/events/event.create",
                         params={"batch": "1", "input": json.dumps({"0": {"json": {"type": "birth"}}})},
                         headers=api.headers())
    assert response.status_code == 405


def test_rest_body_not_json_is_400(api, sandbox):
    response = httpx.post(f"{sandbox.url}/api/events/events", content="{", headers=api.headers())
    assert response.status_code == 400 and response.json()["code"] == "BAD_REQUEST"


def test_unknown_event_type_is_400_naming_type(api):
    before = _total(api)
    with pytest.raises(TrpcError) as caught:
        api.create("marriage")
    assert caught.value.status == 400 and caught.value.fields == ["type"]
    assert _total(api) == before


def test_missing_transaction_id_is_400(api):
    with pytest.raises(TrpcError) as caught:
        api.call("event.create", {"type": "birth", "createdAtLocation": "x"})
    assert caught.value.fields == ["transactionId"]


def test_system_client_must_name_created_at_location(api):
    with pytest.raises(TrpcError) as caught:
        api.call("event.create", {"type": "birth", "transactionId": "no-location"})
    assert caught.value.fields == ["createdAtLocation"]


BAD_DECLARATIONS = [
    ("missing required", {k: v for k, v in birth_declaration().items() if k != "child.dob"}, "child.dob"),
    ("future dob", birth_declaration(dob="2999-01-01"), "child.dob"),
    ("impossible date", birth_declaration(dob="2023-02-30"), "child.dob"),
    ("not a date", birth_declaration(dob="14/03/2024"), "child.dob"),
    ("name not an object", {**birth_declaration(), "child.name": "Chipo Banda"}, "child.name"),
    ("name of numbers", {**birth_declaration(), "child.name": {"firstname": 1, "surname": 2}}, "child.name"),
    ("weight not a number", birth_declaration(**{"child.weightAtBirth": "3.1kg"}), "child.weightAtBirth"),
    ("gender unknown", {**birth_declaration(), "child.gender": "x"}, "child.gender"),
    ("unknown field", birth_declaration(**{"child.favouriteColour": "red"}), "child.favouriteColour"),
    ("death field on birth", birth_declaration(**{"eventDetails.date": "2024-01-01"}), "eventDetails.date"),
]


@pytest.mark.parametrize("case,declaration,field", BAD_DECLARATIONS, ids=[c[0] for c in BAD_DECLARATIONS])
def test_bad_declaration_is_400_naming_field_and_records_nothing(api, case, declaration, field):
    event = api.create()
    with pytest.raises(TrpcError) as caught:
        api.declare(event["id"], declaration)
    assert caught.value.status == 400 and field in caught.value.fields and field in caught.value.message
    fetched = api.call("event.get", {"eventId": event["id"]})
    assert [a["type"] for a in fetched["actions"]] == ["CREATE"]
    hit = api.search([{"trackingId": {"type": "exact", "term": event["trackingId"]}}])["results"][0]
    assert hit["status"] == "CREATED" and hit["declaration"] == {}


def test_death_before_birth_is_400(api):
    event = api.create("death")
    with pytest.raises(TrpcError) as caught:
        api.declare(event["id"], death_declaration(dob="2000-01-01", died="1999-12-31"))
    assert caught.value.fields == ["eventDetails.date"]


@pytest.mark.parametrize("query,field", [
    ({"query": {"type": "xor", "clauses": []}}, "query.type"),
    ({"query": {"type": "and", "clauses": [{"status": {"type": "exact", "term": "DONE"}}]}}, "query.clauses[0].status"),
    ({"query": {"type": "and", "clauses": [{"nonsense": 1}]}}, "query.clauses[0].nonsense"),
    ({"query": {"type": "and", "clauses": [{"data": {"child.dob": {"type": "exact", "term": "2023-02-30"}}}]}},
     "query.clauses[0].data.child.dob.term"),
    ({"query": {"type": "and", "clauses": []}, "limit": 5000}, "limit"),
    ({"query": {"type": "and", "clauses": []}, "offset": -1}, "offset"),
    ({"query": {"type": "and", "clauses": []}, "sort": [{"field": "name"}]}, "sort[0].field"),
])
def test_bad_search_is_400_naming_path(api, sandbox, query, field):
    with pytest.raises(TrpcError) as caught:
        api.call("event.search", query)
    assert caught.value.status == 400 and caught.value.fields == [field]
    response = httpx.post(f"{sandbox.url}/api/events/events/search", json=query, headers=api.headers())
    assert response.status_code == 400 and response.json()["fields"] == [field]
