"""Record service: runs one API call as one transaction (domain rules + storage), synchronously."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from sandbox import storage
from sandbox.auth import Principal
from sandbox.domain import (
    ACTION_SCOPE,
    NAME_SEARCH_FIELDS,
    SUBJECT_DOB,
    ActionType,
    EventType,
    State,
    check_action,
    derive_state,
    flags_to_list,
    format_registration_number,
    has_scope,
    name_tokens,
    parse_event_type,
    tracking_id_from,
    validate_declaration,
)
from sandbox.errors import BadRequest, Forbidden, NotFound
from sandbox.faults import Faults
from sandbox.search import FuzzyCache, parse_search, run_search

# Actions whose input may carry declaration data; the rest ignore it.
DECLARING = {ActionType.NOTIFY: False, ActionType.DECLARE: True, ActionType.VALIDATE: True,
             ActionType.REGISTER: True}
NEW_RECORD_WINDOW = dt.timedelta(minutes=10)  # search-ignores-new-records hides records this young
_RACY_SLEEP = 0.2  # duplicate-registration-number: read, sleep, write, so concurrent calls collide


def now_iso(now: dt.datetime | None = None) -> str:
    """UTC time in the wire's ISO format with milliseconds."""
    now = now or dt.datetime.now(dt.UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _require_str(payload: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key}: expected a non-empty string", fields=[key])
    return value


def _optional_object(payload: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadRequest(f"{key}: expected an object", fields=[key])
    return dict(value)


def index_values(event_type: EventType, state: State) -> dict[str, Any]:
    """Denormalised search columns of the event row for a state."""
    return {
        "status": state.status.value, "flags": storage.dumps(flags_to_list(state.flags)),
        "assigned_to": state.assigned_to, "declaration": storage.dumps(state.declaration),
        "dob": state.declaration.get(SUBJECT_DOB[event_type]),
        "event_date": state.declaration.get("eventDetails.date") if event_type is EventType.DEATH else None,
        "declared_at": state.declared["createdAt"] if state.declared else None,
        "declared_location": state.declared["createdAtLocation"] if state.declared else None,
        "registered_at": state.registered["createdAt"] if state.registered else None,
        "registered_location": state.registered["createdAtLocation"] if state.registered else None,
        "registration_number": state.registered["registrationNumber"] if state.registered else None,
        "updated_at": state.updated_at,
    }


def name_index(declaration: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field id, token) pairs for the name index."""
    return [(field_id, token) for field_id in sorted(NAME_SEARCH_FIELDS) if field_id in declaration
            for token in name_tokens(declaration[field_id])]


def event_document(row: Mapping[str, Any], actions: list[dict[str, Any]]) -> dict[str, Any]:
    """The wire's EventDocument."""
    return {"id": row["id"], "type": row["type"], "trackingId": row["tracking_id"], "createdAt": row["created_at"],
            "updatedAt": row["updated_at"], "actions": actions}


class RecordService:
    """Every record operation the API exposes."""

    def __init__(self, store: storage.Store, faults: Faults) -> None:
        self.store = store
        self.faults = faults
        self._random = random.SystemRandom()
        self.fuzzy = FuzzyCache()

    # -------------------------------------------------------------------------------------- helpers
    def _require(self, principal: Principal, scope: str) -> None:
        if self.faults.has("skip-permission-check"):
            return
        if not has_scope(principal.scopes, scope):
            raise Forbidden(f"missing scope {scope}")

    def _replay(self) -> int:
        return secrets.randbits(40) + 1 if self.faults.has("no-idempotency") else 0

    def _strip_dropped(self, declaration: dict[str, Any]) -> dict[str, Any]:
        dropped = self.faults.dropped_fields
        return {k: v for k, v in declaration.items() if k not in dropped} if dropped else declaration

    def _load(self, conn: Connection, event_id: str,
              for_update: bool = False) -> tuple[Mapping[str, Any], list[dict[str, Any]]]:
        row = storage.load_event_row(conn, event_id, for_update=for_update)
        if row is None:
            raise NotFound(f"event {event_id} not found")
        return row, storage.load_actions(conn, event_id)

    def _new_tracking_id(self, conn: Connection, event_type: EventType) -> str:
        for _ in range(20):
            candidate = tracking_id_from(event_type, [self._random.randrange(32) for _ in range(6)])
            if not storage.tracking_id_taken(conn, candidate):
                return candidate
        raise RuntimeError("could not find a free tracking ID")

    # -------------------------------------------------------------------------------------- reads
    def get_event(self, principal: Principal, payload: Any) -> dict[str, Any]:
        """event.get: {eventId} (or a bare id string)."""
        self._require(principal, "record.read")
        event_id = payload if isinstance(payload, str) else None
        if event_id is None:
            if not isinstance(payload, Mapping):
                raise BadRequest("input: expected {eventId}", fields=["eventId"])
            event_id = _require_str(payload, "eventId")
        with self.store.read() as conn:
            row, actions = self._load(conn, str(event_id))
            return event_document(row, actions)

    def search(self, principal: Principal, payload: Any) -> dict[str, Any]:
        """event.search: {query, limit, offset, sort} -> {results, total}."""
        self._require(principal, "record.search")
        query = parse_search(payload)
        created_before = None
        if self.faults.has("search-ignores-new-records"):
            created_before = now_iso(dt.datetime.now(dt.UTC) - NEW_RECORD_WINDOW)
        with self.store.read() as conn:
            return run_search(conn, query, created_before, self.fuzzy.expand)

    # -------------------------------------------------------------------------------------- writes
    def create_event(self, principal: Principal, payload: Any) -> dict[str, Any]:
        """event.create: {transactionId, type, createdAtLocation?}."""
        self._require(principal, "record.create")
        if not isinstance(payload, Mapping):
            raise BadRequest("input: expected {transactionId, type, createdAtLocation}", fields=["input"])
        transaction_id = str(_require_str(payload, "transactionId"))
        event_type = parse_event_type(payload.get("type"))
        location = _require_str(payload, "createdAtLocation", required=False) or principal.office_id
        if location is None:
            raise BadRequest("createdAtLocation: required for system clients", fields=["createdAtLocation"])
        annotation = _optional_object(payload, "annotation")
        for attempt in range(5):
            try:
                return self._create(principal, transaction_id, event_type, location, annotation)
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _create(self, principal: Principal, transaction_id: str, event_type: EventType, location: str,
                annotation: dict[str, Any]) -> dict[str, Any]:
        replay = self._replay()
        with self.store.write() as conn:
            if not replay:
                existing = storage.find_created_event(conn, transaction_id, principal.id)
                if existing is not None:
                    row, actions = self._load(conn, existing)
                    return event_document(row, actions)
            event_id, now = str(uuid.uuid4()), now_iso()
            action = {"id": str(uuid.uuid4()), "type": ActionType.CREATE.value, "status": "Accepted",
                      "createdAt": now, "createdBy": principal.id, "createdByRole": principal.role,
                      "createdAtLocation": location, "transactionId": transaction_id, "declaration": {},
                      "annotation": annotation}
            state = derive_state(event_type, [action])
            row = {"id": event_id, "type": event_type.value, "tracking_id": self._new_tracking_id(conn, event_type),
                   "created_at": now, "created_by": principal.id, "created_by_role": principal.role,
                   "created_at_location": location, "create_transaction_id": transaction_id, "replay": replay,
                   **index_values(event_type, state)}
            storage.insert_event(conn, row)
            storage.insert_action(conn, self._action_row(event_id, 0, action, replay))
            storage.replace_flags(conn, event_id, state.flags)
            return event_document(row, [action])

    @staticmethod
    def _action_row(event_id: str, position: int, action: Mapping[str, Any], replay: int) -> dict[str, Any]:
        core = {"id", "type", "status", "createdAt", "createdBy", "createdByRole", "createdAtLocation",
                "transactionId"}
        payload = {k: v for k, v in action.items() if k not in core}
        return {"id": action["id"], "event_id": event_id, "position": position, "type": action["type"],
                "status": action["status"], "created_at": action["createdAt"], "created_by": action["createdBy"],
                "created_by_role": action["createdByRole"], "created_at_location": action["createdAtLocation"],
                "transaction_id": action["transactionId"], "replay": replay, "payload": storage.dumps(payload)}

    def apply_action(self, principal: Principal, action_type: ActionType, payload: Any,
                     event_id: str | None = None) -> dict[str, Any]:
        """event.actions.*: one action on one record; a repeated transactionId returns the stored result."""
        grew: list[bool] = []
        try:
            for attempt in range(3):
                try:
                    return self._apply_action(principal, action_type, payload, event_id, grew)
                except IntegrityError:
                    # A concurrent twin with the same transactionId won the unique key; the retry returns its result.
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")
        finally:
            if any(grew):
                self.fuzzy.vocabulary_grew()

    def _apply_action(self, principal: Principal, action_type: ActionType, payload: Any, event_id: str | None,
                      grew: list[bool]) -> dict[str, Any]:
        self._require(principal, ACTION_SCOPE[action_type])
        if not isinstance(payload, Mapping):
            raise BadRequest("input: expected {eventId, transactionId, ...}", fields=["input"])
        event_id = event_id or str(_require_str(payload, "eventId"))
        transaction_id = str(_require_str(payload, "transactionId"))
        declared_type = payload.get("type")
        if declared_type is not None and declared_type != action_type.value:
            raise BadRequest(f"type: expected {action_type.value}, got {declared_type!r}", fields=["type"])
        keep = payload.get("keepAssignment", False)
        if not isinstance(keep, bool):
            raise BadRequest("keepAssignment: expected true or false", fields=["keepAssignment"])
        annotation = _optional_object(payload, "annotation")
        declaration = _optional_object(payload, "declaration") if action_type in DECLARING else {}
        extra: dict[str, Any] = {}
        if action_type is ActionType.ASSIGN:
            extra["assignedTo"] = _require_str(payload, "assignedTo", required=False) or principal.id
        if action_type is ActionType.REJECT:
            reason = payload.get("reason")
            if not isinstance(reason, Mapping) or not isinstance(reason.get("message"), str):
                raise BadRequest("reason.message: expected a string", fields=["reason.message"])
            extra["reason"] = {"message": reason["message"]}
        racy_number: int | None = None
        if action_type is ActionType.REGISTER and self.faults.has("duplicate-registration-number"):
            with self.store.read() as conn:
                racy_number = storage.peek_registration_counter(conn) + 1
            time.sleep(_RACY_SLEEP)
        replay = self._replay()
        with self.store.write() as conn:
            row, actions = self._load(conn, event_id, for_update=True)
            if not replay and storage.find_action(conn, event_id, action_type.value, transaction_id):
                return event_document(row, actions)
            event_type = EventType(row["type"])
            state = derive_state(event_type, actions)
            if action_type in DECLARING:
                validate_declaration(event_type, declaration, merged_with=state.declaration, complete=False,
                                     today=dt.datetime.now(dt.UTC).date())
                declaration = self._strip_dropped(declaration)
                if DECLARING[action_type]:
                    merged = {**state.declaration, **declaration}
                    validate_declaration(event_type, {}, merged_with=merged, complete=True,
                                         today=dt.datetime.now(dt.UTC).date())
            provisional = State(status=state.status, flags=set(state.flags), assigned_to=state.assigned_to,
                                declaration={**state.declaration, **declaration})
            check_action(provisional, action_type, principal.id, event_type)
            now = now_iso()
            action: dict[str, Any] = {
                "id": str(uuid.uuid4()), "type": action_type.value, "status": "Accepted", "createdAt": now,
                "createdBy": principal.id, "createdByRole": principal.role,
                "createdAtLocation": principal.office_id or row["created_at_location"],
                "transactionId": transaction_id, "declaration": declaration, "annotation": annotation, **extra}
            if keep:
                action["keepAssignment"] = True
            if action_type is ActionType.REGISTER:
                if racy_number is not None:
                    storage.set_registration_counter(conn, racy_number)
                    action["registrationNumber"] = format_registration_number(racy_number)
                else:
                    number = format_registration_number(storage.allocate_registration_counter(conn))
                    storage.claim_registration_number(conn, number, event_id)
                    action["registrationNumber"] = number
            storage.insert_action(conn, self._action_row(event_id, len(actions), action, replay))
            actions.append(action)
            new_state = derive_state(event_type, actions)
            values = index_values(event_type, new_state)
            storage.update_event(conn, event_id, values)
            if set(new_state.flags) != set(state.flags):
                storage.replace_flags(conn, event_id, new_state.flags)
            if declaration:
                grew.append(storage.replace_name_parts(conn, event_id, name_index(new_state.declaration)))
            return event_document({**row, **values}, actions)
