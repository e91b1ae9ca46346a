"""400 paths: malformed envelopes and invalid declarations name the problem and change nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sandbox_wire import OFFICE, REGISTRAR, Api, TrpcError, birth_declaration, death_declaration

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
                            ("event.actions.notify.request", None)):
        with pytest.raises(TrpcError) as caught:
            api.call(procedure, data)
        assert caught.value.status == 400, procedure


def test_mutation_by_get_is_refused(api, sandbox):
    response = httpx.get(f"{sandbox.url}/events/event.create",
                         params={"batch": "1", "input": json.dumps({"0": {"json": {"type": "birth"}}})},
                         headers=api.headers())
    assert response.status_code == 405


def test_rest_body_not_json_is_400(api, sandbox):
    response = httpx.post(f"{sandbox.url}/events/events", content="{", headers=api.headers())
    assert response.status_code == 400 and response.json()["code"] == "BAD_REQUEST"


@pytest.fixture(scope="module")
def registrar(sandbox) -> Iterator[Api]:
    caller = Api.login(sandbox.url, REGISTRAR)
    yield caller
    caller.close()


def test_unknown_event_type_is_400_naming_type(api):
    before = _total(api)
    with pytest.raises(TrpcError) as caught:
        api.create("marriage")
    assert caught.value.status == 400 and "marriage" in caught.value.message
    assert _total(api) == before


def test_missing_transaction_id_is_400(api):
    with pytest.raises(TrpcError) as caught:
        api.call("event.create", {"type": "birth", "createdAtLocation": OFFICE})
    assert caught.value.status == 400
    assert json.loads(caught.value.message)[0]["path"] == ["transactionId"]


def test_system_client_must_name_an_existing_created_at_location(api):
    with pytest.raises(TrpcError) as caught:
        api.call("event.create", {"type": "birth", "transactionId": "no-location"})
    assert caught.value.status == 400
    assert caught.value.message == "createdAtLocation is required and must be a valid location id"
    with pytest.raises(TrpcError) as caught:
        api.call("event.create", {"type": "birth", "transactionId": "bad-location",
                                  "createdAtLocation": str(uuid.uuid4())})
    assert caught.value.message == "createdAtLocation must be a valid location id"


def _without(declaration: dict, key: str) -> dict:
    return {k: v for k, v in declaration.items() if k != key}


BAD_DECLARATIONS = [
    ("missing required", _without(birth_declaration(), "child.dob"), "child.dob", "Required"),
    ("missing mother address", _without(birth_declaration(), "mother.address"), "mother.address", "Required"),
    ("missing father reason", _without(birth_declaration(), "father.reason"), "father.reason", "Required"),
    ("future dob", birth_declaration(dob="2999-01-01"), "child.dob", None),
    ("impossible date", birth_declaration(dob="2023-02-30"), "child.dob", None),
    ("not a date", birth_declaration(dob="14/03/2024"), "child.dob", None),
    ("name not an object", {**birth_declaration(), "child.name": "Chipo Banda"}, "child.name", None),
    ("name of numbers", {**birth_declaration(), "child.name": {"firstname": 1, "surname": 2}}, "child.name", None),
    ("weight not a number", birth_declaration(**{"child.weightAtBirth": "3.1kg"}), "child.weightAtBirth", None),
    ("gender unknown", {**birth_declaration(), "child.gender": "x"}, "child.gender", None),
    ("birth location not a facility", birth_declaration(**{"child.birthLocation": OFFICE}), "child.birthLocation",
     None),
    ("hidden field", birth_declaration(**{"father.name": {"firstname": "A", "surname": "B"}}), "father.name",
     "Hidden or disabled field should not receive a value"),
]


@pytest.mark.parametrize("case,declaration,field,message", BAD_DECLARATIONS, ids=[c[0] for c in BAD_DECLARATIONS])
def test_bad_declaration_is_400_with_an_issue_list_and_records_nothing(registrar, case, declaration, field, message):
    event = registrar.create()
    with pytest.raises(TrpcError) as caught:
        registrar.declare(event["id"], declaration, keepAssignment=True)
    assert caught.value.status == 400 and caught.value.code == "BAD_REQUEST"
    found = {i["id"]: i["message"] for i in caught.value.issues}
    assert field in found, caught.value.message
    assert message is None or found[field] == message
    fetched = registrar.call("event.get", {"eventId": event["id"]})
    assert [a["type"] for a in fetched["actions"] if a["type"] != "READ"] == ["CREATE", "ASSIGN"]
    hit = registrar.search([{"trackingId": {"type": "exact", "term": event["trackingId"]}}])
    assert hit["total"] == 0  # still CREATED: not indexed


@pytest.mark.parametrize("field", ["child.favouriteColour", "eventDetails.date"])
def test_an_unknown_field_on_declare_is_the_error_opencrvs_throws(registrar, field):
    # getDeclarationFieldById throws a plain Error: tRPC answers INTERNAL_SERVER_ERROR with its message.
    event = registrar.create()
    with pytest.raises(TrpcError) as caught:
        registrar.declare(event["id"], birth_declaration(**{field: "x"}), keepAssignment=True)
    assert caught.value.status == 500
    assert caught.value.message == f"Field with id {field} not found in event config"


def test_an_unknown_field_on_notify_is_400_unexpected_field(api):
    event = api.create()
    with pytest.raises(TrpcError) as caught:
        api.action("notify.request", event["id"], createdAtLocation=OFFICE, declaration={"foo.bar": 1})
    assert caught.value.status == 400
    assert caught.value.issues == [{"message": "Unexpected field", "id": "foo.bar", "value": 1}]


def test_the_death_form_has_no_cause_of_death_field(registrar):
    event = registrar.create("death")
    with pytest.raises(TrpcError) as caught:
        registrar.declare(event["id"], death_declaration(**{"eventDetails.causeOfDeath": "NATURAL"}),
                          keepAssignment=True)
    assert caught.value.message == "Field with id eventDetails.causeOfDeath not found in event config"


def test_death_before_birth_is_400(registrar):
    event = registrar.create("death")
    with pytest.raises(TrpcError) as caught:
        registrar.declare(event["id"], death_declaration(dob="2000-01-01", died="1999-12-31"), keepAssignment=True)
    assert caught.value.status == 400
    assert {"eventDetails.date", "deceased.dob"} & set(caught.value.fields)


def test_declare_needs_the_review_comment_and_an_uploaded_signature(registrar):
    event = registrar.create()
    with pytest.raises(TrpcError) as caught:
        registrar.declare(event["id"], birth_declaration(), annotation={})
    assert set(caught.value.fields) == {"review.comment", "review.signature"}
    ghost = {"path": "/ocrvs/never-uploaded.png", "originalFilename": "s.png", "type": "image/png"}
    with pytest.raises(TrpcError) as caught:
        registrar.declare(event["id"], birth_declaration(),
                          annotation={"review.comment": "ok", "review.signature": ghost})
    assert caught.value.status == 400 and caught.value.message == "File not found: /ocrvs/never-uploaded.png"


def test_default_action_inputs_are_strict_but_declare_drops_unknown_keys(registrar):
    """getDefaultActionProcedures parses `inputSchema.strict()` (core router/event/actions/index.ts); declare.ts
    parses DeclareActionInput without it, so zod strips the unknown key there."""
    event = registrar.create()
    declared = registrar.declare(event["id"], birth_declaration(), keepAssignment=True, surprise=True)
    assert all("surprise" not in action for action in declared["actions"])
    with pytest.raises(TrpcError) as caught:
        registrar.register(event["id"], surprise=True)
    assert caught.value.status == 400
    assert json.loads(caught.value.message)[0]["code"] == "unrecognized_keys"


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
    assert caught.value.status == 400 and caught.value.message.startswith(f"{field}: ")
    response = httpx.post(f"{sandbox.url}/events/events/search", json=query, headers=api.headers())
    assert response.status_code == 400 and field in response.text
