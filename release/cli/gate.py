"""`release gate run`: run one automated gate on a candidate and record its evidence."""

from __future__ import annotations

import json

import click


@click.group("gate")
def command() -> None:
    """Run gates."""


@command.command("run")
@click.argument("gate")
@click.option("--candidate", metavar="vX.Y.Z-rc.N", help="Candidate tag (default: the newest candidate).")
@click.option("--as", "actor", metavar="EMAIL", help="Who runs it (default: RELEASE_ACTOR, then git user.email).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def run(click_ctx: click.Context, gate: str, candidate: str | None, actor: str | None, as_json: bool) -> None:
    """Run GATE against its target on a candidate; exit 0 passed, 1 anything else."""
    from release.workflow.context import open_context
    from release.workflow.gate_runner import find_candidate, run_gate
    from release.workflow.progress import printer

    ctx = open_context(actor=actor)
    outcome = run_gate(ctx, gate, find_candidate(ctx, candidate), progress=printer(quiet=as_json))
    if as_json:
        click.echo(json.dumps(outcome.to_json(), indent=2))
    else:
        click.echo(f"{outcome.gate}: {outcome.state.value}: {outcome.reason}")
        for a in outcome.artifacts:
            click.echo(f"  {a.path} sha256 {a.sha256}")
    click_ctx.exit(0 if outcome.passed else 1)
