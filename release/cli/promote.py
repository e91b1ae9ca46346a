"""`release promote`: promote a release whose gates have all passed."""

from __future__ import annotations

import json
from typing import Any

import click


@click.command("promote")
@click.argument("version")
@click.option("--dry-run", is_flag=True, help="Re-evaluate and print the steps; change nothing.")
@click.option("--resume", is_flag=True, help="Take over a promotion whose owner died on another host.")
@click.option("--as", "actor", metavar="EMAIL", help="Who promotes (default: RELEASE_ACTOR, then git user.email).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(click_ctx: click.Context, version: str, dry_run: bool, resume: bool, actor: str | None,
            as_json: bool) -> None:
    """Tag VERSION, move the production branch, deploy, smoke-check and audit; exit 1 if blocked or failed.

    A blocked promotion changes nothing. A promotion killed part-way resumes on the next run.
    """
    from release.report.text import checklist_lines
    from release.workflow.context import open_context
    from release.workflow.progress import printer
    from release.workflow.promote import promote
    from release.workflow.status import view_json

    ctx = open_context(actor=actor, dry_run=dry_run)
    result = promote(ctx, version, resume=resume, progress=printer(quiet=as_json))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        if result.outcome == "BLOCKED" and result.view is not None:
            for line in checklist_lines(view_json(result.view)):
                click.echo(line)
        for planned in result.planned:
            click.echo(f"  - {planned}")
        for step in result.steps:
            click.echo(f"  {step['step']}: {step['status']}{step_note(step)}")
        click.echo(result.message, err=result.exit_code != 0)
    click_ctx.exit(result.exit_code)


def step_note(step: dict[str, Any]) -> str:
    """What a step recorded that a reader must see: a deploy by hand, the deployed images and variables, a waiver."""
    if step.get("manual"):
        return f" ({step['manual']})"
    if step.get("waived"):
        return f" (waived: {step['waived']})"
    facts = []
    for label, key in (("images", "images"), ("variables", "variables")):
        pairs = (step.get(key) or {}).items()
        if pairs:
            facts.append(f"{label}: " + ", ".join(f"{name}={value}" for name, value in pairs))
    return f" ({'; '.join(facts)})" if facts else ""
