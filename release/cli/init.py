"""`release init`: read the repository, write a commented release.toml that fits it and loads, say what it read."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import click

COMMIT_MESSAGE = "chore: add release.toml"


def _default_dir(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def commit_hint(path: Path, in_repository: bool) -> str | None:
    """The command that commits the new file, from the current folder; None outside a repository."""
    if not in_repository:
        return None
    try:
        shown = os.path.relpath(path, Path.cwd())
    except ValueError:  # another drive on Windows
        shown = str(path)
    return f"git add {shlex.quote(shown)} && git commit -m {shlex.quote(COMMIT_MESSAGE)}"


@click.command("init")
@click.option("--path", "directory", type=click.Path(path_type=Path),
              help="Folder to write release.toml into (default: the git root, else the current folder).")
@click.option("--force", is_flag=True, help="Overwrite an existing release.toml.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(directory: Path | None, force: bool, as_json: bool) -> None:
    """Write a commented release.toml that fits this repository.

    Reads the production branch (local or on the remote), the default branch, how release branches and version
    tags are named, and deploy workflows with workflow_dispatch inputs; prints what it read and chose.
    """
    from release.workflow.init_detect import write_config

    written = write_config(directory or _default_dir(Path.cwd().resolve()), force=force)
    detection = written.detection
    hint = commit_hint(written.path, detection.root is not None)
    if as_json:
        click.echo(json.dumps({"path": str(written.path), "overwritten": written.overwritten,
                               "detected": detection.to_json(), "commit": hint}))
        return
    click.echo(f"{'overwrote' if written.overwritten else 'wrote'} {written.path}")
    if detection.findings:
        click.echo(f"read {detection.root}:" if detection.root else "read:")
        width = max(len(f.what) for f in detection.findings)
        for finding in detection.findings:
            click.echo(f"  {finding.what + ':':<{width + 1}} {finding.value}  ({finding.why})")
    for warning in detection.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo("next: fill in [targets.staging] (`release target check staging` says what is missing), then "
               + ("commit it:" if hint else "commit it with your code."))
    if hint:
        click.echo(f"  {hint}")
