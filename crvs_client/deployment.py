"""A deployment profile: the three hosts, the system client, the users by role, 2FA and locations.

`release` writes the profile as JSON from `[targets.NAME]` (docs/wire-contract.md section 2) and passes its
path in `CRVS_TARGET_FILE`. The profile names env vars, never secrets; `Deployment.from_profile` reads the
secrets from `environ` and fails with a `DeploymentError` naming the key. There are no dev defaults: a
reference sandbox is addressed by its own profile (`sandbox.process.SandboxProcess.profile()`).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TARGET_FILE_ENV = "CRVS_TARGET_FILE"

# farajaland v2.0.0's role ids in lower case (src/data-seeding/roles/roles.ts).
ROLES = ("hospital_clerk", "community_leader", "registration_agent", "local_registrar", "provincial_registrar",
         "national_registrar", "local_system_admin", "national_system_admin", "performance_manager",
         "embassy_official")
# What the regression suite and the load personas log in as: a clerk declares without `validated`, an agent
# declares with it and rejects, a local registrar registers and prints.
SUITE_ROLES = ("hospital_clerk", "registration_agent", "local_registrar")
LOCATION_KINDS = ("office", "health_facility", "administrative_area")
# With TWO_FA_ENABLED off, OpenCRVS sets every verification code to 000000 (packages/auth/src/environment.ts,
# packages/auth/src/features/authenticate/service.ts); it is OpenCRVS's behaviour, not a credential.
CODE_WITHOUT_2FA = "000000"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class DeploymentError(ValueError):
    """A deployment profile is malformed or names a secret that is not set; `key` is the profile key."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}" if key else message)


def is_uuid(value: object) -> bool:
    """Whether `value` is a UUID string in the 8-4-4-4-12 form."""
    return isinstance(value, str) and bool(_UUID.match(value))


@dataclass(frozen=True)
class Account:
    """One user login; the password never shows in repr."""

    role: str
    username: str
    password: str = field(repr=False)
    password_env: str = ""


@dataclass(frozen=True)
class SystemClient:
    """The integration (system) client: a UUID id, its secret and the scopes it was given."""

    id: str
    secret: str = field(repr=False)
    secret_env: str = ""
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocationSpec:
    """Which office, health facility and administrative area to use: None (discover), a UUID or a name."""

    office: str | None = None
    health_facility: str | None = None
    administrative_area: str | None = None


@dataclass(frozen=True)
class Identity:
    """How to learn which build runs: a header on a gateway path, a JSON key, or a command (release only)."""

    header: str | None = "X-Version"
    path: str = "/ping"
    json_url: str | None = None
    json_key: str | None = None
    command: str | None = None


@dataclass(frozen=True)
class Deployment:
    """An OpenCRVS deployment as the gates address it."""

    name: str
    gateway: str
    register: str | None
    config: str | None
    client: SystemClient
    users: Mapping[str, tuple[Account, ...]]
    identity: Identity = field(default_factory=Identity)
    two_fa: bool = False
    login_code: str = field(default=CODE_WITHOUT_2FA, repr=False)
    login_code_env: str | None = None
    locations: LocationSpec = field(default_factory=LocationSpec)

    @property
    def rest_base(self) -> str:
        """Where REST `/events/events…` lives: the register host's `/api` (nginx rewrite), else the gateway."""
        return f"{self.register}/api" if self.register else self.gateway

    def accounts(self, role: str) -> tuple[Account, ...]:
        """The accounts of `role` (empty when the profile names none)."""
        return tuple(self.users.get(role, ()))

    def account(self, role: str, index: int = 0) -> Account:
        """The `index`-th account of `role` (round-robin over the pool)."""
        pool = self.accounts(role)
        if not pool:
            raise DeploymentError(f"users.{role}", "no account configured for this role")
        return pool[index % len(pool)]

    def missing_roles(self, roles: tuple[str, ...] = SUITE_ROLES) -> list[str]:
        """Roles in `roles` the profile has no account for."""
        return [r for r in roles if not self.accounts(r)]

    def env_names(self) -> list[str]:
        """Every env var the profile reads secrets from."""
        names = [self.client.secret_env] + [a.password_env for pool in self.users.values() for a in pool]
        if self.login_code_env:
            names.append(self.login_code_env)
        return [n for n in dict.fromkeys(names) if n]

    @classmethod
    def from_profile(cls, data: Any, environ: Mapping[str, str] | None = None) -> Deployment:
        """Parse a profile dict; secrets come from `environ` (default os.environ)."""
        env = os.environ if environ is None else environ
        if not isinstance(data, Mapping):
            raise DeploymentError("", "a deployment profile must be a JSON object")
        gateway = _url(data, "gateway", required=True)
        assert gateway is not None
        register = _url(data, "register")
        config = _url(data, "config")
        name = data.get("name", "target")
        if not isinstance(name, str) or not name:
            raise DeploymentError("name", "expected a non-empty string")
        two_fa = data.get("two_fa", False)
        if not isinstance(two_fa, bool):
            raise DeploymentError("two_fa", "expected true or false")
        code_env = data.get("login_code_env")
        if code_env is not None and (not isinstance(code_env, str) or not code_env):
            raise DeploymentError("login_code_env", "expected an env var name or null")
        if two_fa:
            if not code_env:
                raise DeploymentError("login_code_env", "two_fa is true, so the login code's env var is required")
            login_code = _secret(env, code_env, "login_code_env")
        else:
            login_code = (env.get(code_env) if code_env else None) or CODE_WITHOUT_2FA
        return cls(name=name, gateway=gateway, register=register, config=config,
                   client=_system_client(data.get("client"), env), users=_users(data.get("users"), env),
                   identity=_identity(data.get("identity")), two_fa=two_fa, login_code=login_code,
                   login_code_env=code_env, locations=_locations(data.get("locations")))

    @classmethod
    def from_file(cls, path: str | Path, environ: Mapping[str, str] | None = None) -> Deployment:
        """Read a profile JSON file; errors name the file and the key."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise DeploymentError("", f"{p}: cannot read the deployment profile ({exc.strerror or exc})") from exc
        except ValueError as exc:
            raise DeploymentError("", f"{p}: not JSON ({exc})") from exc
        try:
            return cls.from_profile(data, environ)
        except DeploymentError as exc:
            raise DeploymentError(exc.key, f"{exc.message} (in {p})") from exc

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Deployment:
        """The profile named by CRVS_TARGET_FILE."""
        env = os.environ if environ is None else environ
        path = env.get(TARGET_FILE_ENV)
        if not path:
            raise DeploymentError(TARGET_FILE_ENV, "not set: name a deployment profile JSON file")
        return cls.from_file(path, env)


def write_profile(profile: Mapping[str, Any], path: str | Path) -> Path:
    """Write a profile dict as JSON (it holds env var names, never secrets)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(profile, indent=2) + "\n", encoding="utf-8")
    return p


def _url(data: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise DeploymentError(key, "required: the URL of the host")
        return None
    if not isinstance(value, str):
        raise DeploymentError(key, f"expected an http(s) URL, got {value!r}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeploymentError(key, f"expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _secret(env: Mapping[str, str], name: str, key: str) -> str:
    value = env.get(name)
    if not value:
        raise DeploymentError(key, f"{name} is not set")
    return value


def _env_name(value: Any, key: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise DeploymentError(key, f"expected an env var name, got {value!r}")
    return value


def _system_client(data: Any, env: Mapping[str, str]) -> SystemClient:
    if not isinstance(data, Mapping):
        raise DeploymentError("client", "required: {id, secret_env, scopes}")
    client_id = data.get("id")
    if not is_uuid(client_id):
        raise DeploymentError("client.id", f"expected a UUID (OpenCRVS client ids are UUIDs), got {client_id!r}")
    secret_env = _env_name(data.get("secret_env"), "client.secret_env")
    scopes = data.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise DeploymentError("client.scopes", "expected a list of scope strings")
    return SystemClient(str(client_id), _secret(env, secret_env, "client.secret_env"), secret_env, tuple(scopes))


def _users(data: Any, env: Mapping[str, str]) -> dict[str, tuple[Account, ...]]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise DeploymentError("users", "expected a table of role -> list of {username, password_env}")
    out: dict[str, tuple[Account, ...]] = {}
    for role, pool in data.items():
        if role not in ROLES:
            raise DeploymentError(f"users.{role}", f"unknown role; expected one of {', '.join(ROLES)}")
        if isinstance(pool, Mapping):
            pool = [pool]
        if not isinstance(pool, list) or not pool:
            raise DeploymentError(f"users.{role}", "expected a non-empty list of {username, password_env}")
        accounts = []
        for i, item in enumerate(pool):
            key = f"users.{role}[{i}]"
            if not isinstance(item, Mapping):
                raise DeploymentError(key, "expected {username, password_env}")
            username = item.get("username")
            if not isinstance(username, str) or not username:
                raise DeploymentError(f"{key}.username", "expected a non-empty string")
            password_env = _env_name(item.get("password_env"), f"{key}.password_env")
            accounts.append(Account(role, username, _secret(env, password_env, f"{key}.password_env"),
                                    password_env))
        out[role] = tuple(accounts)
    return out


def _identity(data: Any) -> Identity:
    if data is None:
        return Identity()
    if not isinstance(data, Mapping):
        raise DeploymentError("identity", 'expected {"header", "path"}, {"json", "key"} or {"command"}')
    if "command" in data:
        if not isinstance(data["command"], str) or not data["command"].strip():
            raise DeploymentError("identity.command", "expected a command line")
        return Identity(header=None, command=data["command"])
    if "json" in data:
        if not isinstance(data["json"], str) or not isinstance(data.get("key"), str):
            raise DeploymentError("identity", 'expected {"json": URL, "key": NAME}')
        return Identity(header=None, json_url=data["json"], json_key=data["key"])
    header, path = data.get("header", "X-Version"), data.get("path", "/ping")
    if not isinstance(header, str) or not header:
        raise DeploymentError("identity.header", "expected a header name")
    if not isinstance(path, str) or not path.startswith("/"):
        raise DeploymentError("identity.path", "expected a path starting with /")
    return Identity(header=header, path=path)


def _locations(data: Any) -> LocationSpec:
    if data is None:
        return LocationSpec()
    if not isinstance(data, Mapping):
        raise DeploymentError("locations", "expected {office, health_facility, administrative_area}")
    values: dict[str, str | None] = {}
    for key, value in data.items():
        if key not in LOCATION_KINDS:
            raise DeploymentError(f"locations.{key}", f"unknown key; expected {', '.join(LOCATION_KINDS)}")
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise DeploymentError(f"locations.{key}", "expected null (discover), a UUID or a name")
        values[key] = value
    return LocationSpec(**values)


def new_uuid() -> str:
    """A UUID4 string."""
    return str(uuid.uuid4())
