"""What the web client shows about a record, derived from its EventDocument actions (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.domain import VALIDATE_DECLARATION, ActionType, EventType, Flag, State, derive_state, has_scope

_ACTION_TYPES = frozenset(t.value for t in ActionType)
@dataclass(frozen=True)
class User:
    """The logged-in user, as the JWT claims describe them."""

    user_id: str
    username: str
    role: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class HistoryRow:
    """One action in a record's history."""

    action: str
    actor: str
    time: str
    detail: str


@dataclass(frozen=True)
class RecordView:
    """Everything the record page shows, and which buttons the user may press."""

    event_id: str
    tracking_id: str
    event_type: str
    status: str
    registration_number: str
    subject_name: str
    subject_dob: str
    assigned_to: str | None
    assigned_to_label: str
    flags: tuple[str, ...]
    history: tuple[HistoryRow, ...]
    can_assign: bool
    can_validate: bool
    can_register: bool
    can_print: bool


def format_name(value: Any) -> str:
    """'Firstname Surname' from a declaration name object; '' for anything else."""
    if not isinstance(value, Mapping):
        return ""
    parts = [value.get("firstname"), value.get("surname")]
    return " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())


def derived_state(event_type: str, actions: Sequence[Any]) -> State:
    """The record's state from its actions, by the domain's one fold of the history (status, flags, assignment,
    declaration, registration number); an unknown event type or a malformed action list reads as a new record."""
    wire = [a for a in actions if isinstance(a, Mapping) and a.get("type") in _ACTION_TYPES and a.get("id")]
    try:
        return derive_state(EventType(event_type), wire)
    except (ValueError, KeyError):
        return State()


def _history_detail(action: Mapping[str, Any], usernames: Mapping[str, str]) -> str:
    kind = action.get("type")
    if kind == "ASSIGN":
        assignee = str(action.get("assignedTo", ""))
        return f"assigned to {usernames.get(assignee, assignee)}"
    if kind == "REGISTER" and action.get("registrationNumber"):
        return f"registration number {action['registrationNumber']}"
    if kind == "CUSTOM" and action.get("customActionType"):
        return str(action["customActionType"])
    content = action.get("content")
    if kind in ("REJECT", "ARCHIVE") and isinstance(content, Mapping) and isinstance(content.get("reason"), str):
        return f"reason: {content['reason']}"
    return ""


def history(actions: Sequence[Any], usernames: Mapping[str, str] | None = None) -> tuple[HistoryRow, ...]:
    """One row per action, oldest first, with who did it (username when known, else id) and when."""
    rows = []
    for action in actions:
        if not isinstance(action, Mapping):
            continue
        actor = str(action.get("createdBy", ""))
        actor = (usernames or {}).get(actor, actor)
        if action.get("createdByRole"):
            actor = f"{actor} ({action['createdByRole']})"
        kind = str(action.get("type", ""))
        if action.get("status", "Accepted") != "Accepted":
            kind = f"{kind} ({action['status']})"
        rows.append(HistoryRow(kind, actor, str(action.get("createdAt", "")), _history_detail(action, usernames or {})))
    return tuple(rows)


def record_view(document: Mapping[str, Any], user: User,
                usernames: Mapping[str, str] | None = None) -> RecordView:
    """Build the record page's data from an EventDocument and the viewing user.

    `usernames` maps user ids to usernames for the history (the wire format carries only ids).
    """
    raw_actions = document.get("actions")
    actions: list[Any] = raw_actions if isinstance(raw_actions, list) else []
    event_type = str(document.get("type", ""))
    state = derived_state(event_type, actions)
    declaration, status, assigned = state.declaration, state.status.value, state.assigned_to
    mine = assigned == user.user_id
    validated = Flag.VALIDATED in state.flags
    subject = "deceased" if event_type == "death" else "child"
    return RecordView(
        event_id=str(document.get("id", "")),
        tracking_id=str(document.get("trackingId", "")),
        event_type=event_type,
        status=status,
        registration_number=state.registration_number or "",
        subject_name=format_name(declaration.get(f"{subject}.name")),
        subject_dob=str(declaration.get(f"{subject}.dob", "")),
        assigned_to=assigned,
        assigned_to_label=(usernames or {}).get(assigned, assigned) if assigned else "",
        flags=tuple(state.flags),
        history=history(actions, usernames),
        can_assign=status != "ARCHIVED" and assigned is None,
        can_validate=mine and status == "DECLARED" and not validated and has_scope(
            user.scopes, ("record.custom-action",), event_type=event_type, custom_action=VALIDATE_DECLARATION),
        can_register=mine and status == "DECLARED" and validated and has_scope(
            user.scopes, ("record.register",), event_type=event_type),
        can_print=mine and status == "REGISTERED" and has_scope(
            user.scopes, ("record.print-certified-copies",), event_type=event_type),
    )


@dataclass(frozen=True)
class IndexRow:
    """One record in the workqueue or in search results."""

    event_id: str
    tracking_id: str
    event_type: str
    status: str
    name: str
    dob: str
    registration_number: str
    updated_at: str


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def index_row(index: Mapping[str, Any]) -> IndexRow:
    """A table row from an EventIndex (search result)."""
    declaration = _mapping(index.get("declaration"))
    subject = "deceased" if index.get("type") == "death" else "child"
    registered = _mapping(_mapping(index.get("legalStatuses")).get("REGISTERED"))
    return IndexRow(
        event_id=str(index.get("id", "")),
        tracking_id=str(index.get("trackingId", "")),
        event_type=str(index.get("type", "")),
        status=str(index.get("status", "")),
        name=format_name(declaration.get(f"{subject}.name")),
        dob=str(declaration.get(f"{subject}.dob", "") or ""),
        registration_number=str(registered.get("registrationNumber", "") or ""),
        updated_at=str(index.get("updatedAt", "")),
    )
