"""Change-board web accounts: argon2 password hashes in the ledger's web_users table, changes audited."""

from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from release.errors import InputError
from release.ledger import Ledger, WebUser
from release.ledger.schema import WebUserRow

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HASHER = PasswordHasher()
# Verified against when the account does not exist, so an unknown e-mail costs as much as a wrong password.
_DUMMY_HASH = _HASHER.hash("no such account: constant-time filler")


def normalise_email(email: str) -> str:
    """Trim and lower-case an e-mail; InputError when it does not look like one."""
    clean = email.strip().lower()
    if not _EMAIL.match(clean):
        raise InputError(f"{email!r} is not an e-mail address like chair@example.org")
    return clean


def check_password_strength(password: str) -> None:
    """InputError unless the password is at least MIN_PASSWORD_LENGTH characters and not blank."""
    if not password.strip():
        raise InputError("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def add_user(ledger: Ledger, email: str, role: str, password: str, *, actor: str,
             now: datetime | None = None) -> WebUser:
    """Create an account with an argon2 hash of password; LedgerConflict when the e-mail exists."""
    clean = normalise_email(email)
    if not role.strip():
        raise InputError("an account needs a role")
    check_password_strength(password)
    return ledger.add_web_user(clean, role.strip(), _HASHER.hash(password), actor=actor, now=now)


def list_users(ledger: Ledger) -> list[WebUser]:
    """Every account, ordered by e-mail."""
    with Session(ledger.engine) as s:
        rows = s.scalars(select(WebUserRow).order_by(WebUserRow.email)).all()
        return [WebUser(r.email, r.role, r.password_hash, bool(r.disabled), r.created_at) for r in rows]


def disable_user(ledger: Ledger, email: str, *, actor: str, now: datetime | None = None) -> None:
    """Disable an account (it can no longer log in; existing sessions end at their next request)."""
    clean = normalise_email(email)
    if ledger.get_web_user(clean) is None:
        raise InputError(f"no web account {clean}")
    ledger.set_web_user_disabled(clean, True, actor=actor, now=now)


def authenticate(ledger: Ledger, email: str, password: str) -> WebUser | None:
    """The enabled account whose password matches, else None (same cost for unknown e-mails)."""
    try:
        clean = normalise_email(email)
    except InputError:
        clean = ""
    user = ledger.get_web_user(clean) if clean else None
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    return user
