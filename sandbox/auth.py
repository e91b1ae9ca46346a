"""Auth: dev users, system clients, JWT (HS256) tokens with scopes, login nonces and a rate limit."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

import jwt

from sandbox.domain import (
    ROLE_FIELD_AGENT,
    ROLE_LOCAL_REGISTRAR,
    ROLE_REGISTRATION_AGENT,
    ROLE_SCOPES,
    SCOPES,
)
from sandbox.errors import TooManyRequests, Unauthorized
from sandbox.settings import Settings

ISSUER = "opencrvs:auth-service"
AUDIENCE = ["opencrvs:gateway-user", "opencrvs:events-user"]
SYSTEM_ROLE = "NATIONAL_SYSTEM_ADMIN"
OFFICE_ID = "3f6f9a2c-0000-4000-8000-0000000000a1"  # "Ibombo District Office" of the dev data
NONCE_TTL = 300


@dataclass(frozen=True)
class User:
    """A dev user who logs in with username, password and a code."""

    id: str
    username: str
    password: str
    role: str
    name: str
    mobile: str
    primary_office_id: str = OFFICE_ID


DEV_USERS: tuple[User, ...] = (
    User("6a1f0c3e-0000-4000-8000-000000000001", "k.bwalya", "test", ROLE_FIELD_AGENT, "Kalusha Bwalya",
         "+260911111111"),
    User("6a1f0c3e-0000-4000-8000-000000000002", "f.katongo", "test", ROLE_REGISTRATION_AGENT, "Felix Katongo",
         "+260922222222"),
    User("6a1f0c3e-0000-4000-8000-000000000003", "k.mweene", "test", ROLE_LOCAL_REGISTRAR, "Kennedy Mweene",
         "+260933333333"),
)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as, from a verified token."""

    id: str
    role: str
    scopes: frozenset[str]
    is_system: bool
    office_id: str | None


class Auth:
    """Issues and verifies tokens for one sandbox server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[str, tuple[str, tuple[str, ...]]] = {settings.client_id: (settings.client_secret, SCOPES)}
        for extra in settings.extra_clients:
            self._clients[extra.client_id] = (extra.secret, extra.scopes)
        self._users = {u.username: u for u in DEV_USERS}
        self._users_by_id = {u.id: u for u in DEV_USERS}
        self._nonces: dict[str, tuple[str, float]] = {}
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._verified: dict[str, tuple[Principal, float]] = {}

    def _issue(self, sub: str, role: str, scopes: tuple[str, ...] | frozenset[str], **extra: str) -> str:
        now = int(time.time())
        claims = {"sub": sub, "scope": sorted(scopes), "role": role, "iat": now, "exp": now + self.settings.token_ttl,
                  "iss": ISSUER, "aud": AUDIENCE, **extra}
        return jwt.encode(claims, self.settings.signing_key, algorithm="HS256")

    def client_token(self, client_id: str | None, client_secret: str | None) -> str:
        """A token for a system client (client_credentials grant)."""
        known = self._clients.get(client_id or "")
        if known is None or not hmac.compare_digest(known[0].encode(), (client_secret or "").encode()):
            raise Unauthorized("invalid client credentials")
        return self._issue(str(client_id), SYSTEM_ROLE, known[1], client="1")

    def authenticate(self, username: str | None, password: str | None) -> tuple[str, User]:
        """Check a password; returns a nonce for verifyCode."""
        self._rate_limit(username or "")
        user = self._users.get(username or "")
        if user is None or not hmac.compare_digest(user.password.encode(), (password or "").encode()):
            raise Unauthorized("invalid username or password")
        nonce = secrets.token_urlsafe(18)
        with self._lock:
            now = time.monotonic()
            self._nonces = {k: v for k, v in self._nonces.items() if v[1] > now}
            self._nonces[nonce] = (user.username, now + NONCE_TTL)
        return nonce, user

    def verify_code(self, nonce: str | None, code: str | None) -> str:
        """Exchange a nonce and the login code for a user token (a nonce works once)."""
        with self._lock:
            entry = self._nonces.get(nonce or "")
            if entry is None or entry[1] < time.monotonic():
                raise Unauthorized("unknown or expired nonce")
            if not hmac.compare_digest(self.settings.dev_code.encode(), str(code or "").encode()):
                raise Unauthorized("invalid code")
            del self._nonces[nonce or ""]
        user = self._users[entry[0]]
        return self._issue(user.id, user.role, ROLE_SCOPES[user.role], userType="user")

    def _rate_limit(self, username: str) -> None:
        limit = self.settings.auth_rate_limit
        if limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            window = self._attempts.setdefault(username, deque())
            while window and window[0] < now - 60:
                window.popleft()
            if len(window) >= limit:
                raise TooManyRequests("too many login attempts; try again in a minute")
            window.append(now)

    def verify(self, authorization: str | None) -> Principal:
        """The principal of a `Bearer <JWT>` header; Unauthorized if missing, malformed, badly signed or expired."""
        if not authorization:
            raise Unauthorized("missing Authorization header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("expected Authorization: Bearer <token>")
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        try:
            claims = jwt.decode(token.strip(), self.settings.signing_key, algorithms=["HS256"], audience=AUDIENCE,
                                issuer=ISSUER, options={"require": ["sub", "exp", "iat"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("invalid token") from None
        scopes = claims.get("scope", [])
        if isinstance(scopes, str):
            scopes = scopes.split()
        sub = str(claims["sub"])
        user = self._users_by_id.get(sub)
        principal = Principal(id=sub, role=str(claims.get("role", "")), scopes=frozenset(scopes),
                              is_system=user is None, office_id=user.primary_office_id if user else None)
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[token] = (principal, float(claims["exp"]))  # a verified signature needs no re-check
        return principal

    def user_by_id(self, user_id: str) -> User | None:
        """A dev user by id (for display)."""
        return self._users_by_id.get(user_id)
