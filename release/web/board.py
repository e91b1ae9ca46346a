"""What the web pages show and do, as plain functions over an opened project Context.

Decisions call release.workflow.decisions (the code path of `release approve` and `release sign-off`), with
the logged-in account as the actor, after checking the page the member saw is still the current one.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from release.errors import DecisionInvalid, NotInRole, UsageError

if TYPE_CHECKING:
    from release.workflow.context import Context

ACTIONS = {"approve": ("approval", "Approve"), "reject": ("approval", "Reject"), "signoff": ("signoff", "Sign off")}


class StalePage(DecisionInvalid):
    """The page was rendered for a candidate or report that is no longer current; nothing was recorded."""


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
    from release.gates import DecisionKind, check_decision
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
            forms.append({"gate": gate.name, "action": action, "label": label, "role": gate.role,
                          "comment_required": comment_required})
    return forms, hidden


def release_view(ctx: Context, version: str, email: str, role: str) -> dict[str, Any]:
    """The release page: its change record, the hash the member approves, and the forms open to them."""
    from release.report.record import change_record_data, render_record

    data = change_record_data(ctx, version)
    cand = data.get("candidate") or {}
    forms, hidden = _forms(ctx, data, email, role)
    reason = ""
    if not forms:
        reason = (f"No decision is open to you ({email}, role {role}) on this release."
                  if data.get("state") == "PREPARED" else f"The release is {data.get('state')}; decisions are closed.")
    return {"version": data["version"], "verdict": data["verdict"], "candidate_sha": cand.get("sha", ""),
            "candidate_tag": cand.get("tag", ""), "report_hash": data["content_hash"], "forms": forms,
            "no_forms_reason": reason, "not_offered": hidden,
            "report_body": _body(render_record(data, "html").decode("utf-8"))}


def report_bytes(ctx: Context, version: str, fmt: str) -> tuple[bytes, str]:
    """A downloadable change record and its media type."""
    from release.report.record import change_record_data, render_record

    media = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8", "pdf": "application/pdf"}
    return render_record(change_record_data(ctx, version), fmt), media[fmt]


def decide(ctx: Context, version: str, *, action: str, gate: str, actor: str, account_role: str,
           candidate_sha: str, report_hash: str, comment: str) -> str:
    """Record one decision from the web for actor, if the page they saw is still current; a line to show."""
    from release.report.record import change_record_data
    from release.workflow import decisions

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
    if not report_hash or report_hash != data["content_hash"]:
        raise StalePage("the change record changed since this page was rendered (new evidence or waiver); "
                        "nothing was recorded. Read it again and decide again.")
    acting = dataclasses.replace(ctx, actor=actor)
    if action == "signoff":
        recorded = decisions.sign_off(acting, gate, data["version"], comment=comment,
                                      expected_sha=candidate_sha, report_hash=report_hash)
    else:
        recorded = decisions.approve(acting, data["version"], gate=gate, reject=action == "reject", comment=comment,
                                     expected_sha=candidate_sha, report_hash=report_hash)
    return recorded.line()
