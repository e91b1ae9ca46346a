"""`release rollback`: redeploy the previous production version."""

from __future__ import annotations

import json

import click


@click.command("rollback")
@click.option("--to", "to", metavar="VERSION", help="Roll back to this earlier version (default: the one replaced).")
@click.option("--dry-run", is_flag=True, help="Print the steps; change nothing.")
@click.option("--as", "actor", metavar="EMAIL", help="Who rolls back (default: RELEASE_ACTOR, then git user.email).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(click_ctx: click.Context, to: str | None, dry_run: bool, actor: str | None, as_json: bool) -> None:
    """Redeploy the previous production version and move the production branch back (compare-and-set).

    Exit 0 rolled back; 1 nothing to roll back (to), or the redeploy failed; 2 a bad --to version.
    """
    from release.notify import deliver_now
    from release.workflow.context import open_context
    from release.workflow.progress import printer
    from release.workflow.rollback import rollback

    ctx = open_context(actor=actor, dry_run=dry_run)
    result = rollback(ctx, to=to, progress=printer(quiet=as_json))
    deliver_now(ctx)  # rolled_back; a dead receiver's rows wait in the outbox
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        for step in result.planned:
            click.echo(f"  - {step}")
        click.echo(result.message, err=result.exit_code != 0)
    click_ctx.exit(result.exit_code)
