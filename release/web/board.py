"""What the web pages show and do, as plain functions over an opened project Context.

Decisions call release.workflow.decisions (the code path of `release approve` and `release sign-off`), with
the logged-in account as the actor, after checking the page the member saw is still the current one.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from release.errors import DecisionInvalid, NotInRole, UsageError

if TYPE_CHECKING:
    from release.ledger.records import RecordVersion
    from release.workflow.context import Context

ACTIONS = {"approve": ("approval", "Approve"), "reject": ("approval", "Reject"), "signoff": ("signoff", "Sign off")}


class StalePage(DecisionInvalid):
    """The page was rendered for a candidate or report that is no longer current; nothing was recorded."""


class ConfirmationNeeded(DecisionInvalid):
    """Approving over a failed automated gate takes a second, explicit step; nothing was recorded yet."""

    def __init__(self, message: str, failed: list[dict[str, Any]]) -> None:
        """Carry the failed gates the confirmation page names."""
        super().__init__(message)
        self.failed = failed


#: Automated-gate states an approval must confirm it approves over (promote still refuses them).
FAILED_AUTOMATED = frozenset({"FAILED", "ERROR", "INCONCLUSIVE"})
#: Gate kinds that run on their own (the others are people's decisions).
AUTOMATED_KINDS = frozenset({"pytest", "browser", "locust", "command"})


def decision_summary(data: dict[str, Any]) -> dict[str, Any]:
    """What the decision needs next to the buttons (pure): verdict, why blocked, gates not passed, approvals."""
    gates = data.get("gates") or []
    open_gates = [{"gate": g["gate"], "state": g["state"], "reason": (g.get("reasons") or [""])[0]}
                  for g in gates if not g.get("counts")]
    failed_automated = [g for g in open_gates if g["state"] in FAILED_AUTOMATED
                        and next((x["kind"] for x in gates if x["gate"] == g["gate"]), "") in AUTOMATED_KINDS]
    decided = [{"gate": d["gate"], "kind": d["kind"], "actor": d["actor"], "at": d.get("at", "")}
               for d in data.get("decisions") or [] if d.get("kind") in ("approval", "rejection", "signoff")]
    return {"verdict": data.get("verdict", ""), "blocking": list(data.get("blocking_reasons") or []),
            "open_gates": open_gates, "failed_automated": failed_automated, "decisions": decided,
            "waivers": [{"gate": w["gate"], "actor": w.get("actor", ""), "expires_at": w.get("expires_at", "")}
                        for w in data.get("waivers") or []]}


def release_rows(ctx: Context) -> list[dict[str, Any]]:
    """Every release, newest first, with its newest candidate and verdict."""
    from release.gates import iso_utc
    from release.workflow.status import evaluate_release, verdict

    rows = []
    for rel in reversed(ctx.ledger.list_releases()):
        view = evaluate_release(ctx, rel.version)
        rows.append({"version": rel.version, "state": rel.state.value,
                     "candidate": view.candidate.tag if view.candidate else None,
                     "verdict": verdict(view),
                     "prepared_at": iso_utc(rel.created_at)})
    return rows


#: Rendered HTML of recently shown record versions, by record hash (a version never changes, so it never goes stale).
_RENDERED: dict[str, str] = {}
_RENDERED_MAX = 16


def record_html(stored: RecordVersion) -> str:
    """The HTML of a stored record version, rendered from its data (kept for the next reader of the same one)."""
    from release.report.record import render_record

    html = _RENDERED.get(stored.record_hash)
    if html is None:
        html = render_record(stored.body.get("data") or {}, "html").decode("utf-8")
        if len(_RENDERED) >= _RENDERED_MAX:
            _RENDERED.pop(next(iter(_RENDERED)))
        _RENDERED[stored.record_hash] = html
    return html


def _body(html: str) -> str:
    """The inside of <body> of the standalone change record, to embed in the page (styles kept)."""
    lower = html.lower()
    head_style = ""
    start, end = lower.find("<style"), lower.find("</style>")
    if start != -1 and end != -1:
        head_style = html[start:end + len("</style>")]
    b0 = lower.find("<body")
    b0 = lower.find(">", b0) + 1 if b0 != -1 else 0
    b1 = lower.rfind("</body>")
    return head_style + html[b0:b1 if b1 != -1 else len(html)]


#: The forms each gate kind offers: (action, decision kind, label, comment required).
_GATE_FORMS = {"approval": (("approve", "approval", "Approve", False), ("reject", "rejection", "Reject", True)),
               "signoff": (("signoff", "signoff", "Sign off", False),)}


def _forms(ctx: Context, data: dict[str, Any], email: str, role: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The decision forms open to this account, and why each other form of its role is not shown.

    A form is offered only when the POST would record it: the account's role is the gate's (decide() checks that),
    and check_decision (the rule the ledger applies again in its write transaction) accepts this person on this
    candidate now, so the preparer, commit authors, people outside the gate's configured role and members who
    already made that decision see no button the server would refuse. A rejection's required comment is left out
    of the check: the form asks for it.
    """
    from release.errors import DecisionRefused
    from release.gates import DecisionKind, check_decision, iso_utc, norm_actor
    from release.workflow.status import gate_spec, release_facts

    cand = data.get("candidate") or {}
    if data.get("state") != "PREPARED" or not cand.get("sha"):
        return [], []
    release = ctx.ledger.get_release(data["version"])
    candidate = ctx.ledger.latest_candidate(release.version)
    if candidate is None or candidate.sha != cand["sha"]:
        return [], []
    facts = release_facts(ctx, release, candidate)
    existing = ctx.ledger.decisions_for(facts.version, facts.candidate_sha)
    now = ctx.now()
    forms: list[dict[str, Any]] = []
    hidden: list[str] = []
    for gate in ctx.config.gates.values():
        if gate.role != role:
            continue
        spec = gate_spec(gate)
        for action, kind, label, comment_required in _GATE_FORMS.get(gate.kind, ()):
            try:
                check_decision(DecisionKind(kind), spec, email, facts, existing, now,
                               comment="(given in the form)" if comment_required else "")
            except DecisionRefused as exc:
                hidden.append(str(exc))
                continue
            mine = [d for d in existing if d.gate == gate.name and d.candidate_sha == facts.candidate_sha
                    and DecisionKind(d.kind) is DecisionKind.APPROVAL and norm_actor(d.actor) == norm_actor(email)]
            note = ""
            if mine and action == "reject":  # GitHub's model: a later "request changes" stands over an approval
                label = "Reject (withdraws your approval)"
                note = (f"You approved {gate.name} at {iso_utc(mine[0].at)[:16].replace('T', ' ')}. A rejection now "
                        "blocks the release: a rejection outweighs every approval of this candidate.")
            forms.append({"gate": gate.name, "action": action, "label": label, "role": gate.role,
                          "comment_required": comment_required, "note": note})
    return forms, hidden


def release_view(ctx: Context, version: str, email: str, role: str) -> dict[str, Any]:
    """The release page: the current stored record version, the hash the member approves, and their forms.

    The record shown is a stored version (release.workflow.snapshots): reading the page stores a new one only when
    the evidence changed since the last, so the hash in the form names bytes the ledger keeps.
    """
    from release.report.record import change_record_data
    from release.workflow.snapshots import snapshot

    data = change_record_data(ctx, version)
    stored = snapshot(ctx, data["version"], "evidence", data)
    cand = data.get("candidate") or {}
    forms, hidden = _forms(ctx, data, email, role)
    reason = ""
    if not forms:
        reason = (f"No decision is open to you ({email}, role {role}) on this release."
                  if data.get("state") == "PREPARED" else f"The release is {data.get('state')}; decisions are closed.")
    return {"version": data["version"], "verdict": data["verdict"], "candidate_sha": cand.get("sha", ""),
            "candidate_tag": cand.get("tag", ""), "report_hash": stored.record_hash, "record_n": stored.n,
            "forms": forms, "no_forms_reason": reason, "not_offered": hidden, "summary": decision_summary(data),
            "report_body": _body(record_html(stored)), "superseded_by": None}


def record_version_view(ctx: Context, version: str, n: int) -> dict[str, Any]:
    """One stored version of the record, read-only, saying whether (and by which) it is superseded."""
    from release.errors import InputError
    from release.workflow.status import normalise_version

    name = normalise_version(ctx, version)
    found = ctx.ledger.record_version(name, n=n)
    newest = ctx.ledger.record_version(name, body=False)
    if found is None or newest is None:
        raise InputError(f"release {name} has no change record {n}")
    return {"version": name, "record_n": found.n, "report_hash": found.record_hash, "verdict": found.verdict,
            "reason": found.reason, "created_at": found.created_at.isoformat(), "created_by": found.created_by,
            "superseded_by": None if newest.n == found.n else {"n": newest.n, "hash": newest.record_hash},
            "report_body": _body(record_html(found))}


def record_versions(ctx: Context, version: str) -> list[dict[str, Any]]:
    """Every stored version of the release's record, newest first, for the page's history list."""
    from release.workflow.status import normalise_version

    rows = ctx.ledger.record_versions(normalise_version(ctx, version))
    return [{"n": r.n, "hash": r.record_hash, "reason": r.reason, "verdict": r.verdict,
             "created_at": r.created_at.isoformat(timespec="seconds")} for r in reversed(rows)]


def report_bytes(ctx: Context, version: str, fmt: str) -> tuple[bytes, str]:
    """The current stored record version as a download (the one the page's forms name), and its media type."""
    from release.report.record import render_record
    from release.workflow.snapshots import snapshot
    from release.workflow.status import normalise_version

    media = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8", "pdf": "application/pdf"}
    stored = snapshot(ctx, normalise_version(ctx, version), "evidence")
    return render_record(stored.body.get("data") or {}, fmt), media[fmt]


def decide(ctx: Context, version: str, *, action: str, gate: str, actor: str, account_role: str,
           candidate_sha: str, report_hash: str, comment: str, confirmed: bool = False) -> str:
    """Record one decision from the web for actor, if the record version they saw is still current; a line to show.

    Approving while an automated gate failed needs confirmed (the second step of the form); promote still refuses.
    """
    from release.report.record import change_record_data
    from release.workflow import decisions
    from release.workflow.snapshots import fingerprint

    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r}")
    kind, _ = ACTIONS[action]
    gate_cfg = ctx.config.gate(gate)
    if gate_cfg.kind != kind:
        raise UsageError(f"gate {gate} is a {gate_cfg.kind} gate; {action} does not apply")
    if gate_cfg.role != account_role:
        raise NotInRole(f"your account's role is {account_role}; {gate} needs role {gate_cfg.role}")
    data = change_record_data(ctx, version)
    current = (data.get("candidate") or {}).get("sha")
    if not candidate_sha or candidate_sha != current:
        raise StalePage(f"a new candidate ({(data.get('candidate') or {}).get('tag', 'none')}) appeared since this "
                        "page was rendered; nothing was recorded. Read the new change record and decide again.")
    newest = ctx.ledger.record_version(data["version"], body=False)
    if (not report_hash or newest is None or report_hash != newest.record_hash
            or fingerprint(data) != newest.fingerprint):
        raise StalePage("the change record changed since this page was rendered (a new decision, evidence or "
                        "waiver); nothing was recorded. Read it again and decide again.")
    failed = decision_summary(data)["failed_automated"]
    if action == "approve" and failed and not confirmed:
        names = ", ".join(f"{g['gate']} ({g['state']})" for g in failed)
        raise ConfirmationNeeded(f"automated gates failed: {names}. Approving records your approval; promotion "
                                 "stays blocked until they pass or are waived.", failed)
    acting = dataclasses.replace(ctx, actor=actor)
    if action == "signoff":
        recorded = decisions.sign_off(acting, gate, data["version"], comment=comment,
                                      expected_sha=candidate_sha, report_hash=report_hash, via="web")
    else:
        recorded = decisions.approve(acting, data["version"], gate=gate, reject=action == "reject", comment=comment,
                                     expected_sha=candidate_sha, report_hash=report_hash, via="web")
    return recorded.line()
