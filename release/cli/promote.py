"""`release promote`: promote a release whose gates have all passed."""

from __future__ import annotations

import json
from typing import Any

import click


@click.command("promote")
@click.argument("version")
@click.option("--dry-run", is_flag=True, help="Re-evaluate and print the steps; change nothing.")
@click.option("--resume", is_flag=True,
              help="Take over a promotion whose owner ran on another host, once its lease has run out. A promote "
                   "that died on this host is taken over without it; one still running here never is.")
@click.option("--force-takeover", is_flag=True,
              help="Take over a promotion from another host now, lease or not: you have made sure its promote and "
                   "its deploy command have stopped.")
@click.option("--kill-orphaned-deploy", is_flag=True,
              help="Kill, instead of waiting for, a deploy command that a dead promote left running on this host.")
@click.option("--emergency", is_flag=True,
              help="Promote inside a freeze window: needs --reason and the approvals of the [emergency] role "
                   "(release emergency-approve); a follow-up review (release review) is then required.")
@click.option("--reason", metavar="TEXT", help="With --emergency: why this cannot wait for the window to end.")
@click.option("--as", "actor", metavar="EMAIL", help="Who promotes (default: RELEASE_ACTOR, then git user.email).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(click_ctx: click.Context, version: str, dry_run: bool, resume: bool, force_takeover: bool,
            kill_orphaned_deploy: bool, emergency: bool, reason: str | None, actor: str | None,
            as_json: bool) -> None:
    """Tag VERSION, move the production branch, deploy, smoke-check and audit; exit 1 if blocked or failed.

    A blocked promotion changes nothing. A promotion killed part-way resumes on the next run, after any deploy
    command it left running has finished. Only one process promotes at a time: see docs/promotion.md.
    """
    from release.notify import deliver_now
    from release.report.text import checklist_lines
    from release.workflow.context import open_context
    from release.workflow.deploy import Terminated
    from release.workflow.progress import printer
    from release.workflow.promote import promote
    from release.workflow.status import view_json

    ctx = open_context(actor=actor, dry_run=dry_run)
    try:
        result = promote(ctx, version, resume=resume, force_takeover=force_takeover,
                         kill_orphaned_deploy=kill_orphaned_deploy, emergency=emergency, reason=reason,
                         progress=printer(quiet=as_json))
    except Terminated as exc:  # SIGTERM/SIGINT/SIGHUP while deploying: the group is stopped; 128 + signal
        click.echo(f"error: {exc}", err=True)
        click_ctx.exit(exc.exit_code)
    deliver_now(ctx)  # promoted, failed_after_promote, emergency; a dead receiver's rows wait in the outbox
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
