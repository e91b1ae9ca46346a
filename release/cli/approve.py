"""`release approve`: approve (or reject) a release as a change-board member, optionally SSH-signed."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from release.signing import DecisionStatement
    from release.workflow.context import Context
    from release.workflow.decisions import Recorded, Signing

_FILE = click.Path(dir_okay=False, path_type=Path)


def signing_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The signing options every CLI decision takes (docs/signing.md)."""
    for option in reversed((
        click.option("--sign-with", "sign_with", type=_FILE, metavar="KEY",
                     help="Sign the decision with this SSH key (ssh-keygen -Y sign; a .pub key signs via "
                          "ssh-agent). Default: RELEASE_SIGNING_KEY, when release.toml has [signatures]."),
        click.option("--print-payload", is_flag=True,
                     help="Print the statement to sign offline (ssh-keygen -Y sign -n crvs-release-decision) "
                          "and record nothing."),
        click.option("--payload", type=_FILE, metavar="FILE",
                     help="A statement --print-payload wrote, signed offline (with --signature)."),
        click.option("--signature", type=_FILE, metavar="FILE.sig",
                     help="The signature ssh-keygen -Y sign made of --payload FILE."),
    )):
        command = option(command)
    return command


def cli_signing(ctx: Context, sign_with: Path | None, payload: Path | None, signature: Path | None) -> Signing:
    """--sign-with, --payload/--signature, or RELEASE_SIGNING_KEY when the project checks signatures."""
    from release.signing import SIGNING_KEY_ENV
    from release.workflow.decisions import Signing

    if sign_with is None and payload is None and signature is None:
        env_key = ctx.environ.get(SIGNING_KEY_ENV, "").strip()
        # A key set for every project signs only where signatures are checked: a project without
        # [signatures] has nothing to verify it against and would refuse it.
        if env_key and ctx.config.signatures.allowed_signers is not None:
            sign_with = Path(env_key)
    return Signing(key=sign_with, payload=payload, signature=signature)


def refuse_signing_with_print(sign_with: Path | None, payload: Path | None, signature: Path | None) -> None:
    """--print-payload writes what is to be signed; signing options with it are a mistake, not a decision."""
    from release.errors import UsageError

    if sign_with is not None or payload is not None or signature is not None:
        raise UsageError("--print-payload prints the statement to sign and records nothing; leave out --sign-with, "
                         "--payload and --signature")


def echo_payload(statement: DecisionStatement) -> None:
    """Write the statement's exact bytes to stdout (binary: the bytes signed must not pass a text encoder)."""
    sys.stdout.flush()
    sys.stdout.buffer.write(statement.payload())
    sys.stdout.buffer.flush()


def echo_recorded(recorded: Recorded, as_json: bool) -> None:
    """Print what was recorded, as one line or as JSON."""
    click.echo(json.dumps(recorded.to_json(), indent=2) if as_json else recorded.line())


@click.command("approve")
@click.argument("version")
@click.option("--as", "actor", metavar="EMAIL", help="Who approves (default: RELEASE_ACTOR, then git user.email).")
@click.option("--reject", is_flag=True, help="Reject instead of approve (needs --comment).")
@click.option("--comment", default="", help="Comment (required with --reject).")
@click.option("--gate", metavar="NAME", help="The approval gate (default: the only one).")
@click.option("--record", "record", metavar="HASH",
              help="The change record version decided on (default: the current one); refused once superseded.")
@signing_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(version: str, actor: str | None, reject: bool, comment: str, gate: str | None, record: str | None,
            sign_with: Path | None,
            print_payload: bool, payload: Path | None, signature: Path | None, as_json: bool) -> None:
    """Approve (or --reject) the newest candidate of VERSION on an approval gate."""
    from release.gates import DecisionKind
    from release.workflow.context import open_context
    from release.workflow.decisions import approval_gate, approve, statement

    ctx = open_context(actor=actor)
    if print_payload:
        refuse_signing_with_print(sign_with, payload, signature)
        kind = DecisionKind.REJECTION if reject else DecisionKind.APPROVAL
        echo_payload(statement(ctx, kind, approval_gate(ctx, gate), version, comment=comment))
        return
    recorded = approve(ctx, version, gate=gate, reject=reject, comment=comment,
                       signing=cli_signing(ctx, sign_with, payload, signature), via="cli", record=record)
    echo_recorded(recorded, as_json)
