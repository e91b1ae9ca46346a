"""The CRVS domain as OpenCRVS v2.0.0 defines it: action types, statuses, flags, scopes and derived state (pure).

Sources (opencrvs-core v2.0.0): packages/commons/src/events/ActionType.ts (action types, ConfirmableActions,
writeActions), ActionDocument.ts (ActionStatus), EventMetadata.ts (EventStatus, legalStatuses), Flag.ts (inherent
flags, `ACTION:status` flags), state/index.ts (`getStatusFromActions`, `getCurrentEventState`), state/flags.ts
(flag rules), state/utils.ts (`getLegalStatuses`, `getActionUpdateMetadata`), state/availableActions.ts (which
action a status and its flags allow), events/scopes.ts (`ACTION_SCOPE_MAP`) and scopes.ts (scope encoding); and
opencrvs-farajaland release/v2.0.0 src/events/{birth,death}/index.ts (custom flags, action conditionals) and
src/data-seeding/roles/roles.ts (role scopes).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """Kinds of vital event the sandbox registers (farajaland's event ids)."""

    BIRTH = "birth"
    DEATH = "death"


class EventStatus(StrEnum):
    """Statuses of a record, derived from its Accepted actions (EventMetadata.ts `EventStatus`)."""

    CREATED = "CREATED"
    NOTIFIED = "NOTIFIED"
    DECLARED = "DECLARED"
    REGISTERED = "REGISTERED"
    ARCHIVED = "ARCHIVED"


class ActionType(StrEnum):
    """The action types the sandbox implements (a subset of ActionType.ts; v2.0.0 has no VALIDATE)."""

    CREATE = "CREATE"
    READ = "READ"
    ASSIGN = "ASSIGN"
    UNASSIGN = "UNASSIGN"
    NOTIFY = "NOTIFY"
    DECLARE = "DECLARE"
    REGISTER = "REGISTER"
    REJECT = "REJECT"
    ARCHIVE = "ARCHIVE"
    PRINT_CERTIFICATE = "PRINT_CERTIFICATE"
    CUSTOM = "CUSTOM"


class ActionStatus(StrEnum):
    """Whether the country config has confirmed an action (ActionDocument.ts `ActionStatus`)."""

    REQUESTED = "Requested"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"


# ConfirmableActions: stored as a Requested action, then an Accepted (or Rejected) one with originalActionId.
CONFIRMABLE = frozenset({ActionType.NOTIFY, ActionType.DECLARE, ActionType.REGISTER, ActionType.REJECT,
                         ActionType.ARCHIVE, ActionType.PRINT_CERTIFICATE, ActionType.CUSTOM})
# writeActions: the caller must be assigned, and the action unassigns unless keepAssignment.
WRITE_ACTIONS = frozenset(ActionType) - {ActionType.CREATE, ActionType.READ, ActionType.ASSIGN, ActionType.UNASSIGN}
META_ACTIONS = frozenset({ActionType.ASSIGN, ActionType.UNASSIGN, ActionType.READ})
# SYSTEM_USER_ALLOWED_ACTIONS (packages/events/src/router/event/actions/index.ts) plus create/get/search, which
# are userAndSystemProcedure; custom actions are too, but need a record.custom-action scope no integration has.
SYSTEM_ALLOWED = frozenset({ActionType.CREATE, ActionType.READ, ActionType.NOTIFY, ActionType.CUSTOM})
# Actions that update `updatedAt` and `updatedBy` (state/utils.ts `updateActions`).
UPDATE_ACTIONS = frozenset({ActionType.CREATE, ActionType.NOTIFY, ActionType.DECLARE, ActionType.REGISTER,
                            ActionType.REJECT, ActionType.ARCHIVE, ActionType.PRINT_CERTIFICATE, ActionType.CUSTOM})
# Accepted actions whose declaration is not aggregated into the record (utils.ts EXCLUDED_ACTIONS).
_NOT_AGGREGATED = frozenset({ActionType.PRINT_CERTIFICATE})


class Flag(StrEnum):
    """Inherent flags (Flag.ts) and the farajaland custom flags the sandbox's actions touch."""

    INCOMPLETE = "incomplete"
    REJECTED = "rejected"
    CORRECTION_REQUESTED = "correction-requested"
    POTENTIAL_DUPLICATE = "potential-duplicate"
    EDIT_IN_PROGRESS = "edit-in-progress"
    VALIDATED = "validated"
    LATE_REGISTRATION_APPROVAL = "approval-required-for-late-registration"
    PENDING_CERTIFICATE = "pending-first-certificate-issuance"


VALIDATE_DECLARATION, APPROVE_DECLARATION = "VALIDATE_DECLARATION", "APPROVE_DECLARATION"
# Custom actions configured per event type (birth/index.ts, death/index.ts) that the sandbox implements.
CUSTOM_ACTIONS: dict[EventType, frozenset[str]] = {
    EventType.BIRTH: frozenset({VALIDATE_DECLARATION, APPROVE_DECLARATION}),
    EventType.DEATH: frozenset({VALIDATE_DECLARATION}),
}
BIRTH_LATE_REGISTRATION_TARGET_DAYS = 365  # farajaland src/events/utils/constants.ts

# The subject's date of birth, indexed on the event row for DOB search.
SUBJECT_DOB: dict[EventType, str] = {EventType.BIRTH: "child.dob", EventType.DEATH: "deceased.dob"}
DATE_SEARCH_FIELDS: dict[str, tuple[EventType, str]] = {
    "child.dob": (EventType.BIRTH, "dob"),
    "deceased.dob": (EventType.DEATH, "dob"),
    "eventDetails.date": (EventType.DEATH, "event_date"),
}
NAME_SEARCH_FIELDS = frozenset({"child.name", "mother.name", "father.name", "deceased.name", "informant.name",
                                "spouse.name"})

# farajaland v2.0.0 role ids (src/data-seeding/roles/roles.ts).
ROLE_HOSPITAL_CLERK = "HOSPITAL_CLERK"
ROLE_REGISTRATION_AGENT = "REGISTRATION_AGENT"
ROLE_LOCAL_REGISTRAR = "LOCAL_REGISTRAR"
ROLE_NATIONAL_REGISTRAR = "NATIONAL_REGISTRAR"
ROLE_EMBASSY_OFFICIAL = "EMBASSY_OFFICIAL"

# Scopes are encoded as OpenCRVS encodes them (qs.stringify, arrayFormat comma: opencrvs-core
# packages/commons/src/scopes.ts `encodeScope`); the record scope types are `RecordScopeTypeV2` there. The sandbox
# checks the scope type and the `event` and `customActionTypes` options; jurisdiction options (placeOfEvent,
# declaredIn, registeredIn) are carried but not enforced: every sandbox user works in one office.
_AREA = "placeOfEvent=administrativeArea"
_HOSPITAL_CLERK_SCOPES = (
    "type=user.read-only-my-audit",
    "type=record.search&placeOfEvent=location",
    "type=workqueue&ids=assigned-to-you,recent,pending-updates",
    "type=record.create&placeOfEvent=location",
    "type=record.read&placeOfEvent=location",
    "type=record.declare&placeOfEvent=location",
    "type=record.notify&placeOfEvent=location",
    "type=record.edit&placeOfEvent=location&declaredBy=user",
    "type=record.print-certified-copies&templates=v2.tennis-club-membership-certificate-alpha&registeredIn=location",
)
_REGISTRATION_AGENT_SCOPES = (
    "type=performance.read",
    "type=organisation.read-locations&accessLevel=administrativeArea",
    "type=user.read&accessLevel=administrativeArea",
    "type=user.search&accessLevel=administrativeArea",
    "type=performance.read-dashboards",
    "type=workqueue&ids=assigned-to-you,recent,requires-completion,in-external-validation,escalated,"
    "pending-validation,pending-updates,pending-approval,pending-certification,pending-issuance,correction-requested",
    f"type=record.search&{_AREA}",
    f"type=record.create&{_AREA}",
    f"type=record.read&{_AREA}",
    f"type=record.declare&{_AREA}",
    f"type=record.edit&{_AREA}",
    f"type=record.reject&{_AREA}",
    "type=record.archive&declaredIn=administrativeArea",
    "type=record.print-certified-copies&registeredIn=administrativeArea",
    "type=record.request-correction&registeredIn=administrativeArea",
    "type=record.custom-action&event=birth&customActionTypes=VALIDATE_DECLARATION,ESCALATE",
    f"type=record.custom-action&event=birth&customActionTypes=REINSTATE_REVOKE_REGISTRATION&{_AREA}",
    "type=record.custom-action&event=birth&customActionTypes=ISSUE_CERTIFIED_COPY,ISSUE_VERIFIABLE_CREDENTIAL",
    "type=record.custom-action&event=death&customActionTypes=VALIDATE_DECLARATION",
    "type=dashboard.view&ids=registrations,completeness,registry",
)
_LOCAL_REGISTRAR_SCOPES = (
    "type=profile.electronic-signature",
    "type=performance.read",
    "type=organisation.read-locations&accessLevel=administrativeArea",
    "type=user.read&accessLevel=administrativeArea",
    "type=user.search&accessLevel=administrativeArea",
    "type=performance.read-dashboards",
    "type=workqueue&ids=assigned-to-you,recent,requires-completion,in-external-validation,escalated,"
    "potential-duplicate,pending-updates,pending-registration,pending-approval,pending-certification,"
    "pending-issuance,correction-requested",
    f"type=record.search&{_AREA}",
    f"type=record.create&{_AREA}",
    f"type=record.read&{_AREA}",
    f"type=record.declare&{_AREA}",
    f"type=record.edit&{_AREA}",
    f"type=record.reject&{_AREA}",
    "type=record.archive&declaredIn=administrativeArea",
    f"type=record.review-duplicates&{_AREA}",
    f"type=record.register&{_AREA}",
    "type=record.print-certified-copies&registeredIn=administrativeArea",
    "type=record.correct&registeredIn=administrativeArea",
    f"type=record.custom-action&event=birth&customActionTypes=ESCALATE,REINSTATE_REVOKE_REGISTRATION&{_AREA}",
    "type=record.custom-action&event=birth&customActionTypes=ISSUE_CERTIFIED_COPY,ISSUE_VERIFIABLE_CREDENTIAL"
    "&registeredIn=administrativeArea",
    "type=record.unassign-others",
    "type=dashboard.view&ids=registrations,completeness,registry",
)
_NATIONAL_REGISTRAR_SCOPES = (
    "type=profile.electronic-signature",
    "type=performance.read",
    "type=organisation.read-locations",
    "type=user.read",
    "type=user.search",
    "type=record.search",
    "type=workqueue&ids=assigned-to-you,recent,pending-feedback-registrar-general,potential-duplicate,"
    "registration-registrar-general",
    "type=record.read",
    "type=record.declare",
    "type=record.reject",
    "type=record.archive",
    "type=record.review-duplicates",
    "type=record.register",
    "type=record.print-certified-copies",
    "type=record.correct",
    "type=record.custom-action&event=birth&customActionTypes=REGISTRAR_GENERAL_FEEDBACK,REVOKE_REGISTRATION,"
    "REINSTATE_REVOKE_REGISTRATION,APPROVE_DECLARATION",
    "type=record.custom-action&event=death&customActionTypes=APPROVE_DECLARATION",
    "type=record.unassign-others",
)
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    ROLE_HOSPITAL_CLERK: _HOSPITAL_CLERK_SCOPES,
    ROLE_REGISTRATION_AGENT: _REGISTRATION_AGENT_SCOPES,
    ROLE_LOCAL_REGISTRAR: _LOCAL_REGISTRAR_SCOPES,
    ROLE_NATIONAL_REGISTRAR: _NATIONAL_REGISTRAR_SCOPES,
}
# An integration's scopes are free strings set when it is created (notes: `type=record.create`,
# `type=record.notify&event=birth`); the sandbox's default client gets what a system may use at all.
DEFAULT_SYSTEM_SCOPES: tuple[str, ...] = ("type=record.create", "type=record.read", "type=record.search",
                                         "type=record.notify")

# Roles whose DECLARE also validates (farajaland src/events/birth/index.ts and death/index.ts, DECLARE `flags`).
VALIDATING_ROLES = frozenset({ROLE_REGISTRATION_AGENT, ROLE_LOCAL_REGISTRAR, ROLE_EMBASSY_OFFICIAL})

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


# ---------------------------------------------------------------------------------------------- scopes

# ACTION_SCOPE_MAP (packages/commons/src/events/scopes.ts): any one of these scope types; None = always allowed.
ACTION_SCOPES: dict[ActionType, tuple[str, ...] | None] = {
    ActionType.READ: ("record.read",), ActionType.CREATE: ("record.create",), ActionType.NOTIFY: ("record.notify",),
    ActionType.DECLARE: ("record.declare", "record.register"), ActionType.REGISTER: ("record.register",),
    ActionType.PRINT_CERTIFICATE: ("record.print-certified-copies",), ActionType.ARCHIVE: ("record.archive",),
    ActionType.REJECT: ("record.reject",), ActionType.ASSIGN: None, ActionType.UNASSIGN: None,
    ActionType.CUSTOM: ("record.custom-action",),
}
SEARCH_SCOPE = "record.search"
UNASSIGN_OTHERS_SCOPE = "record.unassign-others"


def parse_scope(encoded: str) -> tuple[str, dict[str, tuple[str, ...]]]:
    """An encoded scope (`type=record.read&event=birth,death`) as (type, options); a bare name is its own type."""
    if "=" not in encoded.split("&", 1)[0]:
        return encoded, {}
    options: dict[str, tuple[str, ...]] = {}
    kind = ""
    for part in encoded.split("&"):
        key, _, value = part.partition("=")
        if key == "type":
            kind = value
        elif key:
            options[key] = tuple(v for v in value.split(",") if v)
    return kind, options


def has_scope(scopes: Iterable[str], accepted: Iterable[str], *, event_type: str | None = None,
              custom_action: str | None = None) -> bool:
    """Whether any scope has one of the `accepted` types and its `event` / `customActionTypes` options allow the call.

    Jurisdiction options (placeOfEvent, declaredIn, registeredIn, declaredBy) are not checked.
    """
    wanted = set(accepted)
    for scope in scopes:
        kind, options = parse_scope(scope)
        if kind not in wanted:
            continue
        if event_type is not None and "event" in options and event_type not in options["event"]:
            continue
        if custom_action is not None and custom_action not in options.get("customActionTypes", ()):
            continue
        return True
    return False


# ---------------------------------------------------------------------------------------------- state


def parse_event_type(value: Any, field_name: str = "type") -> EventType:
    """An event type from input, or BadRequest naming the field."""
    from sandbox.errors import BadRequest

    try:
        return EventType(value)
    except (ValueError, TypeError):
        raise BadRequest(f"Event configuration not found with type: {value}", fields=[field_name]) from None


def parse_date(value: Any) -> dt.date | None:
    """A real calendar date from 'YYYY-MM-DD', else None."""
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


_METADATA_KEYS = ("createdAt", "createdBy", "createdByUserType", "createdAtLocation", "createdByRole")


@dataclass
class State:
    """What the action history says a record is now (the parts of `getCurrentEventState` the sandbox serves)."""

    status: EventStatus = EventStatus.CREATED
    flags: list[str] = field(default_factory=list)
    assigned_to: str | None = None
    declaration: dict[str, Any] = field(default_factory=dict)
    legal_statuses: dict[str, dict[str, Any] | None] = field(default_factory=lambda: {"DECLARED": None,
                                                                                      "REGISTERED": None})
    created: dict[str, Any] = field(default_factory=dict)
    updated_at: str = ""
    updated: dict[str, Any] = field(default_factory=dict)
    pending_since: str | None = None  # createdAt of the oldest Requested action still waiting for its answer

    @property
    def registration_number(self) -> str | None:
        """The accepted registration's number."""
        registered = self.legal_statuses.get("REGISTERED")
        return registered.get("registrationNumber") if registered else None


def _complete_declaration(action: Mapping[str, Any], by_id: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """An accepted action's declaration: its request's declaration (via originalActionId) merged with its own."""
    original = by_id.get(action.get("originalActionId") or "")
    merged = dict(original.get("declaration") or {}) if original else {}
    merged.update(action.get("declaration") or {})
    return merged


def _complete_annotation(action: Mapping[str, Any], by_id: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    original = by_id.get(action.get("originalActionId") or "")
    merged = dict(original.get("annotation") or {}) if original else {}
    merged.update(action.get("annotation") or {})
    return merged


def _is_late_birth(declaration: Mapping[str, Any], when: str) -> bool:
    """DECLARE's late-registration conditional: child.dob before the action and more than 365 days before it."""
    dob = parse_date(declaration.get("child.dob"))
    today = parse_date(when[:10])
    return bool(dob and today and dob < today and dob <= today - dt.timedelta(days=BIRTH_LATE_REGISTRATION_TARGET_DAYS))


def _custom_flag_changes(event_type: EventType, action: Mapping[str, Any],
                         declaration: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """(added, removed) custom flags for one accepted action, per farajaland's event config."""
    kind = action["type"]
    birth = event_type is EventType.BIRTH
    added: set[str] = set()
    removed: set[str] = set()
    if kind == ActionType.DECLARE:
        validating = VALIDATING_ROLES if birth else VALIDATING_ROLES - {ROLE_EMBASSY_OFFICIAL}
        if action.get("createdByRole") in validating:
            added.add(Flag.VALIDATED)
        if birth and _is_late_birth(declaration, action["createdAt"]):
            added.add(Flag.LATE_REGISTRATION_APPROVAL)
    elif kind == ActionType.REJECT and birth:
        removed.add(Flag.VALIDATED)
    elif kind == ActionType.REGISTER:
        removed.add(Flag.VALIDATED)
        added.add(Flag.PENDING_CERTIFICATE)
    elif kind == ActionType.PRINT_CERTIFICATE:
        removed.add(Flag.PENDING_CERTIFICATE)
    elif kind == ActionType.CUSTOM and action.get("customActionType") == VALIDATE_DECLARATION:
        added.add(Flag.VALIDATED)
    elif kind == ActionType.CUSTOM and action.get("customActionType") == APPROVE_DECLARATION:
        removed.add(Flag.LATE_REGISTRATION_APPROVAL)
    return added, removed


def _removes_rejected(action: Mapping[str, Any]) -> bool:
    """VALIDATE_DECLARATION and APPROVE_DECLARATION declare `{id: rejected, operation: remove}`."""
    return action["type"] == ActionType.CUSTOM and \
        action.get("customActionType") in (VALIDATE_DECLARATION, APPROVE_DECLARATION)


def derive_state(event_type: EventType, actions: Sequence[Mapping[str, Any]]) -> State:
    """Fold an action history (oldest first; wire-shaped action dicts) into the record's current state.

    Only Accepted actions change the status, the declaration, the assignment and the inherent and custom flags; a
    Requested action with no answer yet shows as an `<action>:requested` flag (state/flags.ts).
    """
    state = State()
    by_id = {a["id"]: a for a in actions}
    answered = {a.get("originalActionId") for a in actions if a.get("originalActionId")}
    last_status: dict[str, str] = {}
    incomplete = rejected = False
    custom: list[str] = []
    requested_meta: Mapping[str, Any] | None = None
    accepted_meta: Mapping[str, Any] | None = None
    for action in actions:
        kind = ActionType(action["type"])
        status = action.get("status", ActionStatus.ACCEPTED)
        if kind is ActionType.CREATE:
            state.created = {k: action.get(k) for k in _METADATA_KEYS}
        if kind not in META_ACTIONS:
            last_status[kind.value] = status
        if kind in UPDATE_ACTIONS:
            # updatedBy... follow the request behind an answer; updatedAt is the acceptance itself, because
            # getActionUpdateMetadata(acceptedActions) cannot see the Requested original (state/index.ts).
            requested_meta = by_id.get(action.get("originalActionId") or "", action)
            if status == ActionStatus.ACCEPTED:
                accepted_meta = action
        if status == ActionStatus.REQUESTED and action["id"] not in answered and state.pending_since is None:
            state.pending_since = action["createdAt"]
        if status != ActionStatus.ACCEPTED:
            continue
        if kind is ActionType.ASSIGN:
            state.assigned_to = action.get("assignedTo")
            continue
        if kind is ActionType.UNASSIGN:
            state.assigned_to = None
            continue
        if kind is ActionType.READ:
            continue
        declaration = _complete_declaration(action, by_id)
        if kind not in _NOT_AGGREGATED:
            state.declaration.update(declaration)
        if kind is ActionType.DECLARE:
            state.status = EventStatus.DECLARED
        elif kind is ActionType.REGISTER:
            state.status = EventStatus.REGISTERED
        elif kind is ActionType.ARCHIVE:
            state.status = EventStatus.ARCHIVED
        elif kind is ActionType.NOTIFY:
            state.status = EventStatus.NOTIFIED
        # Inherent flags (INHERENT_FLAG_RULES): INCOMPLETE and REJECTED.
        if kind is ActionType.NOTIFY:
            incomplete = True
        elif kind in (ActionType.CREATE, ActionType.DECLARE, ActionType.REGISTER, ActionType.ARCHIVE):
            incomplete = False
        if kind is ActionType.REJECT:
            rejected = True
        elif kind in (ActionType.NOTIFY, ActionType.DECLARE, ActionType.REGISTER) or _removes_rejected(action):
            rejected = False
        added, removed = _custom_flag_changes(event_type, action, {**state.declaration,
                                                                   **_complete_annotation(action, by_id)})
        custom = [f for f in dict.fromkeys([*custom, *sorted(added)]) if f not in removed]
        if kind in (ActionType.DECLARE, ActionType.REGISTER):
            request = by_id.get(action.get("originalActionId") or "", action)
            meta = {k: request.get(k) for k in _METADATA_KEYS}
            meta["acceptedAt"] = action["createdAt"]
            if kind is ActionType.REGISTER:
                meta["registrationNumber"] = action.get("registrationNumber")
            state.legal_statuses["DECLARED" if kind is ActionType.DECLARE else "REGISTERED"] = meta
    state.declaration = {k: v for k, v in state.declaration.items() if v is not None}
    action_flags = [f"{kind.lower()}:{status.lower()}" for kind, status in last_status.items()
                    if status != ActionStatus.ACCEPTED]
    inherent = [name for name, on in ((Flag.INCOMPLETE.value, incomplete), (Flag.REJECTED.value, rejected)) if on]
    state.flags = [*action_flags, *inherent, *custom]
    if accepted_meta is not None:
        state.updated_at = accepted_meta["createdAt"]
    if requested_meta is not None:
        state.updated = {k: requested_meta.get(k) for k in _METADATA_KEYS}
    return state


# ---------------------------------------------------------------------------------------------- what is allowed

# AVAILABLE_ACTIONS_BY_EVENT_STATUS (state/availableActions.ts), restricted to the implemented action types.
_BY_STATUS: dict[EventStatus, tuple[ActionType, ...]] = {
    EventStatus.CREATED: (ActionType.READ, ActionType.DECLARE, ActionType.NOTIFY, ActionType.CUSTOM),
    EventStatus.NOTIFIED: (ActionType.READ, ActionType.ARCHIVE, ActionType.REJECT, ActionType.CUSTOM),
    EventStatus.DECLARED: (ActionType.READ, ActionType.REGISTER, ActionType.ARCHIVE, ActionType.REJECT,
                           ActionType.CUSTOM),
    EventStatus.REGISTERED: (ActionType.READ, ActionType.PRINT_CERTIFICATE, ActionType.CUSTOM),
    EventStatus.ARCHIVED: (ActionType.READ, ActionType.CUSTOM),
}
_REJECTED_ACTIONS = (ActionType.READ, ActionType.NOTIFY, ActionType.CUSTOM, ActionType.ARCHIVE)


def available_actions(status: EventStatus, flags: Sequence[str]) -> list[ActionType]:
    """`getAvailableActionsForEvent`: the actions a record's status and flags allow."""
    if Flag.REJECTED in flags and status is not EventStatus.ARCHIVED:
        candidates: Sequence[ActionType] = _REJECTED_ACTIONS
    else:
        candidates = _BY_STATUS[status]
    pending = any(f.endswith(":requested") for f in flags)
    out = []
    for action in candidates:
        if action is ActionType.REGISTER and (Flag.POTENTIAL_DUPLICATE in flags or pending):
            continue
        if action is ActionType.REJECT and (Flag.REJECTED in flags or pending):
            continue
        if action in (ActionType.PRINT_CERTIFICATE, ActionType.ARCHIVE, ActionType.CUSTOM) and pending:
            continue
        out.append(action)
    return out


def conflict_reason(event_type: EventType, state: State, action: ActionType,
                    custom_action: str | None = None) -> str | None:
    """Why `action` may not run now (`throwConflictIfActionNotAllowed`: status, flags, then config conditionals)."""
    allowed = available_actions(state.status, state.flags)
    if action not in allowed:
        return (f"Action '{action.value}' cannot be performed on an event in '{state.status.value}' state with "
                f"[{', '.join(state.flags)}] flags. Available actions: {', '.join(a.value for a in allowed)}.")
    flags = set(state.flags)
    met = True
    if action is ActionType.REGISTER:
        met = Flag.VALIDATED in flags and (event_type is EventType.DEATH or not flags & {
            Flag.LATE_REGISTRATION_APPROVAL, "escalated-to-provincial-registrar", "escalated-to-registrar-general"})
    elif action is ActionType.CUSTOM and custom_action == VALIDATE_DECLARATION:
        met = state.status is EventStatus.DECLARED and Flag.VALIDATED not in flags and \
            Flag.POTENTIAL_DUPLICATE not in flags
    elif action is ActionType.CUSTOM and custom_action == APPROVE_DECLARATION:
        met = Flag.LATE_REGISTRATION_APPROVAL in flags and Flag.POTENTIAL_DUPLICATE not in flags
    if not met:
        return f"Conditions for action: {action.value} were not met, action cannot be performed"
    return None


def format_registration_number(sequence: int) -> str:
    """The registration number for the n-th registration (unique because the sequence is)."""
    return f"RN{sequence:010d}"


# packages/events/src/service/events/events.ts generateTrackingId: six characters of 0-9A-Z.
TRACKING_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
TRACKING_ID_LENGTH = 6


def tracking_id_from(draw: Sequence[int]) -> str:
    """A tracking ID from six random draws (each taken modulo 36)."""
    return "".join(TRACKING_ALPHABET[d % len(TRACKING_ALPHABET)] for d in draw[:TRACKING_ID_LENGTH])
