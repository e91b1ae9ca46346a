"""What OpenCRVS v2.0.0 accepts, and the shape of its answers: farajaland's own e2e registration
(e2e/testcases/test-data/birth-declaration.ts and death-declaration.ts createDeclaration) replayed on the wire,
with every answer checked against core's schemas (packages/commons/src/events/*.ts)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conformance import farajaland
from tests.conformance.conftest import Logins
from tests.conformance.records import (
    Hosts,
    Places,
    Record,
    actions_of,
    create,
    declared_record,
    get,
    register,
    registered_record,
    search_tracking_id,
)
from tests.conformance.schemas import EVENT_DOCUMENT, SEARCH_RESULT, UUID_PATTERN, assert_conforms
from tests.conformance.wire import TIMEOUT, mutation, new_id, query, upload

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("conformance")]


@pytest.fixture(scope="module")
def birth(hosts: Hosts, registrar: str, places: Places) -> Record:
    """A birth at Klow Village Hospital, registered by k.mweene exactly as createDeclaration(token) does, with a
    search between declare and register."""
    record = declared_record(hosts, registrar, places, keep_assignment=True)
    record.answers["search_declared"] = search_tracking_id(hosts, registrar, "birth", record.tracking_id)
    registered = register(hosts, registrar, record)
    assert registered.status == 200, f"register: {registered.status} {str(registered.body)[:800]}"
    record.answers["register"] = registered
    record.answers["search_registered"] = search_tracking_id(hosts, registrar, "birth", record.tracking_id)
    return record


def _check_user_action(action: dict[str, Any], user_id: str, role: str) -> None:
    """buildAction (core service/events/events.ts) for a user: createdBy = user id, createdByRole = role,
    createdByUserType 'user', createdAtLocation = the user's primary office (a UUID)."""
    assert action["createdBy"] == user_id, action
    assert action["createdByUserType"] == "user", action
    assert action.get("createdByRole") == role, action
    assert isinstance(action.get("createdAtLocation"), str), f"no createdAtLocation on {action['type']}"


def _check_pair(document: dict[str, Any], action_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """actions/index.ts defaultRequestHandler: a Requested action, then (synchronous confirmation) an Accepted one
    whose originalActionId is the Requested action's id."""
    pair = actions_of(document, action_type)
    assert [a["status"] for a in pair] == ["Requested", "Accepted"], [(a["type"], a["status"]) for a in pair]
    requested, accepted = pair
    assert accepted.get("originalActionId") == requested["id"]
    assert requested.get("originalActionId") in (None, ""), requested.get("originalActionId")
    return requested, accepted


@pytest.mark.parametrize("place", ["HEALTH_FACILITY", "PRIVATE_HOME"])
def test_farajaland_birth_is_accepted_and_registered(hosts: Hosts, registrar: str, places: Places,
                                                     logins: Logins, place: str) -> None:
    """createDeclaration(token, undefined, REGISTER, place): create as a user -> upload the signature -> declare
    with keepAssignment -> register; each call 200 with an EventDocument."""
    record = registered_record(hosts, registrar, places, place=place)
    user_id = logins.user_id("k.mweene")
    for step in ("create", "declare", "register"):
        assert_conforms(record.answers[step].data, EVENT_DOCUMENT, f"the {step} answer")
    _, accepted = _check_pair(record.answers["register"].data, "REGISTER")
    assert isinstance(accepted.get("registrationNumber"), str) and accepted["registrationNumber"]
    for action in record.answers["register"].data["actions"]:
        _check_user_action(action, user_id, "LOCAL_REGISTRAR")


def test_farajaland_death_is_accepted_and_registered(hosts: Hosts, registrar: str, places: Places,
                                                     logins: Logins) -> None:
    """death-declaration.ts createDeclaration(token): the same flow for a death at the deceased's usual residence."""
    record = registered_record(hosts, registrar, places, "death")
    assert_conforms(record.answers["register"].data, EVENT_DOCUMENT, "the death register answer")
    _check_pair(record.answers["declare"].data, "DECLARE")
    _, accepted = _check_pair(record.answers["register"].data, "REGISTER")
    assert accepted.get("registrationNumber")
    index = search_tracking_id(hosts, registrar, "death", record.tracking_id).data["results"][0]
    assert index["status"] == "REGISTERED"
    assert index["legalStatuses"]["REGISTERED"]["registrationNumber"] == accepted["registrationNumber"]
    assert not set(index["declaration"]) & set(farajaland.DEATH_SECURED_FIELDS)


def test_create_by_a_user_assigns_the_creator(birth: Record, logins: Logins) -> None:
    """core service/events/events.ts createEvent: a user's event is created with getOrCreateEventAndAssign, so the
    create answer is [CREATE, ASSIGN] with assignedTo = the creator (core event.create.test.ts)."""
    document = birth.answers["create"].data
    assert [a["type"] for a in document["actions"]] == ["CREATE", "ASSIGN"]
    assert document["actions"][1]["assignedTo"] == logins.user_id("k.mweene")
    assert all(a["status"] == "Accepted" for a in document["actions"])


def test_upload_answers_the_stored_path(hosts: Hosts, registrar: str) -> None:
    """core packages/documents/src/features/uploadDocument/handler.ts fileUploadHandler: the file is stored as
    `<transactionId>.<extension>` and that path is the answer's body (the gateway proxies `/upload` to it)."""
    transaction_id = new_id()
    answer = upload(hosts.gateway, registrar, b"\x89PNG\r\n\x1a\nconformance", "signature-1.png", "image/png",
                    transaction_id)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.text.strip('"') == f"{transaction_id}.png"


def test_upload_without_transaction_id_is_400(hosts: Hosts, registrar: str) -> None:
    """fileUploadHandler: a payload without `transactionId` is Boom badRequest('Invalid payload')."""
    answer = httpx.post(f"{hosts.gateway}/upload", headers={"Authorization": f"Bearer {registrar}"},
                        files={"file": ("signature.png", b"\x89PNG", "image/png")}, timeout=TIMEOUT)
    assert answer.status_code == 400


def test_declare_answer_keeps_the_declaration_and_annotation(birth: Record, logins: Logins) -> None:
    """The e2e reads the declaration back from the DECLARE action (`declareRes.actions.find(type DECLARE)
    .declaration`): the Requested action carries the declaration and the annotation as sent."""
    requested, accepted = _check_pair(birth.answers["declare"].data, "DECLARE")
    assert requested["declaration"] == birth.declaration
    assert requested["annotation"] == birth.annotation
    assert requested["annotation"]["review.signature"]["path"].endswith(".png")
    _check_user_action(requested, logins.user_id("k.mweene"), "LOCAL_REGISTRAR")
    assert accepted["transactionId"] == requested["transactionId"]


def test_keep_assignment_keeps_the_record_assigned(birth: Record) -> None:
    """declare with keepAssignment: true writes no UNASSIGN (events.ts resolveKeepAssignment), so register needs
    no new assign; register without it unassigns."""
    declared = [a["type"] for a in birth.answers["declare"].data["actions"]]
    assert "UNASSIGN" not in declared
    registered = [a["type"] for a in birth.answers["register"].data["actions"]]
    assert registered[-1] == "UNASSIGN"


def test_every_action_carries_the_fields_opencrvs_requires(birth: Record) -> None:
    """packages/commons/src/events/ActionDocument.ts ActionBase: id, transactionId, createdByUserType, createdAt,
    createdBy, createdByRole?, createdAtLocation?, declaration, annotation?, status, originalActionId?."""
    document = birth.answers["register"].data
    assert_conforms(document, EVENT_DOCUMENT, "the register answer")
    ids = [a["id"] for a in document["actions"]]
    assert len(ids) == len(set(ids)), "action ids repeat"
    assert "status" not in document, "an EventDocument has no status field (EventDocument.ts)"


def test_event_get_writes_a_read_action(hosts: Hosts, birth: Record, registrar: str, logins: Logins) -> None:
    """core packages/events/src/router/event/index.ts `get`: processAction({type: READ}) with status Accepted on
    every call, so each get answers one more READ action, by the caller."""
    first = get(hosts, registrar, birth.event_id).data
    second = get(hosts, registrar, birth.event_id).data
    assert_conforms(second, EVENT_DOCUMENT, "the event.get answer")
    assert len(second["actions"]) == len(first["actions"]) + 1
    for document in (first, second):
        read = document["actions"][-1]
        assert read["type"] == "READ" and read["status"] == "Accepted"
        _check_user_action(read, logins.user_id("k.mweene"), "LOCAL_REGISTRAR")
    assert len(actions_of(second, "READ")) == len(actions_of(first, "READ")) + 1


def test_declare_by_a_registrar_sets_validated(birth: Record) -> None:
    """farajaland birth/index.ts DECLARE flags: `validated` for LOCAL_REGISTRAR; the index shows it while the
    record is DECLARED (EventMetadata.ts flags)."""
    found = birth.answers["search_declared"].data
    assert found["total"] == 1
    index = found["results"][0]
    assert index["status"] == "DECLARED"
    assert "validated" in index["flags"]


def test_search_answers_an_event_index(birth: Record, logins: Logins) -> None:
    """event/index.ts `search` outputs `{results: EventIndex[], total}`; EventMetadata.ts requires
    legalStatuses.DECLARED.{createdAt, createdBy, acceptedAt} (+ createdAtLocation), potentialDuplicates and
    flags; the registration number is at legalStatuses.REGISTERED.registrationNumber."""
    found = birth.answers["search_registered"].data
    assert_conforms(found, SEARCH_RESULT, "the event.search answer")
    assert found["total"] == 1
    index = found["results"][0]
    assert index["id"] == birth.event_id and index["trackingId"] == birth.tracking_id
    assert index["status"] == "REGISTERED"
    assert index["potentialDuplicates"] == []
    declared = index["legalStatuses"]["DECLARED"]
    assert declared["createdBy"] == logins.user_id("k.mweene")
    assert isinstance(declared.get("createdAtLocation"), str)
    assert declared["acceptedAt"] >= declared["createdAt"]
    _, accepted = _check_pair(birth.answers["register"].data, "REGISTER")
    assert index["legalStatuses"]["REGISTERED"]["registrationNumber"] == accepted["registrationNumber"]


def test_register_sets_farajaland_flags(birth: Record) -> None:
    """farajaland birth/index.ts REGISTER flags: remove `validated`, add `pending-first-certificate-issuance`."""
    flags = birth.answers["search_registered"].data["results"][0]["flags"]
    assert "validated" not in flags
    assert "pending-first-certificate-issuance" in flags


def test_search_results_carry_no_secured_fields(birth: Record) -> None:
    """core service/indexing/utils.ts removeSecuredFields drops every field marked `secured: true` in the form
    (farajaland child.dob, child.placeOfBirth, child.birthLocation, mother.dob, mother.address, informant.email…);
    the others stay."""
    declaration = birth.answers["search_registered"].data["results"][0]["declaration"]
    leaked = sorted(set(declaration) & set(farajaland.BIRTH_SECURED_FIELDS))
    assert not leaked, f"secured fields in search results: {leaked}"
    name = declaration.get("child.name") or {}
    assert (name.get("firstname"), name.get("surname")) == (birth.declaration["child.name"]["firstname"],
                                                            birth.declaration["child.name"]["surname"])
    assert declaration.get("mother.nid") == birth.declaration["mother.nid"]


def test_search_by_registration_number(hosts: Hosts, birth: Record, registrar: str) -> None:
    """performance-test src/client.ts searchByBRN: clause `legalStatuses.REGISTERED.registrationNumber` exact."""
    number = birth.answers["search_registered"].data["results"][0]["legalStatuses"]["REGISTERED"][
        "registrationNumber"]
    found = mutation(hosts.events, "event.search",
                     {"query": {"type": "and", "clauses": [{"eventType": "birth",
                                                            "legalStatuses.REGISTERED.registrationNumber":
                                                                {"type": "exact", "term": number}}]},
                      "limit": 10, "offset": 0}, registrar).data
    assert [r["id"] for r in found["results"]] == [birth.event_id]


def test_search_by_get_query(hosts: Hosts, birth: Record, registrar: str) -> None:
    """`event.search` is a tRPC query: `GET …?batch=1&input=` works as well as POST (allowMethodOverride,
    packages/events/src/server.ts)."""
    found = query(hosts.events, "event.search",
                  {"query": {"type": "and", "clauses": [{"eventType": "birth",
                                                         "trackingId": {"type": "exact",
                                                                        "term": birth.tracking_id}}]}},
                  registrar).data
    assert [r["id"] for r in found["results"]] == [birth.event_id]


def test_created_records_are_not_indexed(hosts: Hosts, registrar: str) -> None:
    """core service/events/events.ts isEventIndexable: a CREATED event is not indexed, so search does not find it."""
    created = create(hosts, registrar, "birth").data
    found = search_tracking_id(hosts, registrar, "birth", created["trackingId"]).data
    assert found["total"] == 0 and found["results"] == []


def test_event_ids_and_action_ids_are_uuids(birth: Record) -> None:
    """EventDocument.id and ActionBase.id are `UUID` (packages/commons/src/uuid.ts)."""
    document = birth.answers["register"].data
    assert re.match(UUID_PATTERN, document["id"])
    assert all(re.match(UUID_PATTERN, a["id"]) for a in document["actions"])


@pytest.mark.parametrize("kind", ["exact", "fuzzy"])
def test_name_search_terms_are_ored(hosts: Hosts, birth: Record, registrar: str, kind: str) -> None:
    """core service/indexing/query.ts: a NAME field clause is an Elasticsearch `match` on the indexed full name
    (fuzzy adds fuzziness AUTO); a match query ORs its terms, so one right name among wrong ones still finds the
    record, even with `exact`."""
    first = birth.declaration["child.name"]["firstname"]
    term = f"{first} Qqxvzzyplk" if kind == "exact" else f"{first[:-1]}x Qqxvzzyplk"
    found = mutation(hosts.events, "event.search",
                     {"query": {"type": "and", "clauses": [{"eventType": "birth",
                                                            "data": {"child.name": {"type": kind, "term": term}}}]},
                      "limit": 100}, registrar).data
    assert birth.event_id in [r["id"] for r in found["results"]]


def test_performance_test_registrar_flow(hosts: Hosts, registrar: str, places: Places, logins: Logins) -> None:
    """performance-test tests/load.ts registrar persona over src/client.ts: create -> declare (no keepAssignment,
    so the record is unassigned) -> search by tracking ID -> assign -> register."""
    record = declared_record(hosts, registrar, places, keep_assignment=False)
    assert [a["type"] for a in record.answers["declare"].data["actions"]][-1] == "UNASSIGN"
    found = search_tracking_id(hosts, registrar, "birth", record.tracking_id).data
    assert [r["id"] for r in found["results"]] == [record.event_id]
    assert found["results"][0].get("assignedTo") is None  # nullish: null or absent (EventMetadata.ts)
    early = register(hosts, registrar, record)
    assert early.status == 409, "register on an unassigned record must be refused"
    assigned = mutation(hosts.events, "event.actions.assignment.assign",
                        {"type": "ASSIGN", "eventId": record.event_id, "transactionId": new_id(),
                         "assignedTo": logins.user_id("k.mweene"), "declaration": {}}, registrar)
    assert assigned.status == 200, assigned.body
    registered = register(hosts, registrar, record)
    assert registered.status == 200, registered.body
    assert [a["status"] for a in actions_of(registered.data, "REGISTER")] == ["Requested", "Accepted"]
