"""Entry point: a click group whose subcommands are imported only when used."""

from __future__ import annotations

import importlib
import os
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
    "review": "release.cli.review:command",
    "emergency-approve": "release.cli.emergency_approve:command",
    "notify": "release.cli.notify:command",
}


# One-line summaries shown by `release --help` without importing the commands.
SUMMARIES: dict[str, str] = {
    "accept": "Attest an acceptance criterion for a release.",
    "approve": "Approve (or reject) a release as a change-board member.",
    "audit": "Verify the hash-chained audit log and artifact hashes.",
    "demo": "Run a whole release cycle against bundled sandboxes.",
    "emergency-approve": "Authorise an emergency promotion inside a freeze window.",
    "evidence": "Export or import gate evidence as a signed bundle.",
    "gate": "Run one gate against the current candidate.",
    "init": "Write a release.toml that fits this repository.",
    "notify": "Deliver webhook notifications waiting in the outbox.",
    "load": "Run, compare and A/B the load gate.",
    "prepare": "Cut a release candidate and run its gates.",
    "promote": "Promote a release whose gates have all passed.",
    "regression": "Run the standing regression suite against a CRVS target.",
    "report": "Render the change record (HTML, PDF, Markdown).",
    "review": "Record the follow-up review of an emergency promotion.",
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


#: Set to 1 to let an error that is not a ReleaseError show its traceback (as -v/--verbose does for all errors).
DEBUG_ENV = "RELEASE_DEBUG"
#: An error line longer than this is cut: a message may quote a huge value from a file or the command line.
MAX_ERROR_CHARS = 4000


def _say(message: str) -> None:
    """One `error: ...` line on stderr, whatever the message holds: newlines folded, length cut, any code point."""
    line = " ".join(part.strip() for part in str(message).splitlines() if part.strip()) or "(no message)"
    if len(line) > MAX_ERROR_CHARS:
        line = line[:MAX_ERROR_CHARS] + " ..."
    # backslashreplace: a lone surrogate (a non-UTF-8 byte in argv or a file name) must not crash the report itself
    click.echo(f"error: {line}".encode("utf-8", "backslashreplace").decode("utf-8"), err=True)


def describe_unexpected(exc: BaseException) -> str:
    """The one-line text for an error outside the ReleaseError tree (the traceback is behind RELEASE_DEBUG=1)."""
    if isinstance(exc, OSError) and exc.strerror:  # an unwritable or missing path: say which and why
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return f"{where}{exc.strerror}"
    if isinstance(exc, RecursionError):
        return "input nested too deeply to read"
    if isinstance(exc, MemoryError):
        return "out of memory: the input is too large"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the only place that turns an error into a message and an exit code.

    Exit codes: 0 done, 1 refused or blocked with reasons (a ReleaseError whose exit_code is 1), 2 bad input or
    cannot be sure. A ReleaseError prints as ``error: <message>``. Anything else that escapes a command (an
    OSError on an unwritable path, a UnicodeDecodeError, a RecursionError, a ValueError from git or a parser,
    or a bug) is one ``error: ...`` line and exit 2, never a traceback: a failure the tool did not foresee
    means it cannot be sure, so it fails closed. ``-v``/``--verbose`` or ``RELEASE_DEBUG=1`` re-raises instead,
    for the traceback.
    """
    args = sys.argv[1:] if argv is None else argv
    verbose = "-v" in args or "--verbose" in args
    debug = verbose or os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")
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
        if debug:
            raise
        _say(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # the fail-closed boundary: bad input the commands did not turn into a ReleaseError
        if debug:
            raise
        _say(describe_unexpected(exc) + f" (set {DEBUG_ENV}=1 for the traceback)")
        sys.exit(2)


if __name__ == "__main__":
    sys.exit(main())
