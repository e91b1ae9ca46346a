"""CRVSClient: the OpenCRVS 2.x calls the gates need, over any Transport."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from crvs_client import wire
from crvs_client.errors import ProtocolError
from crvs_client.transport import HttpxTransport, Transport

SearchVia = Literal["trpc-get", "trpc-post", "rest"]
# A fixed office id the sandbox accepts for system clients; real targets set CRVS_LOCATION_ID.
DEFAULT_LOCATION = "028d2c85-ca31-426d-b5d1-2cef545a4902"


def new_transaction_id() -> str:
    """A fresh transactionId (a UUID4, as OpenCRVS clients send)."""
    return str(uuid.uuid4())


def token_subject(token: str) -> str:
    """The `sub` claim of a JWT, read without verifying it (the server verifies)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return str(json.loads(base64.urlsafe_b64decode(payload))["sub"])
    except (IndexError, ValueError, KeyError) as exc:
        raise ProtocolError("auth", None, "token is not a JWT with a sub claim") from exc


class CRVSClient:
    """Calls a CRVS target; holds at most one bearer token."""

    def __init__(self, transport: Transport | str, token: str | None = None, *,
                 location_id: str | None = None) -> None:
        self.transport = HttpxTransport(transport) if isinstance(transport, str) else transport
        self.token = token
        self.location_id = location_id

    def __repr__(self) -> str:  # never show the token
        return f"CRVSClient({self.transport.base_url!r}, authenticated={self.token is not None})"

    # -- plumbing ---------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def mutation(self, procedure: str, payload: Any) -> Any:
        """POST a tRPC mutation and return its output."""
        resp = self.transport.request("POST", f"/events/{procedure}", name=procedure, params={"batch": "1"},
                                      json=wire.batch_body(payload), headers=self._headers())
        return wire.unwrap_trpc(procedure, resp.status, resp.text)

    def query(self, procedure: str, payload: Any) -> Any:
        """GET a tRPC query and return its output."""
        resp = self.transport.request("GET", f"/events/{procedure}", name=procedure,
                                      params=wire.query_params(payload), headers=self._headers())
        return wire.unwrap_trpc(procedure, resp.status, resp.text)

    def rest(self, method: str, path: str, *, name: str, json_body: Any = None) -> Any:
        """Call a REST endpoint under the gateway and return its JSON body."""
        resp = self.transport.request(method, path, name=name, json=json_body, headers=self._headers())
        return wire.unwrap_rest(name, resp.status, resp.text)

    # -- auth and identity ------------------------------------------------------------------------
    def _auth_field(self, path: str, name: str, field: str, *, params: dict[str, str] | None = None,
                    json_body: Any = None) -> str:
        """POST to an auth endpoint and return one string field of its answer, or raise ProtocolError."""
        resp = self.transport.request("POST", path, name=name, params=params, json=json_body)
        body = wire.unwrap_rest(name, resp.status, resp.text)
        value = body.get(field) if isinstance(body, dict) else None
        if not value:
            raise ProtocolError(name, resp.status, f"no {field} in answer")
        return str(value)

    def authenticate_client(self, client_id: str, client_secret: str) -> str:
        """Get a system-client token with client_credentials and keep it."""
        self.token = self._auth_field("/auth/token", "auth.token", "access_token", params={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret})
        return self.token

    def login(self, username: str, password: str, code: str) -> str:
        """Log a user in with the two-step flow (authenticate, then verifyCode) and keep the token."""
        nonce = self._auth_field("/auth/authenticate", "auth.authenticate", "nonce",
                                 json_body={"username": username, "password": password})
        self.token = self._auth_field("/auth/verifyCode", "auth.verifyCode", "token",
                                      json_body={"nonce": nonce, "code": code})
        return self.token

    @property
    def subject(self) -> str:
        """The user or client id of the current token."""
        if not self.token:
            raise ProtocolError("auth", None, "not authenticated")
        return token_subject(self.token)

    def version(self) -> dict[str, str]:
        """The target's reported `{version, commit}`."""
        body = self.rest("GET", "/api/version", name="api.version")
        if not isinstance(body, dict) or "version" not in body:
            raise ProtocolError("api.version", 200, "answer has no version")
        return {"version": str(body["version"]), "commit": str(body.get("commit", ""))}

    # -- records ----------------------------------------------------------------------------------
    def create_event(self, event_type: str, *, transaction_id: str | None = None,
                     location_id: str | None = None, annotation: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """event.create: a new record in status CREATED."""
        payload: dict[str, Any] = {"transactionId": transaction_id or new_transaction_id(), "type": event_type}
        location = location_id or self.location_id
        if location:
            payload["createdAtLocation"] = location
        if annotation:
            payload["annotation"] = dict(annotation)
        return dict(self.mutation("event.create", payload))

    def get_event(self, event_id: str) -> dict[str, Any]:
        """event.get: the full EventDocument with its actions."""
        return dict(self.query("event.get", {"eventId": event_id}))

    def _action(self, procedure: str, event_id: str, transaction_id: str | None, **extra: Any) -> dict[str, Any]:
        payload = {"eventId": event_id, "transactionId": transaction_id or new_transaction_id()}
        payload.update({k: v for k, v in extra.items() if v is not None})
        return dict(self.mutation(procedure, payload))

    def declare(self, event_id: str, declaration: Mapping[str, Any], *, transaction_id: str | None = None,
                annotation: Mapping[str, Any] | None = None, keep_assignment: bool | None = None) -> dict[str, Any]:
        """event.actions.declare.request."""
        return self._action("event.actions.declare.request", event_id, transaction_id,
                            declaration=dict(declaration), annotation=dict(annotation) if annotation else None,
                            keepAssignment=keep_assignment)

    def register(self, event_id: str, declaration: Mapping[str, Any] | None = None, *,
                 transaction_id: str | None = None) -> dict[str, Any]:
        """event.actions.register.request: assigns the registration number."""
        return self._action("event.actions.register.request", event_id, transaction_id, type="REGISTER",
                            declaration=dict(declaration or {}))

    def assign(self, event_id: str, assigned_to: str | None = None, *, transaction_id: str | None = None) -> dict[str, Any]:
        """event.actions.assignment.assign (to the caller by default)."""
        return self._action("event.actions.assignment.assign", event_id, transaction_id, type="ASSIGN",
                            assignedTo=assigned_to or self.subject)

    def unassign(self, event_id: str, *, transaction_id: str | None = None) -> dict[str, Any]:
        """event.actions.assignment.unassign."""
        return self._action("event.actions.assignment.unassign", event_id, transaction_id, type="UNASSIGN")

    def reject(self, event_id: str, reason: str, *, transaction_id: str | None = None) -> dict[str, Any]:
        """event.actions.reject.request: sets the `rejected` flag."""
        return self._action("event.actions.reject.request", event_id, transaction_id, reason={"message": reason})

    def archive(self, event_id: str, *, transaction_id: str | None = None) -> dict[str, Any]:
        """event.actions.archive.request."""
        return self._action("event.actions.archive.request", event_id, transaction_id)

    def print_certificate(self, event_id: str, *, transaction_id: str | None = None) -> dict[str, Any]:
        """event.actions.printCertificate.request on a registered record."""
        return self._action("event.actions.printCertificate.request", event_id, transaction_id)

    def search(self, clauses: Sequence[Mapping[str, Any]], *, limit: int = 10, offset: int = 0,
               sort: Sequence[Mapping[str, str]] | None = None, combinator: str = "and",
               via: SearchVia = "trpc-post") -> dict[str, Any]:
        """event.search with `clauses` ANDed (or ORed); returns `{results, total}`."""
        payload: dict[str, Any] = {"query": {"type": combinator, "clauses": [dict(c) for c in clauses]},
                                   "limit": limit, "offset": offset}
        if sort:
            payload["sort"] = [dict(s) for s in sort]
        if via == "rest":
            body = self.rest("POST", "/api/events/events/search", name="event.search", json_body=payload)
        elif via == "trpc-get":
            body = self.query("event.search", payload)
        else:
            body = self.mutation("event.search", payload)
        if not isinstance(body, dict) or "results" not in body or "total" not in body:
            raise ProtocolError("event.search", 200, "answer has no results/total")
        return body

    # -- REST -------------------------------------------------------------------------------------
    def rest_create_event(self, event_type: str, *, transaction_id: str | None = None,
                          location_id: str | None = None) -> dict[str, Any]:
        """POST /api/events/events."""
        payload: dict[str, Any] = {"type": event_type, "transactionId": transaction_id or new_transaction_id()}
        location = location_id or self.location_id
        if location:
            payload["createdAtLocation"] = location
        return dict(self.rest("POST", "/api/events/events", name="rest.events.create", json_body=payload))

    def rest_get_event(self, event_id: str) -> dict[str, Any]:
        """GET /api/events/events/{id}."""
        return dict(self.rest("GET", f"/api/events/events/{event_id}", name="rest.events.get"))

    def rest_notify(self, event_id: str, declaration: Mapping[str, Any], *, transaction_id: str | None = None,
                    annotation: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST /api/events/events/{id}/notify: an incomplete declaration is allowed."""
        payload = {"eventId": event_id, "transactionId": transaction_id or new_transaction_id(), "type": "NOTIFY",
                   "declaration": dict(declaration), "annotation": dict(annotation or {})}
        return dict(self.rest("POST", f"/api/events/events/{event_id}/notify", name="rest.events.notify",
                              json_body=payload))


# Clause builders keep callers from misspelling the wire keys.
REGISTRATION_NUMBER_KEY = "legalStatuses.REGISTERED.registrationNumber"


def exact(term: str) -> dict[str, str]:
    """An exact-match clause value."""
    return {"type": "exact", "term": term}


def fuzzy(term: str) -> dict[str, str]:
    """A fuzzy-match clause value (names)."""
    return {"type": "fuzzy", "term": term}


def date_range(gte: str | None = None, lte: str | None = None) -> dict[str, str]:
    """A date range clause value."""
    value = {"type": "range"}
    if gte:
        value["gte"] = gte
    if lte:
        value["lte"] = lte
    return value
