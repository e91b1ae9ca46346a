"""A record's state folded from its actions: only Accepted ones count; Requested ones wait for their Accepted."""

import pytest

from crvs_client import current_state
from crvs_client.state import assignee, pending_action

pytestmark = pytest.mark.unit


def doc(*actions):
    return {"id": "e1", "type": "birth", "trackingId": "BABC123", "actions": list(actions)}


def act(kind, **extra):
    return {"type": kind, "status": "Accepted", **extra}


@pytest.mark.parametrize(
    ("actions", "status", "flags", "number"),
    [
        ([act("CREATE")], "CREATED", set(), None),
        ([act("CREATE"), act("DECLARE", declaration={"child.dob": "2025-01-01"})], "DECLARED", set(), None),
        ([act("CREATE"), act("DECLARE", createdByRole="REGISTRATION_AGENT")], "DECLARED", {"validated"}, None),
        ([act("CREATE"), act("DECLARE"), act("CUSTOM", customActionType="VALIDATE_DECLARATION")], "DECLARED",
         {"validated"}, None),
        ([act("CREATE"), act("DECLARE"), act("REJECT")], "DECLARED", {"rejected"}, None),
        ([act("CREATE"), act("DECLARE"), act("REGISTER", registrationNumber="R1")], "REGISTERED", set(), "R1"),
        ([act("CREATE"), act("DECLARE"), act("REGISTER", registrationNumber="R1"), act("PRINT_CERTIFICATE")],
         "REGISTERED", {"certificate-printed"}, "R1"),
        ([act("CREATE"), act("DECLARE"), act("ARCHIVE")], "ARCHIVED", set(), None),
        ([act("CREATE"), {"type": "REGISTER", "status": "Rejected"}], "CREATED", set(), None),
        ([act("CREATE"), {"id": "r1", "type": "DECLARE", "status": "Requested"}], "CREATED", set(), None),
        ([act("CREATE"), act("NOTIFY"), act("READ")], "NOTIFIED", set(), None),
    ],
)
def test_current_state_folds_actions(actions, status, flags, number):
    state = current_state(doc(*actions))
    assert state.status == status
    assert set(state.flags) == flags
    assert state.registration_number == number


def test_declarations_merge_in_order_and_assignment_tracks():
    state = current_state(doc(act("CREATE"), act("ASSIGN", assignedTo="u1"),
                              act("DECLARE", declaration={"a": 1, "b": 2}), act("UNASSIGN"),
                              act("REGISTER", declaration={"b": 3})))
    assert state.declaration == {"a": 1, "b": 3}
    assert state.assigned_to is None


def test_accepted_action_takes_the_declaration_of_its_request():
    requested = {"id": "r1", "type": "DECLARE", "status": "Requested", "declaration": {"a": 1}, "transactionId": "t"}
    accepted = act("DECLARE", id="a1", originalActionId="r1", declaration={}, transactionId="t")
    state = current_state(doc(act("CREATE"), requested, accepted))
    assert state.status == "DECLARED" and state.declaration == {"a": 1}


def test_pending_action_until_accepted_or_rejected():
    requested = {"id": "r1", "type": "REGISTER", "status": "Requested", "transactionId": "t"}
    assert pending_action(doc(requested), "REGISTER", "t") == "Requested"
    assert pending_action(doc(requested, act("REGISTER", originalActionId="r1", transactionId="t")), "REGISTER",
                          "t") is None
    assert pending_action(doc(requested, {"type": "REGISTER", "status": "Rejected", "originalActionId": "r1"}),
                          "REGISTER", "t") == "Rejected"
    assert pending_action(doc(act("REGISTER", transactionId="t")), "REGISTER", "t") is None
    assert pending_action(doc(requested), "REGISTER", "another") is None


def test_a_users_create_assigns_the_creator():
    assert assignee(doc(act("CREATE", createdBy="u1", createdByUserType="user"))) == "u1"
    assert assignee(doc(act("CREATE", createdBy="c1", createdByUserType="system"))) is None
    assert assignee(doc(act("CREATE", createdBy="u1"), act("ASSIGN", assignedTo="u1"), act("UNASSIGN"))) is None
