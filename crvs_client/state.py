"""Derive a record's current state from its action history, as OpenCRVS does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_STATUS_BY_ACTION = {
    "CREATE": "CREATED",
    "NOTIFY": "NOTIFIED",
    "DECLARE": "DECLARED",
    "VALIDATE": "DECLARED",
    "REGISTER": "REGISTERED",
    "ARCHIVE": "ARCHIVED",
}


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
        """The accepted action types, oldest first."""
        return [a["type"] for a in self.actions]


def current_state(document: dict[str, Any]) -> EventState:
    """Fold an EventDocument's accepted actions into its current state."""
    status = "CREATED"
    flags: set[str] = set()
    declaration: dict[str, Any] = {}
    registration_number = None
    assigned_to = None
    accepted = [a for a in document.get("actions", []) if a.get("status", "Accepted") == "Accepted"]
    for action in accepted:
        kind = action.get("type", "")
        declaration.update(action.get("declaration") or {})
        if kind in _STATUS_BY_ACTION:
            status = _STATUS_BY_ACTION[kind]
        if kind == "ASSIGN":
            assigned_to = action.get("assignedTo")
        elif kind == "UNASSIGN":
            assigned_to = None
        elif kind == "REJECT":
            flags.add("rejected")
        elif kind in ("DECLARE", "VALIDATE", "REGISTER"):
            flags.discard("rejected")
        if kind == "REGISTER":
            registration_number = action.get("registrationNumber")
        if kind == "PRINT_CERTIFICATE":
            flags.add("certificate-printed")
    return EventState(
        id=document["id"], type=document.get("type", ""), tracking_id=document.get("trackingId", ""),
        status=status, flags=frozenset(flags), registration_number=registration_number,
        declaration=declaration, assigned_to=assigned_to, actions=tuple(accepted),
    )
