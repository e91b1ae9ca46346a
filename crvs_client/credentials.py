"""Where the target and its credentials come from: env vars, with the sandbox's dev accounts as defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class UserCredentials:
    """A user's login; the password never appears in repr or logs."""

    username: str
    password: str = field(repr=False)
    role: str = ""


# The reference sandbox's documented dev accounts (see README and docs/wire-contract.md).
DEV_USERS: dict[str, UserCredentials] = {
    "field_agent": UserCredentials("k.bwalya", "test", "FIELD_AGENT"),
    "registration_agent": UserCredentials("f.katongo", "test", "REGISTRATION_AGENT"),
    "local_registrar": UserCredentials("k.mweene", "test", "LOCAL_REGISTRAR"),
}
DEV_CLIENT_ID = "release-gate"
DEV_CLIENT_SECRET = "release-gate-secret"  # the documented dev default of the sandbox, never a real secret
DEV_LOGIN_CODE = "000000"

_USER_ENV = {
    "field_agent": "CRVS_FIELD_AGENT",
    "registration_agent": "CRVS_REGISTRATION_AGENT",
    "local_registrar": "CRVS_LOCAL_REGISTRAR",
}


@dataclass(frozen=True)
class Credentials:
    """The target URL, the system client and one user per role."""

    url: str
    client_id: str
    client_secret: str = field(repr=False)
    users: Mapping[str, UserCredentials]
    login_code: str = field(default=DEV_LOGIN_CODE, repr=False)
    location_id: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, url: str | None = None) -> Credentials:
        """Read CRVS_URL, CRVS_CLIENT_ID, CRVS_CLIENT_SECRET, CRVS_<ROLE>="user:password" and CRVS_LOGIN_CODE."""
        env = os.environ if environ is None else environ
        users = dict(DEV_USERS)
        for role, var in _USER_ENV.items():
            raw = env.get(var)
            if raw:
                username, _, password = raw.partition(":")
                users[role] = UserCredentials(username, password, role.upper())
        return cls(
            url=(url or env.get("CRVS_URL") or "").rstrip("/"),
            client_id=env.get("CRVS_CLIENT_ID") or DEV_CLIENT_ID,
            client_secret=env.get("CRVS_CLIENT_SECRET") or DEV_CLIENT_SECRET,
            users=users,
            login_code=env.get("CRVS_LOGIN_CODE") or DEV_LOGIN_CODE,
            location_id=env.get("CRVS_LOCATION_ID") or None,
        )
