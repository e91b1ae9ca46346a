"""release.toml: parsed once with tomllib and validated into frozen models; errors name file, key and expectation."""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
import string
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from release.errors import ConfigError, UsageError

CONFIG_NAME = "release.toml"
GATE_KINDS = ("pytest", "browser", "locust", "command", "signoff", "approval", "criteria")
AUTOMATED_KINDS = frozenset({"pytest", "browser", "locust", "command"})
# Keys that would hold a literal secret; the config names an env var instead.
SECRET_KEYS = frozenset({"client_secret", "secret", "password", "passwd", "token", "api_key", "apikey",
                         "access_token", "private_key", "login_code", "code"})
SLO_LIMITS = ("p50_ms", "p95_ms", "p99_ms", "error_rate", "min_rps")
REPORT_PLACEHOLDERS = frozenset({"version", "previous_version", "tag", "commit"})
#: The placeholders every deploy and promote command may use; [variables] declares more.
DEPLOY_PLACEHOLDERS = frozenset({"version", "commit", "tag", "target"})
#: A target's deploy = "manual": the operator deploys by hand; the tool records that and still smoke-checks.
MANUAL_DEPLOY = "manual"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)?\s*$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class ReleaseSettings:
    """The [release] table: branch and tag formats, the production branch and the remote."""

    production_branch: str = "production"
    branch: str = "release/v{version}"
    tag: str = "v{version}"
    convention: str = "conventional"
    remote: str | None = None
    #: Breaking changes on 0.x bump the major (0.9.0 -> 1.0.0), as python-semantic-release's major_on_zero.
    #: False keeps a 0.x project on 0.x: a breaking change bumps the minor.
    major_on_zero: bool = True
    #: Read Conventional Commit lines inside squash-merge bodies ("* feat: ..." lines), as
    #: python-semantic-release 10 does.
    parse_squash_commits: bool = True


#: farajaland v2.0.0's role ids in lower case, the keys of a target's `users`: the ten roles that
#: opencrvs-farajaland release/v2.0.0 src/data-seeding/roles/roles.ts defines (crvs_client.deployment.ROLES
#: holds the same list; release/ does not import crvs_client).
ROLE_KEYS = ("hospital_clerk", "community_leader", "registration_agent", "local_registrar", "provincial_registrar",
             "national_registrar", "local_system_admin", "national_system_admin", "performance_manager",
             "embassy_official")
#: The roles the standing suite and the load personas log in as (docs/wire-contract.md section 2).
SUITE_ROLES = ("hospital_clerk", "registration_agent", "local_registrar")
LOCATION_KEYS = ("office", "health_facility", "administrative_area")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(text: str) -> bool:
    """True for a UUID in its 8-4-4-4-12 hex form (how OpenCRVS ids look)."""
    return bool(_UUID.match(text))


@dataclass(frozen=True)
class IdentitySpec:
    """How to learn which build a target runs: a response header, a JSON endpoint's key, or a command's stdout.

    OpenCRVS has no version endpoint: the gateway sets ``X-Version`` on every answer
    (opencrvs-core packages/gateway/src/server.ts, onPreResponse), so the default is that header on ``/ping``.
    """

    header: str | None = "X-Version"
    path: str = "/ping"
    json_url: str | None = None
    key: str = "version"
    command: str | None = None
    timeout_s: float = 10.0

    @property
    def kind(self) -> str:
        """'header', 'json' or 'command'."""
        return "command" if self.command else "json" if self.json_url else "header"

    def to_json(self) -> dict[str, Any]:
        """The profile's `identity` object."""
        if self.command:
            return {"command": self.command}
        if self.json_url:
            return {"json": self.json_url, "key": self.key}
        return {"header": self.header, "path": self.path}


@dataclass(frozen=True)
class Variable:
    """A [variables] entry a deploy or promote command may use: a literal value, or an env var (with a default)."""

    name: str
    value: str | None = None
    env: str | None = None
    default: str | None = None

    def resolve(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The value: the literal, else the env var's value, else the default; None when none is set."""
        if self.value is not None:
            return self.value
        env = os.environ if environ is None else environ
        if self.env is not None and env.get(self.env):
            return env[self.env]
        return self.default


@dataclass(frozen=True)
class UserAccount:
    """One user account of a target: its username and the env var that holds its password."""

    username: str
    password_env: str
    key: str = field(default="", compare=False)  # its key path in release.toml, for error messages


@dataclass(frozen=True)
class Target:
    """A CRVS deployment the gates run against: three hosts, an identity probe, a system client and users by role.

    Secrets stay in the env vars the target names; `profile()` is the hand-over to the regression suite and the
    load runner (docs/wire-contract.md section 2).
    """

    name: str
    gateway: str
    register: str | None = None
    config: str | None = None
    identity: IdentitySpec = field(default_factory=IdentitySpec)
    client_id: str | None = None
    client_secret_env: str | None = None
    client_scopes: tuple[str, ...] = ()
    users: Mapping[str, tuple[UserAccount, ...]] = field(default_factory=lambda: MappingProxyType({}))
    two_fa: bool = False
    login_code_env: str | None = None
    locations: Mapping[str, str | None] = field(
        default_factory=lambda: MappingProxyType(dict.fromkeys(LOCATION_KEYS)))
    deploy: str | None = None
    promote: str | None = None
    version_timeout_s: float = 120.0
    #: Why the post-promote smoke check is skipped for this target (None: it runs).
    smoke_waiver: str | None = None
    source: str = field(default=CONFIG_NAME, compare=False)  # the file it came from, for error messages

    @property
    def url(self) -> str:
        """The gateway URL: what evidence is bound to."""
        return self.gateway

    def client_secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The client secret read from the env var named by client_secret_env, or None."""
        if not self.client_secret_env:
            return None
        env = os.environ if environ is None else environ
        return env.get(self.client_secret_env) or None

    def secret_env_vars(self) -> list[tuple[str, str]]:
        """(key path, env var name) for every secret this target names, in config order."""
        prefix = ("targets", self.name)
        found: list[tuple[str, str]] = []
        if self.client_secret_env:
            found.append((_key(*prefix, "client_secret_env"), self.client_secret_env))
        for role, accounts in self.users.items():
            for account in accounts:
                where = account.key or _key(*prefix, "users", role)
                found.append((f"{where}.password_env", account.password_env))
        if self.two_fa and self.login_code_env:
            found.append((_key(*prefix, "login_code_env"), self.login_code_env))
        return found

    def missing_secrets(self, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
        """(key path, env var name) of each named secret that is not set (or empty) in environ."""
        env = os.environ if environ is None else environ
        return [(key, var) for key, var in self.secret_env_vars() if not env.get(var)]

    def require_secrets(self, environ: Mapping[str, str] | None = None) -> None:
        """ConfigError naming the file and key of the first secret env var that is not set."""
        missing = self.missing_secrets(environ)
        if missing:
            key, var = missing[0]
            others = sorted({v for _, v in missing[1:]} - {var})
            more = f" (also unset: {', '.join(others)})" if others else ""
            raise ConfigError(self.source, key, f"expected the environment variable {var} to be set{more}")

    def profile(self) -> dict[str, Any]:
        """The deployment profile (docs/wire-contract.md section 2): env var names only, never a secret."""
        client = None
        if self.client_id:
            client = {"id": self.client_id, "secret_env": self.client_secret_env, "scopes": list(self.client_scopes)}
        return {
            "name": self.name, "gateway": self.gateway, "register": self.register, "config": self.config,
            "identity": self.identity.to_json(), "client": client,
            "users": {role: [{"username": a.username, "password_env": a.password_env} for a in accounts]
                      for role, accounts in self.users.items()},
            "two_fa": self.two_fa, "login_code_env": self.login_code_env if self.two_fa else None,
            "locations": {k: self.locations.get(k) for k in LOCATION_KEYS},
        }

    def fingerprint(self) -> dict[str, Any]:
        """What a gate's config hash covers of its target: hosts, identity, client, users and locations."""
        data = self.profile()
        del data["name"]
        if data["client"]:
            data["client"] = {k: v for k, v in data["client"].items() if k != "secret_env"}
        data["users"] = {role: sorted(a["username"] for a in accounts) for role, accounts in data["users"].items()}
        return data


@dataclass(frozen=True)
class Criterion:
    """One acceptance criterion: verified by a pytest node id, or attested by hand when verify is None."""

    id: str
    text: str
    verify: str | None = None


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    if isinstance(value, Criterion):
        return {"id": value.id, "text": value.text, "verify": value.verify}
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class GateConfig:
    """One [gates.<name>] table; `options` holds the validated values (durations in seconds) minus `kind`."""

    name: str
    kind: str
    target: str = "staging"
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    role: str | None = None
    quorum: int = 1
    items: tuple[Criterion, ...] = ()
    description: str | None = None
    #: The target deployment's shape (Target.fingerprint); a gate run against other hosts or users is another check.
    deployment: Mapping[str, Any] | None = None

    @property
    def automated(self) -> bool:
        """True for gates a machine runs (pytest, browser, locust, command)."""
        return self.kind in AUTOMATED_KINDS

    def to_table(self) -> dict[str, Any]:
        """The gate as a plain JSON-able table (what config_hash covers)."""
        table: dict[str, Any] = {"kind": self.kind, **_thaw(self.options)}
        if self.automated:
            table["target"] = self.target
            if self.deployment is not None:
                table["deployment"] = _thaw(self.deployment)
        if self.role is not None:
            table["role"] = self.role
        if self.kind == "approval":
            table["quorum"] = self.quorum
        if self.items:
            table["items"] = _thaw(list(self.items))
        return table

    def config_hash(self) -> str:
        """sha256 of the canonical JSON of the gate table; any option change changes it."""
        canonical = json.dumps(self.to_table(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_DEFAULT_REPORT = {
    "risk": "Medium: release {version} changes a system of record for births and deaths. Automated regression, "
            "load and acceptance gates ran against candidate {tag} (commit {commit}).",
    "impact": "Registration, search and certificate issuance are in scope; users may see a short "
              "interruption while {version} is deployed.",
    "implementation_plan": "Deploy {tag} (commit {commit}) to production, run the smoke check, and move the "
                           "production branch to {commit}.",
    "backout_plan": "Redeploy {previous_version}, move the production branch back, and re-run the smoke check; "
                    "no data migration needs reversing unless stated in the changelog.",
}


@dataclass(frozen=True)
class ReportSettings:
    """The [report] table: change-record text templates with {version} {previous_version} {tag} {commit}."""

    risk: str = _DEFAULT_REPORT["risk"]
    impact: str = _DEFAULT_REPORT["impact"]
    implementation_plan: str = _DEFAULT_REPORT["implementation_plan"]
    backout_plan: str = _DEFAULT_REPORT["backout_plan"]

    def render(self, name: str, *, version: str, previous_version: str | None, tag: str, commit: str) -> str:
        """One of the four texts with its placeholders filled."""
        text: str = getattr(self, name)
        return text.format(version=version, previous_version=previous_version or "(none)", tag=tag, commit=commit)


@dataclass(frozen=True)
class Config:
    """The whole validated release.toml."""

    path: Path
    release: ReleaseSettings = field(default_factory=ReleaseSettings)
    targets: Mapping[str, Target] = field(default_factory=lambda: MappingProxyType({}))
    gates: Mapping[str, GateConfig] = field(default_factory=lambda: MappingProxyType({}))
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    report: ReportSettings = field(default_factory=ReportSettings)
    variables: Mapping[str, Variable] = field(default_factory=lambda: MappingProxyType({}))

    def gate(self, name: str) -> GateConfig:
        """The gate called `name`; a UsageError naming the closest gate otherwise."""
        if name not in self.gates:
            raise UsageError(f"unknown gate {name!r}{_hint(name, self.gates)}; gates: {', '.join(self.gates)}")
        return self.gates[name]

    def target(self, name: str) -> Target:
        """The target called `name`; a UsageError otherwise."""
        if name not in self.targets:
            raise UsageError(f"unknown target {name!r}{_hint(name, self.targets)}")
        return self.targets[name]

    def members(self, role: str) -> tuple[str, ...]:
        """The email addresses in a role (empty if the role is unknown)."""
        return self.roles.get(role, ())


# ---------------------------------------------------------------- validation


def _hint(key: str, choices: Any) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _key(*parts: str) -> str:
    """A dotted key path, quoting parts the way TOML would (e.g. slo."event.search".p95_ms)."""
    return ".".join(p if _BARE_KEY.match(p) else json.dumps(p) for p in parts)


class _Validator:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(_display(self.path), key, expected)

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "expected a table")
        return value

    def keys(self, table: Mapping[str, Any], allowed: Any, key_prefix: tuple[str, ...]) -> None:
        for k in table:
            if k in allowed:
                continue
            where = _key(*key_prefix, k)
            if k.lower() in SECRET_KEYS:
                raise self.fail(where, "literal secrets are not allowed in release.toml; "
                                       "use client_secret_env to name an environment variable")
            raise self.fail(where, f"unknown key{_hint(k, allowed)}; expected one of {', '.join(sorted(allowed))}")

    def string(self, value: Any, key: str, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty string")
        return value

    def name(self, value: str, key: str) -> str:
        if not _NAME.match(value):
            raise self.fail(key, "expected a name of letters, digits, '.', '_' or '-'")
        return value

    def positive_int(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(key, "expected a positive integer")
        return value

    def number(self, value: Any, key: str, *, low: float, high: float | None = None, low_open: bool = False,
               high_open: bool = False, expected: str | None = None) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if ok:
            ok = (value > low if low_open else value >= low) and (
                high is None or (value < high if high_open else value <= high))
        if not ok:
            raise self.fail(key, expected or f"expected a number >= {low}")
        return float(value)

    def fraction(self, value: Any, key: str) -> float:
        return self.number(value, key, low=0, high=1, expected="expected a fraction between 0 and 1")

    def duration(self, value: Any, key: str) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
        m = _DURATION.match(value) if isinstance(value, str) else None
        if m is None or float(m.group("n")) <= 0:
            raise self.fail(key, 'expected a positive duration like "60s", "2m" or "1h"')
        factor = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group("unit")]
        return float(m.group("n")) * factor

    def string_list(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, "expected a list of non-empty strings")
        return tuple(value)

    def url(self, value: Any, key: str) -> str:
        text = self.string(value, key)
        assert text is not None
        if not re.match(r"^https?://[^\s/?#]+[^\s]*$", text):
            raise self.fail(key, "expected an http:// or https:// URL")
        return text.rstrip("/")

    def ref_format(self, value: Any, key: str, *, needs_version: bool) -> str:
        text = self.string(value, key)
        assert text is not None
        if needs_version and text.count("{version}") != 1:
            raise self.fail(key, "expected a format containing {version} once, e.g. \"v{version}\"")
        if re.search(r"[\s~^:?*\[\\]|\.\.|@\{", text):
            raise self.fail(key, "expected a valid git ref name")
        return text


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _release(v: _Validator, raw: Any) -> ReleaseSettings:
    table = v.table(raw, "release")
    v.keys(table, ("production_branch", "branch", "tag", "convention", "remote", "major_on_zero",
                   "parse_squash_commits"), ("release",))
    d = ReleaseSettings()
    for flag in ("major_on_zero", "parse_squash_commits"):
        if not isinstance(table.get(flag, True), bool):
            raise v.fail(f"release.{flag}", "expected true or false")
    convention = table.get("convention", d.convention)
    if convention != "conventional":
        raise v.fail("release.convention", 'expected "conventional" (Conventional Commits)')
    return ReleaseSettings(
        production_branch=v.ref_format(table.get("production_branch", d.production_branch),
                                       "release.production_branch", needs_version=False),
        branch=v.ref_format(table.get("branch", d.branch), "release.branch", needs_version=True),
        tag=v.ref_format(table.get("tag", d.tag), "release.tag", needs_version=True),
        convention=convention,
        remote=v.string(table.get("remote"), "release.remote", optional=True),
        major_on_zero=table.get("major_on_zero", d.major_on_zero),
        parse_squash_commits=table.get("parse_squash_commits", d.parse_squash_commits),
    )


def _variables(v: _Validator, raw: Any) -> dict[str, Variable]:
    table = v.table(raw, "variables")
    out: dict[str, Variable] = {}
    for name, spec in table.items():
        k = _key("variables", name)
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise v.fail(k, "expected a variable name of letters, digits and '_' (used as {name} in commands)")
        if name in DEPLOY_PLACEHOLDERS:
            raise v.fail(k, f"{{{name}}} is built in; choose another name")
        if isinstance(spec, str):
            out[name] = Variable(name, value=spec)
            continue
        spec = v.table(spec, k)
        v.keys(spec, ("env", "default"), ("variables", name))
        if "env" not in spec:
            raise v.fail(_key("variables", name, "env"), "expected the env var that holds the value, or give the "
                                                         "variable a string value")
        default = v.string(spec.get("default"), _key("variables", name, "default"), optional=True)
        out[name] = Variable(name, env=_env_name(v, spec["env"], _key("variables", name, "env")), default=default)
    return out


def command_placeholders(template: str) -> tuple[str, ...]:
    """The {name} placeholders a command template uses, in order; ValueError for a malformed one.

    ``{{`` and ``}}`` are literal braces; a conversion or a format spec (``{version!r}``, ``{tag:>9}``) is refused.
    """
    names: list[str] = []
    for _literal, field_name, spec, conversion in string.Formatter().parse(template):
        if field_name is None:
            continue
        if conversion or spec:
            raise ValueError(f"{{{field_name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}: "
                             "a placeholder is a bare {name}")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", field_name):
            raise ValueError(f"{{{field_name}}} is not a placeholder name")
        names.append(field_name)
    return tuple(names)


def _check_commands(v: _Validator, targets: Mapping[str, Target], variables: Mapping[str, Variable]) -> None:
    known = DEPLOY_PLACEHOLDERS | set(variables)
    for target in targets.values():
        for key in ("deploy", "promote"):
            template = getattr(target, key)
            if template is None or (key == "deploy" and template == MANUAL_DEPLOY):
                continue
            where = _key("targets", target.name, key)
            try:
                used = command_placeholders(template)
            except ValueError as exc:
                raise v.fail(where, f"expected a command with {{name}} placeholders ({exc}; write {{{{ and }}}} "
                                    "for literal braces)") from exc
            for name in used:
                if name not in known:
                    raise v.fail(where, f"unknown placeholder {{{name}}}{_hint(name, known)}: declare it under "
                                        f"[variables] ({name} = \"value\" or {name} = {{ env = \"VAR\" }}); built in: "
                                        + ", ".join("{" + p + "}" for p in sorted(DEPLOY_PLACEHOLDERS)))


_TARGET_KEYS = ("gateway", "register", "config", "identity", "client_id", "client_secret_env", "client_scopes",
                "users", "two_fa", "login_code_env", "locations", "deploy", "promote", "version_timeout_s",
                "smoke_waiver")


def _env_name(v: _Validator, value: Any, key: str) -> str:
    text = v.string(value, key)
    assert text is not None
    if not _ENV_VAR.match(text):
        raise v.fail(key, "expected the name of an environment variable, e.g. CRVS_REGISTRAR_PASSWORD")
    return text


def _identity(v: _Validator, raw: Any, prefix: tuple[str, ...]) -> IdentitySpec:
    key = _key(*prefix)
    table = v.table(raw, key)
    v.keys(table, ("header", "path", "json", "key", "command", "timeout_s"), prefix)
    kinds = [k for k in ("header", "json", "command") if k in table]
    if len(kinds) != 1:
        raise v.fail(key, 'expected exactly one of { header = "X-Version", path = "/ping" }, '
                          '{ json = URL, key = "version" } or { command = "..." }')
    timeout = v.number(table.get("timeout_s", 10), _key(*prefix, "timeout_s"), low=0, low_open=True,
                       expected="expected a positive number of seconds")
    kind = kinds[0]
    allowed = {"header": ("header", "path", "timeout_s"), "json": ("json", "key", "timeout_s"),
               "command": ("command", "timeout_s")}[kind]
    for k in table:
        if k not in allowed:
            raise v.fail(_key(*prefix, k), f"expected only {', '.join(allowed)} with {kind} = ...")
    if kind == "command":
        return IdentitySpec(header=None, command=v.string(table["command"], _key(*prefix, "command")),
                            timeout_s=timeout)
    if kind == "json":
        raw_url = v.string(table["json"], _key(*prefix, "json"))
        assert raw_url is not None
        url = raw_url if raw_url.startswith("/") else v.url(raw_url, _key(*prefix, "json"))
        return IdentitySpec(header=None, json_url=url, key=v.string(table.get("key", "version"),
                                                                     _key(*prefix, "key")) or "version",
                            timeout_s=timeout)
    path = v.string(table.get("path", "/ping"), _key(*prefix, "path")) or "/ping"
    if not path.startswith("/"):
        raise v.fail(_key(*prefix, "path"), 'expected a path on the gateway starting with "/", e.g. "/ping"')
    return IdentitySpec(header=v.string(table["header"], _key(*prefix, "header")), path=path, timeout_s=timeout)


def _account(v: _Validator, raw: Any, prefix: str) -> UserAccount:
    table = v.table(raw, prefix)
    for k in table:
        if k not in ("username", "password_env"):
            if k.lower() in SECRET_KEYS:
                raise v.fail(f"{prefix}.{k}", "literal passwords are not allowed in release.toml; "
                                              "use password_env to name an environment variable")
            raise v.fail(f"{prefix}.{k}", f"unknown key{_hint(k, ('username', 'password_env'))}; "
                                          "expected username and password_env")
    for req in ("username", "password_env"):
        if req not in table:
            raise v.fail(f"{prefix}.{req}", "expected a non-empty string (required for each user)")
    username = v.string(table["username"], f"{prefix}.username")
    assert username is not None
    return UserAccount(username=username, password_env=_env_name(v, table["password_env"], f"{prefix}.password_env"),
                       key=prefix)


def _users(v: _Validator, raw: Any, prefix: tuple[str, ...]) -> dict[str, tuple[UserAccount, ...]]:
    table = v.table(raw, _key(*prefix))
    users: dict[str, tuple[UserAccount, ...]] = {}
    for role, entry in table.items():
        rkey = _key(*prefix, role)
        if role not in ROLE_KEYS:
            raise v.fail(rkey, f"unknown role{_hint(role, ROLE_KEYS)}; expected one of farajaland's roles in "
                               f"lower case: {', '.join(ROLE_KEYS)}")
        if isinstance(entry, list):
            if not entry:
                raise v.fail(rkey, "expected a { username, password_env } table or a non-empty list of them")
            accounts = tuple(_account(v, item, f"{rkey}[{i}]") for i, item in enumerate(entry))
        else:
            accounts = (_account(v, entry, rkey),)
        names = [a.username for a in accounts]
        if len(set(names)) != len(names):
            raise v.fail(rkey, "expected each username once in a pool")
        users[role] = accounts
    return users


def _locations(v: _Validator, raw: Any, prefix: tuple[str, ...]) -> dict[str, str | None]:
    table = v.table(raw, _key(*prefix))
    v.keys(table, LOCATION_KEYS, prefix)
    return {k: v.string(table.get(k), _key(*prefix, k), optional=True) for k in LOCATION_KEYS}


def _target(v: _Validator, name: str, raw: Any) -> Target:
    prefix = ("targets", name)
    table = v.table(raw, _key(*prefix))
    k: Callable[[str], str] = lambda key: _key(*prefix, key)  # noqa: E731
    if "url" in table:
        raise v.fail(k("url"), "a target is a deployment now, not one URL: use gateway = \"https://gateway...\" "
                               "(tRPC, auth, upload) and, optionally, register = \"https://register...\" (REST "
                               "/api/events) and config = \"https://countryconfig...\"")
    v.keys(table, _TARGET_KEYS, prefix)
    if "gateway" not in table:
        raise v.fail(k("gateway"), "expected the gateway's URL (required), e.g. \"https://gateway.staging.example.org\"")
    client_id = v.string(table.get("client_id"), k("client_id"), optional=True)
    if client_id is not None and not is_uuid(client_id):
        raise v.fail(k("client_id"), f"expected the system client's id, a UUID such as "
                                     f"\"4b3e5c7a-8d2f-4a1b-9c6e-0f5d7a2b8c91\" (OpenCRVS integration ids are "
                                     f"UUIDs), not {client_id!r}")
    secret_env = None
    if "client_secret_env" in table:
        secret_env = _env_name(v, table["client_secret_env"], k("client_secret_env"))
    if client_id is not None and secret_env is None:
        raise v.fail(k("client_secret_env"), "expected the name of the env var that holds the system client's "
                                             "secret (required with client_id)")
    if secret_env is not None and client_id is None:
        raise v.fail(k("client_id"), "expected the system client's UUID (client_secret_env names its secret)")
    scopes = v.string_list(table.get("client_scopes", []), k("client_scopes")) if "client_scopes" in table else ()
    two_fa = table.get("two_fa", False)
    if not isinstance(two_fa, bool):
        raise v.fail(k("two_fa"), "expected true or false (is TWO_FA_ENABLED on for this deployment?)")
    code_env = _env_name(v, table["login_code_env"], k("login_code_env")) if "login_code_env" in table else None
    if two_fa and code_env is None:
        raise v.fail(k("login_code_env"), "expected the name of the env var that holds the 2FA login code "
                                          "(required when two_fa = true)")
    timeout = table.get("version_timeout_s", 120)
    return Target(
        name=v.name(name, _key(*prefix)),
        gateway=v.url(table["gateway"], k("gateway")),
        register=v.url(table["register"], k("register")) if "register" in table else None,
        config=v.url(table["config"], k("config")) if "config" in table else None,
        identity=_identity(v, table["identity"], (*prefix, "identity")) if "identity" in table else IdentitySpec(),
        client_id=client_id,
        client_secret_env=secret_env,
        client_scopes=scopes,
        users=MappingProxyType(_users(v, table.get("users", {}), (*prefix, "users"))),
        two_fa=two_fa,
        login_code_env=code_env,
        locations=MappingProxyType(_locations(v, table.get("locations", {}), (*prefix, "locations"))),
        deploy=v.string(table.get("deploy"), k("deploy"), optional=True),
        promote=v.string(table.get("promote"), k("promote"), optional=True),
        version_timeout_s=v.number(timeout, k("version_timeout_s"), low=0, low_open=True,
                                   expected="expected a positive number of seconds"),
        smoke_waiver=v.string(table.get("smoke_waiver"), k("smoke_waiver"), optional=True),
        source=_display(v.path),
    )


def _roles(v: _Validator, raw: Any) -> dict[str, tuple[str, ...]]:
    table = v.table(raw, "roles")
    roles: dict[str, tuple[str, ...]] = {}
    for role, members in table.items():
        key = _key("roles", role)
        v.name(role, key)
        if not isinstance(members, list):
            raise v.fail(key, "expected a list of email addresses")
        seen: set[str] = set()
        for i, member in enumerate(members):
            if not isinstance(member, str) or not _EMAIL.match(member):
                raise v.fail(f"{key}[{i}]", "expected an email address like qa@example.org")
            if member.lower() in seen:
                raise v.fail(f"{key}[{i}]", f"expected each person once; {member} is listed twice")
            seen.add(member.lower())
        roles[role] = tuple(members)
    return roles


def _report(v: _Validator, raw: Any) -> ReportSettings:
    table = v.table(raw, "report")
    fields = tuple(_DEFAULT_REPORT)
    v.keys(table, fields, ("report",))
    values: dict[str, str] = {}
    for name in fields:
        if name not in table:
            continue
        key = _key("report", name)
        text = v.string(table[name], key)
        assert text is not None
        try:
            used = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError as exc:
            raise v.fail(key, f"expected a text with {{placeholders}} ({exc})") from exc
        unknown = used - REPORT_PLACEHOLDERS
        if unknown:
            raise v.fail(key, f"unknown placeholder {{{sorted(unknown)[0]}}}; expected "
                              + ", ".join(f"{{{p}}}" for p in sorted(REPORT_PLACEHOLDERS)))
        values[name] = text
    return ReportSettings(**values)


_COMMON_KEYS = ("kind", "description")
_AUTOMATED_KEYS = (*_COMMON_KEYS, "target", "timeout")
_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "pytest": (*_AUTOMATED_KEYS, "markers", "paths", "args"),
    "browser": (*_AUTOMATED_KEYS, "markers", "paths", "args", "chromium"),
    "locust": (*_AUTOMATED_KEYS, "users", "spawn_rate", "duration", "workers", "slo", "baseline", "scenario",
               "allow_non_loopback"),
    "command": (*_AUTOMATED_KEYS, "run", "junit"),
    "signoff": (*_COMMON_KEYS, "role"),
    "approval": (*_COMMON_KEYS, "role", "quorum"),
    "criteria": (*_COMMON_KEYS, "items", "role"),
}


def _slo(v: _Validator, raw: Any, prefix: tuple[str, ...]) -> dict[str, Any]:
    table = v.table(raw, _key(*prefix))
    slo: dict[str, Any] = {}
    for proc, limits in table.items():
        key = (*prefix, proc)
        if proc == "errors":
            slo["errors"] = v.fraction(limits, _key(*key))
            continue
        if not isinstance(limits, dict):
            raise v.fail(_key(*key), "expected a table of limits such as { p95_ms = 150 } (or errors = <fraction>)")
        v.keys(limits, SLO_LIMITS, key)
        if not limits:
            raise v.fail(_key(*key), f"expected at least one of {', '.join(SLO_LIMITS)}")
        checked: dict[str, float] = {}
        for limit, value in limits.items():
            lkey = _key(*key, limit)
            if limit == "error_rate":
                checked[limit] = v.fraction(value, lkey)
            elif limit == "min_rps":
                checked[limit] = v.number(value, lkey, low=0, expected="expected a number of requests per second >= 0")
            else:
                checked[limit] = v.number(value, lkey, low=0, low_open=True,
                                          expected="expected a positive number of milliseconds")
        slo[proc] = checked
    return slo


def _baseline(v: _Validator, raw: Any, prefix: tuple[str, ...]) -> dict[str, Any]:
    table = v.table(raw, _key(*prefix))
    v.keys(table, ("against", "max_slowdown", "confidence", "mode", "min_samples"), prefix)
    mode = table.get("mode", "evidence")
    if mode not in ("ab", "evidence"):
        raise v.fail(_key(*prefix, "mode"), 'expected "ab" or "evidence"')
    return {
        "against": v.string(table.get("against", "production"), _key(*prefix, "against")),
        "max_slowdown": v.fraction(table.get("max_slowdown", 0.10), _key(*prefix, "max_slowdown")),
        "confidence": v.number(table.get("confidence", 0.95), _key(*prefix, "confidence"), low=0, high=1,
                               low_open=True, high_open=True,
                               expected="expected a confidence level between 0 and 1, e.g. 0.95"),
        "mode": mode,
        "min_samples": v.positive_int(table.get("min_samples", 30), _key(*prefix, "min_samples")),
    }


def _gate(v: _Validator, name: str, raw: Any, targets: Mapping[str, Target],
          roles: Mapping[str, tuple[str, ...]]) -> GateConfig:
    prefix = ("gates", name)
    table = v.table(raw, _key(*prefix))
    v.name(name, _key(*prefix))
    kind = table.get("kind")
    if kind not in GATE_KINDS:
        raise v.fail(_key(*prefix, "kind"), f"expected one of {', '.join(GATE_KINDS)}{_hint(str(kind), GATE_KINDS)}")
    v.keys(table, _KIND_KEYS[kind], prefix)
    k: Callable[[str], str] = lambda key: _key(*prefix, key)  # noqa: E731
    opts: dict[str, Any] = {}
    description = v.string(table.get("description"), k("description"), optional=True)
    target = "staging"
    role: str | None = None
    quorum = 1
    items: tuple[Criterion, ...] = ()
    if kind in AUTOMATED_KINDS:
        target = v.string(table.get("target", "staging"), k("target")) or "staging"
        if target not in targets:
            raise v.fail(k("target"), f"expected one of the [targets] tables{_hint(target, targets)}"
                         + (f" ({', '.join(targets)})" if targets else f" (add [targets.{target}])"))
        if "timeout" in table:
            opts["timeout"] = v.duration(table["timeout"], k("timeout"))
    if kind in ("pytest", "browser"):
        if "markers" in table:
            opts["markers"] = v.string(table["markers"], k("markers"))
        if "paths" in table:
            opts["paths"] = v.string_list(table["paths"], k("paths"))
        if "args" in table:
            opts["args"] = v.string_list(table["args"], k("args"))
        if kind == "browser" and "chromium" in table:
            # The browser to drive; without it the regression plugin looks for Playwright's own Chromium, then
            # Debian's /usr/bin/chromium (docs/configuration.md).
            opts["chromium"] = v.string(table["chromium"], k("chromium"))
    elif kind == "locust":
        users = v.positive_int(table.get("users", 10), k("users"))
        opts["users"] = users
        opts["spawn_rate"] = v.number(table.get("spawn_rate", users), k("spawn_rate"), low=0, low_open=True,
                                      expected="expected a positive number of users per second")
        opts["duration"] = v.duration(table.get("duration", "60s"), k("duration"))
        if "workers" in table:
            workers = table["workers"]
            if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
                raise v.fail(k("workers"), "expected an integer >= 0")
            opts["workers"] = workers
        if "scenario" in table:
            opts["scenario"] = v.string(table["scenario"], k("scenario"))
        if "allow_non_loopback" in table:
            # The load runner refuses a host that is not loopback unless told: loading a real deployment
            # (and, in A/B mode, its baseline, often production) must be a decision written in release.toml.
            if not isinstance(table["allow_non_loopback"], bool):
                raise v.fail(k("allow_non_loopback"), "expected true or false")
            opts["allow_non_loopback"] = table["allow_non_loopback"]
        opts["slo"] = _slo(v, table.get("slo", {}), (*prefix, "slo"))
        if "baseline" in table:
            opts["baseline"] = _baseline(v, table["baseline"], (*prefix, "baseline"))
    elif kind == "command":
        for req in ("run", "junit"):
            if req not in table:
                raise v.fail(k(req), "expected a non-empty string (required for kind = \"command\")")
            opts[req] = v.string(table[req], k(req))
    if kind in ("signoff", "approval") or (kind == "criteria" and "role" in table):
        # Criteria gates may name who attests by hand; without a role, the release-manager role does.
        if "role" not in table:
            raise v.fail(k("role"), f"expected a role from [roles] (required for kind = \"{kind}\")")
        role = v.string(table["role"], k("role"))
        assert role is not None
        if role not in roles:
            raise v.fail(k("role"), f"expected a role defined in [roles]{_hint(role, roles)}")
        if not roles[role]:
            raise v.fail(_key("roles", role), f"expected at least one person (gate {name!r} needs this role)")
        opts["role"] = role
    if kind == "approval":
        assert role is not None
        quorum = v.positive_int(table.get("quorum", 1), k("quorum"))
        if quorum > len(roles[role]):
            raise v.fail(k("quorum"), f"expected at most {len(roles[role])}, the number of people in role {role!r}")
        opts["quorum"] = quorum
    elif kind == "criteria":
        raw_items = table.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise v.fail(k("items"), "expected a non-empty list of { id, text, verify } tables")
        seen: set[str] = set()
        parsed: list[Criterion] = []
        for i, item in enumerate(raw_items):
            ikey = f"{k('items')}[{i}]"
            v.table(item, ikey)
            v.keys(item, ("id", "text", "verify"), (*prefix, f"items[{i}]"))
            cid = v.string(item.get("id"), f"{ikey}.id")
            text = v.string(item.get("text"), f"{ikey}.text")
            assert cid is not None and text is not None
            if cid in seen:
                raise v.fail(f"{ikey}.id", f"expected unique ids; {cid!r} is used twice")
            seen.add(cid)
            parsed.append(Criterion(cid, text, v.string(item.get("verify"), f"{ikey}.verify", optional=True)))
        items = tuple(parsed)
        opts["items"] = [_thaw(c) for c in items]
    if description is not None:
        opts["description"] = description
    deployment = _freeze(targets[target].fingerprint()) if kind in AUTOMATED_KINDS else None
    return GateConfig(name=name, kind=kind, target=target, options=_freeze(opts), role=role, quorum=quorum,
                      items=items, description=description, deployment=deployment)


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    """Validate an already-parsed TOML document into a Config."""
    v = _Validator(path)
    v.keys(data, ("release", "targets", "gates", "roles", "report", "variables"), ())
    release = _release(v, data.get("release", {}))
    targets = {n: _target(v, n, t) for n, t in v.table(data.get("targets", {}), "targets").items()}
    variables = _variables(v, data.get("variables", {}))
    _check_commands(v, targets, variables)
    roles = _roles(v, data.get("roles", {}))
    raw_gates = v.table(data.get("gates", {}), "gates")
    if not raw_gates:
        raise v.fail("gates", "expected at least one [gates.<name>] table; a release with no gates cannot pass")
    gates = {n: _gate(v, n, g, targets, roles) for n, g in raw_gates.items()}
    report = _report(v, data.get("report", {}))
    return Config(path=path, release=release, targets=MappingProxyType(targets),
                  gates=MappingProxyType(gates), roles=MappingProxyType(roles), report=report,
                  variables=MappingProxyType(variables))


def load_config(path: Path) -> Config:
    """Read and validate release.toml; ConfigError naming file, key and expectation on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(_display(path), "(file)", "expected a release.toml here (run `release init`)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(_display(path), "(file)", f"expected a readable UTF-8 file ({exc})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_display(path), "(syntax)", f"expected valid TOML: {exc}") from exc
    return parse_config(data, path)


def find_config(start: Path) -> Path:
    """The release.toml in `start` or a parent, stopping at the git root; ConfigError if none."""
    here = Path(start).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            break
    raise ConfigError(_display(Path(start) / CONFIG_NAME), "(file)",
                      "expected a release.toml at the repository root (run `release init`)")


def default_config_text() -> str:
    """The commented release.toml that `release init` writes."""
    from release.templating import template_env

    return template_env().get_template("release.toml.j2").render()


def write_default_config(directory: Path, *, force: bool = False) -> tuple[Path, bool]:
    """Write the commented release.toml into `directory`; returns (path, overwritten). UsageError if it exists."""
    from release.errors import InputError

    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory")
    path = directory / CONFIG_NAME
    existed = path.exists()
    if existed and not force:
        raise UsageError(f"{_display(path)} already exists; use --force to overwrite it")
    text = default_config_text()
    parse_config(tomllib.loads(text), path)  # the template must always load cleanly
    tmp = path.with_name(f".{CONFIG_NAME}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path, existed
