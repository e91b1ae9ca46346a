"""CRVSClient: the OpenCRVS v2.0.0 calls the gates need, over any Transport.

tRPC, auth and `/upload` go to the gateway (the transport's base URL); REST `/events/events…` goes to
`rest_base` (the register host's `/api`, or the gateway). Rules encoded here, with their OpenCRVS source:
- actions are `Requested` then `Accepted` (a second action with `originalActionId`); a client waits for the
  `Accepted` one up to `accept_timeout` (packages/commons/src/events/utils.ts `getCompleteActionDeclaration`,
  packages/events/src/service/events/events.ts);
- `createdAtLocation` is sent for system clients only; users are refused it with 400
  (packages/events/src/router/middleware/validate/index.ts);
- reject and archive carry `content: {reason}` (packages/commons/src/events/ActionInput.ts `ReasonContent`);
- `validated` comes from the custom action `VALIDATE_DECLARATION` (packages/events/src/router/event/actions/
  custom.ts; farajaland src/events/birth/index.ts);
- an upload is `POST {gateway}/upload` multipart `file` + `transactionId`, answered with the stored path
  (farajaland e2e/testcases/test-data/utils.ts).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from crvs_client import wire
from crvs_client.errors import ActionNotAccepted, ProtocolError, RateLimited, Unauthorized
from crvs_client.state import assignee, pending_action
from crvs_client.transport import HttpxTransport, Transport

SearchVia = Literal["trpc-get", "trpc-post", "rest"]
UserType = Literal["user", "system"]
VALIDATE_DECLARATION = "VALIDATE_DECLARATION"
DEFAULT_ACCEPT_TIMEOUT_S = 10.0
POLL_NAME = "event.get.poll"
# Seconds to wait before each retry of a login answered 402; bounded so a run never hangs on the limit.
LOGIN_BACKOFF_S: tuple[float, ...] = (2.0, 5.0)


def new_transaction_id() -> str:
    """A fresh transactionId (a UUID4, as OpenCRVS clients send)."""
    return str(uuid.uuid4())


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, read without verifying it (the server verifies)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError) as exc:
        raise ProtocolError("auth", None, "token is not a JWT") from exc
    if not isinstance(claims, dict):
        raise ProtocolError("auth", None, "token payload is not an object")
    return claims


def token_subject(token: str) -> str:
    """The `sub` claim of a JWT."""
    sub = token_claims(token).get("sub")
    if not sub:
        raise ProtocolError("auth", None, "token is not a JWT with a sub claim")
    return str(sub)


def multipart(fields: Mapping[str, str], file_field: str, filename: str, content: bytes,
              content_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type (pure; Locust's fast client has no multipart)."""
    boundary = "crvs-" + uuid.uuid4().hex
    parts: list[bytes] = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class CRVSClient:
    """Calls a CRVS deployment; holds at most one bearer token."""

    def __init__(self, transport: Transport | str, token: str | None = None, *, rest_base: str | None = None,
                 location_id: str | None = None, user_type: UserType | None = None,
                 accept_timeout: float = DEFAULT_ACCEPT_TIMEOUT_S,
                 relogin: Callable[[CRVSClient], str] | None = None) -> None:
        self.transport = HttpxTransport(transport) if isinstance(transport, str) else transport
        self.token = token
        self.rest_base = rest_base.rstrip("/") if rest_base else None
        self.location_id = location_id
        self.user_type = user_type
        self.accept_timeout = accept_timeout
        self._relogin = relogin
        self._seen: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._seen_lock = threading.Lock()

    def __repr__(self) -> str:  # never show the token
        return f"CRVSClient({self.transport.base_url!r}, authenticated={self.token is not None})"

    # -- plumbing ---------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _renewing(self, call: Callable[[], Any]) -> Any:
        """Run a call; on 401 log in again once when a `relogin` was given (a token can expire mid-run)."""
        try:
            return call()
        except Unauthorized:
            if self._relogin is None:
                raise
            self.token = self._relogin(self)
            return call()

    def mutation(self, procedure: str, payload: Any) -> Any:
        """POST a tRPC mutation and return its output."""
        def call() -> Any:
            resp = self.transport.request("POST", f"/events/{procedure}", name=procedure, params={"batch": "1"},
                                          json=wire.batch_body(payload), headers=self._headers())
            return wire.unwrap_trpc(procedure, resp.status, resp.text)
        return self._renewing(call)

    def query(self, procedure: str, payload: Any, *, name: str | None = None) -> Any:
        """GET a tRPC query and return its output (`name` labels it in statistics; default the procedure)."""
        def call() -> Any:
            resp = self.transport.request("GET", f"/events/{procedure}", name=name or procedure,
                                          params=wire.query_params(payload), headers=self._headers())
            return wire.unwrap_trpc(procedure, resp.status, resp.text)
        return self._renewing(call)

    def rest_url(self, path: str) -> str:
        """A REST path (`/events/events…`) on the REST base: absolute on the register host, else the gateway."""
        return f"{self.rest_base}{path}" if self.rest_base else path

    def rest(self, method: str, path: str, *, name: str, json_body: Any = None) -> Any:
        """Call a REST endpoint under the REST base and return its JSON body."""
        def call() -> Any:
            resp = self.transport.request(method, self.rest_url(path), name=name, json=json_body,
                                          headers=self._headers())
            return wire.unwrap_rest(name, resp.status, resp.text)
        return self._renewing(call)

    # -- identity ---------------------------------------------------------------------------------
    def identity(self, header: str = "X-Version", path: str = "/ping") -> str:
        """The build the gateway reports: its `X-Version` header on `GET /ping`
        (packages/gateway/src/server.ts `onPreResponse`)."""
        resp = self.transport.request("GET", path, name="ping")
        if resp.status >= 400:
            raise wire.unwrap_rest("ping", resp.status, resp.text)
        value = resp.header(header)
        if not value:
            raise ProtocolError("ping", resp.status, f"GET {path} answered without a {header} header")
        return value

    # -- auth -------------------------------------------------------------------------------------
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
        self.user_type = "system"
        return self.token

    def login(self, username: str, password: str, code: str, *,
              backoff: Sequence[float] = LOGIN_BACKOFF_S, sleep: Callable[[float], None] = time.sleep) -> str:
        """Log a user in (authenticate, then verifyCode) and keep the token.

        A 402 (OpenCRVS's 10 logins a minute per username) is retried after each `backoff` pause, then raised
        as RateLimited with what to do about it.
        """
        waits = list(backoff)
        while True:
            try:
                nonce = self._auth_field("/auth/authenticate", "auth.authenticate", "nonce",
                                         json_body={"username": username, "password": password})
                self.token = self._auth_field("/auth/verifyCode", "auth.verifyCode", "token",
                                              json_body={"nonce": nonce, "code": code})
                self.user_type = "user"
                return self.token
            except RateLimited as exc:
                if not waits:
                    raise RateLimited(exc.procedure, 402, f"login rate limit (402) for {username}; reuse tokens "
                                      "or wait a minute") from exc
                sleep(waits.pop(0))

    @property
    def subject(self) -> str:
        """The user or client id of the current token."""
        if not self.token:
            raise ProtocolError("auth", None, "not authenticated")
        return token_subject(self.token)

    # -- Requested / Accepted ---------------------------------------------------------------------
    def _remember(self, document: dict[str, Any]) -> dict[str, Any]:
        if isinstance(document.get("id"), str):
            with self._seen_lock:
                self._seen[document["id"]] = document
                self._seen.move_to_end(document["id"])
                while len(self._seen) > 500:
                    self._seen.popitem(last=False)
        return document

    def last_seen(self, event_id: str) -> dict[str, Any] | None:
        """The last EventDocument this client received for `event_id` (no call made)."""
        with self._seen_lock:
            return self._seen.get(event_id)

    def settle(self, document: dict[str, Any], action_type: str, transaction_id: str) -> dict[str, Any]:
        """Return `document` once the action `action_type` of `transaction_id` is Accepted, polling event.get
        up to `accept_timeout`; raise ActionNotAccepted when it stays Requested or was rejected."""
        deadline = time.monotonic() + self.accept_timeout
        delay = 0.05
        while True:
            state = pending_action(document, action_type, transaction_id)
            if state is None:
                return document
            if state == "Rejected":
                raise ActionNotAccepted(action_type, None, f"{action_type} on event {document.get('id')} was "
                                        "rejected by the country config after it was requested")
            if time.monotonic() >= deadline:
                raise ActionNotAccepted(action_type, None, f"{action_type} on event {document.get('id')} is still "
                                        f"Requested after {self.accept_timeout:g}s: the country config never "
                                        "accepted it (a record stuck in the outbox)")
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
            # Labelled apart so that polling never counts as the reader's event.get in load statistics.
            document = dict(self.query("event.get", {"eventId": document["id"]}, name=POLL_NAME))

    # -- records ----------------------------------------------------------------------------------
    def create_event(self, event_type: str, *, transaction_id: str | None = None,
                     location_id: str | None = None) -> dict[str, Any]:
        """event.create: a new record in status CREATED, assigned to its creator when a user creates it.

        `createdAtLocation` goes only with a system client's token, or when `location_id` is given explicitly.
        """
        payload: dict[str, Any] = {"transactionId": transaction_id or new_transaction_id(), "type": event_type}
        location = location_id or (self.location_id if self.user_type == "system" else None)
        if location:
            payload["createdAtLocation"] = location
        return self._remember(dict(self.mutation("event.create", payload)))

    def get_event(self, event_id: str) -> dict[str, Any]:
        """event.get: the full EventDocument. OpenCRVS writes a READ action on every call
        (packages/events/src/router/event/index.ts)."""
        return self._remember(dict(self.query("event.get", {"eventId": event_id})))

    def action(self, procedure: str, action_type: str, event_id: str, *, transaction_id: str | None = None,
               **fields: Any) -> dict[str, Any]:
        """Request one action and wait until it is Accepted; `fields` with value None are left out."""
        tx = transaction_id or new_transaction_id()
        payload: dict[str, Any] = {"eventId": event_id, "transactionId": tx}
        payload.update({k: v for k, v in fields.items() if v is not None})
        if self.user_type == "system" and self.location_id and "createdAtLocation" not in payload:
            payload["createdAtLocation"] = self.location_id
        document = dict(self.mutation(procedure, payload))
        return self._remember(self.settle(document, action_type, tx))

    def declare(self, event_id: str, declaration: Mapping[str, Any], *, transaction_id: str | None = None,
                annotation: Mapping[str, Any] | None = None, keep_assignment: bool | None = None) -> dict[str, Any]:
        """event.actions.declare.request (adds `validated` for REGISTRATION_AGENT, LOCAL_REGISTRAR,
        EMBASSY_OFFICIAL in farajaland)."""
        return self.action("event.actions.declare.request", "DECLARE", event_id, transaction_id=transaction_id,
                           declaration=dict(declaration), annotation=dict(annotation) if annotation else None,
                           keepAssignment=keep_assignment)

    def notify(self, event_id: str, declaration: Mapping[str, Any], *, transaction_id: str | None = None,
               annotation: Mapping[str, Any] | None = None, keep_assignment: bool | None = None) -> dict[str, Any]:
        """event.actions.notify.request: an incomplete declaration is allowed."""
        return self.action("event.actions.notify.request", "NOTIFY", event_id, transaction_id=transaction_id,
                           declaration=dict(declaration), annotation=dict(annotation) if annotation else None,
                           keepAssignment=keep_assignment)

    def validate(self, event_id: str, *, transaction_id: str | None = None,
                 keep_assignment: bool | None = None) -> dict[str, Any]:
        """event.actions.custom.request {customActionType: VALIDATE_DECLARATION}: adds the `validated` flag."""
        return self.action("event.actions.custom.request", "CUSTOM", event_id, transaction_id=transaction_id,
                           type="CUSTOM", customActionType=VALIDATE_DECLARATION, declaration={},
                           keepAssignment=keep_assignment)

    def register(self, event_id: str, declaration: Mapping[str, Any] | None = None, *,
                 transaction_id: str | None = None, annotation: Mapping[str, Any] | None = None,
                 keep_assignment: bool | None = None) -> dict[str, Any]:
        """event.actions.register.request: needs `validated`; assigns the registration number."""
        return self.action("event.actions.register.request", "REGISTER", event_id, transaction_id=transaction_id,
                           type="REGISTER", declaration=dict(declaration or {}),
                           annotation=dict(annotation) if annotation else None, keepAssignment=keep_assignment)

    def assign(self, event_id: str, assigned_to: str | None = None, *,
               transaction_id: str | None = None) -> dict[str, Any]:
        """event.actions.assignment.assign (to the caller by default)."""
        return self.action("event.actions.assignment.assign", "ASSIGN", event_id, transaction_id=transaction_id,
                           type="ASSIGN", assignedTo=assigned_to or self.subject)

    def unassign(self, event_id: str, *, transaction_id: str | None = None) -> dict[str, Any]:
        """event.actions.assignment.unassign."""
        return self.action("event.actions.assignment.unassign", "UNASSIGN", event_id,
                           transaction_id=transaction_id, type="UNASSIGN")

    def ensure_assigned(self, event_id: str, document: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """Assign the record to the caller unless the last document seen says it already is; returns the
        assign answer, or None when no call was needed."""
        known = dict(document) if document is not None else self.last_seen(event_id)
        if known is not None and assignee(known) == self.subject:
            return None
        return self.assign(event_id)

    def reject(self, event_id: str, reason: str, *, transaction_id: str | None = None,
               keep_assignment: bool | None = None) -> dict[str, Any]:
        """event.actions.reject.request with `content: {reason}`: sets the `rejected` flag."""
        return self.action("event.actions.reject.request", "REJECT", event_id, transaction_id=transaction_id,
                           content={"reason": reason}, keepAssignment=keep_assignment)

    def archive(self, event_id: str, reason: str = "Archived by the release gate", *,
                transaction_id: str | None = None) -> dict[str, Any]:
        """event.actions.archive.request with `content: {reason}`."""
        return self.action("event.actions.archive.request", "ARCHIVE", event_id, transaction_id=transaction_id,
                           content={"reason": reason})

    def print_certificate(self, event_id: str, *, transaction_id: str | None = None,
                          keep_assignment: bool | None = None) -> dict[str, Any]:
        """event.actions.printCertificate.request on a registered record (needs a fresh assign)."""
        return self.action("event.actions.printCertificate.request", "PRINT_CERTIFICATE", event_id,
                           transaction_id=transaction_id, keepAssignment=keep_assignment)

    def search(self, clauses: Sequence[Mapping[str, Any]], *, limit: int = 10, offset: int = 0,
               sort: Sequence[Mapping[str, str]] | None = None, combinator: str = "and",
               via: SearchVia = "trpc-post") -> dict[str, Any]:
        """event.search with `clauses` ANDed (or ORed); returns `{results, total}`."""
        payload: dict[str, Any] = {"query": {"type": combinator, "clauses": [dict(c) for c in clauses]},
                                   "limit": limit, "offset": offset}
        if sort:
            payload["sort"] = [dict(s) for s in sort]
        if via == "rest":
            body = self.rest("POST", "/events/events/search", name="event.search", json_body=payload)
        elif via == "trpc-get":
            body = self.query("event.search", payload)
        else:
            body = self.mutation("event.search", payload)
        if not isinstance(body, dict) or "results" not in body or "total" not in body:
            raise ProtocolError("event.search", 200, "answer has no results/total")
        return body

    # -- locations and files ----------------------------------------------------------------------
    def locations(self, location_type: str | None = None, *, is_active: bool | None = None,
                  external_id: str | None = None) -> list[dict[str, Any]]:
        """locations.list (packages/events/src/router/locations/index.ts)."""
        payload: dict[str, Any] = {}
        if location_type:
            payload["locationType"] = location_type
        if is_active is not None:
            payload["isActive"] = is_active
        if external_id:
            payload["externalId"] = external_id
        body = self.query("locations.list", payload)
        if not isinstance(body, list):
            raise ProtocolError("locations.list", 200, "answer is not a list of locations")
        return [dict(loc) for loc in body if isinstance(loc, Mapping)]

    def administrative_areas(self) -> list[dict[str, Any]]:
        """administrativeAreas.list (packages/events/src/router/administrative-areas/index.ts)."""
        body = self.query("administrativeAreas.list", {})
        if not isinstance(body, list):
            raise ProtocolError("administrativeAreas.list", 200, "answer is not a list of areas")
        return [dict(area) for area in body if isinstance(area, Mapping)]

    def upload(self, content: bytes, filename: str, content_type: str, *,
               transaction_id: str | None = None) -> dict[str, str]:
        """POST {gateway}/upload; returns the file value a declaration or annotation carries."""
        body, ctype = multipart({"transactionId": transaction_id or new_transaction_id()}, "file", filename,
                                content, content_type)
        resp = self.transport.request("POST", "/upload", name="upload", content=body,
                                      headers={**self._headers(), "Content-Type": ctype})
        if resp.status >= 400:
            raise wire.unwrap_rest("upload", resp.status, resp.text)
        path = resp.text.strip().strip('"')
        if not path:
            raise ProtocolError("upload", resp.status, "upload answered with no path")
        return {"path": path, "originalFilename": filename, "type": content_type}

    # -- REST -------------------------------------------------------------------------------------
    def rest_create_event(self, event_type: str, *, transaction_id: str | None = None,
                          location_id: str | None = None) -> dict[str, Any]:
        """POST {rest}/events/events."""
        payload: dict[str, Any] = {"type": event_type, "transactionId": transaction_id or new_transaction_id()}
        location = location_id or (self.location_id if self.user_type == "system" else None)
        if location:
            payload["createdAtLocation"] = location
        return self._remember(dict(self.rest("POST", "/events/events", name="rest.events.create",
                                             json_body=payload)))

    def rest_get_event(self, event_id: str) -> dict[str, Any]:
        """GET {rest}/events/events/{id} (writes a READ action, as event.get)."""
        return self._remember(dict(self.rest("GET", f"/events/events/{event_id}", name="rest.events.get")))

    def rest_notify(self, event_id: str, declaration: Mapping[str, Any], *, transaction_id: str | None = None,
                    annotation: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST {rest}/events/events/{id}/notify: an incomplete declaration is allowed."""
        tx = transaction_id or new_transaction_id()
        payload: dict[str, Any] = {"eventId": event_id, "transactionId": tx, "type": "NOTIFY",
                                   "declaration": dict(declaration), "annotation": dict(annotation or {})}
        if self.user_type == "system" and self.location_id:
            payload["createdAtLocation"] = self.location_id
        document = dict(self.rest("POST", f"/events/events/{event_id}/notify", name="rest.events.notify",
                                  json_body=payload))
        return self._remember(self.settle(document, "NOTIFY", tx))


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
