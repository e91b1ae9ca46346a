"""What the web client shows about a record, derived from its EventDocument actions (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Status each accepted action moves the record to; other actions leave the status as it was.
_STATUS_AFTER_ACTION = {
    "CREATE": "CREATED",
    "NOTIFY": "NOTIFIED",
    "DECLARE": "DECLARED",
    "REGISTER": "REGISTERED",
    "ARCHIVE": "ARCHIVED",
}
_DECLARATION_ACTIONS = frozenset({"NOTIFY", "DECLARE", "VALIDATE", "REGISTER"})
REQUIRED_FIELDS = {
    "birth": ("child.name", "child.gender", "child.dob", "mother.name", "informant.relation"),
    "death": ("deceased.name", "deceased.gender", "deceased.dob", "eventDetails.date", "informant.relation"),
}


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
    can_register: bool
    can_print: bool


def format_name(value: Any) -> str:
    """'Firstname Surname' from a declaration name object; '' for anything else."""
    if not isinstance(value, Mapping):
        return ""
    parts = [value.get("firstname"), value.get("surname")]
    return " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())


def _accepted(actions: Sequence[Any]) -> list[Mapping[str, Any]]:
    return [a for a in actions if isinstance(a, Mapping) and a.get("status", "Accepted") == "Accepted"]


def merged_declaration(actions: Sequence[Any]) -> dict[str, Any]:
    """The declaration after merging every accepted action's declaration, in order."""
    merged: dict[str, Any] = {}
    for action in _accepted(actions):
        if action.get("type") in _DECLARATION_ACTIONS and isinstance(action.get("declaration"), Mapping):
            merged.update(action["declaration"])
    return merged


def current_status(event_type: str, actions: Sequence[Any]) -> str:
    """The record's status (CREATED, NOTIFIED, DECLARED, REGISTERED, ARCHIVED) from its actions.

    VALIDATE makes a complete NOTIFIED record DECLARED; other actions leave the status as it was.
    """
    status = "CREATED"
    declaration: dict[str, Any] = {}
    for action in _accepted(actions):
        kind = str(action.get("type"))
        if kind in _DECLARATION_ACTIONS and isinstance(action.get("declaration"), Mapping):
            declaration.update(action["declaration"])
        if kind == "VALIDATE" and status == "NOTIFIED" and is_complete(event_type, declaration):
            status = "DECLARED"
        status = _STATUS_AFTER_ACTION.get(kind, status)
    return status


def assigned_user(actions: Sequence[Any]) -> str | None:
    """Who the record is assigned to: set by ASSIGN, released by UNASSIGN and by any other action after
    CREATE unless it asked to keep the assignment (as OpenCRVS does)."""
    assigned: str | None = None
    for action in _accepted(actions):
        kind = action.get("type")
        if kind == "ASSIGN":
            assigned = str(action.get("assignedTo") or "") or None
        elif kind != "CREATE" and not action.get("keepAssignment"):
            assigned = None
    return assigned


def registration_number(actions: Sequence[Any]) -> str:
    """The registration number the REGISTER action assigned, or '' before registration."""
    for action in reversed(_accepted(actions)):
        if action.get("type") == "REGISTER" and action.get("registrationNumber"):
            return str(action["registrationNumber"])
    return ""


def record_flags(actions: Sequence[Any]) -> tuple[str, ...]:
    """The flags the web client shows: rejected (until acted on again) and certificate-printed."""
    flags: list[str] = []
    for action in _accepted(actions):
        kind = action.get("type")
        if kind == "REJECT" and "rejected" not in flags:
            flags.append("rejected")
        elif kind in ("DECLARE", "VALIDATE", "REGISTER") and "rejected" in flags:
            flags.remove("rejected")
        elif kind == "PRINT_CERTIFICATE" and "certificate-printed" not in flags:
            flags.append("certificate-printed")
    return tuple(flags)


def _history_detail(action: Mapping[str, Any], usernames: Mapping[str, str]) -> str:
    kind = action.get("type")
    if kind == "ASSIGN":
        assignee = str(action.get("assignedTo", ""))
        return f"assigned to {usernames.get(assignee, assignee)}"
    if kind == "REGISTER" and action.get("registrationNumber"):
        return f"registration number {action['registrationNumber']}"
    reason = action.get("reason")
    if kind == "REJECT" and isinstance(reason, Mapping) and isinstance(reason.get("message"), str):
        return f"reason: {reason['message']}"
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


def is_complete(event_type: str, declaration: Mapping[str, Any]) -> bool:
    """Whether every field required at REGISTER is present."""
    return all(declaration.get(f) not in (None, "", {}) for f in REQUIRED_FIELDS.get(event_type, ()))


def record_view(document: Mapping[str, Any], user: User,
                usernames: Mapping[str, str] | None = None) -> RecordView:
    """Build the record page's data from an EventDocument and the viewing user.

    `usernames` maps user ids to usernames for the history (the wire format carries only ids).
    """
    raw_actions = document.get("actions")
    actions: list[Any] = raw_actions if isinstance(raw_actions, list) else []
    event_type = str(document.get("type", ""))
    declaration = merged_declaration(actions)
    status = current_status(event_type, actions)
    assigned = assigned_user(actions)
    free_for_user = assigned in (None, user.user_id)
    registrable = status == "DECLARED" or (status == "NOTIFIED" and is_complete(event_type, declaration))
    subject = "deceased" if event_type == "death" else "child"
    return RecordView(
        event_id=str(document.get("id", "")),
        tracking_id=str(document.get("trackingId", "")),
        event_type=event_type,
        status=status,
        registration_number=registration_number(actions),
        subject_name=format_name(declaration.get(f"{subject}.name")),
        subject_dob=str(declaration.get(f"{subject}.dob", "")),
        assigned_to=assigned,
        assigned_to_label=(usernames or {}).get(assigned, assigned) if assigned else "",
        flags=record_flags(actions),
        history=history(actions, usernames),
        can_assign="record.assign" in user.scopes and status not in ("ARCHIVED",) and assigned != user.user_id,
        can_register="record.register" in user.scopes and registrable and free_for_user,
        can_print="record.print-certificate" in user.scopes and status == "REGISTERED" and free_for_user,
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
