"""Plain-text lines of a release's checklist for the terminal (pure: takes the status JSON shape)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MARK = {"PASSED": "ok", "WAIVED": "waived", "PENDING": "..", "RUNNING": "..", "FAILED": "XX", "ERROR": "XX",
         "STALE": "!!", "INCONCLUSIVE": "??"}


def checklist_lines(status: Mapping[str, Any]) -> list[str]:
    """One header line, one line per gate (with evidence and decisions indented), and the verdict."""
    cand = status.get("candidate") or {}
    lines = [f"release {status['version']} ({status['state']}); candidate "
             f"{cand.get('tag', 'none')} {str(cand.get('sha', ''))[:12]}; prepared by {status.get('preparer')}"]
    evaluated = status.get("evaluated") or {}
    if evaluated.get("from") == "recorded":
        lines.append(f"  settled: from the recorded evidence as of {evaluated.get('as_of') or 'its promotion'}; "
                     "no target is probed")
    for g in status.get("gates", []):
        reason = "; ".join(g.get("reasons") or [])
        lines.append(f"  [{_MARK.get(g['state'], g['state'])}] {g['gate']:<16} {g['kind']:<9} {g['state']:<12} {reason}")
        ev = g.get("evidence")
        if ev:
            lines.append(f"        evidence: run {ev['run_id']} on {str(ev['commit'])[:12]}, target {ev['target_url']} "
                         f"reporting {ev['target_version']}, tool {ev['tool_version']}")
            for a in ev.get("artifacts", [])[:8]:
                lines.append(f"          {a['path']} sha256 {a['sha256'][:16]}…")
        for d in g.get("decisions", []):
            crit = f" {d['criterion']}" if d.get("criterion") else ""
            lines.append(f"        {d['kind']}{crit} by {d['actor']} at {d['at'][:19]}")
        w = g.get("waiver")
        if w:
            lines.append(f"        waived by {w['actor']} until {w['expires_at'][:10]}: {w['reason']}")
    if evaluated.get("from") == "recorded" and status.get("promotable"):
        lines.append(f"{status['state']}: every gate had passed or was validly waived when its promotion was claimed")
    elif status.get("promotable"):
        lines.append("PROMOTABLE: every gate passed or is validly waived")
    else:
        lines.append("BLOCKED:")
        lines.extend(f"  - {r}" for r in status.get("blocking_reasons", []))
    return lines
