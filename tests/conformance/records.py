"""Record flows as farajaland's e2e drives them (e2e/testcases/test-data/birth-declaration.ts createDeclaration),
over the raw wire calls in `tests.conformance.wire`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.conformance import farajaland
from tests.conformance.wire import SIGNATURE_PNG, TrpcAnswer, mutation, new_id, query, upload

CLIENT_ID = "4b3e5c7a-8d2f-4a1b-9c6e-0f5d7a2b8c91"
CLIENT_SECRET = "release-gate-secret"
PASSWORD = "test"
LOGIN_CODE = "000000"


@dataclass(frozen=True)
class Hosts:
    """A deployment's three hosts (core packages/client/nginx.conf: register `/api/*` is the gateway's `/*`)."""

    gateway: str
    register: str
    config: str

    @property
    def events(self) -> str:
        """The tRPC base: `{gateway}/events` (core packages/gateway/src/v2-events/event-config/routes.ts)."""
        return f"{self.gateway}/events"

    @property
    def rest(self) -> str:
        """The REST base as farajaland's e2e uses it: `{register}/api/events`."""
        return f"{self.register}/api/events"


@dataclass(frozen=True)
class Places:
    """The locations farajaland's e2e picks by name."""

    hospital: str  # "Klow Village Hospital", locations.list {locationType: HEALTH_FACILITY}
    village: str  # "Klow", administrativeAreas.list


@dataclass
class Record:
    """One record driven through the lifecycle, with every answer kept for the shape tests."""

    event_id: str
    tracking_id: str
    declaration: dict[str, Any]
    annotation: dict[str, Any]
    answers: dict[str, TrpcAnswer] = field(default_factory=dict)


def actions_of(document: dict[str, Any], action_type: str) -> list[dict[str, Any]]:
    """The document's actions of one type, in order."""
    return [a for a in document.get("actions", []) if a.get("type") == action_type]


def upload_signature(hosts: Hosts, token: str) -> dict[str, str]:
    """Upload the signature image and answer the file value `{path, originalFilename, type}` (uploadFile)."""
    transaction_id = new_id()
    answer = upload(hosts.gateway, token, SIGNATURE_PNG, "signature-conformance.png", "image/png", transaction_id)
    assert answer.status_code == 200, f"POST /upload: {answer.status_code} {answer.text[:300]}"
    return {"path": answer.text, "originalFilename": "signature-conformance.png", "type": "image/png"}


def create(hosts: Hosts, token: str, event_type: str) -> TrpcAnswer:
    """`event.create {type, transactionId}` as a user (no createdAtLocation)."""
    return mutation(hosts.events, "event.create", {"type": event_type, "transactionId": new_id()}, token)


def declare(hosts: Hosts, token: str, record: Record, *, keep_assignment: bool) -> TrpcAnswer:
    """`event.actions.declare.request {eventId, transactionId, declaration, annotation, keepAssignment}`."""
    return mutation(hosts.events, "event.actions.declare.request",
                    {"eventId": record.event_id, "transactionId": new_id(), "declaration": record.declaration,
                     "annotation": record.annotation, "keepAssignment": keep_assignment}, token)


def register(hosts: Hosts, token: str, record: Record) -> TrpcAnswer:
    """`event.actions.register.request {eventId, transactionId, declaration, annotation}` (no keepAssignment)."""
    return mutation(hosts.events, "event.actions.register.request",
                    {"eventId": record.event_id, "transactionId": new_id(), "declaration": record.declaration,
                     "annotation": record.annotation}, token)


def assign(hosts: Hosts, token: str, event_id: str, user_id: str) -> TrpcAnswer:
    """`event.actions.assignment.assign` as performance-test src/client.ts assignEvent sends it."""
    return mutation(hosts.events, "event.actions.assignment.assign",
                    {"type": "ASSIGN", "eventId": event_id, "transactionId": new_id(), "assignedTo": user_id,
                     "declaration": {}}, token)


def get(hosts: Hosts, token: str, event_id: str) -> TrpcAnswer:
    """`event.get {eventId}` by GET (performance-test getEvent)."""
    return query(hosts.events, "event.get", {"eventId": event_id}, token)


def search_tracking_id(hosts: Hosts, token: str, event_type: str, tracking_id: str) -> TrpcAnswer:
    """`event.search` by POST with a trackingId exact clause (performance-test searchByTrackingId)."""
    return mutation(hosts.events, "event.search",
                    {"query": {"type": "and", "clauses": [{"eventType": event_type,
                                                           "trackingId": {"type": "exact", "term": tracking_id}}]},
                     "limit": 10, "offset": 0}, token)


def declared_record(hosts: Hosts, token: str, places: Places, event_type: str = "birth", *,
                    place: str = "HEALTH_FACILITY", keep_assignment: bool = True) -> Record:
    """create -> upload -> declare, as createDeclaration(token, undefined, DECLARE) does; asserts each step."""
    created = create(hosts, token, event_type)
    document = created.data
    if event_type == "birth":
        declaration = farajaland.birth_declaration(village_id=places.village, hospital_id=places.hospital,
                                                   place=place)
    else:
        declaration = farajaland.death_declaration(village_id=places.village)
    record = Record(document["id"], document["trackingId"], declaration,
                    farajaland.annotation(upload_signature(hosts, token)))
    record.answers["create"] = created
    declared = declare(hosts, token, record, keep_assignment=keep_assignment)
    record.answers["declare"] = declared
    assert declared.status == 200, f"declare: {declared.status} {str(declared.body)[:800]}"
    return record


def registered_record(hosts: Hosts, token: str, places: Places, event_type: str = "birth", *,
                      place: str = "HEALTH_FACILITY") -> Record:
    """create -> upload -> declare (keepAssignment) -> register, as createDeclaration(token) does."""
    record = declared_record(hosts, token, places, event_type, place=place, keep_assignment=True)
    registered = register(hosts, token, record)
    record.answers["register"] = registered
    assert registered.status == 200, f"register: {registered.status} {str(registered.body)[:800]}"
    return record
