"""The web session: the logged-in user's token, the CSRF token and flash messages."""

from __future__ import annotations

import secrets
from typing import Any

import jwt
from starlette.requests import Request

from sandbox.web.records import User

CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, form: Any) -> bool:
    """Whether a submitted form carries the session's CSRF token."""
    expected = request.session.get("csrf")
    sent = form.get(CSRF_FIELD) if form is not None else None
    return isinstance(expected, str) and isinstance(sent, str) and bool(sent) and secrets.compare_digest(
        expected.encode(), sent.encode())


def flash(request: Request, kind: str, message: str) -> None:
    """Queue a message for the next page shown (kind: 'error' or 'info'); a message already queued is not repeated."""
    queued = request.session.setdefault("flash", [])
    if [kind, message] not in queued:
        queued.append([kind, message])


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    """Take the queued messages."""
    return [(str(k), str(m)) for k, m in request.session.pop("flash", [])]


def user_from_token(token: str, username: str) -> User | None:
    """Read the user's id, role and scopes from the token's claims; None if it is not a JWT.

    The signature is not checked here: the API checks it on every call, and a 401 logs the user out.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    scopes = claims.get("scope", [])
    if isinstance(scopes, str):
        scopes = scopes.split()
    if not isinstance(scopes, list) or not isinstance(claims.get("sub"), str):
        return None
    return User(user_id=claims["sub"], username=username, role=str(claims.get("role", "")),
                scopes=frozenset(str(s) for s in scopes))


def log_in(request: Request, token: str, username: str) -> None:
    """Start a fresh session for the user (new CSRF token, nothing kept from before)."""
    request.session.clear()
    request.session.update(token=token, username=username)
    csrf_token(request)


def current_user(request: Request) -> User | None:
    """The logged-in user, or None."""
    token, username = request.session.get("token"), request.session.get("username")
    if not isinstance(token, str) or not isinstance(username, str):
        return None
    return user_from_token(token, username)
