"""`release target check`: a doctor for one deployment, in the spirit of `gh auth status` and `flutter doctor`.

It probes each host and the identity, logs each configured user in once (and the system client), checks each
permission the regression suite and the load personas need, lists the locations the gates will use, and gives
a fix for every failure. Every call it makes writes nothing: ``/ping``, logins, ``event.search`` with
``limit: 1``, ``locations.list`` and ``administrativeAreas.list`` (all tRPC queries). Permissions that only a
writing call could show (create, declare, register, ...) are read from the scopes in the login's token.

OpenCRVS v2.0.0 sources the rules come from: the three hosts (packages/client/nginx.conf rewrites the register
host's ``/api/*`` to the gateway), ``X-Version`` (packages/gateway/src/server.ts), logins (packages/auth/src/
features/authenticate, verifyCode, a 402 after 10 a minute; with TWO_FA_ENABLED off the code is 000000,
packages/auth/src/features/authenticate/service.ts), system clients (``POST /auth/token``, client_credentials)
and what they may do (packages/events/src/router/event/actions/index.ts, SYSTEM_USER_ALLOWED_ACTIONS), scopes
(packages/commons/src/scopes.ts, encoded ``type=record.register&...``) and locations
(packages/events/src/router/locations/index.ts, administrative-areas/index.ts).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from crvs_client.client import token_claims as client_token_claims
from crvs_client.errors import ProtocolError
from release.config import SUITE_ROLES, Target, UserAccount, is_uuid
from release.workflow.target import probe_identity

OK, FAIL, WARN, SKIP = "ok", "FAIL", "warn", "skip"

#: What the system client must be allowed: the suite creates, reads, searches and notifies through it.
SYSTEM_SCOPES: dict[str, str] = {
    "record.create": "create records (REST POST /api/events/events)",
    "record.read": "read records (event.get)",
    "record.search": "search records (event.search)",
    "record.notify": "send incomplete notifications (REST .../notify)",
}
#: What each suite role must be allowed (docs/wire-contract.md section 2).
ROLE_SCOPES: dict[str, dict[str, str]] = {
    "hospital_clerk": {"record.create": "create", "record.declare": "declare", "record.read": "read",
                       "record.search": "search"},
    "registration_agent": {"record.create": "create", "record.declare": "declare (with validated)",
                           "record.custom-action": "validate a clerk's declaration (VALIDATE_DECLARATION)",
                           "record.reject": "reject", "record.read": "read", "record.search": "search"},
    "local_registrar": {"record.create": "create", "record.declare": "declare", "record.register": "register",
                        "record.print-certified-copies": "print", "record.read": "read",
                        "record.search": "search"},
}
ROLE_DUTIES = {"hospital_clerk": "declares without validated",
               "registration_agent": "declares with validated, validates a clerk's declaration and rejects",
               "local_registrar": "registers and prints (a pool of several serves the load)"}
DEV_LOGIN_CODE = "000000"  # OpenCRVS sets every code to 000000 when TWO_FA_ENABLED is off


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table."""

    check: str
    result: str
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        """A JSON-able view."""
        return {"check": self.check, "result": self.result, "detail": self.detail, "fix": self.fix}


@dataclass
class TargetReport:
    """Everything the doctor found about one target."""

    target: str
    gateway: str
    checks: list[Check] = field(default_factory=list)
    version: str | None = None
    locations: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings and skips allowed)."""
        return all(c.result != FAIL for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when all is well, 1 when something is missing."""
        return 0 if self.ok else 1

    def add(self, check: str, result: str, detail: str, fix: str = "") -> None:
        self.checks.append(Check(check, result, detail, fix))

    def to_json(self) -> dict[str, Any]:
        """The `release target check --json` shape."""
        return {"target": self.target, "gateway": self.gateway, "ok": self.ok, "version": self.version,
                "checks": [c.to_json() for c in self.checks], "locations": self.locations,
                "failed": [c.check for c in self.checks if c.result == FAIL]}


# ------------------------------------------------------------------------------------------------ tokens


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read without verifying it (the doctor only reports what it was given); {} for a
    token that is not a JWT, where the client (crvs_client.client.token_claims) raises."""
    try:
        return client_token_claims(token)
    except ProtocolError:
        return {}


def scope_types(scopes: Any) -> set[str]:
    """The scope types a token carries: ``type=record.register&placeOfEvent=...`` -> ``record.register``."""
    if isinstance(scopes, str):
        scopes = scopes.split()
    found: set[str] = set()
    for scope in scopes if isinstance(scopes, list) else ():
        if not isinstance(scope, str):
            continue
        parsed = parse_qs(scope).get("type") if "=" in scope else None
        found.add(parsed[0] if parsed else scope)
    return found


# ------------------------------------------------------------------------------------------------ HTTP


def _trpc_query(client: httpx.Client, gateway: str, procedure: str, data: Any, token: str) -> httpx.Response:
    params = {"batch": "1", "input": json.dumps({"0": {"json": data}})}
    return client.get(f"{gateway}/events/{procedure}", params=params, headers={"Authorization": f"Bearer {token}"})


def _trpc_data(response: httpx.Response) -> Any:
    try:
        body = response.json()
        return body[0]["result"]["data"]["json"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _is_gateway_ping(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return response.status_code == 200 and isinstance(body, dict) and body.get("success") is True


def _get(client: httpx.Client, url: str) -> tuple[httpx.Response | None, str]:
    try:
        return client.get(url), ""
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _same_host(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


# ------------------------------------------------------------------------------------------------ checks


def _check_hosts(report: TargetReport, target: Target, client: httpx.Client) -> bool:
    gw = target.gateway
    response, problem = _get(client, f"{gw}/ping")
    if response is None:
        report.add("gateway", FAIL, f"GET {gw}/ping: {problem}",
                   "check the gateway URL and that the deployment is up (gateway = \"https://gateway.<domain>\")")
        return False
    version = response.headers.get("X-Version", "")
    if _is_gateway_ping(response) and version:
        report.add("gateway", OK, f"GET /ping answered 200 {{\"success\": true}}, X-Version {version}")
    elif "text/html" in response.headers.get("content-type", ""):
        report.add("gateway", FAIL, f"GET {gw}/ping answered {response.status_code} with HTML: that is the "
                                    "register (web app) host, not the gateway",
                   "set gateway to the gateway's URL (https://gateway.<domain>) and register to this one")
    else:
        report.add("gateway", FAIL if response.status_code >= 400 else WARN,
                   f"GET {gw}/ping answered {response.status_code}"
                   + ("" if version else " without an X-Version header"),
                   "point gateway at OpenCRVS's gateway (its /ping answers {\"success\": true} with X-Version)")
    if target.register is None:
        report.add("register", SKIP, "no register URL: REST goes through the gateway's /events/events...",
                   "")
    elif _same_host(target.register, gw):
        report.add("register", FAIL, f"the register URL is the gateway's URL ({gw})",
                   "set register to the register (client) host, e.g. https://register.<domain>, whose /api/* "
                   "nginx rewrites to the gateway; or leave register out")
    else:
        root, problem = _get(client, f"{target.register}/ping")
        api, api_problem = _get(client, f"{target.register}/api/ping")
        if root is not None and _is_gateway_ping(root) and root.headers.get("X-Version"):
            report.add("register", FAIL, f"{target.register} answers /ping like the gateway: the register URL was "
                                         "given as the gateway",
                       "set register to the register (client) host, e.g. https://register.<domain>; or leave it out")
        elif api is None:
            report.add("register", FAIL, f"GET {target.register}/api/ping: {api_problem}",
                       "check the register URL and that the web client is up")
        elif _is_gateway_ping(api):
            report.add("register", OK, "/api/* reaches the gateway (GET /api/ping answered {\"success\": true}); "
                                       "other paths serve the web app")
        else:
            report.add("register", FAIL, f"GET {target.register}/api/ping answered {api.status_code}, not the "
                                         "gateway's {\"success\": true}: the /api rewrite does not reach the gateway",
                       "check the register host's nginx /api/ rewrite (packages/client/nginx.conf) or the URL")
    if target.config is None:
        report.add("country config", SKIP, "no config URL", "")
    else:
        response, problem = _get(client, f"{target.config}/ping")
        if response is not None and response.status_code == 200:
            report.add("country config", OK, "GET /ping answered 200")
        else:
            said = problem if response is None else f"answered {response.status_code}"
            report.add("country config", FAIL, f"GET {target.config}/ping: {said}",
                       "check the config URL (https://countryconfig.<domain>) and that the country config is up")
    return True


def _check_identity(report: TargetReport, target: Target, environ: Mapping[str, str]) -> None:
    probed = probe_identity(target, environ=environ)
    if probed.identity is None:
        report.add("identity", FAIL, probed.problem,
                   "fix the target's identity probe ({ header = \"X-Version\", path = \"/ping\" } by default)")
        return
    report.version = probed.identity.version
    report.add("identity", OK, f"reports {probed.identity.version} ({probed.identity.how})")


def _login(client: httpx.Client, target: Target, account: UserAccount, role: str,
           environ: Mapping[str, str]) -> tuple[str | None, Check]:
    label = f"login {account.username} ({role})"
    password = environ.get(account.password_env, "")
    try:
        r = client.post(f"{target.gateway}/auth/authenticate",
                        json={"username": account.username, "password": password})
    except httpx.HTTPError as exc:
        return None, Check(label, FAIL, f"POST /auth/authenticate: {type(exc).__name__}", "check the gateway URL")
    if r.status_code == 402:
        return None, Check(label, FAIL, "402: too many logins (OpenCRVS allows 10 a minute per user)",
                           "wait a minute and run the check again; the gates log each user in once")
    if r.status_code in (400, 401):
        return None, Check(label, FAIL, f"{r.status_code}: username or password refused",
                           f"check that {account.password_env} holds {account.username}'s password and that the "
                           "user exists")
    if r.status_code == 403:
        return None, Check(label, FAIL, "403: the user is deactivated", "reactivate the user or name another one")
    try:
        nonce = r.json().get("nonce")
    except (ValueError, AttributeError):
        nonce = None
    if r.status_code != 200 or not isinstance(nonce, str):
        return None, Check(label, FAIL, f"POST /auth/authenticate answered {r.status_code} without a nonce",
                           "check the gateway URL")
    code = environ.get(target.login_code_env or "", "") if target.two_fa else DEV_LOGIN_CODE
    try:
        r = client.post(f"{target.gateway}/auth/verifyCode", json={"nonce": nonce, "code": code})
    except httpx.HTTPError as exc:
        return None, Check(label, FAIL, f"POST /auth/verifyCode: {type(exc).__name__}", "check the gateway URL")
    if r.status_code == 402:
        return None, Check(label, FAIL, "402 on verifyCode: too many attempts", "wait a minute and try again")
    try:
        token = r.json().get("token")
    except (ValueError, AttributeError):
        token = None
    if r.status_code != 200 or not isinstance(token, str):
        fix = (f"set {target.login_code_env} to the code the user received" if target.two_fa else
               "this deployment has TWO_FA_ENABLED on: set two_fa = true and login_code_env in the target")
        return None, Check(label, FAIL, f"the login code was refused ({r.status_code})", fix)
    claims = token_claims(token)
    claimed_role = str(claims.get("role", ""))
    if claimed_role and claimed_role.lower() != role:
        return token, Check(label, FAIL, f"logged in, but {account.username} is a {claimed_role}, not a "
                                         f"{role.upper()}",
                            f"move {account.username} under users.{claimed_role.lower()}, or give it the "
                            f"{role.upper()} role")
    return token, Check(label, OK, f"logged in as {claimed_role or role.upper()} (token reused for the checks below)")


def _check_scopes(report: TargetReport, who: str, token: str, needed: Mapping[str, str], fix: str) -> None:
    have = scope_types(token_claims(token).get("scope"))
    missing = [s for s in needed if s not in have]
    if missing:
        report.add(f"permissions {who}", FAIL, "missing scope " + ", ".join(
            f"{s} ({needed[s]})" for s in missing), fix.format(scopes=", ".join(missing)))
    else:
        report.add(f"permissions {who}", OK, "has " + ", ".join(needed))


def _check_search(report: TargetReport, client: httpx.Client, gateway: str, who: str, token: str,
                  fix: str) -> None:
    query = {"query": {"type": "and", "clauses": [{"status": {"type": "exact", "term": "REGISTERED"}}]},
             "limit": 1}
    try:
        r = _trpc_query(client, gateway, "event.search", query, token)
    except httpx.HTTPError as exc:
        report.add(f"search {who}", FAIL, f"event.search: {type(exc).__name__}", "check the gateway")
        return
    if r.status_code == 200 and isinstance(_trpc_data(r), dict):
        report.add(f"search {who}", OK, "event.search (limit 1) answered 200")
    elif r.status_code == 403:
        report.add(f"search {who}", FAIL, "event.search answered 403: record.search is missing", fix)
    else:
        report.add(f"search {who}", FAIL, f"event.search answered {r.status_code}", "see the gateway's logs")


def _check_system_client(report: TargetReport, client: httpx.Client, target: Target,
                         environ: Mapping[str, str]) -> str | None:
    if not target.client_id:
        report.add("system client", FAIL, "no client_id: the suite creates, reads, searches and notifies through "
                                          "a system client",
                   "create an integration as a NATIONAL_SYSTEM_ADMIN (integrations router) and set client_id, "
                   "client_secret_env and client_scopes")
        return None
    secret = environ.get(target.client_secret_env or "", "")
    try:
        r = client.post(f"{target.gateway}/auth/token", params={"grant_type": "client_credentials",
                                                                  "client_id": target.client_id,
                                                                  "client_secret": secret})
    except httpx.HTTPError as exc:
        report.add("system client", FAIL, f"POST /auth/token: {type(exc).__name__}", "check the gateway")
        return None
    try:
        token = r.json().get("access_token")
    except (ValueError, AttributeError):
        token = None
    if r.status_code != 200 or not isinstance(token, str):
        report.add("system client", FAIL, f"POST /auth/token answered {r.status_code}: client {target.client_id} "
                                          "or its secret was refused",
                   f"check client_id and that {target.client_secret_env} holds its secret")
        return None
    have = scope_types(token_claims(token).get("scope"))
    report.add("system client", OK, f"token for {target.client_id} (scopes: {', '.join(sorted(have)) or 'none'})")
    fix = ("give integration " + target.client_id + " the scope(s) {scopes} (as a NATIONAL_SYSTEM_ADMIN, "
           "integrations router), or create one that has them")
    _check_scopes(report, "system client", token, SYSTEM_SCOPES, fix)
    configured = [s for s in target.client_scopes if scope_types([s]) - have]
    if configured:
        report.add("client_scopes", WARN, f"client_scopes names {', '.join(configured)} but the token lacks it",
                   "make client_scopes match what the integration was given")
    _check_search(report, client, target.gateway, "as system client", token, fix.format(scopes="record.search"))
    return token


def _check_users(report: TargetReport, client: httpx.Client, target: Target,
                 environ: Mapping[str, str]) -> str | None:
    any_token = None
    for role in SUITE_ROLES:
        if role not in target.users:
            report.add(f"users.{role}", FAIL, f"no {role} user: the suite's {role} {ROLE_DUTIES[role]}",
                       f"add users.{role} = {{ username = \"...\", password_env = \"...\" }} for a "
                       f"{role.upper()} account")
    for role, accounts in target.users.items():
        for i, account in enumerate(accounts):
            token, line = _login(client, target, account, role, environ)
            report.checks.append(line)
            if token is None or line.result == FAIL:
                continue
            any_token = any_token or token
            if i == 0 and role in ROLE_SCOPES:
                fix = (f"give the {role.upper()} role the scope(s) {{scopes}} in the country config's roles "
                       "(farajaland src/data-seeding/roles/roles.ts), or name a user who has them")
                _check_scopes(report, account.username, token, ROLE_SCOPES[role], fix)
                _check_search(report, client, target.gateway, f"as {account.username}", token,
                              fix.format(scopes="record.search"))
    return any_token


_WANTED = {"office": "CRVS_OFFICE", "health_facility": "HEALTH_FACILITY"}


def _pick(report: TargetReport, key: str, configured: str | None, items: list[dict[str, Any]],
          default: dict[str, Any] | None) -> dict[str, Any] | None:
    if configured is None:
        chosen = default
        how = "discovered"
    elif is_uuid(configured):  # as crvs_client/locations.py picks: by exact id, else by exact name
        chosen = next((x for x in items if x.get("id") == configured), None)
        how = "configured id"
    else:
        chosen = next((x for x in items if x.get("name") == configured), None)
        how = "configured name"
    if chosen is None:
        what = f"{configured!r} is not an active {key.replace('_', ' ')}" if configured else f"no active {key}"
        report.add(f"location {key}", FAIL, what, f"set locations.{key} to the UUID or name of an active one")
        report.locations[key] = None
        return None
    report.locations[key] = {"id": chosen.get("id"), "name": chosen.get("name"), "how": how}
    report.add(f"location {key}", OK, f"{chosen.get('name')} ({chosen.get('id')}, {how})")
    return chosen


def _check_locations(report: TargetReport, client: httpx.Client, target: Target, token: str | None) -> None:
    if token is None:
        report.add("locations", SKIP, "no login succeeded, so locations.list could not be asked", "")
        return
    r = _trpc_query(client, target.gateway, "locations.list", {"isActive": True}, token)
    locations = _trpc_data(r)
    if r.status_code != 200 or not isinstance(locations, list):
        report.add("locations", FAIL, f"locations.list answered {r.status_code}", "see the gateway's logs")
        return
    chosen: dict[str, dict[str, Any] | None] = {}
    for key, kind in _WANTED.items():
        of_kind = [x for x in locations if isinstance(x, dict) and x.get("locationType") == kind]
        chosen[key] = _pick(report, key, target.locations.get(key), of_kind, of_kind[0] if of_kind else None)
    r = _trpc_query(client, target.gateway, "administrativeAreas.list", {"isActive": True}, token)
    areas = _trpc_data(r)
    if r.status_code != 200 or not isinstance(areas, list):
        report.add("location administrative_area", FAIL, f"administrativeAreas.list answered {r.status_code}",
                   "see the gateway's logs")
        return
    areas = [a for a in areas if isinstance(a, dict)]
    facility = chosen.get("health_facility") or {}
    default = next((a for a in areas if a.get("id") == facility.get("administrativeAreaId")),
                   areas[0] if areas else None)
    _pick(report, "administrative_area", target.locations.get("administrative_area"), areas, default)


def check_target(target: Target, environ: Mapping[str, str], *, timeout: float = 10.0) -> TargetReport:
    """Run every check against the target; a ConfigError first when a secret env var it names is not set."""
    target.require_secrets(environ)
    report = TargetReport(target=target.name, gateway=target.gateway)
    with httpx.Client(timeout=timeout) as client:
        reachable = _check_hosts(report, target, client)
        _check_identity(report, target, environ)
        if not reachable:
            report.add("logins", SKIP, "the gateway cannot be reached", "")
            return report
        system_token = _check_system_client(report, client, target, environ)
        user_token = _check_users(report, client, target, environ)
        _check_locations(report, client, target, system_token or user_token)
    return report


def render_table(report: TargetReport) -> list[str]:
    """The doctor's table as text lines: check, result, detail, and the fix under each failure."""
    width = max([len(c.check) for c in report.checks] + [5])
    lines = [f"target {report.target}: gateway {report.gateway}"
             + (f", version {report.version}" if report.version else ""), ""]
    lines.append(f"{'CHECK'.ljust(width)}  RESULT  DETAIL")
    for c in report.checks:
        lines.append(f"{c.check.ljust(width)}  {c.result.ljust(6)}  {c.detail}")
        if c.fix and c.result in (FAIL, WARN):
            lines.append(f"{''.ljust(width)}  {''.ljust(6)}  fix: {c.fix}")
    failed = [c.check for c in report.checks if c.result == FAIL]
    lines.append("")
    lines.append("all checks passed; every call above wrote nothing" if not failed else
                 f"{len(failed)} check(s) failed: {', '.join(failed)}")
    return lines
