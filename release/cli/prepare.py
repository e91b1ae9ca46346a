"""`release prepare`: cut a candidate, deploy it, run the automated gates and render the report."""

from __future__ import annotations

import json

import click


@click.command("prepare")
@click.option("--bump", type=click.Choice(["auto", "major", "minor", "patch"]), default="auto", show_default=True,
              help="Force a bump instead of reading Conventional Commits.")
@click.option("--version", "explicit", metavar="X.Y.Z", help="Use this exact version.")
@click.option("--no-deploy", is_flag=True, help="Do not run the targets' deploy commands (still waits for them).")
@click.option("--no-gates", is_flag=True, help="Cut the candidate only; run no gate.")
@click.option("--dry-run", is_flag=True, help="Print every git, ledger and deploy step; change nothing.")
@click.option("--as", "actor", metavar="EMAIL", help="Who prepares (default: RELEASE_ACTOR, then git user.email).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(click_ctx: click.Context, bump: str, explicit: str | None, no_deploy: bool, no_gates: bool,
            dry_run: bool, actor: str | None, as_json: bool) -> None:
    """Cut release candidate vX.Y.Z-rc.N on release/vX.Y.Z, deploy it, run its gates; exit 1 if a gate did not pass.

    The candidate is the head of release/vX.Y.Z (created from HEAD when new). To add a fix, commit it on that
    branch and run prepare again: the new head becomes the next rc and older evidence turns STALE.

    With nothing to release since production, print one line (or ``{"released": false, ...}`` with --json) and
    exit 0: a scheduled run must not go red on a quiet week, and nothing is created (docs/versioning.md).
    """
    from release.planning import NothingToPlan
    from release.report.text import checklist_lines
    from release.workflow.context import open_context
    from release.workflow.prepare import prepare
    from release.workflow.progress import printer
    from release.workflow.status import view_json

    ctx = open_context(actor=actor, dry_run=dry_run)
    try:
        result = prepare(ctx, bump=bump, explicit=explicit, deploy=not no_deploy, gates=not no_gates,
                         progress=printer(quiet=as_json))
    except NothingToPlan as nothing:
        if nothing.baseline.production_note:
            click.echo(f"note: {nothing.baseline.production_note}", err=True)
        click.echo(json.dumps(nothing.to_json(), indent=2) if as_json else nothing.line())
        click_ctx.exit(0)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    elif result.dry_run:
        click.echo(f"dry run: would prepare {result.tag} ({result.sha[:12]}) for release {result.version}")
        for step in result.planned:
            click.echo(f"  - {step}")
    else:
        click.echo(f"candidate {result.tag} at {result.sha[:12]} on {result.branch} "
                   f"({'new' if result.tag_created else 'reused'})")
        if result.view is not None:
            for line in checklist_lines(view_json(result.view)):
                click.echo(line)
        for fmt, path in result.reports.items():
            click.echo(f"report ({fmt}): {path}")
    click_ctx.exit(0 if result.gates_ok else 1)
