"""Freeze windows: the [[freeze]] periods (elections, a census) in which `release promote` refuses.

Pure functions over the configured windows and a clock: which window is active now, which opens next, and the
refusal promote raises before it writes anything. The emergency path (release.workflow.emergency) is the only way
through an active window, as an ITIL emergency change is the only change allowed during a change freeze.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from release.config import FreezeWindow
from release.errors import Blocked
from release.gates import iso_utc
from release.ledger import AuditEvent


def active_window(windows: Sequence[FreezeWindow], now: datetime) -> FreezeWindow | None:
    """The window `now` falls in (start inclusive, end exclusive); of overlapping ones, the one that ends last."""
    inside = [w for w in windows if w.start <= now < w.end]
    return max(inside, key=lambda w: w.end) if inside else None


def next_window(windows: Sequence[FreezeWindow], now: datetime) -> FreezeWindow | None:
    """The window that opens next after `now`, or None."""
    ahead = [w for w in windows if w.start > now]
    return min(ahead, key=lambda w: w.start) if ahead else None


def describe(window: FreezeWindow) -> str:
    """'elections-2027 (general elections), 2027-08-01 00:00 to 2027-08-16 00:00 Africa/Lusaka'."""
    return (f"{window.label}, {window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} {window.timezone}")


@dataclass(frozen=True)
class FreezeNotice:
    """What status shows: the window in force now, and the next one to open."""

    active: FreezeWindow | None
    upcoming: FreezeWindow | None

    def to_json(self) -> dict[str, Any] | None:
        """The `freeze` key of `release status --json` (None when no window is active or ahead)."""
        if self.active is None and self.upcoming is None:
            return None
        return {"active": _window_json(self.active), "upcoming": _window_json(self.upcoming)}

    def lines(self) -> list[str]:
        """Plain lines for the terminal (user text goes through safe_text where printed)."""
        out = []
        if self.active is not None:
            out.append(f"freeze window in force: {describe(self.active)}; promote refuses (emergency path: "
                       "docs/freeze-and-emergency.md)")
        if self.upcoming is not None:
            out.append(f"next freeze window: {describe(self.upcoming)}")
        return out


def _window_json(window: FreezeWindow | None) -> dict[str, Any] | None:
    if window is None:
        return None
    return {"name": window.name, "reason": window.reason, "start": iso_utc(window.start),
            "end": iso_utc(window.end), "timezone": window.timezone, "label": window.label}


def notice(windows: Sequence[FreezeWindow], now: datetime) -> FreezeNotice:
    """The active and the next window at `now`."""
    return FreezeNotice(active_window(windows, now), next_window(windows, now))


def blocking_reason(window: FreezeWindow) -> str:
    """The checklist line and the promote refusal for an active window."""
    return (f"freeze window {describe(window)} is in force: promotion is refused until it ends, unless it is an "
            "approved emergency (`release promote VERSION --emergency --reason TEXT`, docs/freeze-and-emergency.md)")


def refuse_inside(windows: Sequence[FreezeWindow], now: datetime, version: str) -> None:
    """Blocked (exit 1), naming the window, when `now` is inside one; nothing has been written yet."""
    window = active_window(windows, now)
    if window is not None:
        raise Blocked(f"promotion of {version} refused: {blocking_reason(window)}; nothing was changed")


# ---------------------------------------------------------------- the emergency record, read from the audit chain
# An emergency promotion and its follow-up review are audit events (hash-chained, append-only): no table of their own
# is needed, and `release audit verify` covers them. release.workflow.emergency writes them.

#: One emergency approver's authorisation of one candidate.
APPROVAL_ACTION = "emergency.approved"
#: Written right after the claim of an emergency promotion: the reason, the approvers and the window.
EMERGENCY_ACTION = "promotion.emergency"
#: The follow-up review of an emergency promotion; until it exists, no normal release is prepared or promoted.
REVIEW_ACTION = "release.reviewed"


def latest_event(events: Sequence[AuditEvent], action: str, version: str) -> AuditEvent | None:
    """The newest audit event of `action` about `version`, or None."""
    found = [e for e in events if e.action == action and e.subject == version]
    return found[-1] if found else None


#: The audit events of a promotion claim; an emergency record counts once a claim follows it.
CLAIM_ACTIONS = frozenset({"promotion.claimed", "promotion.resumed"})


def pending_reviews(events: Sequence[AuditEvent]) -> list[str]:
    """Versions promoted on the emergency path whose follow-up review is not recorded yet, oldest first.

    The emergency record is written before the claim, so a crash between the two cannot leave an emergency
    promotion unrecorded; a record that no claim followed (another process held the claim) is not a promotion.
    """
    emergencies: dict[str, int] = {}
    claimed: dict[str, int] = {}
    reviewed: dict[str, int] = {}
    for event in events:
        if event.action == EMERGENCY_ACTION:
            emergencies[event.subject] = event.seq
        elif event.action in CLAIM_ACTIONS:
            claimed[event.subject] = event.seq
        elif event.action == REVIEW_ACTION:
            reviewed[event.subject] = event.seq
    return [v for v, seq in sorted(emergencies.items(), key=lambda kv: kv[1])
            if claimed.get(v, -1) > seq and reviewed.get(v, -1) < seq]


def pending_review_reason(version: str) -> str:
    """The refusal (and checklist line) while the emergency promotion of `version` awaits its review."""
    return (f"release {version} was promoted on the emergency path and its follow-up review is not recorded: run "
            f"`release review {version} --notes TEXT` as a member of the review role first")
