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
LOGIN_FAILURE_LIMIT = 5  # per account and client address
ADDRESS_FAILURE_LIMIT = 10  # per client address, over every account
MAX_LIMITER_KEYS = 10_000
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
    """Failed logins in a sliding window, counted per (account, client address) and per client address.

    An address that failed LOGIN_FAILURE_LIMIT times for one account, or ADDRESS_FAILURE_LIMIT times whatever the
    accounts, is refused (429) until its oldest counted failure leaves the window: spreading guesses over many
    accounts from one address no longer helps (OWASP Authentication Cheat Sheet: throttle by source as well as by
    account). A successful login forgets only that account's count at that address, so logging in to an account
    one owns does not reset the address's count. There is no limit per account across addresses: anyone could then
    lock a board member out by failing on purpose.
    """

    def __init__(self, *, limit: int = LOGIN_FAILURE_LIMIT, address_limit: int = ADDRESS_FAILURE_LIMIT,
                 window_s: float = LOGIN_WINDOW_S, clock: Clock = time.monotonic) -> None:
        """Count failures per key for window_s seconds."""
        self.limit, self.address_limit, self.window_s, self._clock = limit, address_limit, window_s, clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._by_address: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, failures: deque[float]) -> deque[float]:
        now = self._clock()
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def _forget_idle(self) -> None:
        """Drop keys with no failure left in the window, so made-up e-mails do not grow memory for ever."""
        if len(self._failures) + len(self._by_address) < MAX_LIMITER_KEYS:
            return
        for key in [k for k, q in self._failures.items() if not self._prune(q)]:
            del self._failures[key]
        for address in [a for a, q in self._by_address.items() if not self._prune(q)]:
            del self._by_address[address]

    def refusal(self, email: str, address: str) -> str | None:
        """Why a login for this account from this address is refused now ("account" or "address"), or None."""
        with self._lock:
            if len(self._prune(self._by_address.get(address, deque()))) >= self.address_limit:
                return "address"
            if len(self._prune(self._failures.get((email.strip().lower(), address), deque()))) >= self.limit:
                return "account"
            return None

    def blocked(self, email: str, address: str) -> bool:
        """True when this address already failed too often, for this account or in all."""
        return self.refusal(email, address) is not None

    def failed(self, email: str, address: str) -> None:
        """Count one failed login, for the account at this address and for the address."""
        with self._lock:
            self._forget_idle()
            now = self._clock()
            self._prune(self._failures.setdefault((email.strip().lower(), address), deque())).append(now)
            self._prune(self._by_address.setdefault(address, deque())).append(now)

    def succeeded(self, email: str, address: str) -> None:
        """Forget the failures of this account at this address (the address's own count stays)."""
        with self._lock:
            self._failures.pop((email.strip().lower(), address), None)
