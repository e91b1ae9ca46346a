import pytest

from crvs_client import current_state

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
        ([act("CREATE"), act("DECLARE"), act("REJECT")], "DECLARED", {"rejected"}, None),
        ([act("CREATE"), act("DECLARE"), act("REGISTER", registrationNumber="R1")], "REGISTERED", set(), "R1"),
        ([act("CREATE"), act("DECLARE"), act("REGISTER", registrationNumber="R1"), act("PRINT_CERTIFICATE")],
         "REGISTERED", {"certificate-printed"}, "R1"),
        ([act("CREATE"), act("DECLARE"), act("ARCHIVE")], "ARCHIVED", set(), None),
        ([act("CREATE"), {"type": "REGISTER", "status": "Rejected"}], "CREATED", set(), None),
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
