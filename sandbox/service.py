"""Record service: one API call as one transaction, in the order OpenCRVS v2.0.0's middleware runs its checks.

For an action request (opencrvs-core packages/events/src/router/event/actions/index.ts `getDefaultActionProcedures`):
user-only procedure (403 for systems), scope (403; 404 when the scope's options exclude the record), strict input
(400), assignment (409; packages/events/src/router/middleware/authorization/index.ts `requireAssignment`), then the
transactionId replay, form validation (400; middleware/validate/index.ts), `createdAtLocation` (400), the
status/flag/conditional check (409; service/events/events.ts `throwConflictIfActionNotAllowed`), and finally the
Requested action, its Accepted twin and the UNASSIGN that a write action adds unless `keepAssignment`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from sandbox import forms, locations, storage
from sandbox.domain import (
    ACTION_SCOPES,
    CUSTOM_ACTIONS,
    NAME_SEARCH_FIELDS,
    SEARCH_SCOPE,
    SUBJECT_DOB,
    SYSTEM_ALLOWED,
    UNASSIGN_OTHERS_SCOPE,
    ActionStatus,
    ActionType,
    EventStatus,
    EventType,
    State,
    conflict_reason,
    derive_state,
    format_registration_number,
    has_scope,
    name_tokens,
    parse_event_type,
    tracking_id_from,
)
from sandbox.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InputInvalid,
    InternalError,
    NotFound,
    ValidationFailed,
)
from sandbox.faults import Faults
from sandbox.search import FuzzyCache, SearchQuery, parse_search, run_search

if TYPE_CHECKING:
    from sandbox.auth import Principal

NEW_RECORD_WINDOW = dt.timedelta(minutes=10)  # search-ignores-new-records hides records this young
_RACY_SLEEP = 0.2  # duplicate-registration-number: read, sleep, write, so concurrent calls collide
DOCUMENTS_BUCKET = "ocrvs"  # MINIO_BUCKET's default (core packages/documents/src/minio/constants.ts)
_MAX_UPLOAD_PATH = 200  # the upload table's path column
_KEEP = "_keepAssignment"  # kept on a Requested action (never served) so a late Accepted knows whether to unassign

# BaseActionInput (packages/commons/src/events/ActionInput.ts) and each action's own keys.
BASE_KEYS = frozenset({"eventId", "transactionId", "declaration", "annotation", "originalActionId", "keepAssignment",
                       "keepAssignmentIfAccepted", "keepAssignmentIfRejected", "waitFor", "createdAtLocation", "type"})
EXTRA_KEYS: dict[ActionType, frozenset[str]] = {
    ActionType.REGISTER: frozenset({"registrationNumber"}), ActionType.REJECT: frozenset({"content"}),
    ActionType.ARCHIVE: frozenset({"content"}), ActionType.PRINT_CERTIFICATE: frozenset({"content"}),
    ActionType.CUSTOM: frozenset({"customActionType"}), ActionType.ASSIGN: frozenset({"assignedTo"}),
    ActionType.UNASSIGN: frozenset({"assignedTo"}),
}
# Inputs parsed with .strict() (getDefaultActionProcedures, router/event/actions/index.ts). declare.ts, custom.ts
# and the assignment procedures parse their input without it, so zod strips an unknown key there.
STRICT = frozenset({ActionType.NOTIFY, ActionType.REGISTER, ActionType.REJECT, ActionType.ARCHIVE,
                    ActionType.PRINT_CERTIFICATE})
# Procedures without requireLocationForSystemUserAction (actions/declare.ts, actions/custom.ts): a user's
# createdAtLocation is not refused there, and buildAction (service/events/events.ts) stamps the user's office.
NO_LOCATION_CHECK = frozenset({ActionType.DECLARE, ActionType.CUSTOM})
DECLARATION_ACTIONS = frozenset({ActionType.DECLARE, ActionType.REGISTER})


def now_iso(now: dt.datetime | None = None) -> str:
    """UTC time in the wire's ISO format with milliseconds."""
    now = now or dt.datetime.now(dt.UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def document_path(path: str) -> str:
    """The bucket-relative path a file value names: fileExistsHandler (core packages/documents/src/features/
    uploadDocument/handler.ts) drops a leading `/` and the bucket name, so `/ocrvs/x.png` and `x.png` are one file."""
    path = path.removeprefix("/")
    return path.removeprefix(f"{DOCUMENTS_BUCKET}/")


def _zod(path: list[str | int], message: str, code: str = "invalid_type", **extra: Any) -> dict[str, Any]:
    return {"code": code, **extra, "path": path, "message": message}


def _input_error(*issues: dict[str, Any]) -> InputInvalid:
    """A tRPC input-parse failure: BAD_REQUEST carrying the zod issues."""
    return InputInvalid(issues)


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _string(payload: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _input_error(_zod([key], f"Invalid input: expected string, received {_kind(value)}"))
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "undefined"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "object")


def _object(payload: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _input_error(_zod([key], f"Invalid input: expected record, received {_kind(value)}"))
    return dict(value)


def _event_id(payload: Any) -> str:
    value = payload.get("eventId") if isinstance(payload, Mapping) else None
    if not _is_uuid(value):
        raise _input_error(_zod(["eventId"], "Invalid UUID", code="invalid_format", format="uuid"))
    return str(value)


def index_values(event_type: EventType, state: State) -> dict[str, Any]:
    """Denormalised search columns of the event row for a state."""
    declared = state.legal_statuses.get("DECLARED")
    registered = state.legal_statuses.get("REGISTERED")
    meta = {
        "createdByUserType": state.created.get("createdByUserType"),
        "legalStatuses": {k: v for k, v in state.legal_statuses.items() if v},
        "updatedBy": state.updated.get("createdBy"), "updatedAtLocation": state.updated.get("createdAtLocation"),
        "updatedByUserRole": state.updated.get("createdByRole"),
        "dateOfEvent": state.declaration.get(forms.DATE_OF_EVENT[event_type.value]),
        "placeOfEvent": state.declaration.get(forms.PLACE_OF_EVENT[event_type.value])
        or state.created.get("createdAtLocation"),
    }
    return {
        "status": state.status.value, "flags": storage.dumps(state.flags),
        "assigned_to": state.assigned_to, "declaration": storage.dumps(state.declaration),
        "dob": state.declaration.get(SUBJECT_DOB[event_type]),
        "event_date": state.declaration.get("eventDetails.date") if event_type is EventType.DEATH else None,
        "declared_at": declared["createdAt"] if declared else None,
        "declared_location": declared["createdAtLocation"] if declared else None,
        "registered_at": registered["createdAt"] if registered else None,
        "registered_location": registered["createdAtLocation"] if registered else None,
        "registration_number": state.registration_number,
        "updated_at": state.updated_at or state.created.get("createdAt"),
        "meta": storage.dumps({k: v for k, v in meta.items() if v is not None}),
        "pending_at": state.pending_since,
    }


def name_index(declaration: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field id, token) pairs for the name index."""
    return [(field_id, token) for field_id in sorted(NAME_SEARCH_FIELDS) if field_id in declaration
            for token in name_tokens(declaration[field_id])]


def _served(action: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in action.items() if not k.startswith("_")}


def event_document(row: Mapping[str, Any], actions: list[dict[str, Any]]) -> dict[str, Any]:
    """The wire's EventDocument (EventDocument.ts): no status; the history says it."""
    updated = max((a["createdAt"] for a in actions), default=row["created_at"])
    return {"id": row["id"], "type": row["type"], "trackingId": row["tracking_id"], "createdAt": row["created_at"],
            "updatedAt": updated, "actions": [_served(a) for a in actions]}


class RecordService:
    """Every record operation the API exposes.

    `async_confirm_s` > 0 answers a confirmable action with its Requested action only; the Accepted action is added
    on the first access after that many seconds (the country config answering 202 and confirming later).
    """

    def __init__(self, store: storage.Store, faults: Faults, *, async_confirm_s: float = 0.0) -> None:
        if async_confirm_s < 0:
            raise ValueError("async_confirm_s must be zero or more")
        self.store = store
        self.faults = faults
        self.async_confirm_s = async_confirm_s
        self._random = random.SystemRandom()
        self.fuzzy = FuzzyCache()
        #: Called once a write that added name tokens committed (the search workers' caches listen here).
        self.vocabulary_listeners: list[Callable[[], None]] = []
        self._local = threading.local()

    # -------------------------------------------------------------------------------------- helpers
    def _scope(self, principal: Principal, accepted: tuple[str, ...], **options: str | None) -> None:
        if self.faults.has("skip-permission-check"):
            return
        if not has_scope(principal.scopes, accepted):
            raise Forbidden("FORBIDDEN")
        if options and not has_scope(principal.scopes, accepted, **options):
            raise NotFound("Event not found")

    def _replay(self) -> int:
        return secrets.randbits(40) + 1 if self.faults.has("no-idempotency") else 0

    def _strip_dropped(self, declaration: dict[str, Any]) -> dict[str, Any]:
        dropped = self.faults.dropped_fields
        return {k: v for k, v in declaration.items() if k not in dropped} if dropped else declaration

    def _load(self, conn: Connection, event_id: str,
              for_update: bool = False) -> tuple[Mapping[str, Any], list[dict[str, Any]]]:
        row = storage.load_event_row(conn, event_id, for_update=for_update)
        if row is None:
            raise NotFound(f"Event not found with ID: {event_id}")
        return row, storage.load_actions(conn, event_id)

    def _new_tracking_id(self, conn: Connection) -> str:
        for _ in range(20):
            candidate = tracking_id_from([self._random.randrange(36) for _ in range(6)])
            if not storage.tracking_id_taken(conn, candidate):
                return candidate
        raise RuntimeError("could not find a free tracking ID")

    @staticmethod
    def _stamp(principal: Principal, location: str | None, **fields: Any) -> dict[str, Any]:
        """The who/when/where every action carries (events.ts `buildAction`)."""
        action: dict[str, Any] = {"id": str(uuid.uuid4()), "createdAt": now_iso(), "createdBy": principal.id,
                                  "createdByUserType": "system" if principal.is_system else "user",
                                  "createdAtLocation": location, **fields}
        if not principal.is_system and principal.role:
            action["createdByRole"] = principal.role
        return action

    def _confirm_due(self, conn: Connection, row: Mapping[str, Any], actions: list[dict[str, Any]]) -> bool:
        """Add the Accepted answer to a Requested action whose confirmation delay has passed; True if it did."""
        if self.faults.has("stuck-requested"):
            return False
        answered = {a.get("originalActionId") for a in actions if a.get("originalActionId")}
        due = now_iso(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.async_confirm_s))
        pending = [a for a in actions if a["status"] == ActionStatus.REQUESTED and a["id"] not in answered
                   and a["createdAt"] <= due]
        if not pending:
            return False
        event_type = EventType(row["type"])
        for request in pending:
            self._append_accepted(conn, row["id"], actions, request, replay=self._replay())
        self._write_state(conn, row["id"], event_type, actions, declaration_changed=True)
        return True

    def _append_accepted(self, conn: Connection, event_id: str, actions: list[dict[str, Any]],
                         request: Mapping[str, Any], number: str | None = None, replay: int = 0) -> None:
        """The Accepted twin of a Requested action, then the UNASSIGN a write action adds (events.ts `addAction`)."""
        accepted = {k: v for k, v in request.items()
                    if k not in ("id", "createdAt", "status", "declaration", "annotation", _KEEP)}
        accepted.update({"id": str(uuid.uuid4()), "createdAt": now_iso(), "status": ActionStatus.ACCEPTED.value,
                         "declaration": {}, "originalActionId": request["id"]})
        if request["type"] == ActionType.REGISTER:
            if number is None:
                number = format_registration_number(storage.allocate_registration_counter(conn))
                storage.claim_registration_number(conn, number, event_id)
            accepted["registrationNumber"] = number
        self._insert(conn, event_id, actions, accepted, replay)
        if request.get("createdByUserType") == "user" and not request.get(_KEEP):
            self._insert(conn, event_id, actions, {
                **{k: request[k] for k in ("createdBy", "createdByUserType", "createdAtLocation") if k in request},
                **({"createdByRole": request["createdByRole"]} if "createdByRole" in request else {}),
                "id": str(uuid.uuid4()), "type": ActionType.UNASSIGN.value, "status": ActionStatus.ACCEPTED.value,
                "createdAt": now_iso(), "transactionId": request["transactionId"], "declaration": {}}, replay)

    @staticmethod
    def _insert(conn: Connection, event_id: str, actions: list[dict[str, Any]], action: dict[str, Any],
                replay: int = 0) -> None:
        storage.insert_action(conn, storage.action_row(event_id, len(actions), action, replay))
        actions.append(action)

    def _write_state(self, conn: Connection, event_id: str, event_type: EventType, actions: list[dict[str, Any]],
                     *, declaration_changed: bool, previous: State | None = None) -> tuple[State, dict[str, Any]]:
        state = derive_state(event_type, actions)
        values = index_values(event_type, state)
        storage.update_event(conn, event_id, values)
        if previous is None or set(state.flags) != set(previous.flags):
            storage.replace_flags(conn, event_id, state.flags)
        # The name index holds only records a search may return (not CREATED: events.ts `isEventIndexable`).
        searchable = state.status != EventStatus.CREATED
        was_searchable = previous is not None and previous.status != EventStatus.CREATED
        names_changed = declaration_changed and (previous is None or state.declaration != previous.declaration)
        if names_changed or searchable != was_searchable:
            parts = name_index(state.declaration) if searchable else []
            self._grew.append(storage.replace_name_parts(conn, event_id, parts))
        return state, values

    @property
    def _grew(self) -> list[bool]:
        """Whether this thread's writes added name tokens (the fuzzy cache is reset once the write commits)."""
        grew: list[bool] | None = getattr(self._local, "grew", None)
        if grew is None:
            grew = []
            self._local.grew = grew
        return grew

    def _flush_vocabulary(self) -> None:
        grew = self._grew
        if any(grew):
            self.fuzzy.vocabulary_grew()
            for listener in self.vocabulary_listeners:
                listener()
        grew.clear()

    # -------------------------------------------------------------------------------------- reads
    def get_event(self, principal: Principal, payload: Any) -> dict[str, Any]:
        """event.get {eventId}: the EventDocument, after appending the READ action it writes every time."""
        event_id = payload if isinstance(payload, str) else _event_id(payload)
        if not _is_uuid(event_id):
            raise _input_error(_zod(["eventId"], "Invalid UUID", code="invalid_format", format="uuid"))
        self._scope(principal, ("record.read",))
        with self.store.read() as conn:
            row, actions = self._load(conn, event_id)
        self._scope(principal, ("record.read",), event_type=str(row["type"]))
        if self.async_confirm_s and row["pending_at"] is not None:
            with self.store.write() as conn:
                row, actions = self._load(conn, event_id, for_update=True)
                self._confirm_due(conn, row, actions)
            self._flush_vocabulary()
        read = self._stamp(principal, None if principal.is_system else principal.office_id,
                           type=ActionType.READ.value, status=ActionStatus.ACCEPTED.value,
                           transactionId=str(uuid.uuid4()), declaration={})
        with self.store.write() as conn:
            storage.insert_read(conn, event_id, read)
        return event_document(row, [*actions, read])

    def search(self, principal: Principal, payload: Any) -> dict[str, Any]:
        """event.search: {query, limit, offset, sort} -> {results, total}."""
        query, created_before = self.search_request(principal, payload)
        with self.store.read() as conn:
            return run_search(conn, query, created_before, self.fuzzy.expand)

    def search_request(self, principal: Principal, payload: Any) -> tuple[SearchQuery, str | None]:
        """Everything event.search does before it reads: the scope, the parsed query, due confirmations and the
        `search-ignores-new-records` bound; (query, created_before) for run_search here or in a search worker."""
        if not self.faults.has("skip-permission-check") and not has_scope(principal.scopes, (SEARCH_SCOPE,)):
            raise Forbidden("FORBIDDEN")
        query = parse_search(payload)
        if self.async_confirm_s:
            self.confirm_due_events()
        created_before = None
        if self.faults.has("search-ignores-new-records"):
            created_before = now_iso(dt.datetime.now(dt.UTC) - NEW_RECORD_WINDOW)
        return query, created_before

    def confirm_due_events(self) -> int:
        """Accept every Requested action whose delay has passed (search sees confirmed records); returns how many."""
        if self.faults.has("stuck-requested") or not self.async_confirm_s:
            return 0
        due = now_iso(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.async_confirm_s))
        with self.store.read() as conn:
            ids = storage.due_pending_events(conn, due)
        done = 0
        for event_id in ids:
            with self.store.write() as conn:
                row, actions = self._load(conn, event_id, for_update=True)
                done += self._confirm_due(conn, row, actions)
        self._flush_vocabulary()
        return done

    # -------------------------------------------------------------------------------------- upload
    def upload(self, principal: Principal, transaction_id: str, filename: str, content_type: str,
               data: bytes, directory: str = "") -> str:
        """POST /upload: store a file as `<transactionId>.<extension>` (under `directory` if given) and answer that path.

        core packages/documents/src/features/uploadDocument/handler.ts fileUploadHandler: the extension is what
        follows the file name's last dot, the path is relative to the bucket, and the same transactionId (and
        extension) names the same object, so a repeated upload answers the same path and replaces the file.
        """
        if not isinstance(transaction_id, str) or not transaction_id.strip():
            raise BadRequest("transactionId is required", fields=["transactionId"])
        if not filename or not isinstance(data, bytes | bytearray) or not data:
            raise BadRequest("file is required", fields=["file"])
        name = f"{transaction_id}.{filename.rsplit('.', 1)[-1]}"
        path = (directory if directory.endswith("/") else directory + "/") + name if directory else name
        if len(path) > _MAX_UPLOAD_PATH:
            raise BadRequest("Invalid payload", fields=["transactionId"])
        with self.store.write() as conn:
            storage.store_upload(conn, {"path": path, "transaction_id": transaction_id, "created_by": principal.id,
                                        "filename": filename[:255], "content_type": (content_type or "")[:100],
                                        "size": len(data), "created_at": now_iso(), "data": bytes(data)})
        return path

    def file_exists(self, path: str) -> bool:
        """Whether an uploaded file has this path."""
        with self.store.read() as conn:
            return storage.upload_exists(conn, document_path(path))

    # -------------------------------------------------------------------------------------- create
    def create_event(self, principal: Principal, payload: Any) -> dict[str, Any]:
        """event.create {transactionId, type, createdAtLocation?}: a user's new record is assigned to them."""
        if not self.faults.has("skip-permission-check") and not has_scope(principal.scopes, ("record.create",)):
            raise Forbidden("FORBIDDEN")
        if not isinstance(payload, Mapping):
            raise _input_error(_zod([], f"Invalid input: expected object, received {_kind(payload)}"))
        transaction_id = str(_string(payload, "transactionId"))
        kind = _string(payload, "type")
        location = payload.get("createdAtLocation")
        if location is not None and not _is_uuid(location):
            raise _input_error(_zod(["createdAtLocation"], "Invalid UUID", code="invalid_format", format="uuid"))
        location = self._check_location(principal, location)
        event_type = parse_event_type(kind)
        if not self.faults.has("skip-permission-check") and \
                not has_scope(principal.scopes, ("record.create",), event_type=event_type.value):
            raise Forbidden("FORBIDDEN")
        for attempt in range(5):
            try:
                return self._create(principal, transaction_id, event_type, location)
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _check_location(principal: Principal, location: Any) -> str | None:
        """requireCreatedAtLocationForSystemUser (middleware/validate/index.ts): systems name it, users may not."""
        if not principal.is_system:
            if location:
                raise BadRequest("createdAtLocation is not allowed for non-system users",
                                 fields=["createdAtLocation"])
            return principal.office_id
        if not location:
            raise BadRequest("createdAtLocation is required and must be a valid location id",
                             fields=["createdAtLocation"])
        if not locations.location_exists(location):
            raise BadRequest("createdAtLocation must be a valid location id", fields=["createdAtLocation"])
        return str(location)

    def _create(self, principal: Principal, transaction_id: str, event_type: EventType,
                location: str | None) -> dict[str, Any]:
        replay = self._replay()
        with self.store.write() as conn:
            if not replay:
                existing = storage.find_created_event(conn, transaction_id, principal.id)
                if existing is not None:
                    row, actions = self._load(conn, existing)
                    return event_document(row, actions)
            event_id = str(uuid.uuid4())
            create = self._stamp(principal, location, type=ActionType.CREATE.value,
                                 status=ActionStatus.ACCEPTED.value, transactionId=transaction_id, declaration={})
            history = [create]
            if not principal.is_system:  # eventsRepo.getOrCreateEventAndAssign
                history.append(self._stamp(principal, location, type=ActionType.ASSIGN.value,
                                           status=ActionStatus.ACCEPTED.value, transactionId=transaction_id,
                                           declaration={}, assignedTo=principal.id))
            state = derive_state(event_type, history)
            row = {"id": event_id, "type": event_type.value, "tracking_id": self._new_tracking_id(conn),
                   "created_at": create["createdAt"], "created_by": principal.id,
                   "created_by_role": create.get("createdByRole"), "created_at_location": location,
                   "create_transaction_id": transaction_id, "replay": replay, **index_values(event_type, state)}
            storage.insert_event(conn, row)
            for position, action in enumerate(history):
                storage.insert_action(conn, storage.action_row(event_id, position, action, replay))
            storage.replace_flags(conn, event_id, state.flags)
            return event_document(row, history)

    def create_and_notify(self, principal: Principal, payload: Any) -> dict[str, Any]:
        """event.actions.createAndNotify.request (REST `POST /events/notify`, system clients only): create a record
        and NOTIFY it in one call (core packages/events/src/router/event/actions/createAndNotify.ts).

        Its input is NotifyActionInput without `eventId` and `type`, plus `eventType` and a required
        `createdAtLocation`, parsed without `.strict()`. As there, the create step has its own idempotency key
        `<transactionId>:create` and runs before the notify, so a replay finds the record and its NOTIFY and
        answers the record as it is.
        """
        if not principal.is_system:
            raise Forbidden("FORBIDDEN")  # systemOnlyProcedure (router/trpc.ts)
        if not isinstance(payload, Mapping):
            raise _input_error(_zod([], f"Invalid input: expected object, received {_kind(payload)}"))
        transaction_id = str(_string(payload, "transactionId"))
        kind = str(_string(payload, "eventType"))
        location = payload.get("createdAtLocation")
        if not _is_uuid(location):
            raise _input_error(_zod(["createdAtLocation"], "Invalid UUID", code="invalid_format", format="uuid"))
        notify = {"eventId": "", "transactionId": transaction_id, "type": ActionType.NOTIFY.value,
                  "createdAtLocation": location, "waitFor": True,
                  **{k: payload[k] for k in ("declaration", "annotation", "keepAssignment") if k in payload}}
        self._parse_input(ActionType.NOTIFY, notify)  # the rest of the input schema, before the handler's checks
        try:
            event_type = EventType(kind)
        except ValueError:
            raise BadRequest(f"No configuration found for event type: {kind}", fields=["eventType"]) from None
        if not self.faults.has("skip-permission-check") and not (
                has_scope(principal.scopes, ("record.create",), event_type=event_type.value)
                and has_scope(principal.scopes, ACTION_SCOPES[ActionType.NOTIFY] or (), event_type=event_type.value)):
            raise Forbidden("FORBIDDEN")
        if not locations.location_exists(location):
            raise BadRequest("createdAtLocation must be a valid location id", fields=["createdAtLocation"])
        created = self.create_event(principal, {"type": event_type.value, "transactionId": f"{transaction_id}:create",
                                                "createdAtLocation": location})
        return self.apply_action(principal, ActionType.NOTIFY, notify, event_id=str(created["id"]))

    # -------------------------------------------------------------------------------------- actions
    def custom_action(self, principal: Principal, payload: Any) -> dict[str, Any]:
        """event.actions.custom.request {eventId, transactionId, customActionType, annotation?, keepAssignment?}."""
        return self.apply_action(principal, ActionType.CUSTOM, payload)

    def apply_action(self, principal: Principal, action_type: ActionType, payload: Any,
                     event_id: str | None = None) -> dict[str, Any]:
        """event.actions.*: one action on one record; a repeated transactionId returns the record as it is."""
        if event_id is not None and isinstance(payload, Mapping):
            payload = {**payload, "eventId": event_id}
        try:
            for attempt in range(3):
                try:
                    return self._apply_action(principal, action_type, payload)
                except IntegrityError:
                    # A concurrent twin with the same transactionId won the unique key; the retry returns its result.
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")
        finally:
            self._flush_vocabulary()

    def _authorise(self, principal: Principal, action_type: ActionType, payload: Any) -> str:
        """userOnlyProcedure, then canAccessEventWithScopes: 403 without the scope, 404 if it excludes the record."""
        if principal.is_system and action_type not in SYSTEM_ALLOWED:
            raise Forbidden("System user can not perform this action")  # userOnlyProcedure
        accepted = ACTION_SCOPES[action_type]
        if accepted is not None:
            self._scope(principal, accepted)
        event_id = _event_id(payload)
        with self.store.read() as conn:
            row = storage.load_event_row(conn, event_id)
        if row is None:
            raise NotFound(f"Event not found with ID: {event_id}")
        if accepted is not None:
            custom = payload.get("customActionType") if action_type is ActionType.CUSTOM else None
            self._scope(principal, accepted, event_type=str(row["type"]),
                        custom_action=str(custom) if custom is not None else None)
        return event_id

    def _parse_input(self, action_type: ActionType, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The action's input schema: unknown keys, types, and the per-action content."""
        allowed = BASE_KEYS | EXTRA_KEYS.get(action_type, frozenset())
        unknown = sorted(set(payload) - allowed)
        if unknown and action_type in STRICT:
            raise _input_error(_zod([], f"Unrecognized key{'s' if len(unknown) > 1 else ''}: "
                                    f"{', '.join(json.dumps(k) for k in unknown)}", code="unrecognized_keys",
                                    keys=unknown))
        declared_type = payload.get("type")
        if action_type is ActionType.ASSIGN and declared_type is None:
            raise _input_error(_zod(["type"], 'Invalid input: expected "ASSIGN"', code="invalid_value",
                                    values=["ASSIGN"]))
        if declared_type is not None and declared_type != action_type.value:
            raise _input_error(_zod(["type"], f'Invalid input: expected "{action_type.value}"', code="invalid_value",
                                    values=[action_type.value]))
        parsed: dict[str, Any] = {"transactionId": _string(payload, "transactionId"),
                                  "declaration": _object(payload, "declaration"),
                                  "annotation": _object(payload, "annotation")}
        for key in ("keepAssignment", "keepAssignmentIfAccepted", "keepAssignmentIfRejected", "waitFor"):
            value = payload.get(key)
            if value is not None and not isinstance(value, bool):
                raise _input_error(_zod([key], f"Invalid input: expected boolean, received {_kind(value)}"))
            parsed[key] = value
        location = payload.get("createdAtLocation")
        if location is not None and not _is_uuid(location):
            raise _input_error(_zod(["createdAtLocation"], "Invalid UUID", code="invalid_format", format="uuid"))
        parsed["createdAtLocation"] = location
        if action_type in (ActionType.REJECT, ActionType.ARCHIVE):
            parsed["content"] = self._reason(payload.get("content"))
        elif action_type is ActionType.PRINT_CERTIFICATE and payload.get("content") is not None:
            content = payload["content"]
            if not isinstance(content, Mapping) or not isinstance(content.get("templateId", ""), str):
                raise _input_error(_zod(["content"], "Invalid input: expected object"))
            parsed["content"] = {k: v for k, v in content.items() if k == "templateId"}
        elif action_type is ActionType.CUSTOM:
            parsed["customActionType"] = _string(payload, "customActionType")
        elif action_type is ActionType.ASSIGN:
            parsed["assignedTo"] = _string(payload, "assignedTo")
        elif action_type is ActionType.REGISTER:
            parsed["registrationNumber"] = _string(payload, "registrationNumber", required=False)
        return parsed

    @staticmethod
    def _reason(content: Any) -> dict[str, str]:
        """ReasonContent: {reason: string, min length 1}."""
        if not isinstance(content, Mapping):
            raise _input_error(_zod(["content"], f"Invalid input: expected object, received {_kind(content)}"))
        reason = content.get("reason")
        if not isinstance(reason, str):
            raise _input_error(_zod(["content", "reason"], f"Invalid input: expected string, received "
                                    f"{_kind(reason)}"))
        if not reason:
            raise _input_error(_zod(["content", "reason"], "Message cannot be empty", code="too_small",
                                    minimum=1, origin="string"))
        return {"reason": reason}

    def _apply_action(self, principal: Principal, action_type: ActionType, payload: Any) -> dict[str, Any]:
        event_id = self._authorise(principal, action_type, payload)
        if not isinstance(payload, Mapping):  # _event_id has refused anything else already
            raise _input_error(_zod([], "Invalid input: expected object"))
        parsed = self._parse_input(action_type, payload)
        if action_type in (ActionType.ASSIGN, ActionType.UNASSIGN):
            return self._assignment(principal, action_type, event_id, parsed)
        racy_number: int | None = None
        if action_type is ActionType.REGISTER and self.faults.has("duplicate-registration-number") and \
                not self.async_confirm_s and not self.faults.has("stuck-requested"):
            with self.store.read() as conn:
                racy_number = storage.peek_registration_counter(conn) + 1
            time.sleep(_RACY_SLEEP)
        replay = self._replay()
        with self.store.write() as conn:
            row, actions = self._load(conn, event_id, for_update=True)
            event_type = EventType(row["type"])
            if self.async_confirm_s and row["pending_at"] is not None:
                self._confirm_due(conn, row, actions)
            state = derive_state(event_type, actions)
            self._require_assignment(principal, state)
            if not replay and any(a["transactionId"] == parsed["transactionId"] and a["type"] == action_type.value
                                  for a in actions):
                return event_document(row, actions)
            declaration = self._validate(principal, event_type, action_type, state, parsed, conn)
            if action_type in NO_LOCATION_CHECK and not principal.is_system:
                location = principal.office_id
            else:
                location = self._check_location(principal, parsed["createdAtLocation"])
            custom = parsed.get("customActionType")
            if action_type is ActionType.CUSTOM and custom not in CUSTOM_ACTIONS[event_type]:
                raise BadRequest(f"Custom action configuration not found with name: {custom}",
                                 fields=["customActionType"])
            reason = conflict_reason(event_type, state, action_type, custom)
            if reason:
                raise Conflict(reason)
            keep = parsed["keepAssignmentIfAccepted"] if parsed["keepAssignmentIfAccepted"] is not None \
                else bool(parsed["keepAssignment"])
            request = self._stamp(principal, location, type=action_type.value,
                                  status=ActionStatus.REQUESTED.value, transactionId=parsed["transactionId"],
                                  declaration=self._strip_dropped(declaration), annotation=parsed["annotation"])
            for key in ("content", "customActionType"):
                if parsed.get(key) is not None:
                    request[key] = parsed[key]
            if keep:
                request[_KEEP] = True
            self._insert(conn, event_id, actions, request, replay)
            if not self.async_confirm_s and not self.faults.has("stuck-requested"):
                number = None
                if racy_number is not None:
                    storage.set_registration_counter(conn, racy_number)
                    number = format_registration_number(racy_number)
                self._append_accepted(conn, event_id, actions, request, number, replay)
            _, values = self._write_state(conn, event_id, event_type, actions,
                                          declaration_changed=bool(declaration), previous=state)
            return event_document({**row, **values}, actions)

    @staticmethod
    def _require_assignment(principal: Principal, state: State) -> None:
        """requireAssignment: users must hold the assignment; systems may act only on unassigned records."""
        if principal.is_system:
            if state.assigned_to:
                raise Conflict("System user can not perform action on assigned event")
        elif state.assigned_to != principal.id:
            raise Conflict("You are not assigned to this event")

    def _validate(self, principal: Principal, event_type: EventType, action_type: ActionType, state: State,
                  parsed: Mapping[str, Any], conn: Connection) -> dict[str, Any]:
        """validateAction: the form rules for the action's declaration and annotation; returns the declaration."""
        form = forms.FORMS[event_type.value]
        ctx = forms.Context(role=None if principal.is_system else principal.role,
                            today=dt.datetime.now(dt.UTC).date())
        declaration: dict[str, Any] = parsed["declaration"]
        annotation: dict[str, Any] = parsed["annotation"]
        if action_type is ActionType.NOTIFY:
            issues = forms.notify_issues(form, declaration, annotation, ctx)
        elif action_type in DECLARATION_ACTIONS:
            merged = {k: v for k, v in {**state.declaration, **declaration}.items() if v is not None}
            for key in merged:
                if form.field(key) is None:  # getDeclarationFieldById throws a plain Error: tRPC answers 500
                    raise InternalError(f"Field with id {key} not found in event config", fields=[key])
            issues = forms.declaration_issues(form, merged, declaration, ctx)
            if not issues and action_type is ActionType.DECLARE:
                issues = forms.review_issues(form, annotation, ctx)
        else:
            if declaration:
                issues = [{"message": forms.UNEXPECTED, "id": key, "value": value}
                          for key, value in declaration.items()]
            else:
                issues = []
        if issues:
            raise ValidationFailed(issues)
        # addAction refuses a file value whose path was never uploaded ("File not found: <path>").
        values = [*declaration.values(), *(annotation.values() if action_type is ActionType.DECLARE else ())]
        for path in (p for value in values for p in forms.file_paths(value)):
            if not storage.upload_exists(conn, document_path(path)):
                raise BadRequest(f"File not found: {path}", fields=[path])
        return declaration

    def _assignment(self, principal: Principal, action_type: ActionType, event_id: str,
                    parsed: Mapping[str, Any]) -> dict[str, Any]:
        """event.actions.assignment.assign / unassign (service/events/actions/assign.ts, unassign.ts)."""
        with self.store.write() as conn:
            row, actions = self._load(conn, event_id, for_update=True)
            event_type = EventType(row["type"])
            state = derive_state(event_type, actions)
            if action_type is ActionType.ASSIGN:
                if state.assigned_to is not None:
                    if state.assigned_to == parsed["assignedTo"]:
                        return event_document(row, actions)
                    raise Conflict("CONFLICT")
                action = self._stamp(principal, principal.office_id, type=ActionType.ASSIGN.value,
                                     status=ActionStatus.ACCEPTED.value, transactionId=parsed["transactionId"],
                                     declaration={}, assignedTo=principal.id)
            else:
                if state.assigned_to is None:
                    return event_document(row, actions)
                if state.assigned_to != principal.id and not self.faults.has("skip-permission-check") and \
                        not has_scope(principal.scopes, (UNASSIGN_OTHERS_SCOPE,)):
                    raise Forbidden("FORBIDDEN")
                action = self._stamp(principal, principal.office_id, type=ActionType.UNASSIGN.value,
                                     status=ActionStatus.ACCEPTED.value, transactionId=parsed["transactionId"],
                                     declaration={})
            self._insert(conn, event_id, actions, action)
            _, values = self._write_state(conn, event_id, event_type, actions, declaration_changed=False,
                                          previous=state)
            return event_document({**row, **values}, actions)
