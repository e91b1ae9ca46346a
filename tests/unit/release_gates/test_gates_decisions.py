"""Table tests for check_decision() and check_waiver(): who may decide what, and the error they get."""

from __future__ import annotations

from datetime import timedelta

import pytest
from gate_builders import ACCEPT, AUTHOR, CAB, FACTS, LOAD, NOW, OLD_SHA, PREPARER, QA, REGRESSION, decide

from release.errors import (
    DecisionInvalid,
    DecisionRefused,
    DuplicateApproval,
    DuplicateDecision,
    NotInRole,
    SeparationOfDuties,
    WaiverInvalid,
    WrongGateKind,
)
from release.gates import DecisionKind, check_decision, check_waiver

pytestmark = pytest.mark.unit

A, S, R, C = DecisionKind.APPROVAL, DecisionKind.SIGNOFF, DecisionKind.REJECTION, DecisionKind.ACCEPTANCE

REFUSED = [
    ("approval-by-preparer", A, CAB, PREPARER, [], {}, SeparationOfDuties),
    ("approval-by-commit-author", A, CAB, AUTHOR, [], {}, SeparationOfDuties),
    ("rejection-by-commit-author", R, CAB, AUTHOR, [], {"comment": "no"}, SeparationOfDuties),
    ("approval-by-outsider", A, CAB, "qa@example.org", [], {}, NotInRole),
    ("signoff-by-outsider", S, QA, "chair@example.org", [], {}, NotInRole),
    ("same-approver-twice", A, CAB, "chair@example.org", [decide(A, CAB, "chair@example.org")], {}, DuplicateApproval),
    ("same-approver-twice-other-case", A, CAB, "CHAIR@example.org", [decide(A, CAB, "chair@example.org")], {},
     DuplicateApproval),
    ("signoff-twice", S, QA, "qa@example.org", [decide(S, QA, "qa@example.org")], {}, DuplicateDecision),
    ("approval-on-signoff-gate", A, QA, "qa@example.org", [], {}, WrongGateKind),
    ("signoff-on-approval-gate", S, CAB, "chair@example.org", [], {}, WrongGateKind),
    ("signoff-on-automated-gate", S, REGRESSION, "qa@example.org", [], {}, WrongGateKind),
    ("acceptance-on-approval-gate", C, CAB, "chair@example.org", [], {"criterion": "AC-1"}, WrongGateKind),
    ("acceptance-unknown-criterion", C, ACCEPT, "po@example.org", [], {"criterion": "AC-9"}, DecisionInvalid),
    ("acceptance-without-criterion", C, ACCEPT, "po@example.org", [], {}, DecisionInvalid),
    ("rejection-without-comment", R, CAB, "chair@example.org", [], {"comment": "  "}, DecisionInvalid),
]

ALLOWED = [
    ("approval-by-member", A, CAB, "chair@example.org", [], {}),
    ("second-distinct-approver", A, CAB, "ops@example.org", [decide(A, CAB, "chair@example.org")], {}),
    ("approval-again-on-new-candidate", A, CAB, "chair@example.org", [decide(A, CAB, "chair@example.org", sha=OLD_SHA)],
     {}),
    ("signoff-by-role-member", S, QA, "qa@example.org", [], {}),
    ("rejection-with-comment", R, CAB, "rg@example.org", [], {"comment": "rollback plan missing"}),
    ("acceptance-by-role-member", C, ACCEPT, "po@example.org", [], {"criterion": "AC-2"}),
]


@pytest.mark.parametrize(("kind", "spec", "actor", "existing", "extra", "error"),
                         [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused(kind, spec, actor, existing, extra, error) -> None:
    with pytest.raises(error) as raised:
        check_decision(kind, spec, actor, FACTS, existing, NOW, **extra)
    assert raised.value.exit_code == 1 and isinstance(raised.value, DecisionRefused)


@pytest.mark.parametrize(("kind", "spec", "actor", "existing", "extra"), [r[1:] for r in ALLOWED],
                         ids=[r[0] for r in ALLOWED])
def test_allowed(kind, spec, actor, existing, extra) -> None:
    assert check_decision(kind, spec, actor, FACTS, existing, NOW, **extra) is None


WAIVERS = [
    ("valid", LOAD, "rm@example.org", "flaky on staging, OPS-12", 24, None),
    ("empty-reason", LOAD, "rm@example.org", "  ", 24, WaiverInvalid),
    ("past-expiry", LOAD, "rm@example.org", "reason", -1, WaiverInvalid),
    ("expiry-now", LOAD, "rm@example.org", "reason", 0, WaiverInvalid),
    ("ineligible-actor", LOAD, "ops@example.org", "reason", 24, NotInRole),
    ("preparer", LOAD, PREPARER, "reason", 24, SeparationOfDuties),
    ("role-gate-waived-by-its-role", QA, "qa@example.org", "QA lead on leave", 24, None),
    ("role-gate-by-author", QA, AUTHOR, "reason", 24, SeparationOfDuties),
]


@pytest.mark.parametrize(("spec", "actor", "reason", "hours", "error"), [w[1:] for w in WAIVERS],
                         ids=[w[0] for w in WAIVERS])
def test_waiver(spec, actor, reason, hours, error) -> None:
    expires = NOW + timedelta(hours=hours)
    if error is None:
        assert check_waiver(spec, actor, FACTS, reason, expires, NOW) is None
    else:
        with pytest.raises(error):
            check_waiver(spec, actor, FACTS, reason, expires, NOW)
