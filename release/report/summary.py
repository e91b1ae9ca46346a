"""The decision summary at the top of the change record: what a board member needs on the first screen and page.

It is built from the record's own data (pure): the verdict and what blocks it; what changed (counts by kind,
breaking changes named, migrations); one line per gate with a link to its evidence; who has decided, who may
still decide and the waivers with their expiry; and the risk level with the rule that set it (release.report.risk).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from release.report.changes import breaking_subjects, kind_counts, subject_html
from release.report.risk import RiskFacts, assess, version_bump
from release.report.text import operations_lines
from release.safe_text import one_line

#: Gate states that fire the risk rule's "did not pass" line (PENDING and RUNNING are not a finding yet).
NOT_PASSED = frozenset({"FAILED", "ERROR", "INCONCLUSIVE", "STALE"})
#: Gate kinds that rehearse a database migration (issue 15's `kind = "migration"`).
MIGRATION_KINDS = frozenset({"migration"})
REASON_CHARS = 160
_RUN_LINE = re.compile(r"^run \d+: [A-Z]+$")
_ANCHOR = re.compile(r"[^A-Za-z0-9_-]")


def anchor(prefix: str, name: str) -> str:
    """An HTML id for a gate's section (gate names may hold dots)."""
    return f"{prefix}-{_ANCHOR.sub('-', name)}"


def one_reason(reasons: Sequence[str]) -> str:
    """The most telling of a gate's reasons on one line: a bare 'run 4: FAILED' gives way to the line after it."""
    telling = [r for r in reasons if not _RUN_LINE.match(str(r))] or list(reasons)
    return one_line(telling[0], limit=REASON_CHARS) if telling else ""


def _load_findings(evidence: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Procedures over the load budget, and procedures measurably slower but within it."""
    over, slower = [], []
    for block in evidence:
        load = block.get("load") or {}
        for row in load.get("procedures", ()) if isinstance(load, Mapping) else ():
            ratio, low = row.get("ratio"), row.get("ci_low")
            label = f"{row.get('procedure')} x{ratio:.2f}" if isinstance(ratio, int | float) else str(row.get("procedure"))
            if row.get("verdict") == "FAIL":
                over.append(label)
            elif isinstance(low, int | float) and low > 1.0:
                slower.append(label)
    return tuple(over), tuple(slower)


def risk_facts(data: Mapping[str, Any]) -> RiskFacts:
    """The facts the risk rule reads, from the record's data."""
    scope = data.get("scope") or {}
    gates = data.get("gates", ())
    over, slower = _load_findings(data.get("evidence", ()))
    return RiskFacts(
        bump=version_bump(str(data["version"]), data.get("previous_version")),
        changes=int(scope.get("entries", 0)),
        breaking=tuple(breaking_subjects(scope)),
        not_passed=tuple(f"{g['gate']}: {g['state']}" for g in gates if g.get("state") in NOT_PASSED),
        waived=tuple(f"{w['gate']} (until {str(w.get('expires_at'))[:10]})" for w in data.get("waivers", ())),
        over_budget=over, slower=slower,
        migrations=tuple(f"{g['gate']}: {g['state']}" for g in gates if g.get("kind") in MIGRATION_KINDS),
        emergency=tuple(f"by {e.get('promoted_by')}: {e.get('reason')}"
                        for e in [(data.get("operations") or {}).get("emergency")] if e))


def _people(g: Mapping[str, Any], spec: Mapping[str, Any], preparer: str | None) -> dict[str, Any]:
    """One sign-off or approval gate: who decided, how many more are needed, and who may still decide."""
    kinds = {"approval", "signoff"}
    decided = [{"actor": d["actor"], "kind": d["kind"], "at": str(d.get("at", ""))[:16].replace("T", " ")}
               for d in g.get("decisions", ()) if d.get("kind") in kinds | {"rejection"}]
    approvers = {d["actor"] for d in decided if d["kind"] in kinds}
    quorum = int(spec.get("quorum") or 1)
    done = {d["actor"] for d in decided}
    # Separation of duties: the preparer never approves (commit authors neither; the gate's reasons say who).
    may = [m for m in spec.get("members", ()) if m not in done and m != preparer]
    return {"gate": g["gate"], "kind": g.get("kind"), "state": g.get("state"), "role": spec.get("role"),
            "quorum": quorum, "decided": decided, "needed": max(0, quorum - len(approvers)),
            "may_decide": may if g.get("state") not in ("PASSED", "WAIVED") else []}


def _link(g: Mapping[str, Any], with_evidence: set[Any]) -> str:
    """Where a gate's line in the summary points: its evidence, its decisions or its row in the details."""
    if g["gate"] in with_evidence:
        return anchor("evidence", g["gate"])
    kind = g.get("kind")
    prefix = "approvals" if kind in ("approval", "signoff") else ("criteria" if kind == "criteria" else "gate")
    return anchor(prefix, g["gate"])


def summary_section(data: Mapping[str, Any], *, people: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The decision summary; `people` (default: the record's own) maps a sign-off or approval gate to
    {role, quorum, members} from release.toml."""
    people = people if people is not None else (data.get("people") or {})
    scope = data.get("scope") or {}
    with_evidence = {b.get("gate") for b in data.get("evidence", ())}
    gates = [{"gate": g["gate"], "kind": g.get("kind"), "state": g.get("state"), "counts": bool(g.get("counts")),
              "reason": one_reason(g.get("reasons") or ()),
              "link": "#" + _link(g, with_evidence)}
             for g in data.get("gates", ())]
    approvals = [_people(g, people.get(g["gate"], {}), data.get("preparer"))
                 for g in data.get("gates", ()) if g.get("kind") in ("approval", "signoff")]
    return {
        "verdict": data.get("verdict"),
        "blocking": [{"gate": g["gate"], "state": g["state"], "reason": g["reason"]} for g in gates if not g["counts"]],
        "changes": {"total": int(scope.get("entries", 0)), "kinds": kind_counts(scope),
                    "breaking": [one_line(s, limit=REASON_CHARS) for s in breaking_subjects(scope)],
                    "breaking_html": [subject_html(s) for s in breaking_subjects(scope)],
                    "migrations": [f"{g['gate']}: {g['state']}" for g in gates if g["kind"] in MIGRATION_KINDS]},
        "gates": gates,
        "approvals": approvals,
        "waivers": [{"gate": w["gate"], "actor": w.get("actor"), "expires_at": str(w.get("expires_at"))[:16],
                     "reason": one_line(w.get("reason", ""), limit=REASON_CHARS)} for w in data.get("waivers", ())],
        "risk": assess(risk_facts(data)).to_json(),
        # A freeze window in force or ahead, this release's emergency promotion and its follow-up review, and
        # other releases' reviews still owed: the same lines `release status` prints (release.report.text).
        "operations": operations_lines(data.get("operations") or {}),
    }
