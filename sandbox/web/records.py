"""What the web client shows about a record, derived from its EventDocument actions (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.domain import has_scope

# Status each accepted action moves the record to; other actions leave the status as it was
# (opencrvs-core v2.0.0 packages/commons/src/events/state: CREATED, NOTIFIED, DECLARED, REGISTERED, ARCHIVED).
_STATUS_AFTER_ACTION = {
    "CREATE": "CREATED",
    "NOTIFY": "NOTIFIED",
    "DECLARE": "DECLARED",
    "REGISTER": "REGISTERED",
    "ARCHIVE": "ARCHIVED",
}
_DECLARATION_ACTIONS = frozenset({"NOTIFY", "DECLARE", "VALIDATE", "REGISTER"})
# farajaland src/events/birth/index.ts: DECLARE by these roles adds the `validated` flag.
VALIDATING_ROLES = frozenset({"REGISTRATION_AGENT", "LOCAL_REGISTRAR", "EMBASSY_OFFICIAL"})
VALIDATE_DECLARATION = "VALIDATE_DECLARATION"
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


def _accepted(actions: Sequence[Any]) -> list[Mapping[str, Any]]:
    """The accepted actions, in order. An `Accepted` action that confirms a `Requested` one (`originalActionId`)
    stands in for it with the original's content, at the place the acceptance happened."""
    by_id = {a.get("id"): a for a in actions if isinstance(a, Mapping)}
    out: list[Mapping[str, Any]] = []
    for action in actions:
        if not isinstance(action, Mapping) or action.get("status", "Accepted") != "Accepted":
            continue
        original = by_id.get(action.get("originalActionId"))
        if isinstance(original, Mapping):
            merged = dict(original)
            merged.update({k: v for k, v in action.items() if v not in (None, {}, [])})
            action = merged
        out.append(action)
    return out


def merged_declaration(actions: Sequence[Any]) -> dict[str, Any]:
    """The declaration after merging every accepted action's declaration, in order."""
    merged: dict[str, Any] = {}
    for action in _accepted(actions):
        if action.get("type") in _DECLARATION_ACTIONS and isinstance(action.get("declaration"), Mapping):
            merged.update(action["declaration"])
    return merged


def current_status(event_type: str, actions: Sequence[Any]) -> str:
    """The record's status (CREATED, NOTIFIED, DECLARED, REGISTERED, ARCHIVED) from its accepted actions."""
    status = "CREATED"
    for action in _accepted(actions):
        status = _STATUS_AFTER_ACTION.get(str(action.get("type")), status)
    return status


def is_validated(actions: Sequence[Any]) -> bool:
    """The `validated` flag: added by DECLARE of a validating role or the VALIDATE_DECLARATION custom action,
    removed by REJECT and REGISTER (farajaland src/events/birth/index.ts `flags`)."""
    validated = False
    for action in _accepted(actions):
        kind = action.get("type")
        by_role = kind == "DECLARE" and action.get("createdByRole") in VALIDATING_ROLES
        if by_role or (kind == "CUSTOM" and action.get("customActionType") == VALIDATE_DECLARATION):
            validated = True
        elif kind in ("REJECT", "REGISTER"):
            validated = False
    return validated


def assigned_user(actions: Sequence[Any]) -> str | None:
    """Who the record is assigned to: set by ASSIGN (CREATE by a user assigns its creator), released by UNASSIGN
    and by any other write action unless it asked to keep the assignment (packages/events/src/service/events)."""
    assigned: str | None = None
    for action in _accepted(actions):
        kind = action.get("type")
        if kind == "ASSIGN":
            assigned = str(action.get("assignedTo") or "") or None
        elif kind in ("CREATE", "READ"):
            continue
        elif not action.get("keepAssignment"):
            assigned = None
    return assigned


def registration_number(actions: Sequence[Any]) -> str:
    """The registration number the REGISTER action assigned, or '' before registration."""
    for action in reversed(_accepted(actions)):
        if action.get("type") == "REGISTER" and action.get("registrationNumber"):
            return str(action["registrationNumber"])
    return ""


def record_flags(actions: Sequence[Any]) -> tuple[str, ...]:
    """The flags the web client shows: validated, rejected (until declared again) and certificate-printed."""
    flags: list[str] = ["validated"] if is_validated(actions) else []
    for action in _accepted(actions):
        kind = action.get("type")
        if kind == "REJECT" and "rejected" not in flags:
            flags.append("rejected")
        elif kind in ("DECLARE", "REGISTER", "CUSTOM") and "rejected" in flags:
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
    declaration = merged_declaration(actions)
    status = current_status(event_type, actions)
    assigned = assigned_user(actions)
    mine = assigned == user.user_id
    validated = is_validated(actions)
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
