"""Run a target's deploy or promote command: placeholders filled per argument, no shell, bounded in time.

A deploy or promote template is split like a POSIX shell would split it (``shlex``) and then run without one, so a
value can never become shell syntax. Each word may use the built-ins ``{version} {commit} {tag} {target}`` and the
variables declared under ``[variables]``; ``{{`` and ``}}`` are literal braces (the ``str.format`` rules that
release.toml checks at load, see ``release.config.command_placeholders``). A variable is a literal, or an env var
with an optional default. A literal or a default may itself use the built-ins, one level deep
(``countryconfig_image_tag = "v{version}"``); an env var's value is used as it is. A variable whose env var is unset
and has no default is a ConfigError (exit 2) naming both, raised before anything changes.

Every resolved variable is recorded with the deploy (ledger, audit chain, evidence), so a variable must never hold a
secret: a deploy script reads its secrets from the environment it inherits.
"""

from __future__ import annotations

import os
import shlex
import string
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from release.config import CONFIG_NAME, DEPLOY_PLACEHOLDERS, MANUAL_DEPLOY, Config, Target, Variable
from release.errors import ConfigError, UsageError

PLACEHOLDERS = tuple(sorted(DEPLOY_PLACEHOLDERS))
DEFAULT_TIMEOUT_S = 600.0
#: What the record says when the operator deploys by hand (``deploy = "manual"``).
MANUAL_NOTE = "deployed by hand; not run by crvs-release"

__all__ = ["DEFAULT_TIMEOUT_S", "MANUAL_DEPLOY", "MANUAL_NOTE", "PLACEHOLDERS", "DeployResult", "RenderedCommand",
           "command_argv", "is_manual", "render_command", "require_command_variables", "run_command",
           "target_command"]


@dataclass(frozen=True)
class DeployResult:
    """How a deploy command ended: its argv, exit code (None on timeout or when it could not start), output tail."""

    argv: tuple[str, ...]
    exit_code: int | None
    output_tail: str
    #: The lines of the whole output that record deployed images (``RELEASE_IMAGE_<NAME>=<tag>``).
    image_lines: tuple[str, ...] = ()

    @property
    def output(self) -> str:
        """The image lines and the output tail, for parsers of the deploy record."""
        return "\n".join((*self.image_lines, self.output_tail))

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.exit_code == 0

    def describe(self) -> str:
        """One line saying how it ended."""
        if self.exit_code is None:
            return f"deploy command {self.argv[0] if self.argv else '?'} did not complete: {self.output_tail}"
        last = self.output_tail.strip().splitlines()[-1:] or [""]
        return f"deploy command exited {self.exit_code}" + (f": {last[0]}" if last[0] else "")


@dataclass(frozen=True)
class RenderedCommand:
    """A command ready to run: its argv and the declared variables it used (name -> value, recorded as evidence)."""

    argv: tuple[str, ...]
    variables: Mapping[str, str] = field(default_factory=dict)

    def describe_variables(self) -> str:
        """'name=value, ...' for progress lines and records ('' when it used none)."""
        return ", ".join(f"{k}={v}" for k, v in self.variables.items())


def is_manual(template: str | None) -> bool:
    """True when a target's deploy is ``deploy = "manual"``: the operator deploys by hand."""
    return template == MANUAL_DEPLOY


def _fields(text: str, where: str, source: str) -> list[tuple[str, str | None]]:
    """(literal, placeholder name or None) pieces of text; ConfigError for a malformed placeholder."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ConfigError(source, where, f"expected {{name}} placeholders ({exc}; write {{{{ and }}}} for literal "
                                         "braces)") from exc
    pieces: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (spec or conversion or not name.isidentifier()):
            raise ConfigError(source, where, f"expected a bare {{name}} placeholder, not {{{name}"
                                             f"{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}")
        pieces.append((literal, name))
    return pieces


def _resolve(name: str, var: Variable, builtins: Mapping[str, str], environ: Mapping[str, str], source: str,
             used_by: str) -> str:
    """One variable's value: its literal (built-ins filled), else its env var as is, else its default (filled)."""
    where = f"variables.{name}"
    if var.value is not None:
        return _fill_builtins(var.value, builtins, where, source)
    if var.env is not None and environ.get(var.env):
        return environ[var.env]
    if var.default is not None:
        return _fill_builtins(var.default, builtins, f"{where}.default", source)
    raise ConfigError(source, where, f"expected the environment variable {var.env} to be set ({used_by} uses "
                                     f"{{{name}}} and it has no default): set {var.env}, or give it one, e.g. "
                                     f"{name} = {{ env = \"{var.env}\", default = \"...\" }}")


def _fill_builtins(text: str, builtins: Mapping[str, str], where: str, source: str) -> str:
    """A variable's literal or default with the built-ins filled; one level, so no other variable may appear."""
    out: list[str] = []
    for literal, name in _fields(text, where, source):
        out.append(literal)
        if name is None:
            continue
        if name not in builtins:
            raise ConfigError(source, where, f"a variable's value may use only the built-ins "
                                             f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}, not {{{name}}}")
        out.append(builtins[name])
    return "".join(out)


def render_command(template: str, *, version: str, commit: str, tag: str, target: str = "",
                   variables: Mapping[str, Variable] | None = None, environ: Mapping[str, str] | None = None,
                   source: str = CONFIG_NAME, where: str = "command") -> RenderedCommand:
    """Split template into words, then fill built-ins and declared variables in each word (no shell).

    ``where`` is the template's key path (``targets.staging.deploy``) and ``source`` its file, for errors.
    An undeclared placeholder is a ConfigError (release.toml refuses it at load; this guards other callers).
    """
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise UsageError(f"cannot parse command {template!r}: {exc}") from exc
    if not words:
        raise UsageError(f"empty command {template!r}")
    declared = variables or {}
    env = os.environ if environ is None else environ
    builtins = {"version": version, "commit": commit, "tag": tag, "target": target}
    used: dict[str, str] = {}
    argv: list[str] = []
    for word in words:
        out: list[str] = []
        for literal, name in _fields(word, where, source):
            out.append(literal)
            if name is None:
                continue
            if name in builtins:
                out.append(builtins[name])
            elif name in declared:
                if name not in used:
                    used[name] = _resolve(name, declared[name], builtins, env, source, where)
                out.append(used[name])
            else:
                raise ConfigError(source, where, f"unknown placeholder {{{name}}}: declare it under [variables]; "
                                                 "built in: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
        argv.append("".join(out))
    return RenderedCommand(tuple(argv), used)


def command_argv(template: str, *, version: str, commit: str, tag: str, target: str | None = None,
                 variables: Mapping[str, Variable] | None = None, environ: Mapping[str, str] | None = None,
                 source: str = CONFIG_NAME, where: str = "command", strict: bool = True) -> tuple[str, ...]:
    """The argv of a command template (see render_command).

    ``strict=False`` is for gate ``run`` commands, which release.toml does not parse as templates: only
    ``{version} {commit} {tag}`` (and ``{target}`` when given) are replaced; any other brace is kept as written.
    """
    if strict:
        return render_command(template, version=version, commit=commit, tag=tag, target=target or "",
                              variables=variables, environ=environ, source=source, where=where).argv
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise UsageError(f"cannot parse command {template!r}: {exc}") from exc
    values = {"version": version, "commit": commit, "tag": tag}
    if target is not None:
        values["target"] = target
    filled = []
    for word in words:
        for key, value in values.items():
            word = word.replace("{" + key + "}", value)
        filled.append(word)
    if not filled:
        raise UsageError(f"empty command {template!r}")
    return tuple(filled)


def _secret_envs(config: Config) -> dict[str, str]:
    """env var -> key path of every secret any target names (a variable must never read one: it is recorded)."""
    return {var: key for t in config.targets.values() for key, var in t.secret_env_vars()}


def target_command(config: Config, target: Target, key: str, *, version: str, commit: str, tag: str,
                   environ: Mapping[str, str] | None = None) -> RenderedCommand:
    """Render ``[targets.NAME] <key>`` (deploy or promote) with config's variables; ConfigError before any change.

    A variable that reads a secret env var of a target (a client secret, a password) is refused: variables are
    recorded in the evidence, secrets never are.
    """
    template = getattr(target, key)
    if not template or is_manual(template):
        raise UsageError(f"target {target.name} has no {key} command to run")
    where = f"targets.{target.name}.{key}"
    rendered = render_command(template, version=version, commit=commit, tag=tag, target=target.name,
                              variables=config.variables, environ=environ, source=target.source, where=where)
    secrets = _secret_envs(config)
    for name in rendered.variables:
        env = config.variables[name].env
        if env is not None and env in secrets:
            raise ConfigError(target.source, f"variables.{name}.env",
                              f"{env} is a secret ({secrets[env]}); variables are recorded with each deploy, so a "
                              "secret must not be one: let the deploy script read it from its environment")
    return rendered


def require_command_variables(config: Config, targets: Iterable[Target], key: str = "deploy", *,
                              environ: Mapping[str, str] | None = None) -> None:
    """ConfigError now, before anything changes, if a target's command could not be rendered (unset env var...)."""
    for target in targets:
        template = getattr(target, key)
        if template and not is_manual(template):
            target_command(config, target, key, version="0.0.0", commit="0" * 40, tag="v0.0.0", environ=environ)


def run_command(argv: tuple[str, ...], cwd: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                env: Mapping[str, str] | None = None) -> DeployResult:
    """Run argv in cwd without a shell; never raises for a failing, missing or hanging command."""
    # Output goes to a file, not a pipe: a deploy script that leaves a server running in the background
    # would otherwise hold the pipe open and hang us.
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.run(list(argv), cwd=str(cwd), env=dict(env if env is not None else os.environ),
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return DeployResult(argv, None, f"timed out after {timeout_s:g}s")
        except OSError as exc:
            return DeployResult(argv, None, f"could not start: {exc.strerror or exc}")
        out.seek(0)
        whole = out.read()
        tail = whole[-2000:].decode("utf-8", "replace")
        images = tuple(line.strip() for line in whole.decode("utf-8", "replace").splitlines()
                       if line.strip().startswith("RELEASE_IMAGE_"))[:50]
    return DeployResult(argv, proc.returncode, tail, images)
