"""`release sign-off`: sign off a gate in your role."""

from __future__ import annotations

import json

import click


@click.command("sign-off")
@click.argument("gate")
@click.argument("version")
@click.option("--as", "actor", metavar="EMAIL", help="Who signs (default: RELEASE_ACTOR, then git user.email).")
@click.option("--comment", default="", help="Optional comment.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(gate: str, version: str, actor: str | None, comment: str, as_json: bool) -> None:
    """Sign off GATE (a signoff gate) for the newest candidate of VERSION."""
    from release.workflow.context import open_context
    from release.workflow.decisions import sign_off

    recorded = sign_off(open_context(actor=actor), gate, version, comment=comment)
    click.echo(json.dumps(recorded.to_json(), indent=2) if as_json else recorded.line())
