"""Auth as OpenCRVS v2.0.0 does it: dev users, system clients with UUID ids, JWTs with scopes, nonces, a rate limit.

Sources (opencrvs-core v2.0.0): packages/auth/src/features/authenticate/{handler,service}.ts (the answer of
authenticate, `createToken`'s claims), features/verifyCode/* (the code, its expiry, one use per nonce),
features/oauthToken/* (client_credentials and its OAuth error answers), environment.ts (token lifetimes,
TWO_FA_ENABLED), constants.ts (issuer and audiences) and packages/gateway/src/rate-limit.ts (the login rate limit).
Tokens are signed HS256 with a sandbox key where OpenCRVS signs RS256: clients treat tokens as opaque.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import jwt

from sandbox.domain import (
    DEFAULT_SYSTEM_SCOPES,
    ROLE_HOSPITAL_CLERK,
    ROLE_LOCAL_REGISTRAR,
    ROLE_NATIONAL_REGISTRAR,
    ROLE_REGISTRATION_AGENT,
    ROLE_SCOPES,
)
from sandbox.locations import HQ_OFFICE, IBOMBO_DISTRICT_OFFICE
from sandbox.settings import Settings

ISSUER = "opencrvs:auth-service"
# packages/auth/src/constants.ts WEB_USER_JWT_AUDIENCES: user and system tokens carry all of them.
AUDIENCE = ["opencrvs:auth-user", "opencrvs:user-mgnt-user", "opencrvs:gateway-user", "opencrvs:events-user",
            "opencrvs:countryconfig-user", "opencrvs:documents-user"]
GATEWAY_AUDIENCE = "opencrvs:gateway-user"
USER_TYPE_USER, USER_TYPE_SYSTEM = "user", "system"
CODE_TTL_SECONDS = 600  # CONFIG_SMS_CODE_EXPIRY_SECONDS
RATE_WINDOW_SECONDS = 60.0
BYPASS_RATE_LIMIT_SCOPE = "bypassratelimit"
# oauthToken/client-credentials.ts turns these legacy integration scopes into the v2 encoding on the fly.
_LEGACY_SYSTEM_SCOPES = frozenset({"record.notify", "record.search", "record.read", "record.create",
                                   "record.import"})


def v2_system_scopes(scopes: tuple[str, ...]) -> tuple[str, ...]:
    """An integration's scopes as its token carries them: legacy `record.read` becomes `type=record.read`."""
    return tuple(f"type={s}" if s in _LEGACY_SYSTEM_SCOPES else s for s in scopes)


class AuthFailure(Exception):
    """A login or token request failed; `status` and `body` are the answer OpenCRVS gives."""

    def __init__(self, status: int, body: Mapping[str, object]) -> None:
        super().__init__(str(body.get("message") or body.get("error_description") or body.get("error")))
        self.status = status
        self.body = dict(body)


def boom(status: int, error: str, message: str) -> dict[str, object]:
    """A hapi Boom error payload, the shape every OpenCRVS hapi service answers errors with."""
    return {"statusCode": status, "error": error, "message": message}


class RateLimited(AuthFailure):
    """More than the allowed logins a minute for one key: the gateway answers 402."""

    def __init__(self) -> None:
        super().__init__(402, boom(402, "Rate limit exceeded",
                                   "Too many requests within a minute. Please throttle your requests."))


def unauthorized() -> AuthFailure:
    """The auth service's `unauthorized()` for a wrong password, code or nonce."""
    return AuthFailure(401, boom(401, "Unauthorized", "Unauthorized"))


def bad_request(message: str) -> AuthFailure:
    """A malformed login payload (OpenCRVS answers some of these with 500; the sandbox says 400)."""
    return AuthFailure(400, boom(400, "Bad Request", message))


_OAUTH_DOC = "Refer to https://documentation.opencrvs.org/technology/interoperability/authenticate-a-client"
INVALID_REQUEST = {"error": "invalid_request", "error_description": "Invalid request. Check that all required "
                   "parameters have been provided.", "error_uri": _OAUTH_DOC}
INVALID_GRANT = {"error": "unsupported_grant_type", "error_description": 'Invalid or undefined grant type. Only '
                 '"client_credentials" or "urn:opencrvs:oauth:grant-type:token-exchange" are supported.',
                 "error_uri": _OAUTH_DOC}
INVALID_CLIENT = {"error": "invalid_client", "error_description": "Invalid client id or secret",
                  "error_uri": _OAUTH_DOC}


@dataclass(frozen=True)
class User:
    """A dev user who logs in with username, password and a code (farajaland's default employees)."""

    id: str
    username: str
    password: str
    role: str
    name: str
    mobile: str
    primary_office_id: str = IBOMBO_DISTRICT_OFFICE


def _user_id(n: int) -> str:
    return f"6a1f0c3e-0000-4000-8000-{n:012d}"


# Usernames and roles of farajaland v2.0.0 src/data-seeding/employees/source/default-employees.csv, plus two
# invented local registrars for a load pool; phone numbers are invented, e-mail addresses are left out.
DEV_USERS: tuple[User, ...] = (
    User(_user_id(1), "k.bwalya", "test", ROLE_HOSPITAL_CLERK, "Kalusha Bwalya", "+260911000001"),
    User(_user_id(2), "f.katongo", "test", ROLE_REGISTRATION_AGENT, "Felix Katongo", "+260911000002"),
    User(_user_id(3), "k.mweene", "test", ROLE_LOCAL_REGISTRAR, "Kennedy Mweene", "+260911000003"),
    User(_user_id(4), "k.mwale", "test", ROLE_LOCAL_REGISTRAR, "Kasonde Mwale", "+260911000004"),
    User(_user_id(5), "d.sakala", "test", ROLE_LOCAL_REGISTRAR, "Dalitso Sakala", "+260911000005"),
    User(_user_id(6), "c.lungu", "test", ROLE_NATIONAL_REGISTRAR, "Chipo Lungu", "+260911000006", HQ_OFFICE),
)

# Profile role key (farajaland role id in lower case) -> usernames, for deployment profiles.
DEV_USERS_BY_ROLE: dict[str, tuple[str, ...]] = {}
for _u in DEV_USERS:
    DEV_USERS_BY_ROLE[_u.role.lower()] = (*DEV_USERS_BY_ROLE.get(_u.role.lower(), ()), _u.username)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as, from a verified token."""

    id: str
    role: str  # the user's role; "" for a system client (OpenCRVS leaves createdByRole out for systems)
    scopes: frozenset[str]
    is_system: bool
    office_id: str | None

    @property
    def user_type(self) -> str:
        """'user' or 'system', as the token's `userType` claim (TokenUserType) says."""
        return USER_TYPE_SYSTEM if self.is_system else USER_TYPE_USER


class TokenRejected(Exception):
    """A bearer token is missing, malformed, badly signed, expired or names nobody; the message says which."""


class RateLimiter:
    """The gateway's per-key login limit: each request counts and pushes the key's expiry a minute on."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._keys: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one request for `key`; RateLimited once there were more than the limit within a minute."""
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._keys) > 50_000:
                self._keys = {k: v for k, v in self._keys.items() if v[1] > now}
            count, expires = self._keys.get(key, (0, 0.0))
            count = 1 if expires <= now else count + 1
            self._keys[key] = (count, now + RATE_WINDOW_SECONDS)
        if count > self.per_minute:
            raise RateLimited


class Auth:
    """Issues and verifies tokens for one sandbox server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[str, tuple[str, tuple[str, ...]]] = {
            settings.client_id: (settings.client_secret, DEFAULT_SYSTEM_SCOPES)}
        for extra in settings.extra_clients:
            self._clients[extra.client_id] = (extra.secret, extra.scopes)
        self._users = {u.username: u for u in DEV_USERS}
        self._users_by_id = {u.id: u for u in DEV_USERS}
        self._codes: dict[str, tuple[str, str, float]] = {}  # nonce -> (username, code, expires)
        self._lock = threading.Lock()
        self._verified: dict[str, tuple[Principal, float]] = {}
        self.limiter = RateLimiter(settings.auth_rate_limit)

    # -------------------------------------------------------------------------------- tokens
    def _issue(self, sub: str, scopes: tuple[str, ...], user_type: str, role: str | None, ttl: int) -> str:
        now = int(time.time())
        claims: dict[str, object] = {"scope": list(scopes), "userType": user_type, "sub": sub, "iat": now,
                                     "exp": now + ttl, "aud": AUDIENCE, "iss": ISSUER}
        if role is not None:
            claims["role"] = role
        return jwt.encode(claims, self.settings.signing_key, algorithm="HS256")

    def client_token(self, client_id: str | None, client_secret: str | None) -> str:
        """A system token for client_credentials; AuthFailure with OpenCRVS's OAuth error otherwise."""
        if not client_id or not client_secret:
            raise AuthFailure(400, INVALID_REQUEST)
        known = self._clients.get(client_id.lower())
        if known is None or not hmac.compare_digest(known[0].encode(), client_secret.encode()):
            raise AuthFailure(401, INVALID_CLIENT)
        return self._issue(client_id.lower(), v2_system_scopes(known[1]), USER_TYPE_SYSTEM, None,
                           self.settings.system_token_ttl)

    # -------------------------------------------------------------------------------- user login
    def authenticate(self, username: object, password: object) -> dict[str, object]:
        """POST /auth/authenticate: check the password and answer {mobile, status, nonce} (the code is 'sent')."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise bad_request('"username" and "password" must be strings')
        user = self._users.get(username.strip())
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            raise unauthorized()
        nonce = base64.b64encode(secrets.token_bytes(16)).decode()
        with self._lock:
            now = time.monotonic()
            self._codes = {k: v for k, v in self._codes.items() if v[2] > now}
            self._codes[nonce] = (user.username, self.settings.login_code, now + CODE_TTL_SECONDS)
        return {"mobile": user.mobile, "status": "active", "nonce": nonce}

    def verify_code(self, nonce: object, code: object) -> str:
        """POST /auth/verifyCode: a user token for the nonce's user; a nonce works once."""
        if not isinstance(nonce, str) or not isinstance(code, str):
            raise bad_request('"nonce" and "code" must be strings')
        with self._lock:
            entry = self._codes.get(nonce)
            if entry is None or not hmac.compare_digest(entry[1].encode(), code.encode()):
                raise unauthorized()
            if entry[2] <= time.monotonic():
                raise unauthorized()
            del self._codes[nonce]
        user = self._users[entry[0]]
        return self._issue(user.id, ROLE_SCOPES[user.role], USER_TYPE_USER, user.role, self.settings.token_ttl)

    def rate_limit(self, route: str, key: object, authorization: str | None = None) -> None:
        """Count a login request under `key` for `route`; a token with `bypassratelimit` is not counted."""
        if authorization and self._bypasses(authorization):
            return
        if not isinstance(key, str) or not key:
            raise bad_request(f"Couldn't find the value for a rate limiting key in payload ({route})")
        self.limiter.hit(f"{key}:{route}")

    def _bypasses(self, authorization: str) -> bool:
        try:
            return BYPASS_RATE_LIMIT_SCOPE in self.verify(authorization).scopes
        except TokenRejected:
            return False

    # -------------------------------------------------------------------------------- verification
    def verify(self, authorization: str | None) -> Principal:
        """The principal of a `Bearer <JWT>` header; TokenRejected (message as hapi-auth-jwt2 words it) if not."""
        if not authorization:
            raise TokenRejected("Missing authentication")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise TokenRejected("Missing authentication")
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        if token.count(".") != 2:
            raise TokenRejected("Invalid token format")
        try:
            claims = jwt.decode(token, self.settings.signing_key, algorithms=["HS256"], audience=GATEWAY_AUDIENCE,
                                issuer=ISSUER, options={"require": ["sub", "exp", "iat"]})
        except jwt.ExpiredSignatureError:
            raise TokenRejected("Expired token") from None
        except jwt.PyJWTError:
            raise TokenRejected("Invalid token") from None
        principal = self._principal(claims)
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[token] = (principal, float(claims["exp"]))  # a verified signature needs no re-check
        return principal

    def _principal(self, claims: dict[str, object]) -> Principal:
        scopes = claims.get("scope", [])
        if isinstance(scopes, str):
            scopes = scopes.split()
        if not isinstance(scopes, list):
            raise TokenRejected("Invalid token")
        sub = str(claims["sub"])
        if claims.get("userType") == USER_TYPE_SYSTEM:
            return Principal(id=sub, role="", scopes=frozenset(map(str, scopes)), is_system=True, office_id=None)
        user = self._users_by_id.get(sub)
        if user is None or claims.get("userType") != USER_TYPE_USER:
            raise TokenRejected("Invalid token")
        return Principal(id=sub, role=str(claims.get("role", user.role)), scopes=frozenset(map(str, scopes)),
                         is_system=False, office_id=user.primary_office_id)

    def user_by_id(self, user_id: str) -> User | None:
        """A dev user by id (for display)."""
        return self._users_by_id.get(user_id)
