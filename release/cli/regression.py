"""`release regression run`: the standing regression suite against a CRVS target."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group("regression")
def command() -> None:
    """Run the standing regression suite."""


@command.command("run")
@click.option("--target-file", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="Deployment profile JSON of the target (default: $CRVS_TARGET_FILE).")
@click.option("--sandbox", is_flag=True, help="Test a throwaway reference sandbox started for this run.")
@click.option("-m", "markexpr", metavar="MARKEXPR", help="Only tests matching this marker expression (e.g. smoke).")
@click.option("-k", "keyword", metavar="EXPR", help="Only tests whose names match this expression.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML here.")
@click.option("--json", "json_path", metavar="PATH", help="Write the JSON summary to PATH ('-' prints it).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="What to print on stdout: a short summary or the summary JSON.")
@click.option("--artifacts", type=click.Path(file_okay=False, path_type=Path),
              help="Where screenshots, Playwright traces and pytest's output go.")
@click.option("--workers", metavar="N|auto", help="Run tests in N parallel workers (pytest-xdist).")
@click.option("--reruns", type=click.IntRange(min=0), default=1, show_default=True,
              help="Rerun a failing test N times; a test that then passes is reported FLAKY.")
@click.option("--cleanup", is_flag=True, help="Archive the records this run created when it ends.")
@click.option("--path", "paths", multiple=True, metavar="PATH", help="Run these pytest paths instead of the suite.")
@click.option("--pytest-arg", "pytest_args", multiple=True, metavar="ARG", help="Pass ARG through to pytest.")
@click.option("--stream", is_flag=True, help="Show pytest's output as it runs (on stderr).")
def run(target_file: Path | None, sandbox: bool, markexpr: str | None, keyword: str | None, junit: Path | None,
        json_path: str | None, fmt: str, artifacts: Path | None, workers: str | None, reruns: int, cleanup: bool,
        paths: tuple[str, ...], pytest_args: tuple[str, ...], stream: bool) -> None:
    """Run the suite; exit 0 all passed, 1 failures, 2 target unreachable or nothing ran."""
    from release.errors import GateFailed, TargetUnavailable
    from release.regression_suite import SuiteOptions, render_text, run_suite

    if sandbox:
        from release.extras import require_extra

        require_extra("sandbox")
    to_stdout = json_path == "-" or fmt == "json"
    summary_file = Path(json_path) if json_path and json_path != "-" else None
    options = SuiteOptions(target_file=target_file, sandbox=sandbox, markexpr=markexpr, keyword=keyword, junit=junit,
                           summary=summary_file, artifacts=artifacts, workers=workers, reruns=reruns,
                           cleanup=cleanup, paths=paths, pytest_args=pytest_args)
    log_path = artifacts / "pytest-output.txt" if artifacts else None
    summary = run_suite(options, stream=sys.stderr if stream else None, log_path=log_path)
    if summary_file is not None:
        summary_file.parent.mkdir(parents=True, exist_ok=True)
        summary_file.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if to_stdout:
        click.echo(json.dumps(summary, indent=2))
    elif summary["status"] != "error":
        click.echo(render_text(summary))
    if summary["status"] == "error":
        raise TargetUnavailable(summary.get("error") or "the regression suite ran no test")
    if summary["status"] != "passed":
        counts = summary["counts"]
        raise GateFailed(f"regression suite failed: {counts['failed']} failed, {counts['errors']} errors "
                         f"of {counts['total']} tests")
