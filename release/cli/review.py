"""`release review`: record the follow-up review of an emergency promotion (docs/freeze-and-emergency.md)."""

from __future__ import annotations

import json

import click


@click.command("review")
@click.argument("version")
@click.option("--notes", required=True, metavar="TEXT",
              help="What happened, why it was an emergency, and what follows (the post-implementation review).")
@click.option("--as", "actor", metavar="EMAIL", help="Who reviews (default: RELEASE_ACTOR, then git user.email).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(version: str, notes: str, actor: str | None, as_json: bool) -> None:
    """Review the emergency promotion of VERSION; until then no normal release is prepared or promoted.

    The reviewer is a member of [emergency] review_role (default: its role), and not the person who ran the
    emergency promotion, nor the preparer or a commit author. Exit 1 refused, 2 nothing to review.
    """
    from release.safe_text import one_line
    from release.workflow.context import open_context
    from release.workflow.emergency import review

    recorded = review(open_context(actor=actor), version, notes=notes)
    if as_json:
        click.echo(json.dumps(recorded.to_json(), indent=2))
    else:
        click.echo(f"recorded the follow-up review of the emergency promotion of {one_line(recorded.version)} by "
                   f"{one_line(recorded.actor)}; normal releases may go on")
