"""Every command and subcommand of `release` has --help, --json and a one-line summary."""

from __future__ import annotations

import click
import pytest

from release.cli.main import COMMANDS, SUMMARIES, cli

pytestmark = pytest.mark.unit


def leaves() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    found: list[tuple[str, click.Command]] = []

    def walk(command: click.Command, path: str) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{path} {name} is listed but cannot be loaded"
                walk(sub, f"{path} {name}".strip())
        else:
            found.append((path, command))

    walk(cli, "")
    return found


LEAVES = leaves()


def test_every_registered_command_loads_and_is_summarised():
    assert set(COMMANDS) == set(SUMMARIES), "each command needs a one-line summary for `release --help`"
    assert len(LEAVES) >= len(COMMANDS)


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[p for p, _ in LEAVES])
def test_command_has_json_and_help(path: str, command: click.Command):
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    assert "--json" in options, f"`release {path}` needs --json"
    assert command.help, f"`release {path}` needs a docstring for --help"
    with click.Context(command, info_name=path) as ctx:
        assert "Usage:" in command.get_help(ctx)
