"""Entry point: a click group whose subcommands are imported only when used."""

from __future__ import annotations

import importlib
import sys

import click

from release.errors import ReleaseError

# command name -> "module:attribute"; each module holds one command or group.
COMMANDS: dict[str, str] = {
    "prepare": "release.cli.prepare:command",
    "gate": "release.cli.gate:command",
    "sign-off": "release.cli.sign_off:command",
    "approve": "release.cli.approve:command",
    "accept": "release.cli.accept:command",
    "waive": "release.cli.waive:command",
    "status": "release.cli.status:command",
    "promote": "release.cli.promote:command",
    "rollback": "release.cli.rollback:command",
    "demo": "release.cli.demo:command",
    "load": "release.cli.load:command",
    "audit": "release.cli.audit:command",
    "sandbox": "release.cli.sandbox:command",
    "regression": "release.cli.regression:command",
    "init": "release.cli.init:command",
    "version": "release.cli.version:command",
    "report": "release.cli.report:command",
    "serve": "release.cli.serve:command",
    "users": "release.cli.users:command",
    "evidence": "release.cli.evidence:command",
    "target": "release.cli.target:command",
}


# One-line summaries shown by `release --help` without importing the commands.
SUMMARIES: dict[str, str] = {
    "accept": "Attest an acceptance criterion for a release.",
    "approve": "Approve (or reject) a release as a change-board member.",
    "audit": "Verify the hash-chained audit log and artifact hashes.",
    "demo": "Run a whole release cycle against bundled sandboxes.",
    "evidence": "Export or import gate evidence as a signed bundle.",
    "gate": "Run one gate against the current candidate.",
    "init": "Write a release.toml that fits this repository.",
    "load": "Run, compare and A/B the load gate.",
    "prepare": "Cut a release candidate and run its gates.",
    "promote": "Promote a release whose gates have all passed.",
    "regression": "Run the standing regression suite against a CRVS target.",
    "report": "Render the change record (HTML, PDF, Markdown).",
    "rollback": "Redeploy the previous production version.",
    "sandbox": "Serve or seed the reference CRVS core.",
    "serve": "Serve the change-board web UI.",
    "sign-off": "Sign off a gate in your role.",
    "status": "Show every gate of a release and why it is blocked.",
    "target": "Check that a deployment is ready for the gates.",
    "users": "Manage change-board web accounts.",
    "version": "Preview the next version and candidate tag.",
    "waive": "Waive a gate with a reason and an expiry.",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return None  # a command whose module is not part of this build
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing commands must not import them: that keeps `release --help` fast.
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="crvs-release", prog_name="release")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Release management and regression gates for CRVS systems."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the only place that turns a ReleaseError into a message and exit code."""
    args = sys.argv[1:] if argv is None else argv
    verbose = "-v" in args or "--verbose" in args
    try:
        # With standalone_mode=False click returns ctx.exit(code) instead of exiting: pass it on.
        code = cli.main(args=args, prog_name="release", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
        return 0
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except ReleaseError as exc:
        if verbose:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    sys.exit(main())
