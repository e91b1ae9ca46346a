"""Derive a record's current state from its action history, as OpenCRVS does.

Only `Accepted` actions count (packages/commons/src/events/utils.ts `getAcceptedActions`); an Accepted action
with `originalActionId` takes the declaration of the `Requested` action it confirms
(`getCompleteActionDeclaration`). Statuses: CREATED, NOTIFIED, DECLARED, REGISTERED, ARCHIVED
(packages/commons/src/events/EventMetadata.ts); rejected and validated are flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_STATUS_BY_ACTION = {
    "CREATE": "CREATED",
    "NOTIFY": "NOTIFIED",
    "DECLARE": "DECLARED",
    "REGISTER": "REGISTERED",
    "ARCHIVE": "ARCHIVED",
}
# Roles whose DECLARE adds `validated` in farajaland v2.0.0 (src/events/birth/index.ts, DECLARE flags).
VALIDATING_ROLES = frozenset({"REGISTRATION_AGENT", "LOCAL_REGISTRAR", "EMBASSY_OFFICIAL"})


@dataclass(frozen=True)
class EventState:
    """What a registrar sees of a record: status, flags, number, declaration, history."""

    id: str
    type: str
    tracking_id: str
    status: str
    flags: frozenset[str]
    registration_number: str | None
    declaration: dict[str, Any]
    assigned_to: str | None
    actions: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def action_types(self) -> list[str]:
        """The accepted action types, oldest first (READ included)."""
        return [a["type"] for a in self.actions]

    def write_action_types(self) -> list[str]:
        """The accepted action types without READ, ASSIGN and UNASSIGN."""
        return [t for t in self.action_types() if t not in ("READ", "ASSIGN", "UNASSIGN")]


def accepted_actions(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Accepted actions with the declaration of the Requested action each confirms merged in."""
    actions = [a for a in document.get("actions", []) if isinstance(a, dict)]
    by_id = {a.get("id"): a for a in actions}
    out = []
    for action in actions:
        if action.get("status", "Accepted") != "Accepted":
            continue
        original = by_id.get(action.get("originalActionId")) if action.get("originalActionId") else None
        if original is not None and original.get("status") == "Requested":
            merged = {**(original.get("declaration") or {}), **(action.get("declaration") or {})}
            action = {**original, **action, "declaration": merged}
        out.append(action)
    return out


def pending_action(document: dict[str, Any], action_type: str, transaction_id: str) -> str | None:
    """"Requested" when the action of this type and transaction is requested and not yet confirmed,
    "Rejected" when the country config rejected it, None when it is Accepted (or not found)."""
    actions = [a for a in document.get("actions", []) if isinstance(a, dict)]
    mine = [a for a in actions if a.get("type") == action_type and a.get("transactionId") == transaction_id]
    requested = [a for a in mine if a.get("status") == "Requested"]
    if not requested:
        return None
    for req in requested:
        answers = [a for a in actions if a.get("originalActionId") == req.get("id")]
        if any(a.get("status") == "Rejected" for a in answers):
            return "Rejected"
        if not any(a.get("status") == "Accepted" for a in answers):
            return "Requested"
    return None


def assignee(document: dict[str, Any]) -> str | None:
    """Who the record is assigned to: the last ASSIGN or UNASSIGN decides (a user's CREATE assigns its
    creator, packages/events/src/router/event/index.ts)."""
    current: str | None = None
    for action in accepted_actions(document):
        kind = action.get("type")
        if kind == "ASSIGN":
            current = action.get("assignedTo")
        elif kind == "UNASSIGN":
            current = None
        elif kind == "CREATE" and action.get("createdByUserType", "user") == "user" and current is None:
            current = action.get("assignedTo") or action.get("createdBy")
    return current


def current_state(document: dict[str, Any]) -> EventState:
    """Fold an EventDocument's accepted actions into its current state."""
    status = "CREATED"
    flags: set[str] = set()
    declaration: dict[str, Any] = {}
    registration_number = None
    accepted = accepted_actions(document)
    for action in accepted:
        kind = action.get("type", "")
        if kind not in ("READ", "ASSIGN", "UNASSIGN", "PRINT_CERTIFICATE"):
            declaration.update(action.get("declaration") or {})
        if kind in _STATUS_BY_ACTION:
            status = _STATUS_BY_ACTION[kind]
        if kind == "REJECT":
            flags.add("rejected")
            flags.discard("validated")
        elif kind in ("DECLARE", "NOTIFY"):
            flags.discard("rejected")
            if kind == "DECLARE" and action.get("createdByRole") in VALIDATING_ROLES:
                flags.add("validated")
        elif kind == "CUSTOM" and action.get("customActionType") == "VALIDATE_DECLARATION":
            flags.add("validated")
            flags.discard("rejected")
        if kind == "REGISTER":
            registration_number = action.get("registrationNumber") or registration_number
        if kind == "PRINT_CERTIFICATE":
            flags.add("certificate-printed")
    return EventState(
        id=document["id"], type=document.get("type", ""), tracking_id=document.get("trackingId", ""),
        status=status, flags=frozenset(flags), registration_number=registration_number,
        declaration=declaration, assigned_to=assignee(document), actions=tuple(accepted),
    )
