"""The verdict a report or the board list shows: a fresh evaluation while open, what happened once promoted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from release.gates import Checklist
from release.ledger import ReleaseRecord, ReleaseState
from release.workflow.status import ReleaseView, verdict

pytestmark = pytest.mark.unit


def view(state: ReleaseState, promotable: bool) -> ReleaseView:
    record = ReleaseRecord("1.2.0", "1.1.0", "rm@example.org", datetime(2026, 11, 1, tzinfo=UTC), state)
    return ReleaseView(record, None, None, (), Checklist((), promotable, () if promotable else ("qa: PENDING",)))


@pytest.mark.parametrize(
    ("state", "promotable", "expected"),
    [(ReleaseState.PREPARED, True, "PROMOTABLE"), (ReleaseState.PREPARED, False, "BLOCKED"),
     (ReleaseState.PROMOTING, False, "BLOCKED"), (ReleaseState.PROMOTED, False, "PROMOTED"),
     (ReleaseState.FAILED_AFTER_PROMOTE, True, "FAILED_AFTER_PROMOTE"),
     (ReleaseState.ROLLED_BACK, True, "ROLLED_BACK")],
)
def test_verdict(state, promotable, expected):
    assert verdict(view(state, promotable)) == expected
