"""`release gate run`: run one automated gate on a candidate and record its evidence."""

from __future__ import annotations

import click

from release.ci_output import FORMATS


@click.group("gate")
def command() -> None:
    """Run gates."""


@command.command("run")
@click.argument("gate")
@click.option("--candidate", metavar="vX.Y.Z-rc.N", help="Candidate tag (default: the newest candidate).")
@click.option("--as", "actor", metavar="EMAIL", help="Who runs it (default: RELEASE_ACTOR, then git user.email).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (same as --format json).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="github: Markdown summary + annotations; gitlab: Markdown; junit: JUnit XML.")
@click.pass_context
def run(click_ctx: click.Context, gate: str, candidate: str | None, actor: str | None, as_json: bool,
        fmt: str) -> None:
    """Run GATE against its target on a candidate; exit 0 passed, 1 anything else."""
    from release.ci_output import render
    from release.gates import Checklist, GateKind, GateStatus
    from release.workflow.context import open_context
    from release.workflow.gate_runner import find_candidate, run_gate
    from release.workflow.progress import printer

    fmt = "json" if as_json else fmt
    ctx = open_context(actor=actor)
    outcome = run_gate(ctx, gate, find_candidate(ctx, candidate), progress=printer(quiet=fmt != "text"))
    if fmt != "text":
        line = GateStatus(outcome.gate, GateKind(outcome.kind), outcome.state, (outcome.reason,))
        checklist = Checklist((line,), outcome.passed, () if outcome.passed else (f"{outcome.gate}: {outcome.reason}",))
        version = outcome.candidate_tag
        out, err = render(fmt, version, outcome.candidate_tag, checklist, outcome.to_json())
        click.echo(out, nl=False)
        if err.strip():
            click.echo(err, nl=False, err=True)
    else:
        click.echo(f"{outcome.gate}: {outcome.state.value}: {outcome.reason}")
        for a in outcome.artifacts:
            click.echo(f"  {a.path} sha256 {a.sha256}")
    click_ctx.exit(0 if outcome.passed else 1)
