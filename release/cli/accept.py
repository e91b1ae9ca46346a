"""`release accept`: attest an acceptance criterion for a release, optionally SSH-signed."""

from __future__ import annotations

from pathlib import Path

import click

from release.cli.approve import (
    cli_signing,
    echo_payload,
    echo_recorded,
    refuse_signing_with_print,
    signing_options,
)


@click.command("accept")
@click.argument("version")
@click.argument("criterion")
@click.option("--as", "actor", metavar="EMAIL", help="Who accepts (default: RELEASE_ACTOR, then git user.email).")
@click.option("--comment", default="", help="Optional comment.")
@click.option("--gate", metavar="NAME", help="The criteria gate (default: the one listing CRITERION).")
@signing_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(version: str, criterion: str, actor: str | None, comment: str, gate: str | None, sign_with: Path | None,
            print_payload: bool, payload: Path | None, signature: Path | None, as_json: bool) -> None:
    """Accept CRITERION (an id such as AC-1) for the newest candidate of VERSION."""
    from release.gates import DecisionKind
    from release.workflow.context import open_context
    from release.workflow.decisions import accept, criteria_gate, statement

    ctx = open_context(actor=actor)
    if print_payload:
        refuse_signing_with_print(sign_with, payload, signature)
        echo_payload(statement(ctx, DecisionKind.ACCEPTANCE, criteria_gate(ctx, criterion, gate), version,
                               comment=comment, criterion=criterion))
        return
    recorded = accept(ctx, version, criterion, comment=comment, gate=gate,
                      signing=cli_signing(ctx, sign_with, payload, signature), via="cli")
    echo_recorded(recorded, as_json)
