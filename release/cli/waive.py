"""`release waive`: waive a gate with a reason and an expiry."""

from __future__ import annotations

import json

import click


@click.command("waive")
@click.argument("gate")
@click.argument("version")
@click.option("--as", "actor", metavar="EMAIL", help="Who waives (default: RELEASE_ACTOR, then git user.email).")
@click.option("--reason", required=True, help="Why the gate may be skipped for this candidate.")
@click.option("--expires", required=True, metavar="YYYY-MM-DD", help="Last day the waiver is valid (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(gate: str, version: str, actor: str | None, reason: str, expires: str, as_json: bool) -> None:
    """Waive GATE for the newest candidate of VERSION until the end of --expires (UTC)."""
    from release.workflow.context import open_context
    from release.workflow.decisions import waive

    recorded = waive(open_context(actor=actor), gate, version, reason=reason, expires=expires)
    click.echo(json.dumps(recorded.to_json(), indent=2) if as_json else recorded.line())
