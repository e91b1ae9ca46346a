"""`release users add|list|disable`: change-board web accounts (passwords read from stdin, argon2-hashed)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from release.errors import InputError

if TYPE_CHECKING:
    from release.config import Config
    from release.ledger import Ledger


def _open() -> tuple[Config, Ledger]:
    """The project's config and ledger, found from the working directory."""
    from release.config import find_config, load_config
    from release.ledger import Ledger, find_repo_root

    config = load_config(find_config(Path.cwd()))
    return config, Ledger.open(None, find_repo_root(config.path.parent) or config.path.parent)


def _actor() -> str:
    return os.environ.get("RELEASE_ACTOR", "").strip() or "release-cli"


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


@click.group("users")
def command() -> None:
    """Manage change-board web accounts for `release serve`."""


@command.command("add")
@click.argument("email")
@click.option("--role", required=True, help="A role from [roles] in release.toml, e.g. change-board.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def add(email: str, role: str, as_json: bool) -> None:
    """Add an account; the password is read from stdin (one line), never from an argument."""
    from release.web.accounts import add_user

    config, ledger = _open()
    with ledger:
        if role not in config.roles:
            raise InputError(f"unknown role {role!r}; roles in {config.path.name}: {', '.join(config.roles) or '(none)'}")
        user = add_user(ledger, email, role, _read_password(), actor=_actor())
    if as_json:
        click.echo(json.dumps({"email": user.email, "role": user.role, "disabled": user.disabled}))
    else:
        click.echo(f"added {user.email} ({user.role})")


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> None:
    """List accounts: e-mail, role, whether disabled, when created."""
    from release.web.accounts import list_users

    _, ledger = _open()
    with ledger:
        users = list_users(ledger)
    rows = [{"email": u.email, "role": u.role, "disabled": u.disabled, "created_at": u.created_at.isoformat()}
            for u in users]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no web accounts; add one with `release users add EMAIL --role ROLE`")
    for r in rows:
        click.echo(f"{r['email']}\t{r['role']}\t{'disabled' if r['disabled'] else 'active'}\t{r['created_at']}")


@command.command("disable")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def disable(email: str, as_json: bool) -> None:
    """Disable an account: it can no longer log in, and its open sessions end."""
    from release.web.accounts import disable_user, normalise_email

    _, ledger = _open()
    with ledger:
        disable_user(ledger, email, actor=_actor())
    clean = normalise_email(email)
    click.echo(json.dumps({"email": clean, "disabled": True}) if as_json else f"disabled {clean}")
