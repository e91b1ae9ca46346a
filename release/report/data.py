"""Build the change record's data from ledger facts: a pure function, so it is tested without rendering."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from release.gates import iso_utc
from release.ledger.records import AuditCheckpoint

if TYPE_CHECKING:
    from release.workflow.status import ReleaseView

REPORT_SCHEMA = "crvs-release/report/1"


def build_report_data(view: ReleaseView, *, changelog: str, audit_head: str, generated_at: datetime,
                      tag_format: str = "v{version}", audit_head_seq: int | None = None) -> dict[str, Any]:
    """The report as plain JSON-able data.

    Shape (``crvs-release/report/1``)::

        schema, generated_at (ISO UTC), version, tag (final tag), state (release lifecycle state),
        previous_version (the production version this release replaces, or None), preparer,
        candidate: {rc, tag, sha} | None,
        verdict: "PROMOTABLE" | "BLOCKED" | (once promoted) "PROMOTED" | "FAILED_AFTER_PROMOTE" | "ROLLED_BACK",
        blocking_heading: str, blocking_reasons: [str],
        evaluated: {from: "live" | "recorded", as_of: ISO UTC | None} (a settled release is never re-probed),
        changelog: Markdown text of this release's changelog section,
        gates: [{gate, kind, state, counts, reasons: [str],
                 evidence: {run_id, state, commit, target_url, target_version, tool_version, config_hash,
                            started_at, finished_at, reason, artifacts: [{path, sha256, size, kind}]} | None,
                 decisions: [{kind, actor, role, comment, criterion, at}], waiver: {actor, reason,
                 expires_at, created_at} | None}],
        decisions: [{gate, kind, actor, role, criterion, at, comment}]  (every counted decision),
        waivers: [{gate, actor, reason, expires_at}],
        totals: {gates, passed, waived, blocking},
        operations: {freeze, pending_reviews, emergency, review} (release.workflow.status.operations_json),
        audit_head: sha256 of the newest audit event, audit_head_seq: its seq,
        audit_witness: "crvs-release-audit-head: <seq> <hash>" (check it with `release audit verify --against`).

    It holds ids, hashes, counts and the e-mail ids of the people who decided; never secrets or record data.
    """
    from release.workflow.status import SETTLED_STATES, gate_status_json, operations_json, verdict

    gates = [gate_status_json(g) for g in view.checklist.gates]
    cand = view.candidate
    decisions = [{"gate": g["gate"], **d} for g in gates for d in g["decisions"]]
    waivers = [{"gate": g["gate"], **g["waiver"]} for g in gates if g["waiver"]]
    return {
        "schema": REPORT_SCHEMA,
        "generated_at": iso_utc(generated_at),
        "version": view.release.version,
        "tag": tag_format.replace("{version}", view.release.version),
        "state": view.release.state.value,
        "previous_version": view.release.previous_version,
        "preparer": view.release.preparer,
        "prepared_at": iso_utc(view.release.created_at),
        "candidate": None if cand is None else {"rc": cand.rc, "tag": cand.tag, "sha": cand.sha},
        "verdict": verdict(view),
        "blocking_heading": ("Why it is blocked" if view.release.state.value not in SETTLED_STATES
                             else f"Open when its promotion was claimed (the release is {view.release.state.value}; "
                                  "from the recorded evidence)"),
        # "live": targets probed at generated_at; "recorded": a settled release, as of its promotion, no probe
        "evaluated": {"from": view.evaluated_from, "as_of": iso_utc(view.as_of) if view.as_of else None},
        "blocking_reasons": list(view.checklist.blocking_reasons),
        "changelog": changelog,
        "gates": gates,
        "decisions": decisions,
        "waivers": waivers,
        "totals": {"gates": len(gates), "passed": sum(g["state"] == "PASSED" for g in gates),
                   "waived": sum(g["state"] == "WAIVED" for g in gates),
                   "blocking": sum(not g["counts"] for g in gates)},
        "operations": operations_json(view),
        "audit_head": audit_head,
        # The witness a published record carries (a Sigstore Rekor style checkpoint): see docs/ledger.md.
        "audit_head_seq": audit_head_seq,
        "audit_witness": AuditCheckpoint(audit_head_seq, audit_head).witness_line(),
    }
