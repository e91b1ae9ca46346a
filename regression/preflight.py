"""Before any test: reach the gateway, read its X-Version, log in the system client and each role once,
and resolve the locations the declarations use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crvs_client import SUITE_ROLES, CRVSError, LocationNotFound, Target, TargetUnreachable


class PreflightFailed(Exception):
    """The target cannot be tested; the message is one line for the user."""


@dataclass(frozen=True)
class PreflightResult:
    """What the suite learned about the target, and the tokens it obtained (by `kind:name`)."""

    version: str
    tokens: dict[str, str] = field(repr=False)
    locations: dict[str, Any] = field(default_factory=dict)


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
    return f"{status}{exc.message}"[:200]


def run_preflight(target: Target, roles: tuple[str, ...] = SUITE_ROLES) -> PreflightResult:
    """Return the target's identity, tokens and locations, or raise PreflightFailed with one clear line."""
    dep = target.deployment
    missing = dep.missing_roles(roles)
    if missing:
        raise PreflightFailed(f"crvs-regression: the deployment profile {dep.name!r} names no account for "
                              f"{', '.join(missing)} (users.<role> in the profile)")
    try:
        version = target.identity()
    except TargetUnreachable as exc:
        raise PreflightFailed(f"crvs-regression: gateway {dep.gateway} unreachable: {_why_unreachable(exc)}") from exc
    except CRVSError as exc:
        ident = dep.identity
        raise PreflightFailed(f"crvs-regression: gateway {dep.gateway} does not report its version like an "
                              f"OpenCRVS gateway ({ident.header} on GET {ident.path}): {_short(exc)}") from exc
    tokens: dict[str, str] = {}
    try:
        tokens[f"system:{dep.client.id}"] = target.system_token()
    except TargetUnreachable as exc:
        raise PreflightFailed(f"crvs-regression: gateway {dep.gateway} unreachable: {_why_unreachable(exc)}") from exc
    except CRVSError as exc:
        raise PreflightFailed(f"crvs-regression: system client {dep.client.id} not authenticated by {dep.gateway}: "
                              f"{_short(exc)} (check client.id and {dep.client.secret_env})") from exc
    for role in roles:
        for account in dep.accounts(role)[:1]:  # the suite uses the first account of each role
            try:
                tokens[f"user:{account.username}"] = target.user_token(account)
            except CRVSError as exc:
                raise PreflightFailed(f"crvs-regression: user {account.username!r} ({role}) could not log in at "
                                      f"{dep.gateway}: {_short(exc)} (check {account.password_env}"
                                      f"{' and ' + dep.login_code_env if dep.login_code_env else ''})") from exc
    try:
        locations = target.locations()
    except LocationNotFound as exc:
        raise PreflightFailed(f"crvs-regression: {exc.message} (locations in the profile)") from exc
    except CRVSError as exc:
        raise PreflightFailed(f"crvs-regression: the locations could not be listed at {dep.gateway}: "
                              f"{_short(exc)}") from exc
    return PreflightResult(version, tokens, locations.to_json())
