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


def _forms(ctx: Context, data: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The decision forms for an account's role on the release's open approval and sign-off gates."""
    if data.get("state") != "PREPARED" or not data.get("candidate"):
        return []
    forms = []
    for gate in ctx.config.gates.values():
        if gate.role != role:
            continue
        if gate.kind == "approval":
            forms.append({"gate": gate.name, "action": "approve", "label": "Approve", "role": gate.role,
                          "comment_required": False})
            forms.append({"gate": gate.name, "action": "reject", "label": "Reject", "role": gate.role,
                          "comment_required": True})
        elif gate.kind == "signoff":
            forms.append({"gate": gate.name, "action": "signoff", "label": "Sign off", "role": gate.role,
                          "comment_required": False})
    return forms


def release_view(ctx: Context, version: str, email: str, role: str) -> dict[str, Any]:
    """The release page: its change record, the hash the member approves, and the forms open to them."""
    from release.report.record import change_record_data, render_record

    data = change_record_data(ctx, version)
    cand = data.get("candidate") or {}
    forms = _forms(ctx, data, role)
    reason = ""
    if not forms:
        reason = (f"No decision is open to your role ({role}) on this release."
                  if data.get("state") == "PREPARED" else f"The release is {data.get('state')}; decisions are closed.")
    return {"version": data["version"], "verdict": data["verdict"], "candidate_sha": cand.get("sha", ""),
            "candidate_tag": cand.get("tag", ""), "report_hash": data["content_hash"], "forms": forms,
            "no_forms_reason": reason, "report_body": _body(render_record(data, "html").decode("utf-8"))}


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
