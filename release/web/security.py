"""Server-side sessions, single-use CSRF tokens and login rate limiting for the change-board web UI.

Sessions live in the server's memory, keyed by a random id; the cookie carries that id signed with the
session secret (RELEASE_SERVE_SECRET, or a random key per start). A restart therefore logs everyone out,
which is the safe direction. CSRF tokens are bound to one session and one form, and are spent on first
use, so a captured or resubmitted form is refused.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

SESSION_COOKIE = "release_session"
SESSION_MAX_AGE_S = 8 * 3600
MAX_FORMS_PER_SESSION = 64
LOGIN_FAILURE_LIMIT = 5
LOGIN_WINDOW_S = 15 * 60

Clock = Callable[[], float]


@dataclass
class WebSession:
    """One browser's session: who is logged in (None before login) and the form tokens not yet spent."""

    id: str
    email: str | None = None
    role: str | None = None
    created: float = 0.0
    last_seen: float = 0.0
    forms: OrderedDict[str, str] = field(default_factory=OrderedDict)  # token -> form purpose
    flash: tuple[str, str] | None = None  # (level, message) shown once on the next page


class SessionStore:
    """In-memory sessions behind signed cookie values."""

    def __init__(self, secret: str, *, clock: Clock = time.monotonic, max_age_s: int = SESSION_MAX_AGE_S) -> None:
        """Sign cookies with secret; idle sessions expire after max_age_s."""
        self._signer = TimestampSigner(secret, salt="release-serve-session")
        self._sessions: dict[str, WebSession] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self.max_age_s = max_age_s

    def new(self) -> tuple[WebSession, str]:
        """A fresh anonymous session and the cookie value naming it."""
        now = self._clock()
        sid = secrets.token_urlsafe(32)
        sess = WebSession(sid, created=now, last_seen=now)
        with self._lock:
            self._sessions[sid] = sess
        return sess, self._signer.sign(sid).decode("ascii")

    def get(self, cookie: str | None) -> WebSession | None:
        """The live session a cookie names, or None for a missing, forged, expired or ended one."""
        if not cookie:
            return None
        try:
            sid = self._signer.unsign(cookie, max_age=self.max_age_s).decode("ascii")
        except (BadSignature, SignatureExpired, UnicodeDecodeError):
            return None
        now = self._clock()
        with self._lock:
            sess = self._sessions.get(sid)
            if sess is None:
                return None
            if now - sess.last_seen > self.max_age_s:
                del self._sessions[sid]
                return None
            sess.last_seen = now
            return sess

    def end(self, sess: WebSession) -> None:
        """Forget a session (logout, disabled account, or id rotation at login)."""
        with self._lock:
            self._sessions.pop(sess.id, None)

    def end_for(self, email: str) -> None:
        """End every session of an account."""
        with self._lock:
            for sid in [s.id for s in self._sessions.values() if s.email == email]:
                del self._sessions[sid]

    def login(self, old: WebSession, email: str, role: str) -> tuple[WebSession, str]:
        """A new session id for a logged-in account (stops session fixation); the old one ends."""
        self.end(old)
        sess, cookie = self.new()
        sess.email, sess.role = email, role
        return sess, cookie

    @staticmethod
    def issue_form_token(sess: WebSession, purpose: str) -> str:
        """A new single-use token for one form of this session (oldest unspent tokens are dropped)."""
        token = secrets.token_urlsafe(32)
        sess.forms[token] = purpose
        while len(sess.forms) > MAX_FORMS_PER_SESSION:
            sess.forms.popitem(last=False)
        return token

    @staticmethod
    def spend_form_token(sess: WebSession | None, token: str | None, purpose: str) -> bool:
        """True once for a token issued to this session for this purpose; it is spent whatever the outcome."""
        if sess is None or not token:
            return False
        for known in list(sess.forms):
            if hmac.compare_digest(known.encode(), token.encode()):
                issued_for = sess.forms.pop(known)
                return hmac.compare_digest(issued_for.encode(), purpose.encode())
        return False


class LoginLimiter:
    """At most LOGIN_FAILURE_LIMIT failed logins per (account, client address) in a sliding window."""

    def __init__(self, *, limit: int = LOGIN_FAILURE_LIMIT, window_s: float = LOGIN_WINDOW_S,
                 clock: Clock = time.monotonic) -> None:
        """Count failures per key for window_s seconds."""
        self.limit, self.window_s, self._clock = limit, window_s, clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        now = self._clock()
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def blocked(self, email: str, address: str) -> bool:
        """True when this account and address already failed `limit` times in the window."""
        with self._lock:
            return len(self._recent((email.strip().lower(), address))) >= self.limit

    def failed(self, email: str, address: str) -> None:
        """Count one failed login."""
        with self._lock:
            self._recent((email.strip().lower(), address)).append(self._clock())

    def succeeded(self, email: str, address: str) -> None:
        """Forget the failures of this account and address."""
        with self._lock:
            self._failures.pop((email.strip().lower(), address), None)
