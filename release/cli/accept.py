"""`release accept`: attest an acceptance criterion for a release."""

from __future__ import annotations

import json

import click


@click.command("accept")
@click.argument("version")
@click.argument("criterion")
@click.option("--as", "actor", metavar="EMAIL", help="Who accepts (default: RELEASE_ACTOR, then git user.email).")
@click.option("--comment", default="", help="Optional comment.")
@click.option("--gate", metavar="NAME", help="The criteria gate (default: the one listing CRITERION).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(version: str, criterion: str, actor: str | None, comment: str, gate: str | None, as_json: bool) -> None:
    """Accept CRITERION (an id such as AC-1) for the newest candidate of VERSION."""
    from release.workflow.context import open_context
    from release.workflow.decisions import accept

    recorded = accept(open_context(actor=actor), version, criterion, comment=comment, gate=gate)
    click.echo(json.dumps(recorded.to_json(), indent=2) if as_json else recorded.line())
