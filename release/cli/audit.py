"""`release audit verify`: recompute the audit chain and re-hash every stored artifact."""

from __future__ import annotations

import json

import click


@click.group("audit")
def command() -> None:
    """Check the ledger's hash-chained audit log and evidence files."""


@command.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify(as_json: bool) -> None:
    """Exit 0 when the chain and every artifact verify, 1 naming the first break, 2 when there is no ledger."""
    from release.errors import AuditBroken
    from release.ledger import Ledger

    with Ledger.open(create=False) as ledger:
        report = ledger.verify_audit()
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "first_broken": report.first_broken, "head": report.head,
                               "checked_events": report.checked_events,
                               "checked_artifacts": report.checked_artifacts, "problems": list(report.problems)},
                              indent=2))
    if not report.ok:
        more = f" (+{len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise AuditBroken(f"audit broken: {report.first_broken}{more}")
    if not as_json:
        click.echo(f"audit ok: {report.checked_events} events, {report.checked_artifacts} artifacts verified; "
                   f"head {report.head[:16]}")
