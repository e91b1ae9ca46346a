"""`release status` in text names the freeze window in force and the next one, an emergency and its review."""

from __future__ import annotations

import pytest

from release.report.text import checklist_lines

pytestmark = pytest.mark.unit

WINDOW = {"name": "elections", "label": "elections (general elections)", "reason": "general elections",
          "start": "2027-08-01T00:00:00Z", "end": "2027-08-16T00:00:00Z", "timezone": "Africa/Lusaka"}


def status(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {"version": "1.2.0", "state": "PREPARED", "preparer": "rm@example.org",
                               "candidate": {"tag": "v1.2.0-rc.1", "sha": "c" * 40}, "gates": [],
                               "promotable": False, "blocking_reasons": ["load: PENDING"]}
    base.update(extra)
    return base


def test_a_window_in_force_and_the_next_one_are_named() -> None:
    upcoming = {**WINDOW, "name": "census", "label": "census", "start": "2028-01-01T00:00:00Z"}
    text = "\n".join(checklist_lines(status(freeze={"active": WINDOW, "upcoming": upcoming})))
    assert "freeze window in force: elections (general elections), 2027-08-01T00:00:00Z" in text
    assert "next freeze window: census, 2028-01-01T00:00:00Z" in text


def test_no_window_no_line() -> None:
    assert not [line for line in checklist_lines(status(freeze=None)) if "freeze" in line]


def test_an_emergency_promotion_shows_its_reason_approvers_and_the_pending_review() -> None:
    emergency = {"reason": "registrations blocked in production", "approvers": ["cab@example.org"],
                 "promoted_by": "ops@example.org", "at": "2027-08-03T10:00:00Z"}
    text = "\n".join(checklist_lines(status(emergency=emergency, review=None)))
    assert "emergency promotion by ops@example.org at 2027-08-03T10:00:00: registrations blocked in production; " \
           "approved by cab@example.org" in text
    assert "follow-up review: pending" in text
    reviewed = "\n".join(checklist_lines(status(emergency=emergency, review={"reviewed_by": "cab2@example.org",
                                                                              "at": "2027-08-05T09:00:00Z"})))
    assert "follow-up review by cab2@example.org at 2027-08-05T09:00:00" in reviewed and "pending" not in reviewed


def test_a_hostile_reason_stays_on_one_line() -> None:
    emergency = {"reason": "fix\n::notice::owned", "approvers": [], "promoted_by": "ops@example.org", "at": ""}
    lines = checklist_lines(status(emergency=emergency))
    assert not [line for line in lines if line.startswith("::")]
