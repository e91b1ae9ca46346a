"""A per-process token cache keyed by account, so OpenCRVS's login limit holds under load.

OpenCRVS answers 402 past 10 authenticate calls a minute per username (packages/auth, rate limit on
`/authenticate` and `/verifyCode`). A token is reused until shortly before its `exp` claim.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from crvs_client.client import token_claims
from crvs_client.errors import ProtocolError

# A token this close to its expiry is renewed rather than reused.
EXPIRY_MARGIN_S = 60.0
# A token without `exp` is reused this long.
DEFAULT_LIFETIME_S = 600.0


def token_expiry(token: str, now: float | None = None) -> float:
    """The epoch second the token expires (its `exp`, or now + DEFAULT_LIFETIME_S when it has none)."""
    try:
        exp = token_claims(token).get("exp")
    except ProtocolError:
        exp = None
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return float(exp)
    return (time.time() if now is None else now) + DEFAULT_LIFETIME_S


@dataclass(frozen=True)
class CachedToken:
    """A token and when it expires."""

    token: str
    expires_at: float


class TokenCache:
    """Tokens by key (gateway, kind, name); thread-safe; one login per key at a time."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._tokens: dict[tuple[str, str, str], CachedToken] = {}
        self._locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self.logins = 0

    def get(self, key: tuple[str, str, str]) -> str | None:
        """A cached token that is still valid past the margin, or None."""
        with self._lock:
            cached = self._tokens.get(key)
        if cached is None or cached.expires_at - EXPIRY_MARGIN_S <= self._clock():
            return None
        return cached.token

    def put(self, key: tuple[str, str, str], token: str) -> None:
        """Remember a token."""
        with self._lock:
            self._tokens[key] = CachedToken(token, token_expiry(token, self._clock()))

    def drop(self, key: tuple[str, str, str], token: str | None = None) -> None:
        """Forget a token (only `token` when given, so a fresher one survives)."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and (token is None or cached.token == token):
                del self._tokens[key]

    def obtain(self, key: tuple[str, str, str], login: Callable[[], str]) -> str:
        """The cached token for `key`, or log in once (other threads wait for that login)."""
        token = self.get(key)
        if token is not None:
            return token
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            token = self.get(key)
            if token is None:
                token = login()
                self.logins += 1
                self.put(key, token)
            return token

    def clear(self) -> None:
        """Forget every token."""
        with self._lock:
            self._tokens.clear()


TOKENS = TokenCache()
