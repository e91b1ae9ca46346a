"""`release sign-off`: sign off a gate in your role, optionally SSH-signed."""

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


@click.command("sign-off")
@click.argument("gate")
@click.argument("version")
@click.option("--as", "actor", metavar="EMAIL", help="Who signs (default: RELEASE_ACTOR, then git user.email).")
@click.option("--comment", default="", help="Optional comment.")
@signing_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(gate: str, version: str, actor: str | None, comment: str, sign_with: Path | None, print_payload: bool,
            payload: Path | None, signature: Path | None, as_json: bool) -> None:
    """Sign off GATE (a signoff gate) for the newest candidate of VERSION."""
    from release.gates import DecisionKind
    from release.workflow.context import open_context
    from release.workflow.decisions import gate_spec_of, sign_off, statement

    ctx = open_context(actor=actor)
    if print_payload:
        refuse_signing_with_print(sign_with, payload, signature)
        echo_payload(statement(ctx, DecisionKind.SIGNOFF, gate_spec_of(ctx, gate), version, comment=comment))
        return
    recorded = sign_off(ctx, gate, version, comment=comment, signing=cli_signing(ctx, sign_with, payload, signature),
                        via="cli")
    echo_recorded(recorded, as_json)
