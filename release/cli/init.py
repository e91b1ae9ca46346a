"""`release init`: write a commented release.toml that loads cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _default_dir(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


@click.command("init")
@click.option("--path", "directory", type=click.Path(path_type=Path),
              help="Folder to write release.toml into (default: the git root, else the current folder).")
@click.option("--force", is_flag=True, help="Overwrite an existing release.toml.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(directory: Path | None, force: bool, as_json: bool) -> None:
    """Write a commented release.toml."""
    from release.config import write_default_config

    path, overwritten = write_default_config(directory or _default_dir(Path.cwd().resolve()), force=force)
    if as_json:
        click.echo(json.dumps({"path": str(path), "overwritten": overwritten}))
    else:
        click.echo(f"{'overwrote' if overwritten else 'wrote'} {path}")
