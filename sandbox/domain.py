"""The CRVS domain: statuses, flags, action rules, declaration validation and derived state (pure, no I/O)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.errors import BadRequest, Conflict


class EventType(StrEnum):
    """Kinds of vital event the sandbox registers."""

    BIRTH = "birth"
    DEATH = "death"


class EventStatus(StrEnum):
    """Statuses of a record, derived from its actions (as OpenCRVS v2 does)."""

    CREATED = "CREATED"
    NOTIFIED = "NOTIFIED"
    DECLARED = "DECLARED"
    REGISTERED = "REGISTERED"
    ARCHIVED = "ARCHIVED"


class ActionType(StrEnum):
    """Actions recorded in a record's history."""

    CREATE = "CREATE"
    ASSIGN = "ASSIGN"
    UNASSIGN = "UNASSIGN"
    NOTIFY = "NOTIFY"
    DECLARE = "DECLARE"
    VALIDATE = "VALIDATE"
    REGISTER = "REGISTER"
    REJECT = "REJECT"
    ARCHIVE = "ARCHIVE"
    PRINT_CERTIFICATE = "PRINT_CERTIFICATE"


class Flag(StrEnum):
    """Flags: states that sit beside the status rather than replacing it."""

    REJECTED = "rejected"
    INCOMPLETE = "incomplete"
    CERTIFICATE_PRINTED = "certificate-printed"
    POTENTIAL_DUPLICATE = "potential-duplicate"
    CORRECTION_REQUESTED = "correction-requested"
    TEST_DATA = "test-data"


TEST_DATA_ANNOTATION = ("test-data", "crvs-release")

# Field kinds drive validation and indexing.
NAME, DATE, GENDER, TEXT, NUMBER = "name", "date", "gender", "text", "number"
GENDERS = frozenset({"male", "female", "unknown"})

FIELDS: dict[EventType, dict[str, str]] = {
    EventType.BIRTH: {
        "child.name": NAME, "child.gender": GENDER, "child.dob": DATE, "child.placeOfBirth": TEXT,
        "child.weightAtBirth": NUMBER,
        "mother.name": NAME, "mother.dob": DATE, "mother.nationality": TEXT, "mother.idType": TEXT,
        "mother.nid": TEXT,
        "informant.relation": TEXT, "informant.phoneNo": TEXT, "informant.email": TEXT,
        "father.name": NAME, "father.dob": DATE,
    },
    EventType.DEATH: {
        "deceased.name": NAME, "deceased.gender": GENDER, "deceased.dob": DATE, "deceased.nationality": TEXT,
        "deceased.idType": TEXT, "deceased.nid": TEXT,
        "eventDetails.date": DATE, "eventDetails.causeOfDeath": TEXT, "eventDetails.placeOfDeath": TEXT,
        "informant.relation": TEXT, "informant.name": NAME, "informant.phoneNo": TEXT, "informant.email": TEXT,
        "spouse.name": NAME,
    },
}

REQUIRED: dict[EventType, tuple[str, ...]] = {
    EventType.BIRTH: ("child.name", "child.gender", "child.dob", "mother.name", "informant.relation"),
    EventType.DEATH: ("deceased.name", "deceased.gender", "deceased.dob", "eventDetails.date", "informant.relation"),
}

# The subject's date of birth, indexed on the event row for DOB search.
SUBJECT_DOB: dict[EventType, str] = {EventType.BIRTH: "child.dob", EventType.DEATH: "deceased.dob"}
DATE_SEARCH_FIELDS: dict[str, tuple[EventType, str]] = {
    "child.dob": (EventType.BIRTH, "dob"),
    "deceased.dob": (EventType.DEATH, "dob"),
    "eventDetails.date": (EventType.DEATH, "event_date"),
}
NAME_SEARCH_FIELDS = frozenset({"child.name", "mother.name", "father.name", "deceased.name", "informant.name",
                                "spouse.name"})

ROLE_FIELD_AGENT, ROLE_REGISTRATION_AGENT, ROLE_LOCAL_REGISTRAR = "FIELD_AGENT", "REGISTRATION_AGENT", "LOCAL_REGISTRAR"

SCOPES: tuple[str, ...] = (
    "record.create", "record.read", "record.search", "record.notify", "record.declare", "record.validate",
    "record.reject", "record.archive", "record.assign", "record.register", "record.print-certificate",
)
_FIELD_AGENT_SCOPES = ("record.create", "record.read", "record.search", "record.notify", "record.declare")
_REG_AGENT_SCOPES = (*_FIELD_AGENT_SCOPES, "record.validate", "record.reject", "record.archive", "record.assign")
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    ROLE_FIELD_AGENT: _FIELD_AGENT_SCOPES,
    ROLE_REGISTRATION_AGENT: _REG_AGENT_SCOPES,
    ROLE_LOCAL_REGISTRAR: (*_REG_AGENT_SCOPES, "record.register", "record.print-certificate"),
}

ACTION_SCOPE: dict[ActionType, str] = {
    ActionType.CREATE: "record.create", ActionType.NOTIFY: "record.notify", ActionType.DECLARE: "record.declare",
    ActionType.VALIDATE: "record.validate", ActionType.REGISTER: "record.register",
    ActionType.REJECT: "record.reject", ActionType.ARCHIVE: "record.archive", ActionType.ASSIGN: "record.assign",
    ActionType.UNASSIGN: "record.assign", ActionType.PRINT_CERTIFICATE: "record.print-certificate",
}

_ALLOWED: dict[EventStatus, frozenset[ActionType]] = {
    EventStatus.CREATED: frozenset({ActionType.NOTIFY, ActionType.DECLARE, ActionType.ARCHIVE}),
    EventStatus.NOTIFIED: frozenset({ActionType.DECLARE, ActionType.VALIDATE, ActionType.REGISTER,
                                     ActionType.REJECT, ActionType.ARCHIVE}),
    EventStatus.DECLARED: frozenset({ActionType.VALIDATE, ActionType.REGISTER, ActionType.REJECT,
                                     ActionType.ARCHIVE}),
    EventStatus.REGISTERED: frozenset({ActionType.PRINT_CERTIFICATE, ActionType.ARCHIVE}),
    EventStatus.ARCHIVED: frozenset(),
}


def status_allows(status: EventStatus, action: ActionType, flags: Iterable[str] = ()) -> bool:
    """Whether `action` may be applied to a record in `status` (assignment is always allowed unless archived)."""
    if action in (ActionType.ASSIGN, ActionType.UNASSIGN):
        return status is not EventStatus.ARCHIVED
    if action is ActionType.DECLARE and status is EventStatus.DECLARED and Flag.REJECTED in set(flags):
        return True  # a rejected declaration is sent back to be declared again
    return action in _ALLOWED[status]


def has_scope(scopes: Iterable[str], needed: str) -> bool:
    """Whether a token's scopes grant `needed` (a scope may carry OpenCRVS-style `&event=` qualifiers)."""
    return any(s == needed or s.split("&", 1)[0].split("[", 1)[0] == needed for s in scopes)


# ---------------------------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class FieldError:
    """One invalid declaration field."""

    field: str
    message: str


def parse_event_type(value: Any, field_name: str = "type") -> EventType:
    """An event type from input, or BadRequest naming the field."""
    try:
        return EventType(value)
    except (ValueError, TypeError):
        raise BadRequest(f"{field_name}: unknown event type {value!r}; expected birth or death",
                         fields=[field_name]) from None


def parse_date(value: Any) -> dt.date | None:
    """A real calendar date from 'YYYY-MM-DD', else None."""
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _check_value(field_id: str, kind: str, value: Any, today: dt.date) -> str | None:
    if kind == NAME:
        if not isinstance(value, Mapping) or not value:
            return "must be an object with firstname and surname"
        for key, part in value.items():
            if key not in ("firstname", "surname", "middlename") or not isinstance(part, str):
                return "must be an object of strings (firstname, surname)"
        if not any(str(v).strip() for v in value.values()):
            return "must not be empty"
        return None
    if kind == DATE:
        parsed = parse_date(value)
        if parsed is None:
            return f"{value!r} is not a real date (YYYY-MM-DD)"
        if parsed > today:
            return f"{value} is in the future"
        return None
    if kind == GENDER:
        return None if value in GENDERS else f"must be one of {', '.join(sorted(GENDERS))}"
    if kind == NUMBER:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "must be a number"
    return None if isinstance(value, str) else "must be a string"


def validate_declaration(event_type: EventType, declaration: Any, *, merged_with: Mapping[str, Any] | None = None,
                         complete: bool, today: dt.date) -> dict[str, Any]:
    """Check a declaration for one event type; returns it, or raises BadRequest naming every bad field."""
    if declaration is None:
        declaration = {}
    if not isinstance(declaration, Mapping):
        raise BadRequest("declaration: must be an object of field id to value", fields=["declaration"])
    fields = FIELDS[event_type]
    errors: list[FieldError] = []
    for field_id, value in declaration.items():
        kind = fields.get(field_id)
        if kind is None:
            errors.append(FieldError(field_id, f"unknown field for {event_type.value}"))
            continue
        if value is None:
            continue
        problem = _check_value(field_id, kind, value, today)
        if problem:
            errors.append(FieldError(field_id, problem))
    merged = {**(merged_with or {}), **{k: v for k, v in declaration.items() if v is not None}}
    if complete:
        for field_id in REQUIRED[event_type]:
            if _is_blank(merged.get(field_id)) and not any(e.field == field_id for e in errors):
                errors.append(FieldError(field_id, "is required"))
    if event_type is EventType.DEATH and not errors:
        born, died = parse_date(merged.get("deceased.dob")), parse_date(merged.get("eventDetails.date"))
        if born and died and died < born:
            errors.append(FieldError("eventDetails.date", "date of death is before the date of birth"))
    if errors:
        raise BadRequest("; ".join(f"{e.field}: {e.message}" for e in errors), fields=[e.field for e in errors])
    return dict(declaration)


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping):
        return not any(str(v).strip() for v in value.values() if v is not None)
    return False


def missing_required(event_type: EventType, declaration: Mapping[str, Any]) -> list[str]:
    """Required field ids absent from a (merged) declaration."""
    return [f for f in REQUIRED[event_type] if _is_blank(declaration.get(f))]


# ---------------------------------------------------------------------------------------------- names


def normalise_token(text: str) -> str:
    """Case- and accent-insensitive form of one name part."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def name_tokens(value: Any) -> list[str]:
    """Searchable tokens of a name value ({firstname, surname}) or a free-text query."""
    if isinstance(value, Mapping):
        text = " ".join(str(v) for v in value.values() if isinstance(v, str))
    elif isinstance(value, str):
        text = value
    else:
        return []
    out: list[str] = []
    for raw in text.replace("-", " ").replace("'", " ").split():
        token = normalise_token(raw)
        if token and token not in out:
            out.append(token)
    return out


def deletion_variants(token: str) -> set[str]:
    """The token and every string made by deleting one character (SymSpell distance 1)."""
    variants = {token}
    if len(token) > 1:
        variants.update(token[:i] + token[i + 1:] for i in range(len(token)))
    return variants


# Tokens this short are matched exactly even in fuzzy search: one edit would match most short names.
FUZZY_MIN_LENGTH = 3


# ---------------------------------------------------------------------------------------------- state


@dataclass
class State:
    """What the action history says a record is now."""

    status: EventStatus = EventStatus.CREATED
    flags: set[str] = field(default_factory=set)
    assigned_to: str | None = None
    declaration: dict[str, Any] = field(default_factory=dict)
    declared: dict[str, Any] | None = None
    registered: dict[str, Any] | None = None
    updated_at: str = ""


def derive_state(event_type: EventType, actions: Sequence[Mapping[str, Any]]) -> State:
    """Fold an action history (oldest first; dicts with type, createdAt, ...) into the current state."""
    state = State()
    for action in actions:
        kind = ActionType(action["type"])
        state.updated_at = action["createdAt"]
        declaration = action.get("declaration") or {}
        annotation = action.get("annotation") or {}
        if declaration:
            state.declaration.update({k: v for k, v in declaration.items() if v is not None})
        if kind in (ActionType.CREATE, ActionType.NOTIFY, ActionType.DECLARE) and \
                annotation.get(TEST_DATA_ANNOTATION[0]) == TEST_DATA_ANNOTATION[1]:
            state.flags.add(Flag.TEST_DATA)
        where = {"createdAt": action["createdAt"], "createdAtLocation": action.get("createdAtLocation")}
        if kind is ActionType.ASSIGN:
            state.assigned_to = action.get("assignedTo")
            continue
        if kind is ActionType.UNASSIGN:
            state.assigned_to = None
            continue
        if kind is ActionType.NOTIFY:
            state.status = EventStatus.NOTIFIED
            if missing_required(event_type, state.declaration):
                state.flags.add(Flag.INCOMPLETE)
        elif kind is ActionType.DECLARE:
            state.status = EventStatus.DECLARED
            state.declared = where
            state.flags.discard(Flag.INCOMPLETE)
            state.flags.discard(Flag.REJECTED)
        elif kind is ActionType.VALIDATE:
            state.flags.discard(Flag.REJECTED)
            if state.status is EventStatus.NOTIFIED and not missing_required(event_type, state.declaration):
                state.status = EventStatus.DECLARED
                state.flags.discard(Flag.INCOMPLETE)
        elif kind is ActionType.REGISTER:
            state.status = EventStatus.REGISTERED
            state.registered = {**where, "registrationNumber": action.get("registrationNumber")}
            state.flags.discard(Flag.REJECTED)
            state.flags.discard(Flag.INCOMPLETE)
        elif kind is ActionType.REJECT:
            state.flags.add(Flag.REJECTED)
        elif kind is ActionType.ARCHIVE:
            state.status = EventStatus.ARCHIVED
        elif kind is ActionType.PRINT_CERTIFICATE:
            state.flags.add(Flag.CERTIFICATE_PRINTED)
        if kind is not ActionType.CREATE and not action.get("keepAssignment"):
            state.assigned_to = None  # OpenCRVS releases the assignment once an action is done
    return state


def check_action(state: State, action: ActionType, actor_id: str, event_type: EventType) -> None:
    """Raise Conflict if `action` by `actor_id` is not allowed on a record in `state`."""
    if not status_allows(state.status, action, state.flags):
        raise Conflict(f"action {action.value} is not allowed on a record with status {state.status.value}")
    if action is ActionType.UNASSIGN:
        return
    if action is ActionType.ASSIGN:
        if state.assigned_to and state.assigned_to != actor_id:
            raise Conflict(f"record is already assigned to {state.assigned_to}")
        return
    if state.assigned_to and state.assigned_to != actor_id:
        raise Conflict(f"record is assigned to {state.assigned_to}")
    if action is ActionType.REGISTER:
        missing = missing_required(event_type, state.declaration)
        if missing:
            raise BadRequest(f"cannot register an incomplete record: {', '.join(missing)} required", fields=missing)


def format_registration_number(sequence: int) -> str:
    """The registration number for the n-th registration (unique because the sequence is)."""
    return f"RN{sequence:010d}"


TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def tracking_id_from(event_type: EventType, draw: Sequence[int]) -> str:
    """A tracking ID from six random draws: type letter (B or D) and six unambiguous characters."""
    return ("B" if event_type is EventType.BIRTH else "D") + "".join(TRACKING_ALPHABET[d % 32] for d in draw)


def flags_to_list(flags: Iterable[str]) -> list[str]:
    """Flags in a stable order for output."""
    return sorted(flags)
