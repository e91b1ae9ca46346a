"""The sandbox's HTTP edge: one process that is an OpenCRVS v2.0.0 deployment's three hosts.

- gateway (packages/gateway/src/config/routes.ts): `/ping`, `/upload`, `/auth/*` (rate limited, proxies.ts) and
  `/events/*`, which the gateway proxies to the events service (v2-events/event-config/routes.ts). The events
  service answers tRPC when the query starts with `?batch`/`?input` or the path is a procedure, else REST
  (trpc-to-openapi; packages/events/src/server.ts `isAppTrpcRequest`). Every response that is not the gateway's own
  error carries `X-Version` (gateway server.ts `onPreResponse`).
- register (packages/client/nginx.conf): `/api/auth/*` goes to the auth service (no gateway, so no rate limit and
  no X-Version), `/api/countryconfig/*` to the country config, any other `/api/*` to the gateway; every other path
  is the web app (here: the sandbox's own web client, with the SPA's index fallback).
- country config (farajaland src/index.ts): `GET /ping` answers `{success: true}`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import random
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox import locations
from sandbox.auth import INVALID_GRANT, Auth, AuthFailure, Principal, TokenRejected, boom
from sandbox.domain import ActionType
from sandbox.errors import ApiError, BadRequest, InjectedFault, InputInvalid, NotFound
from sandbox.faults import Faults
from sandbox.search_pool import SearchPool
from sandbox.service import RecordService
from sandbox.settings import Settings
from sandbox.storage import Store

log = logging.getLogger("sandbox")

Handler = Callable[[RecordService, Principal, Any], Any]
GATEWAY_OWN_ERROR = "x-sandbox-gateway-error"  # internal marker: a gateway (Boom) error, so no X-Version
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # nginx client_max_body_size on /api/


class MethodNotSupported(ApiError):
    """A mutation was called with GET."""

    code, http_status, rpc_code = "METHOD_NOT_SUPPORTED", 405, -32005


class UnsupportedMediaType(ApiError):
    """A REST body that is not JSON (trpc-to-openapi)."""

    code, http_status, rpc_code = "UNSUPPORTED_MEDIA_TYPE", 415, -32015


def _action(kind: ActionType) -> Handler:
    return lambda svc, who, data: svc.apply_action(who, kind, data)


def _custom_action(svc: RecordService, who: Principal, data: Any) -> Any:
    return svc.custom_action(who, data)


def _create_and_notify(svc: RecordService, who: Principal, data: Any) -> Any:
    return svc.create_and_notify(who, data)


def _mapping_input(data: Any, keys: dict[str, type | tuple[type, ...]], where: str) -> dict[str, Any]:
    """An optional object input of known keys and types (unknown keys are stripped, as zod's default object)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadRequest(f"{where}: expected an object", fields=["input"])
    out: dict[str, Any] = {}
    for key, kind in keys.items():
        value = data.get(key)
        if value is None:
            continue
        if kind is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadRequest(f"{key}: expected an array of UUIDs", fields=[key])
        elif not isinstance(value, kind) or (kind is str and isinstance(value, bool)):
            raise BadRequest(f"{key}: expected {getattr(kind, '__name__', kind)}", fields=[key])
        out[key] = value
    return out


def list_locations(_svc: RecordService, _who: Principal, data: Any) -> list[dict[str, Any]]:
    """locations.list {isActive?, locationIds?, locationType?, externalId?} (packages/events/src/router/locations)."""
    args = _mapping_input(data, {"isActive": bool, "locationIds": list, "locationType": str, "externalId": str},
                          "locations.list")
    return locations.list_locations(location_type=args.get("locationType"), is_active=args.get("isActive"),
                                    location_ids=args.get("locationIds"), external_id=args.get("externalId"))


def list_administrative_areas(_svc: RecordService, _who: Principal, data: Any) -> list[dict[str, Any]]:
    """administrativeAreas.list {isActive?, ids?} (packages/events/src/router/administrative-areas)."""
    args = _mapping_input(data, {"isActive": bool, "ids": list}, "administrativeAreas.list")
    return locations.administrative_areas(is_active=args.get("isActive"), ids=args.get("ids"))


@dataclass(frozen=True)
class Procedure:
    """One tRPC procedure: whether it is a query (GET allowed) and its handler."""

    query: bool
    handler: Handler


# The procedures of packages/events/src/router/router.ts the sandbox serves. There is no
# event.actions.validate.request in v2.0.0: validation is the VALIDATE_DECLARATION custom action.
#: Procedures that run under the search limiter (Settings.search_threads).
SEARCH_PROCEDURES = frozenset({"event.search"})

PROCEDURES: dict[str, Procedure] = {
    "event.create": Procedure(False, lambda svc, who, data: svc.create_event(who, data)),
    "event.get": Procedure(True, lambda svc, who, data: svc.get_event(who, data)),
    "event.search": Procedure(True, lambda svc, who, data: svc.search(who, data)),
    "event.actions.notify.request": Procedure(False, _action(ActionType.NOTIFY)),
    "event.actions.createAndNotify.request": Procedure(False, _create_and_notify),
    "event.actions.declare.request": Procedure(False, _action(ActionType.DECLARE)),
    "event.actions.register.request": Procedure(False, _action(ActionType.REGISTER)),
    "event.actions.reject.request": Procedure(False, _action(ActionType.REJECT)),
    "event.actions.archive.request": Procedure(False, _action(ActionType.ARCHIVE)),
    "event.actions.printCertificate.request": Procedure(False, _action(ActionType.PRINT_CERTIFICATE)),
    "event.actions.assignment.assign": Procedure(False, _action(ActionType.ASSIGN)),
    "event.actions.assignment.unassign": Procedure(False, _action(ActionType.UNASSIGN)),
    "event.actions.custom.request": Procedure(False, _custom_action),
    "locations.list": Procedure(True, list_locations),
    "administrativeAreas.list": Procedure(True, list_administrative_areas),
}


def trpc_error(exc: ApiError, path: str) -> dict[str, Any]:
    """tRPC's default error shape under superjson (packages/events/src/router/trpc.ts keeps it as is)."""
    return {"error": {"json": {"message": exc.message, "code": exc.rpc_code,
                               "data": {"code": exc.code, "httpStatus": exc.http_status, "path": path}}}}


def rest_error(exc: ApiError, path: str | None) -> JSONResponse:
    """trpc-to-openapi's error body (3.2.0, src/adapters/node-http/core.ts): the tRPC error shape with `code` as
    the string code; a zod input error is 'Input validation failed' with the zod `issues`."""
    data: dict[str, Any] = {"code": exc.code, "httpStatus": exc.http_status}
    if path:
        data["path"] = path
    body: dict[str, Any] = {"message": exc.message, "code": exc.code, "data": data}
    if isinstance(exc, InputInvalid):
        body.update(message="Input validation failed", issues=exc.issues)
    return JSONResponse(body, status_code=exc.http_status)


def boom_response(status: int, error: str, message: str, *, gateway_own: bool = False) -> JSONResponse:
    """A hapi Boom error; `gateway_own` marks the gateway's own errors, which carry no X-Version."""
    headers = {GATEWAY_OWN_ERROR: "1"} if gateway_own else None
    return JSONResponse(boom(status, error, message), status_code=status, headers=headers)


def _auth_failure(exc: AuthFailure, *, gateway_own: bool = False) -> JSONResponse:
    headers = {"Cache-Control": "no-store"} if "error_description" in exc.body else {}
    if gateway_own:
        headers[GATEWAY_OWN_ERROR] = "1"
    return JSONResponse(exc.body, status_code=exc.status, headers=headers)


@dataclass(frozen=True)
class TimedCall:
    """One call of the current request, as FaultTiming needs it: how long its dispatch took, and its faults."""

    dispatch_s: float
    factor: float = 1.0  # --slowdown
    tail_s: float = 0.0  # --tail, when this call drew it
    faulted: bool = False  # its procedure has a --slowdown or a --tail (the response then carries Server-Timing)


# The calls of the current request, while FaultTiming serves it (None otherwise).
_TIMED_CALLS: contextvars.ContextVar[list[TimedCall] | None] = contextvars.ContextVar(
    "sandbox_timed_calls", default=None)


def fault_delay(calls: Sequence[TimedCall], request_s: float) -> float:
    """How long to hold a response so that each faulted call takes `factor` times as long as it would have.

    A call's time is its dispatch plus its share of the request's own time outside the calls (the gateway's token
    check, routing, JSON in and out), which is what a client sees of it; then the tail it drew, if any.
    """
    if not calls:
        return 0.0
    overhead = max(0.0, request_s - sum(c.dispatch_s for c in calls)) / len(calls)
    return sum((c.factor - 1.0) * (c.dispatch_s + overhead) + c.tail_s for c in calls)


class Api:
    """The handlers of the gateway, the events service behind it and the auth service, for one settings object."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.faults: Faults = settings.faults
        self._tail_rng: dict[str, random.Random] = {}  # --tail draws: one seeded stream per procedure
        self.store = Store(settings.db_url, read_pool_size=settings.read_pool_size,
                           background_checkpoint=settings.background_checkpoint)
        self.store.create_schema()
        self.auth = Auth(settings)
        self.service = RecordService(self.store, self.faults, async_confirm_s=settings.async_confirm_s)
        self.read_limiter = anyio.CapacityLimiter(settings.search_threads) if settings.search_threads else None
        self.search_pool: SearchPool | None = None
        if settings.search_processes:
            self.search_pool = SearchPool(settings.db_url, settings.search_processes)
            self.service.vocabulary_listeners.append(self.search_pool.vocabulary_grew)

    def close(self) -> None:
        """Stop the search workers and close the database."""
        if self.search_pool is not None:
            self.search_pool.close()
        self.store.dispose()

    # ---------------------------------------------------------------------------------- faults
    async def _inject(self, procedure: str) -> None:
        delay = self.faults.latency_for(procedure)
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)
        rate = self.faults.error_rate_for(procedure)
        if rate > 0 and random.random() < rate:
            raise InjectedFault(f"injected fault in {procedure}")

    def _timed_call(self, procedure: str, dispatch_s: float) -> TimedCall:
        """The call's faults: its --slowdown factor, and whether it drew its --tail (a seeded stream per procedure)."""
        factor, tail = self.faults.slowdown_for(procedure), self.faults.tail_for(procedure)
        tail_s = 0.0
        if tail is not None:
            rng = self._tail_rng.get(procedure)
            if rng is None:
                rng = self._tail_rng[procedure] = random.Random(f"{self.faults.seed}:{procedure}")
            if rng.random() < tail.share:
                tail_s = tail.added_ms / 1000.0
        return TimedCall(dispatch_s, factor, tail_s, faulted=self.faults.stretches(procedure))

    async def _call(self, procedure: str, handler: Handler, principal: Principal, data: Any) -> Any:
        """Dispatch one call. Behind FaultTiming every call is timed, and FaultTiming holds the response for the
        faults (so they stretch the whole request, as a client sees it); without it a fault stretches the call."""
        calls = _TIMED_CALLS.get()
        if calls is None and not self.faults.stretches(procedure):
            return await self._dispatch(procedure, handler, principal, data)
        started = time.perf_counter()
        try:
            return await self._dispatch(procedure, handler, principal, data)
        finally:
            call = self._timed_call(procedure, time.perf_counter() - started)
            if calls is not None:
                calls.append(call)
            else:
                extra = fault_delay([call], call.dispatch_s)
                if extra > 0:
                    await asyncio.sleep(extra)

    async def _dispatch(self, procedure: str, handler: Handler, principal: Principal, data: Any) -> Any:
        await self._inject(procedure)
        try:
            if procedure in SEARCH_PROCEDURES and self.search_pool is not None:
                query, created_before = await run_in_threadpool(self.service.search_request, principal, data)
                return await self.search_pool.search(query, created_before)
            if procedure in SEARCH_PROCEDURES and self.read_limiter is not None:
                # Searches wait here, as coroutines, rather than as threads contending for the GIL: a write
                # transaction needs the GIL between its statements, and with 20 runnable search threads each of
                # those hand-overs queues the one writer (and every writer behind it).
                return await anyio.to_thread.run_sync(handler, self.service, principal, data,
                                                      limiter=self.read_limiter)
            return await run_in_threadpool(handler, self.service, principal, data)
        except ApiError:
            raise
        except Exception as exc:  # an unexpected failure must still answer in the wire format
            log.exception("internal error in %s", procedure)
            raise ApiError("Internal server error") from exc

    def _gateway_principal(self, request: Request) -> Principal | JSONResponse:
        """The caller of a gateway route that needs a token (hapi-auth-jwt2 `jwt` strategy), or its 401."""
        try:
            return self.auth.verify(request.headers.get("authorization"))
        except TokenRejected as exc:
            return boom_response(401, "Unauthorized", str(exc), gateway_own=True)

    # ---------------------------------------------------------------------------------- /events/*
    async def events(self, request: Request) -> Response:
        """`/events/<path>`: the gateway checks the token, then the events service answers tRPC or REST."""
        principal = self._gateway_principal(request)
        if isinstance(principal, Response):
            return principal
        rest = request.path_params["rest"]
        search = request.url.query
        if search.startswith(("batch", "input")) or all(p in PROCEDURES for p in rest.split(",")):
            return await self.trpc(request, rest, principal)
        return await self.rest(request, rest, principal)

    async def trpc(self, request: Request, path: str, principal: Principal) -> Response:
        """tRPC over HTTP: `<procedure>[,<procedure>...]`, batched with batch=1 or a single call."""
        names = path.split(",")
        batch = request.query_params.get("batch") in ("1", "true")
        try:
            inputs = await self._trpc_inputs(request, names, batch)
        except ApiError as exc:
            return self._trpc_response([(exc.http_status, trpc_error(exc, names[0]))], batch=batch)
        outcomes: list[tuple[int, dict[str, Any]]] = []
        for name, data in zip(names, inputs, strict=True):
            try:
                procedure = PROCEDURES.get(name)
                if procedure is None:
                    raise NotFound(f'No procedure found on path "{name}"')
                if request.method == "GET" and not procedure.query:
                    raise MethodNotSupported(f'Unsupported GET-request to mutation procedure at path "{name}"')
                if request.method not in ("GET", "POST"):
                    raise MethodNotSupported(f"Unsupported {request.method}-request to procedure at path \"{name}\"")
                result = await self._call(name, procedure.handler, principal, data)
                outcomes.append((200, {"result": {"data": {"json": result}}}))
            except ApiError as exc:
                outcomes.append((exc.http_status, trpc_error(exc, name)))
        return self._trpc_response(outcomes, batch=batch)

    @staticmethod
    def _trpc_response(outcomes: list[tuple[int, dict[str, Any]]], *, batch: bool) -> Response:
        statuses = {status for status, _ in outcomes}
        status = statuses.pop() if len(statuses) == 1 else 207
        body: Any = [body for _, body in outcomes] if batch else outcomes[0][1]
        return JSONResponse(body, status_code=status)

    async def _trpc_inputs(self, request: Request, names: list[str], batch: bool) -> list[Any]:
        """Each call's `json` input; a missing input is undefined (None), as tRPC's client sends it."""
        if request.method == "GET":
            raw = request.query_params.get("input")
        else:
            raw = (await request.body()).decode("utf-8", errors="replace") or None
        if raw is None:
            return [None] * len(names)
        try:
            envelope = json.loads(raw)
        except ValueError:
            raise BadRequest("input is not valid JSON") from None
        if not batch:
            if len(names) != 1:
                raise BadRequest("several procedures need batch=1")
            return [self._unwrap(envelope)]
        if not isinstance(envelope, dict):
            raise BadRequest('batch input must be an object {"0": {"json": ...}}')
        return [self._unwrap(envelope.get(str(i))) for i in range(len(names))]

    @staticmethod
    def _unwrap(item: Any) -> Any:
        if item is None:
            return None
        if not isinstance(item, dict):
            raise BadRequest('an input must be {"json": <input>} (superjson)')
        return item.get("json")

    # ---------------------------------------------------------------------------------- REST
    async def rest(self, request: Request, path: str, principal: Principal) -> Response:
        """The events service's OpenAPI routes (the `openapi` metas of packages/events/src/router)."""
        parts = [p for p in path.split("/") if p]
        method = request.method
        route: tuple[str, Handler, Any] | None = None
        try:
            if parts == ["events"] and method == "POST":
                route = ("event.create", PROCEDURES["event.create"].handler, await self._rest_body(request))
            elif parts == ["events", "search"] and method == "POST":
                route = ("event.search", PROCEDURES["event.search"].handler, await self._rest_body(request))
            elif parts == ["events", "notify"] and method == "POST":
                route = ("event.actions.createAndNotify.request", _create_and_notify, await self._rest_body(request))
            elif len(parts) == 2 and parts[0] == "events" and method == "GET":
                route = ("event.get", PROCEDURES["event.get"].handler, {"eventId": parts[1]})
            elif len(parts) == 3 and parts[0] == "events" and parts[2] == "notify" and method == "POST":
                body = await self._rest_body(request)
                data = {**body, "eventId": parts[1]} if isinstance(body, dict) else body
                route = ("event.actions.notify.request", PROCEDURES["event.actions.notify.request"].handler, data)
            elif parts == ["locations"] and method == "GET":
                route = ("locations.list", list_locations, self._location_query(request))
            if route is None:
                raise NotFound("Not found")
            return JSONResponse(await self._call(route[0], route[1], principal, route[2]))
        except ApiError as exc:
            return rest_error(exc, route[0] if route else None)

    @staticmethod
    async def _rest_body(request: Request) -> Any:
        content_type = request.headers.get("content-type") or "application/json"  # events server.ts defaults it
        if not content_type.startswith("application/json"):
            raise UnsupportedMediaType(f'Unsupported content-type "{content_type}')
        raw = await request.body()
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise BadRequest("body is not valid JSON") from None

    @staticmethod
    def _location_query(request: Request) -> dict[str, Any]:
        """GET /locations query parameters, coerced as trpc-to-openapi coerces them."""
        data: dict[str, Any] = {}
        for key, value in parse_qsl(request.url.query, keep_blank_values=True):
            if key == "locationIds":
                data.setdefault(key, []).append(value)
            elif key == "isActive":
                if value not in ("true", "false"):
                    raise BadRequest("isActive: expected true or false", fields=["isActive"])
                data[key] = value == "true"
            elif key in ("locationType", "externalId"):
                data[key] = value
        return data

    # ---------------------------------------------------------------------------------- /upload
    async def upload(self, request: Request) -> Response:
        """POST /upload: multipart `file` + `transactionId` -> the stored path as text (documents service v2)."""
        principal = self._gateway_principal(request)
        if isinstance(principal, Response):
            return principal
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return boom_response(415, "Unsupported Media Type", "Unsupported Media Type")
        try:
            form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
        except Exception:  # python-multipart refuses a malformed body in several ways
            return boom_response(400, "Bad Request", "Invalid multipart payload")
        file, transaction_id = form.get("file"), form.get("transactionId")
        if not isinstance(file, UploadFile) or not file.filename or not isinstance(transaction_id, str):
            return boom_response(400, "Bad Request", "Invalid payload")
        directory = form.get("path") or ""  # the optional folder of fileUploadHandler's payload
        if not isinstance(directory, str):
            return boom_response(400, "Bad Request", "Invalid payload")
        data, filename = await file.read(), file.filename
        try:
            path = await self._call("upload", lambda svc, who, _d: svc.upload(
                who, transaction_id, filename, file.content_type or "application/octet-stream", data, directory),
                principal, None)
        except ApiError as exc:
            return boom_response(exc.http_status, exc.code.replace("_", " ").title(), exc.message)
        return PlainTextResponse(str(path))

    # ---------------------------------------------------------------------------------- auth
    @staticmethod
    async def _payload(request: Request) -> dict[str, Any]:
        """A hapi payload: JSON or form-urlencoded; AuthFailure(400) for anything else."""
        content_type = request.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" in content_type or "multipart/form-data" in content_type:
            try:
                return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
            except Exception:
                raise AuthFailure(400, boom(400, "Bad Request", "Invalid request payload input")) from None
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise AuthFailure(400, boom(400, "Bad Request", "Invalid request payload JSON format")) from None
        if not isinstance(body, dict):
            raise AuthFailure(400, boom(400, "Bad Request", "Invalid request payload input"))
        return body

    async def token(self, request: Request) -> Response:
        """POST token: client_credentials from the payload or the query string (auth oauthToken/handler.ts)."""
        try:
            payload = await self._payload(request)
        except AuthFailure as exc:
            return _auth_failure(exc)
        params = {**dict(request.query_params), **{k: v for k, v in payload.items() if v}}
        if params.get("grant_type") != "client_credentials":
            return _auth_failure(AuthFailure(400, dict(INVALID_GRANT)))
        try:
            token = self.auth.client_token(_str(params.get("client_id")), _str(params.get("client_secret")))
        except AuthFailure as exc:
            return _auth_failure(exc)
        return JSONResponse({"access_token": token, "token_type": "Bearer"}, headers={"Cache-Control": "no-store"})

    async def _login_step(self, request: Request, path: str, key: str, step: Callable[[dict[str, Any]], Any],
                          *, limited: bool) -> Response:
        """One step of the user login: the gateway's rate limit on `key` (when limited), then the auth call."""
        try:
            body = await self._payload(request)
            if limited:
                self.auth.rate_limit(path, body.get(key), request.headers.get("authorization"))
            answer = step(body)
        except AuthFailure as exc:
            return _auth_failure(exc, gateway_own=exc.status == 402)
        return JSONResponse(answer)

    async def authenticate(self, request: Request, *, limited: bool = True) -> Response:
        """POST authenticate {username, password} -> {mobile, status, nonce}; the gateway limits per username."""
        return await self._login_step(
            request, "/auth/authenticate", "username",
            lambda body: self.auth.authenticate(body.get("username"), body.get("password")), limited=limited)

    async def verify_code(self, request: Request, *, limited: bool = True) -> Response:
        """POST verifyCode {nonce, code} -> {token}; the gateway limits per nonce."""
        return await self._login_step(
            request, "/auth/verifyCode", "nonce",
            lambda body: {"token": self.auth.verify_code(body.get("nonce"), body.get("code"))}, limited=limited)

    async def auth_unknown(self, _request: Request) -> Response:
        """Any other auth path: the auth service's 404."""
        return boom_response(404, "Not Found", "Not Found")

    async def ping(self, _request: Request) -> Response:
        """GET /ping on the gateway (features/healthCheck/handler.ts)."""
        return JSONResponse({"success": True})


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------------------------- ASGI plumbing
class GatewayHeaders:
    """ASGI wrapper: X-Version on every gateway response except the gateway's own (Boom) errors."""

    def __init__(self, app: ASGIApp, version: str) -> None:
        self.app, self.version = app, version.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != GATEWAY_OWN_ERROR.encode()]
                if len(headers) == len(message.get("headers", [])):
                    headers += [(b"access-control-expose-headers", b"X-Version"), (b"x-version", self.version)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_version)


class StripMarker:
    """ASGI wrapper for hosts that are not the gateway: drop the internal gateway-error marker."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_clean(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [(k, v) for k, v in message.get("headers", [])
                                                  if k != GATEWAY_OWN_ERROR.encode()]}
            await send(message)

        await self.app(scope, receive, send_clean)


def _rewrite(scope: Scope, path: str) -> Scope:
    return {**scope, "path": path, "raw_path": path.encode()}


class RegisterHost:
    """The register host's nginx: /api/auth -> auth service, /api/countryconfig -> config, /api -> gateway."""

    def __init__(self, gateway: ASGIApp, auth_service: ASGIApp, config: ASGIApp, web: ASGIApp) -> None:
        self.gateway, self.auth_service, self.config, self.web = gateway, auth_service, config, web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.web(scope, receive, send)
            return
        path: str = scope["path"]
        for prefix, app in (("/api/auth/", self.auth_service), ("/api/countryconfig/", self.config),
                            ("/api/", self.gateway)):
            if path.startswith(prefix):
                await app(_rewrite(scope, "/" + path[len(prefix):]), receive, send)
                return
        await self.web(scope, receive, send)


class PortDispatch:
    """The one ASGI app uvicorn serves on three sockets: each listening port is one host."""

    def __init__(self, hosts: dict[int, ASGIApp], default: ASGIApp, lifespan: ASGIApp) -> None:
        self.hosts, self.default, self.lifespan = hosts, default, lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        server = scope.get("server")
        port = server[1] if server else None
        await (self.hosts.get(port, self.default) if isinstance(port, int) else self.default)(scope, receive, send)


def spa_index(title: str) -> Callable[[Request], Awaitable[Response]]:
    """The register host's fallback for any other path: the web app's index page (200, HTML)."""
    async def index(_request: Request) -> Response:
        return HTMLResponse(f"<!doctype html><html><head><title>{title}</title></head>"
                            f'<body><div id="root"></div><a href="/">{title}</a></body></html>')
    return index


@dataclass
class SandboxApps:
    """The sandbox's hosts as ASGI apps, sharing one store, one auth and one record service."""

    api: Api
    gateway: ASGIApp
    register: ASGIApp
    config: ASGIApp

    def dispatch(self, *, gateway_port: int, register_port: int, config_port: int) -> ASGIApp:
        """One ASGI app for uvicorn: the host is chosen by the port a request came in on."""
        return PortDispatch({gateway_port: self.gateway, register_port: self.register, config_port: self.config},
                            default=self.gateway, lifespan=self.gateway)


def create_apps(settings: Settings) -> SandboxApps:
    """Build the gateway, register and country-config apps for one settings object."""
    api = Api(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        api.close()

    async def not_found(_request: Request) -> Response:
        return boom_response(404, "Not Found", "Not Found", gateway_own=True)

    gateway_routes = [
        Route("/ping", api.ping, methods=["GET"]),
        Route("/upload", api.upload, methods=["POST"]),
        Route("/auth/token", api.token, methods=["POST"]),
        Route("/auth/authenticate", api.authenticate, methods=["POST"]),
        Route("/auth/verifyCode", api.verify_code, methods=["POST"]),
        Route("/auth/{suffix}", api.auth_unknown, methods=["POST"]),
        Route("/events/{rest:path}", api.events, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/{other:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
    ]
    gateway_app = Starlette(routes=gateway_routes, lifespan=lifespan)
    gateway_app.state.api = api
    gateway = GatewayHeaders(gateway_app, settings.app_version)

    async def authenticate_unlimited(request: Request) -> Response:
        return await api.authenticate(request, limited=False)

    async def verify_code_unlimited(request: Request) -> Response:
        return await api.verify_code(request, limited=False)

    auth_service = StripMarker(Starlette(routes=[
        Route("/token", api.token, methods=["POST"]),
        Route("/authenticate", authenticate_unlimited, methods=["POST"]),
        Route("/verifyCode", verify_code_unlimited, methods=["POST"]),
        Route("/{other:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
    ]))

    async def config_ping(_request: Request) -> Response:
        return JSONResponse({"success": True})

    config = StripMarker(Starlette(routes=[
        Route("/ping", config_ping, methods=["GET"]),
        Route("/{other:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
    ]))

    from sandbox.web import create_web_app

    web = create_web_app(gateway, fallback=spa_index("CRVS sandbox"))
    register = RegisterHost(gateway, auth_service, config, web)
    return SandboxApps(api=api, gateway=gateway, register=register, config=config)


_COUNTED_PREFIXES = ("/events/", "/api/events/", "/auth/", "/api/auth/", "/upload", "/api/upload")


class CrashAfter:
    """ASGI wrapper: the process exits abruptly once N API requests have been answered (--crash-after)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit, self.count, self.dying = app, limit, 0, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        counted = scope["type"] == "http" and scope["path"].startswith(_COUNTED_PREFIXES)
        if counted and self.dying:
            os._exit(3)
        await self.app(scope, receive, send)
        if counted:
            self.count += 1
            if self.count >= self.limit and not self.dying:
                self.dying = True
                sys.stderr.write(f"sandbox: crashing on purpose after {self.count} API requests\n")
                sys.stderr.flush()
                asyncio.get_running_loop().call_later(0.05, os._exit, 3)


class FaultTiming:
    """ASGI wrapper for --slowdown and --tail: it times the whole request, holds the response for what the faults
    add (`fault_delay`), and a `Server-Timing: app;dur=MS, fault;dur=MS` header tells the caller how long the
    server took before the fault and how long the fault held it (W3C Server Timing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        calls: list[TimedCall] = []
        token = _TIMED_CALLS.set(calls)
        started = time.perf_counter()

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start" and any(c.faulted for c in calls):
                request_s = time.perf_counter() - started
                extra, waited = fault_delay(calls, request_s), 0.0
                if extra > 0:
                    held = time.perf_counter()
                    await asyncio.sleep(extra)
                    waited = time.perf_counter() - held  # what was waited, overshoot included
                value = f"app;dur={request_s * 1000:.2f}, fault;dur={waited * 1000:.2f}".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", value)]}
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            _TIMED_CALLS.reset(token)


def wrap_faults(app: ASGIApp, faults: Faults) -> ASGIApp:
    """The ASGI app uvicorn serves: the app, with Server-Timing when faults are timed, behind --crash-after if set."""
    if faults.timed:
        app = FaultTiming(app)
    return CrashAfter(app, faults.crash_after) if faults.crash_after else app
