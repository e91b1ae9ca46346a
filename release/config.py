"""release.toml: parsed once with tomllib, validated by the pydantic models in release.config_models, and turned
into the frozen classes below, which the rest of the tool reads.

The models are the file's shape (and docs/release.schema.json is generated from them); these classes are what a
run needs: a Target knows its name, its source file and its deployment profile, a GateConfig carries its options
as one read-only mapping that config_hash covers. Errors name the file, the key path and what was expected
(ConfigError, exit 2); docs/configuration.md is the reference for every key.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from release.config_models import (
    AB_DEFAULT_DURATION_S,
    AB_DEFAULT_USERS,
    AUTOMATED_KINDS,
    CONFIG_NAME,
    DEFAULT_REPORT,
    DEPLOY_PLACEHOLDERS,
    GATE_KINDS,
    LOCATION_KEYS,
    MANUAL_DEPLOY,
    REPORT_PLACEHOLDERS,
    ROLE_KEYS,
    SECRET_KEYS,
    SLO_LIMITS,
    SUITE_ROLES,
    ApprovalGate,
    BrowserGate,
    CommandGate,
    CriteriaGate,
    IdentityTable,
    LocustGate,
    ReleaseToml,
    SignoffGate,
    SloTable,
    TargetTable,
    UserTable,
    command_placeholders,
    is_uuid,
    validate_document,
    window_bounds,
)
from release.config_models import hint as _hint
from release.config_models import key_path as _key
from release.errors import ConfigError, UsageError

__all__ = [
    "AUTOMATED_KINDS", "CONFIG_NAME", "DEPLOY_PLACEHOLDERS", "GATE_KINDS", "LOCATION_KEYS", "MANUAL_DEPLOY",
    "REPORT_PLACEHOLDERS", "ROLE_KEYS", "SECRET_KEYS", "SLO_LIMITS", "SUITE_ROLES", "Config", "Criterion",
    "EmergencySettings", "FreezeWindow", "GateConfig", "IdentitySpec", "ReleaseSettings", "ReportSettings",
    "SignatureSettings", "Target", "UserAccount", "Variable", "WatchSettings", "command_placeholders",
    "default_config_text", "find_config", "is_uuid", "load_config", "parse_config", "write_default_config",
]
_DEFAULT_REPORT = DEFAULT_REPORT


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
    deploy_timeout_s: float = 600.0
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
    #: A CLI decision on this (people) gate needs an SSH signature (release.signing); kept out of `options`, so
    #: turning it on does not change the gate's config_hash.
    require_signature: bool = False

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


@dataclass(frozen=True)
class ReportSettings:
    """The [report] table: change-record text templates with {version} {previous_version} {tag} {commit}."""

    risk: str = _DEFAULT_REPORT["risk"]
    impact: str = _DEFAULT_REPORT["impact"]
    implementation_plan: str = _DEFAULT_REPORT["implementation_plan"]
    backout_plan: str = _DEFAULT_REPORT["backout_plan"]

    def render(self, name: str, *, version: str, previous_version: str | None, tag: str, commit: str) -> str:
        """One of the four texts with its placeholders filled; ConfigError (exit 2) if it is malformed or too long.

        Not str.format: the text goes through release.templating.render_text (the sandboxed Jinja2 environment,
        the text itself never compiled as a template) with a bound of MAX_TEXT_BYTES on what it renders to.
        """
        from release.templating import MAX_TEXT_BYTES, TemplateRefused, TemplateTooLarge, render_text

        texts = ("risk", "impact", "implementation_plan", "backout_plan")
        if name not in texts:
            raise UsageError(f"unknown report text {name!r}; expected one of {', '.join(texts)}")
        text: str = getattr(self, name)
        values = {"version": version, "previous_version": previous_version or "(none)", "tag": tag, "commit": commit}
        try:
            return render_text(text, values, where=f"report.{name}", limit=MAX_TEXT_BYTES)
        except TemplateTooLarge:
            raise ConfigError(CONFIG_NAME, f"report.{name}", f"expected a text that renders to at most "
                                                             f"{MAX_TEXT_BYTES // 1024} KiB") from None
        except TemplateRefused as exc:
            raise ConfigError(CONFIG_NAME, f"report.{name}", f"expected a text with bare {{placeholders}} "
                                                             f"({str(exc).split(': ', 1)[-1]})") from None


@dataclass(frozen=True)
class SignatureSettings:
    """The [signatures] table: the allowed-signers file decisions are verified against (docs/signing.md)."""

    #: As written in release.toml: a path relative to release.toml's folder; None when there is no table.
    allowed_signers: str | None = None


@dataclass(frozen=True)
class Webhook:
    """One [[notify.webhook]]: where events go, the env vars of its URL or key, and which events."""

    name: str
    url: str | None
    url_env: str | None
    secret_env: str
    events: tuple[str, ...]
    format: str = "json"
    timeout_s: float = 5.0


@dataclass(frozen=True)
class NotifySettings:
    """The [notify] table: webhooks, and the bounded retry of a failing receiver (docs/notifications.md)."""

    webhooks: tuple[Webhook, ...] = ()
    max_attempts: int = 6
    backoff_s: float = 2.0
    max_backoff_s: float = 300.0


def _notify(table: Any) -> NotifySettings:
    hooks = tuple(Webhook(w.name or f"webhook-{i}", w.url, w.url_env, w.secret_env, tuple(w.events), w.format,
                          w.timeout_s) for i, w in enumerate(table.webhook, start=1))
    names = [h.name for h in hooks]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ConfigError(CONFIG_NAME, "notify.webhook", f"expected distinct webhook names ({duplicate!r} twice)")
    return NotifySettings(hooks, table.max_attempts, table.backoff_s, table.max_backoff_s)


@dataclass(frozen=True)
class FreezeWindow:
    """One [[freeze]] window: promote refuses from `start` (inclusive) to `end` (exclusive), both aware datetimes."""

    name: str | None
    reason: str
    start: datetime
    end: datetime
    timezone: str

    @property
    def label(self) -> str:
        """How messages name the window: its name and reason, or its reason."""
        return f"{self.name} ({self.reason})" if self.name else self.reason


@dataclass(frozen=True)
class EmergencySettings:
    """The [emergency] table: the role (and quorum) that authorises an emergency promotion, and who reviews it."""

    role: str
    quorum: int = 1
    review_role: str | None = None

    @property
    def reviewers(self) -> str:
        """The role whose members record the follow-up review."""
        return self.review_role or self.role


@dataclass(frozen=True)
class WatchSettings:
    """The [watch] table: the post-promote watch's light load, its baseline and what a FAIL does."""

    duration_s: float = 60.0
    users: int = 5
    max_requests: int = 20000
    procedures: tuple[str, ...] = ()
    weights: str | None = None
    baseline: str = "pre-deploy"
    gate: str | None = None
    max_slowdown: float = 0.10
    confidence: float = 0.95
    min_samples: int = 30
    slo: Mapping[str, Any] | None = None
    rollback: bool = True
    allow_non_loopback: bool = False


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
    signatures: SignatureSettings = field(default_factory=SignatureSettings)
    freeze: tuple[FreezeWindow, ...] = ()
    emergency: EmergencySettings | None = None
    watch: WatchSettings | None = None
    notify: NotifySettings = field(default_factory=NotifySettings)

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


# ---------------------------------------------------------------- from the validated document


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _identity(table: IdentityTable | None) -> IdentitySpec:
    if table is None:
        return IdentitySpec()
    if table.command is not None:
        return IdentitySpec(header=None, command=table.command, timeout_s=table.timeout_s)
    if table.json_url is not None:
        return IdentitySpec(header=None, json_url=table.json_url, key=table.key, timeout_s=table.timeout_s)
    return IdentitySpec(header=table.header, path=table.path, timeout_s=table.timeout_s)


def _accounts(target: str, role: str, pool: UserTable | list[UserTable]) -> tuple[UserAccount, ...]:
    """A role's accounts, each with the key path it has in release.toml (for the unset-secret message)."""
    if isinstance(pool, list):
        return tuple(UserAccount(a.username, a.password_env, key=_key("targets", target, "users", role, i))
                     for i, a in enumerate(pool))
    return (UserAccount(pool.username, pool.password_env, key=_key("targets", target, "users", role)),)


def _target(name: str, table: TargetTable, source: str) -> Target:
    return Target(
        name=name, gateway=table.gateway, register=table.register_url, config=table.config,
        identity=_identity(table.identity), client_id=table.client_id, client_secret_env=table.client_secret_env,
        client_scopes=tuple(table.client_scopes),
        users=MappingProxyType({role: _accounts(name, role, pool) for role, pool in table.users.items()}),
        two_fa=table.two_fa, login_code_env=table.login_code_env,
        locations=MappingProxyType({key: getattr(table.locations, key) for key in LOCATION_KEYS}),
        deploy=table.deploy, promote=table.promote, version_timeout_s=table.version_timeout_s,
        deploy_timeout_s=table.deploy_timeout_s, smoke_waiver=table.smoke_waiver, source=source)


def _slo(table: SloTable) -> dict[str, Any]:
    """Limits by request kind (only those given), then errors: what the load runner reads as its SLO file."""
    slo: dict[str, Any] = {proc: {key: getattr(limits, key) for key in SLO_LIMITS if key in limits.model_fields_set}
                           for proc, limits in (table.model_extra or {}).items()}
    if table.errors is not None:
        slo["errors"] = table.errors
    return slo


def _options(gate: Any) -> dict[str, Any]:
    """The gate's validated values minus kind, durations in seconds, defaults filled where the runner needs them.

    The keys and types are what config_hash covers: a change here changes every recorded gate's hash.
    """
    opts: dict[str, Any] = {}
    if gate.kind in AUTOMATED_KINDS and gate.timeout is not None:
        opts["timeout"] = gate.timeout
    if gate.kind in ("pytest", "browser"):
        for key in ("markers", "paths", "args") + (("chromium",) if isinstance(gate, BrowserGate) else ()):
            if getattr(gate, key) is not None:
                opts[key] = getattr(gate, key)
    elif isinstance(gate, LocustGate):
        ab = gate.baseline is not None and gate.baseline.mode == "ab"
        # An A/B gate's own defaults (docs/load-statistics.md): 20 users and 120 s give the paired windows enough
        # samples to decide a 10 % budget on identical builds; early stopping ends a clear case sooner.
        opts["users"] = AB_DEFAULT_USERS if ab and "users" not in gate.model_fields_set else gate.users
        opts["spawn_rate"] = gate.spawn_rate if gate.spawn_rate is not None else float(opts["users"])
        opts["duration"] = AB_DEFAULT_DURATION_S if ab and "duration" not in gate.model_fields_set else gate.duration
        for key in ("workers", "scenario", "allow_non_loopback"):
            if getattr(gate, key) is not None:
                opts[key] = getattr(gate, key)
        opts["slo"] = _slo(gate.slo)
        if gate.baseline is not None:
            opts["baseline"] = gate.baseline.options()
    elif isinstance(gate, CommandGate):
        opts["run"], opts["junit"] = gate.run, gate.junit
    elif gate.kind in ("migration", "restore-drill"):  # release/workflow/drills.py reads these
        opts.update({k: v for k, v in gate.model_dump().items()
                     if k not in ("kind", "target", "timeout", "description") and v not in (None, [], {})})
    if isinstance(gate, SignoffGate | ApprovalGate | CriteriaGate) and gate.role is not None:
        opts["role"] = gate.role
    if isinstance(gate, ApprovalGate):
        opts["quorum"] = gate.quorum
    elif isinstance(gate, CriteriaGate):
        opts["items"] = [{"id": c.id, "text": c.text, "verify": c.verify} for c in gate.items]
    if gate.description is not None:
        opts["description"] = gate.description
    return opts


def _gate(name: str, gate: Any, targets: Mapping[str, Target]) -> GateConfig:
    automated = gate.kind in AUTOMATED_KINDS
    target = gate.target if automated else "staging"
    items = tuple(Criterion(c.id, c.text, c.verify) for c in gate.items) if isinstance(gate, CriteriaGate) else ()
    return GateConfig(
        name=name, kind=gate.kind, target=target, options=_freeze(_options(gate)), role=getattr(gate, "role", None),
        quorum=gate.quorum if isinstance(gate, ApprovalGate) else 1, items=items, description=gate.description,
        deployment=_freeze(targets[target].fingerprint()) if automated else None,
        require_signature=bool(getattr(gate, "require_signature", False)))


def _config(doc: ReleaseToml, path: Path) -> Config:
    source = _display(path)
    targets = {name: _target(name, table, source) for name, table in doc.targets.items()}
    variables = {name: Variable(name, value=spec) if isinstance(spec, str)
                 else Variable(name, env=spec.env, default=spec.default) for name, spec in doc.variables.items()}
    return Config(
        path=path, release=ReleaseSettings(**doc.release.model_dump()), targets=MappingProxyType(targets),
        gates=MappingProxyType({name: _gate(name, gate, targets) for name, gate in doc.gates.items()}),
        roles=MappingProxyType({role: tuple(members) for role, members in doc.roles.items()}),
        report=ReportSettings(**doc.report.model_dump()), variables=MappingProxyType(variables),
        signatures=SignatureSettings(doc.signatures.allowed_signers if doc.signatures is not None else None),
        **_operations(doc),
        notify=_notify(doc.notify))



def _operations(doc: ReleaseToml) -> dict[str, Any]:
    """The freeze windows, the emergency path and the watch, as Config keyword arguments."""
    windows = tuple(FreezeWindow(w.name, w.reason, *window_bounds(w.start, w.end, w.timezone), w.timezone)
                    for w in doc.freeze)
    emergency = None if doc.emergency is None else EmergencySettings(**doc.emergency.model_dump())
    watch = None
    if doc.watch is not None:
        w = doc.watch
        watch = WatchSettings(duration_s=float(w.duration), users=w.users, max_requests=w.max_requests,
                              procedures=tuple(w.procedures or ()), weights=w.weights, baseline=w.baseline,
                              gate=w.gate,
                              max_slowdown=w.max_slowdown, confidence=w.confidence, min_samples=w.min_samples,
                              slo=_freeze(_slo(w.slo)) if w.slo is not None else None, rollback=w.rollback,
                              allow_non_loopback=w.allow_non_loopback)
    return {"freeze": windows, "emergency": emergency, "watch": watch}


# ---------------------------------------------------------------- the public entry points


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    """Validate an already-parsed TOML document into a Config; ConfigError naming the file and key otherwise."""
    return _config(validate_document(data, _display(path)), path)


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
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise ConfigError(_display(path), "(syntax)", "expected valid TOML nested a few levels deep, not "
                                                      "hundreds") from None
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
