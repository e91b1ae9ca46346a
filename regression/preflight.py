"""Before any test: reach the target, read its version, authenticate the system client and every user."""

from __future__ import annotations

from dataclasses import dataclass, field

from crvs_client import Credentials, CRVSClient, CRVSError, TargetUnreachable

ROLES = ("field_agent", "registration_agent", "local_registrar")


class PreflightFailed(Exception):
    """The target cannot be tested; the message is one line for the user."""


@dataclass(frozen=True)
class PreflightResult:
    """What the suite learned about the target, and the tokens it obtained."""

    version: str
    commit: str
    tokens: dict[str, str] = field(repr=False)


def _why_unreachable(exc: TargetUnreachable) -> str:
    cause = exc.__cause__
    text = f"{type(cause).__name__} {cause}".lower() if cause else exc.message.lower()
    if "refused" in text:
        return "connection refused"
    if "timeout" in text or "timed out" in text:
        return "timed out"
    if "name or service" in text or "nodename" in text or "resolve" in text:
        return "host name does not resolve"
    return type(cause).__name__ if cause else exc.message


def _short(exc: CRVSError) -> str:
    status = f"HTTP {exc.status}: " if exc.status else ""
    return f"{status}{exc.message}"[:160]


def run_preflight(credentials: Credentials, *, timeout: float = 15.0) -> PreflightResult:
    """Return the target's identity and tokens, or raise PreflightFailed with one clear line."""
    url = credentials.url
    if not url:
        raise PreflightFailed("crvs-regression: no target: pass --crvs-url URL, set CRVS_URL, or use --crvs-sandbox")
    from crvs_client.transport import HttpxTransport

    def client() -> CRVSClient:
        return CRVSClient(HttpxTransport(url, timeout=timeout), location_id=credentials.location_id)

    try:
        version = client().version()
    except TargetUnreachable as exc:
        raise PreflightFailed(f"crvs-regression: target {url} unreachable: {_why_unreachable(exc)}") from exc
    except CRVSError as exc:
        raise PreflightFailed(f"crvs-regression: target {url} does not answer GET /api/version like an OpenCRVS "
                              f"gateway: {_short(exc)}") from exc
    tokens: dict[str, str] = {}
    try:
        tokens["system"] = client().authenticate_client(credentials.client_id, credentials.client_secret)
    except TargetUnreachable as exc:
        raise PreflightFailed(f"crvs-regression: target {url} unreachable: {_why_unreachable(exc)}") from exc
    except CRVSError as exc:
        raise PreflightFailed(f"crvs-regression: system client {credentials.client_id!r} not authenticated by "
                              f"{url}: {_short(exc)} (check CRVS_CLIENT_ID / CRVS_CLIENT_SECRET)") from exc
    for role in ROLES:
        user = credentials.users[role]
        try:
            tokens[role] = client().login(user.username, user.password, credentials.login_code)
        except TargetUnreachable as exc:
            raise PreflightFailed(f"crvs-regression: target {url} unreachable: {_why_unreachable(exc)}") from exc
        except CRVSError as exc:
            raise PreflightFailed(f"crvs-regression: user {user.username!r} ({role}) could not log in at {url}: "
                                  f"{_short(exc)} (check CRVS_{role.upper()} and CRVS_LOGIN_CODE)") from exc
    return PreflightResult(version["version"], version["commit"], tokens)
