"""`release status`: every gate of a release, its evidence and decisions, and why it is blocked."""

from __future__ import annotations

import click

from release.ci_output import FORMATS


@click.command("status")
@click.argument("version", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (same as --format json).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="github: Markdown summary + annotations; gitlab: Markdown; junit: one test case per gate.")
@click.pass_context
def command(click_ctx: click.Context, version: str | None, as_json: bool, fmt: str) -> None:
    """Show the checklist of VERSION (default: the newest release); exit 0 promotable, 1 blocked."""
    from release.ci_output import render
    from release.report.text import checklist_lines
    from release.workflow.context import open_context
    from release.workflow.status import evaluate_release, view_json

    view = evaluate_release(open_context(), version)
    data = view_json(view)
    fmt = "json" if as_json else fmt
    if fmt == "text":
        for line in checklist_lines(data):
            click.echo(line)
    else:
        tag = view.candidate.tag if view.candidate else "no candidate"
        out, err = render(fmt, view.release.version, tag, view.checklist, data)
        click.echo(out, nl=False)
        if err.strip():
            click.echo(err, nl=False, err=True)
    click_ctx.exit(0 if data["promotable"] else 1)
