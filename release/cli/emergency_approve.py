"""`release emergency-approve`: authorise a promotion inside a freeze window (docs/freeze-and-emergency.md)."""

from __future__ import annotations

import json

import click


@click.command("emergency-approve")
@click.argument("version")
@click.option("--reason", required=True, metavar="TEXT", help="Why this release cannot wait for the window to end.")
@click.option("--as", "actor", metavar="EMAIL", help="Who approves (default: RELEASE_ACTOR, then git user.email).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(version: str, reason: str, actor: str | None, as_json: bool) -> None:
    """Approve the emergency promotion of VERSION's newest candidate as a member of the [emergency] role.

    The preparer and commit authors may not approve, and the person who runs `release promote --emergency`
    never counts towards the quorum. Exit 1 refused.
    """
    from release.safe_text import one_line
    from release.workflow.context import open_context
    from release.workflow.emergency import approve

    recorded = approve(open_context(actor=actor), version, reason=reason)
    if as_json:
        click.echo(json.dumps(recorded.to_json(), indent=2))
    else:
        click.echo(f"recorded the emergency approval of {one_line(recorded.candidate_tag)} by "
                   f"{one_line(recorded.actor)} ({one_line(recorded.role)})")
