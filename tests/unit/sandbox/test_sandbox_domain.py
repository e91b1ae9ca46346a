"""Pure domain rules: scopes, derived state from Requested/Accepted actions, what a status allows, name tokens."""

from __future__ import annotations

import pytest

from sandbox.domain import (
    DEFAULT_SYSTEM_SCOPES,
    ROLE_SCOPES,
    ActionType,
    EventStatus,
    EventType,
    State,
    available_actions,
    conflict_reason,
    deletion_variants,
    derive_state,
    has_scope,
    name_tokens,
    parse_scope,
    tracking_id_from,
)

pytestmark = pytest.mark.unit

CLERK, AGENT, REGISTRAR = "HOSPITAL_CLERK", "REGISTRATION_AGENT", "LOCAL_REGISTRAR"
_clock = iter(range(10_000))


def act(kind: str, status: str = "Accepted", role: str = CLERK, user: str = "u1", **extra) -> dict:
    n = next(_clock)
    return {"id": f"a{n}", "type": kind, "status": status, "createdAt": f"2025-06-01T10:{n // 60 % 60:02d}:"
            f"{n % 60:02d}.000Z", "createdBy": user, "createdByRole": role, "createdByUserType": "user",
            "createdAtLocation": "office", "transactionId": f"t{n}", "declaration": {}, **extra}


def confirmed(kind: str, role: str = CLERK, user: str = "u1", **extra) -> list[dict]:
    """A Requested action and its Accepted twin, as OpenCRVS stores a synchronously confirmed action."""
    request = act(kind, "Requested", role, user, **extra)
    accepted = act(kind, "Accepted", role, user, originalActionId=request["id"],
                   **{k: v for k, v in extra.items() if k != "declaration"})
    return [request, accepted]


def history(*parts: list[dict] | dict) -> list[dict]:
    out: list[dict] = [act("CREATE")]
    for part in parts:
        out.extend(part if isinstance(part, list) else [part])
    return out


def test_role_scope_names_are_farajalands_encoded_scopes():
    assert parse_scope("type=record.register&placeOfEvent=administrativeArea") == (
        "record.register", {"placeOfEvent": ("administrativeArea",)})
    assert parse_scope("record.read") == ("record.read", {})
    assert has_scope(ROLE_SCOPES[REGISTRAR], ["record.register"])
    assert not has_scope(ROLE_SCOPES[CLERK], ["record.register"])
    assert has_scope(ROLE_SCOPES[CLERK], ["record.declare", "record.register"])
    assert has_scope(ROLE_SCOPES[AGENT], ["record.custom-action"], custom_action="VALIDATE_DECLARATION")
    assert not has_scope(ROLE_SCOPES[REGISTRAR], ["record.custom-action"], custom_action="VALIDATE_DECLARATION")
    assert set(DEFAULT_SYSTEM_SCOPES) == {"type=record.create", "type=record.read", "type=record.search",
                                          "type=record.notify"}


def test_event_option_narrows_a_scope():
    scopes = ["type=record.notify&event=birth"]
    assert has_scope(scopes, ["record.notify"], event_type="birth")
    assert not has_scope(scopes, ["record.notify"], event_type="death")


def test_only_accepted_actions_change_the_status():
    requested_only = history(act("DECLARE", "Requested", declaration={"child.dob": "2025-05-01"}))
    state = derive_state(EventType.BIRTH, requested_only)
    assert state.status is EventStatus.CREATED
    assert state.flags == ["declare:requested"]
    assert state.declaration == {}
    assert state.pending_since == requested_only[-1]["createdAt"]
    both = history(confirmed("DECLARE", declaration={"child.dob": "2025-05-01"}))
    state = derive_state(EventType.BIRTH, both)
    assert state.status is EventStatus.DECLARED
    assert state.declaration == {"child.dob": "2025-05-01"}
    assert state.pending_since is None
    declared = state.legal_statuses["DECLARED"]
    assert declared is not None
    assert declared["createdAt"] == both[1]["createdAt"] and declared["acceptedAt"] == both[2]["createdAt"]


@pytest.mark.parametrize("role,validated", [(CLERK, False), (AGENT, True), (REGISTRAR, True),
                                            ("EMBASSY_OFFICIAL", True)])
def test_declare_validates_only_for_validating_roles(role, validated):
    state = derive_state(EventType.BIRTH, history(confirmed("DECLARE", role=role)))
    assert ("validated" in state.flags) is validated


def test_embassy_declarations_are_not_validated_for_deaths():
    state = derive_state(EventType.DEATH, history(confirmed("DECLARE", role="EMBASSY_OFFICIAL")))
    assert "validated" not in state.flags


def test_validate_declaration_custom_action_validates_and_clears_rejected():
    rejected = history(confirmed("DECLARE"), confirmed("REJECT", role=AGENT, content={"reason": "x"}))
    assert "rejected" in derive_state(EventType.BIRTH, rejected).flags
    validated = [*rejected, *confirmed("CUSTOM", role=AGENT, customActionType="VALIDATE_DECLARATION")]
    flags = derive_state(EventType.BIRTH, validated).flags
    assert "validated" in flags and "rejected" not in flags


def test_register_swaps_validated_for_pending_certificate_and_print_clears_it():
    registered = history(confirmed("DECLARE", role=REGISTRAR),
                         confirmed("REGISTER", role=REGISTRAR, registrationNumber="RN1"))
    state = derive_state(EventType.BIRTH, registered)
    assert state.status is EventStatus.REGISTERED and state.registration_number == "RN1"
    assert state.flags == ["pending-first-certificate-issuance"]
    printed = derive_state(EventType.BIRTH, [*registered, *confirmed("PRINT_CERTIFICATE", role=REGISTRAR)])
    assert printed.flags == []


def test_notify_marks_incomplete_and_declare_clears_it():
    notified = history(confirmed("NOTIFY"))
    assert derive_state(EventType.BIRTH, notified).flags == ["incomplete"]
    assert derive_state(EventType.BIRTH, notified).status is EventStatus.NOTIFIED


def test_late_birth_needs_approval_before_registration():
    state = derive_state(EventType.BIRTH, history(confirmed("DECLARE", role=REGISTRAR,
                                                            declaration={"child.dob": "2023-01-01"})))
    assert "approval-required-for-late-registration" in state.flags
    assert conflict_reason(EventType.BIRTH, state, ActionType.REGISTER) is not None


def test_assignment_follows_accepted_assign_and_unassign():
    assigned = history(act("ASSIGN", assignedTo="u1"))
    assert derive_state(EventType.BIRTH, assigned).assigned_to == "u1"
    released = [*assigned, act("UNASSIGN")]
    assert derive_state(EventType.BIRTH, released).assigned_to is None


def test_read_does_not_change_updated_at():
    base = history(confirmed("DECLARE"))
    before = derive_state(EventType.BIRTH, base)
    after = derive_state(EventType.BIRTH, [*base, act("READ")])
    assert after.updated_at == before.updated_at and after.updated == before.updated


@pytest.mark.parametrize("status,flags,allowed,refused", [
    (EventStatus.CREATED, [], [ActionType.DECLARE, ActionType.NOTIFY], [ActionType.REGISTER, ActionType.ARCHIVE]),
    (EventStatus.NOTIFIED, ["incomplete"], [ActionType.REJECT, ActionType.ARCHIVE],
     [ActionType.DECLARE, ActionType.REGISTER]),
    (EventStatus.DECLARED, [], [ActionType.REGISTER, ActionType.REJECT, ActionType.ARCHIVE], [ActionType.DECLARE]),
    (EventStatus.DECLARED, ["rejected"], [ActionType.NOTIFY, ActionType.ARCHIVE],
     [ActionType.REGISTER, ActionType.REJECT]),
    (EventStatus.DECLARED, ["register:requested"], [ActionType.READ],
     [ActionType.REGISTER, ActionType.REJECT, ActionType.ARCHIVE]),
    (EventStatus.REGISTERED, [], [ActionType.PRINT_CERTIFICATE], [ActionType.ARCHIVE, ActionType.REGISTER]),
    (EventStatus.ARCHIVED, [], [ActionType.READ], [ActionType.DECLARE, ActionType.REGISTER]),
])
def test_available_actions(status, flags, allowed, refused):
    actions = available_actions(status, flags)
    assert all(a in actions for a in allowed)
    assert not any(a in actions for a in refused)


def test_register_needs_the_validated_flag():
    unvalidated = State(status=EventStatus.DECLARED, flags=[])
    reason = conflict_reason(EventType.BIRTH, unvalidated, ActionType.REGISTER)
    assert reason == "Conditions for action: REGISTER were not met, action cannot be performed"
    assert conflict_reason(EventType.BIRTH, State(status=EventStatus.DECLARED, flags=["validated"]),
                           ActionType.REGISTER) is None


def test_conflict_message_names_status_flags_and_available_actions():
    reason = conflict_reason(EventType.BIRTH, State(status=EventStatus.REGISTERED), ActionType.ARCHIVE)
    assert reason == ("Action 'ARCHIVE' cannot be performed on an event in 'REGISTERED' state with [] flags. "
                      "Available actions: READ, PRINT_CERTIFICATE, CUSTOM.")


def test_tracking_ids_are_six_characters_of_digits_and_capitals():
    tracking = tracking_id_from([0, 10, 35, 36, 71, 5])
    assert tracking == "0AZ0Z5"


def test_name_tokens_are_case_and_accent_insensitive():
    assert name_tokens({"firstname": "Zoé", "surname": "Mbeki-Dlamini"}) == ["zoe", "mbeki", "dlamini"]
    assert name_tokens("  BANDA   chipo ") == ["banda", "chipo"]


def test_deletion_variants_share_a_key_for_transpositions_and_substitutions():
    assert deletion_variants("chipo") & deletion_variants("cihpo")
    assert deletion_variants("banda") & deletion_variants("bamda")
    assert "chpo" in deletion_variants("chipo")
