"""`release audit verify|head`: check the audit chain, every deciding row, the evidence files and published heads."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from release.ledger import Ledger
    from release.ledger.records import AuditReport


@click.group("audit")
def command() -> None:
    """Check the ledger's hash-chained audit log and evidence files."""


@command.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--against", "against", multiple=True, metavar="REF|HEAD_HASH",
              help="A published audit head the chain must still contain (repeatable): an annotated tag made by "
                   "promote (its crvs-release-audit-head line), SEQ:HASH, a bare HASH, or a change record or "
                   "evidence bundle file.")
def verify(as_json: bool, against: tuple[str, ...]) -> None:
    """Exit 0 when the chain, every deciding row, every artifact and every witness verify; 1 naming each problem;
    2 when there is no ledger or a witness cannot be read."""
    from release.errors import AuditBroken
    from release.ledger import Ledger, find_repo_root
    from release.ledger.witness import resolve_witness

    root = find_repo_root() or Path.cwd()
    witnesses = [w for ref in against for w in resolve_witness(ref, root)]  # exit 2 before opening the ledger
    with Ledger.open(create=False) as ledger:
        report = ledger.verify_audit(against=witnesses)
        # --- signatures (release/signing.py): every stored SSH signature re-verified against the committed
        # allowed-signers file and its decision's canonical bytes; a changed signature or signed field is a problem.
        report, checked_signatures = _with_signatures(report, ledger)
        # --- end signatures ---
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "first_broken": report.first_broken, "head": report.head,
                               "head_seq": report.head_seq, "checked_events": report.checked_events,
                               "checked_rows": report.checked_rows,
                               "checked_artifacts": report.checked_artifacts, "problems": list(report.problems),
                               "rows": [p.to_json() for p in report.rows],
                               "witnesses": [{"source": w.source, "seq": w.seq, "hash": w.hash}
                                             for w in report.witnesses],
                               "checked_signatures": checked_signatures},
                              indent=2))
    if not report.ok:
        if len(report.problems) > 1 and not as_json:
            for problem in report.problems:  # every row that disagrees, not only the first
                click.echo(f"problem: {problem}", err=True)
        more = f" (+{len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise AuditBroken(f"audit broken: {report.first_broken}{more}")
    if not as_json:
        contained = "".join(f"; {w.source or 'witness'} ({w}) is in the chain" for w in report.witnesses)
        click.echo(f"audit ok: {report.checked_events} events, {report.checked_artifacts} artifacts"
                   + (f", {checked_signatures} signatures" if checked_signatures else "")
                   + f" verified, {report.checked_rows} rows match the chain; head seq {report.head_seq} "
                   f"{report.head[:16]}{contained}")


@command.command("head")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def head(as_json: bool) -> None:
    """Print the audit head to publish as a witness: `crvs-release-audit-head: <seq> <hash>`."""
    from release.ledger import Ledger

    with Ledger.open(create=False) as ledger:
        checkpoint = ledger.audit_checkpoint()
    if as_json:
        click.echo(json.dumps({"seq": checkpoint.seq, "hash": checkpoint.hash, "line": checkpoint.witness_line()}))
    else:
        click.echo(checkpoint.witness_line())


# --- signatures ---------------------------------------------------------------------------------------------


def _with_signatures(report: AuditReport, ledger: Ledger) -> tuple[AuditReport, int]:
    """The report with any signature that no longer verifies added to its problems, and how many were checked."""
    from release.signing import verify_ledger_signatures

    signatures = verify_ledger_signatures(ledger)
    if not signatures.problems:
        return report, signatures.checked
    problems = (*report.problems, *signatures.problems)
    return dataclasses.replace(report, ok=False, first_broken=problems[0], problems=problems), signatures.checked
