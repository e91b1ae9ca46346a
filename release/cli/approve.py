"""`release approve`: approve (or reject) a release as a change-board member."""

from __future__ import annotations

import json

import click


@click.command("approve")
@click.argument("version")
@click.option("--as", "actor", metavar="EMAIL", help="Who approves (default: RELEASE_ACTOR, then git user.email).")
@click.option("--reject", is_flag=True, help="Reject instead of approve (needs --comment).")
@click.option("--comment", default="", help="Comment (required with --reject).")
@click.option("--gate", metavar="NAME", help="The approval gate (default: the only one).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(version: str, actor: str | None, reject: bool, comment: str, gate: str | None, as_json: bool) -> None:
    """Approve (or --reject) the newest candidate of VERSION on an approval gate."""
    from release.workflow.context import open_context
    from release.workflow.decisions import approve

    recorded = approve(open_context(actor=actor), version, gate=gate, reject=reject, comment=comment)
    click.echo(json.dumps(recorded.to_json(), indent=2) if as_json else recorded.line())
