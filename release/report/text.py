"""Plain-text lines of a release's checklist for the terminal (pure: takes the status JSON shape).

These lines also land in CI logs (`release promote` in a GitHub job prints them), so every value that is not the
tool's own goes through safe_text.one_line: a comment with a newline, a terminal escape or `##[` stays on its line,
shown as escapes, and no value ever starts a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from release.safe_text import one_line as _t

_MARK = {"PASSED": "ok", "WAIVED": "waived", "PENDING": "..", "RUNNING": "..", "FAILED": "XX", "ERROR": "XX",
         "STALE": "!!", "INCONCLUSIVE": "??"}


def checklist_lines(status: Mapping[str, Any]) -> list[str]:
    """One header line, one line per gate (with evidence and decisions indented), and the verdict."""
    cand = status.get("candidate") or {}
    lines = [f"release {_t(status['version'])} ({_t(status['state'])}); candidate "
             f"{_t(cand.get('tag', 'none'))} {_t(str(cand.get('sha', ''))[:12])}; prepared by {_t(status.get('preparer'))}"]
    evaluated = status.get("evaluated") or {}
    if evaluated.get("from") == "recorded":
        lines.append(f"settled: from the recorded evidence as of {_t(evaluated.get('as_of') or 'its promotion')}; "
                     "no target is probed")
    lines.extend(f"  {line}" for line in operations_lines(status))
    for g in status.get("gates", []):
        reason = _t("; ".join(g.get("reasons") or []))
        mark = _MARK.get(g["state"], _t(g["state"]))
        lines.append(f"[{mark}] {_t(g['gate']):<16} {_t(g['kind']):<9} {_t(g['state']):<12} {reason}")
        ev = g.get("evidence")
        if ev:
            lines.append(f"      evidence: run {_t(ev['run_id'])} on {_t(str(ev['commit'])[:12])}, "
                         f"target {_t(ev['target_url'])} reporting {_t(ev['target_version'])}, "
                         f"tool {_t(ev['tool_version'])}")
            for a in ev.get("artifacts", [])[:8]:
                lines.append(f"        {_t(a['path'])} sha256 {_t(a['sha256'][:16])}…")
        for d in g.get("decisions", []):
            crit = f" {_t(d['criterion'])}" if d.get("criterion") else ""
            lines.append(f"      {_t(d['kind'])}{crit} by {_t(d['actor'])} at {_t(d['at'][:19])}")
        w = g.get("waiver")
        if w:
            lines.append(f"      waived by {_t(w['actor'])} until {_t(w['expires_at'][:10])}: {_t(w['reason'])}")
    if evaluated.get("from") == "recorded" and status.get("promotable"):
        lines.append(f"{_t(status['state'])}: every gate had passed or was validly waived when its promotion was "
                     "claimed")
    elif status.get("promotable"):
        lines.append("PROMOTABLE: every gate passed or is validly waived")
    else:
        lines.append("BLOCKED:")
        lines.extend(f"  - {_t(r)}" for r in status.get("blocking_reasons", []))
    return lines


def _window_text(window: Mapping[str, Any]) -> str:
    return (f"{_t(window.get('label') or window.get('name'))}, {_t(window.get('start'))} to {_t(window.get('end'))}"
            f" ({_t(window.get('timezone'))})")


def operations_lines(status: Mapping[str, Any]) -> list[str]:
    """The freeze window in force and the next one, an emergency promotion and its review, pending reviews."""
    lines: list[str] = []
    freeze = status.get("freeze") or {}
    if freeze.get("active"):
        lines.append(f"freeze window in force: {_window_text(freeze['active'])}; promote refuses "
                     "(emergency path: docs/freeze-and-emergency.md)")
    if freeze.get("upcoming"):
        lines.append(f"next freeze window: {_window_text(freeze['upcoming'])}")
    emergency = status.get("emergency")
    if emergency:
        approvers = ", ".join(_t(a) for a in emergency.get("approvers") or []) or "none recorded"
        lines.append(f"emergency promotion by {_t(emergency.get('promoted_by'))} at "
                     f"{_t(str(emergency.get('at', ''))[:19])}: {_t(emergency.get('reason'))}; approved by {approvers}")
    review = status.get("review")
    if review:
        lines.append(f"follow-up review by {_t(review.get('reviewed_by'))} at {_t(str(review.get('at', ''))[:19])}")
    elif emergency:
        lines.append("follow-up review: pending (no normal release is prepared or promoted until it is recorded)")
    for pending in status.get("pending_reviews") or []:
        lines.append(f"review pending: {_t(pending)}")
    return lines
