"""`release target check NAME`: is this deployment ready for the gates? (hosts, identity, logins, permissions)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("target")
def command() -> None:
    """Inspect the deployments in [targets]."""


@command.command("check")
@click.argument("name")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="release.toml (default: found upwards).")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds per HTTP call.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def check(click_ctx: click.Context, name: str, config_path: Path | None, timeout: float, as_json: bool) -> None:
    """Probe each host, log each user in once, check every permission the gates need, list the locations.

    Exit 0 when everything the gates need works, 1 when something is missing (the table says how to fix
    it), 2 for a config error such as an unset password env var.
    """
    import os

    from release.config import find_config, load_config
    from release.workflow.target_check import check_target, render_table

    config = load_config(config_path or find_config(Path.cwd()))
    report = check_target(config.target(name), dict(os.environ), timeout=timeout)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for line in render_table(report):
            click.echo(line)
    click_ctx.exit(report.exit_code)
