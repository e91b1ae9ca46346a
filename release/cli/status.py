"""`release status`: every gate of a release, its evidence and decisions, and why it is blocked."""

from __future__ import annotations

import json

import click


@click.command("status")
@click.argument("version", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(click_ctx: click.Context, version: str | None, as_json: bool) -> None:
    """Show the checklist of VERSION (default: the newest release); exit 0 promotable, 1 blocked."""
    from release.report.text import checklist_lines
    from release.workflow.context import open_context
    from release.workflow.status import evaluate_release, view_json

    data = view_json(evaluate_release(open_context(), version))
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for line in checklist_lines(data):
            click.echo(line)
    click_ctx.exit(0 if data["promotable"] else 1)
