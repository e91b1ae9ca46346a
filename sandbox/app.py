"""The Starlette app: tRPC and REST event APIs, auth, version, fault injection and the web client."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.auth import Auth, Principal
from sandbox.domain import ActionType
from sandbox.errors import ApiError, BadRequest, InjectedFault, NotFound
from sandbox.faults import Faults
from sandbox.service import RecordService
from sandbox.settings import Settings
from sandbox.storage import Store

log = logging.getLogger("sandbox")

Handler = Callable[[RecordService, Principal, Any], dict[str, Any]]


def _action(kind: ActionType) -> Handler:
    return lambda svc, who, data: svc.apply_action(who, kind, data)


# procedure -> (accepts GET as a query, handler)
PROCEDURES: dict[str, tuple[bool, Handler]] = {
    "event.create": (False, lambda svc, who, data: svc.create_event(who, data)),
    "event.get": (True, lambda svc, who, data: svc.get_event(who, data)),
    "event.search": (True, lambda svc, who, data: svc.search(who, data)),
    "event.actions.notify.request": (False, _action(ActionType.NOTIFY)),
    "event.actions.declare.request": (False, _action(ActionType.DECLARE)),
    "event.actions.validate.request": (False, _action(ActionType.VALIDATE)),
    "event.actions.register.request": (False, _action(ActionType.REGISTER)),
    "event.actions.reject.request": (False, _action(ActionType.REJECT)),
    "event.actions.archive.request": (False, _action(ActionType.ARCHIVE)),
    "event.actions.printCertificate.request": (False, _action(ActionType.PRINT_CERTIFICATE)),
    "event.actions.assignment.assign": (False, _action(ActionType.ASSIGN)),
    "event.actions.assignment.unassign": (False, _action(ActionType.UNASSIGN)),
}


class MethodNotSupported(ApiError):
    """A mutation was called with GET."""

    code, http_status, rpc_code = "METHOD_NOT_SUPPORTED", 405, -32005


def _trpc_error(exc: ApiError, path: str) -> dict[str, Any]:
    return {"error": {"json": {"message": exc.message, "code": exc.rpc_code,
                               "data": {"code": exc.code, "httpStatus": exc.http_status, "path": path,
                                        "fields": exc.fields}}}}


def _rest_error(exc: ApiError) -> JSONResponse:
    return JSONResponse({"message": exc.message, "code": exc.code, "fields": exc.fields,
                         "statusCode": exc.http_status}, status_code=exc.http_status)


class Api:
    """Request handlers bound to one server's settings, store and auth."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.faults: Faults = settings.faults
        self.store = Store(settings.db_url, read_pool_size=settings.read_pool_size)
        self.store.create_schema()
        self.auth = Auth(settings)
        self.service = RecordService(self.store, self.faults)

    # ---------------------------------------------------------------------------------- faults
    async def _inject(self, procedure: str) -> None:
        delay = self.faults.latency_for(procedure)
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)
        rate = self.faults.error_rate_for(procedure)
        if rate > 0 and random.random() < rate:
            raise InjectedFault(f"injected fault in {procedure}")

    async def _call(self, procedure: str, handler: Handler, principal: Principal, data: Any) -> dict[str, Any]:
        await self._inject(procedure)
        try:
            return await run_in_threadpool(handler, self.service, principal, data)
        except ApiError:
            raise
        except Exception as exc:  # an unexpected failure must still answer in the wire format
            log.exception("internal error in %s", procedure)
            raise ApiError("internal server error") from exc

    # ---------------------------------------------------------------------------------- tRPC
    async def trpc(self, request: Request) -> Response:
        """/events/<procedure>[,<procedure>...] with batch=1 (or a single non-batch call)."""
        names = request.path_params["procedures"].split(",")
        batch = request.query_params.get("batch") == "1"
        try:
            inputs = await self._trpc_inputs(request, names, batch)
        except ApiError as exc:
            return self._trpc_response([(exc.http_status, _trpc_error(exc, names[0]))], batch=True)
        outcomes: list[tuple[int, dict[str, Any]]] = []
        principal: Principal | None = None
        for name, data in zip(names, inputs, strict=True):
            try:
                entry = PROCEDURES.get(name)
                if entry is None:
                    raise NotFound(f'no procedure "{name}"')
                if request.method == "GET" and not entry[0]:
                    raise MethodNotSupported(f"{name} is a mutation; use POST")
                if principal is None:
                    principal = self.auth.verify(request.headers.get("authorization"))
                result = await self._call(name, entry[1], principal, data)
                outcomes.append((200, {"result": {"data": {"json": result}}}))
            except ApiError as exc:
                outcomes.append((exc.http_status, _trpc_error(exc, name)))
        return self._trpc_response(outcomes, batch=batch)

    @staticmethod
    def _trpc_response(outcomes: list[tuple[int, dict[str, Any]]], *, batch: bool) -> Response:
        statuses = {status for status, _ in outcomes}
        status = statuses.pop() if len(statuses) == 1 else 207
        body: Any = [body for _, body in outcomes] if batch else outcomes[0][1]
        return JSONResponse(body, status_code=status)

    async def _trpc_inputs(self, request: Request, names: list[str], batch: bool) -> list[Any]:
        if request.method == "GET":
            raw = request.query_params.get("input")
            if raw is None:
                raise BadRequest('missing "input" query parameter', fields=["input"])
        else:
            raw = (await request.body()).decode("utf-8", errors="replace")
        try:
            envelope = json.loads(raw)
        except ValueError:
            raise BadRequest("input is not valid JSON", fields=["input"]) from None
        if not batch:
            if len(names) != 1:
                raise BadRequest("several procedures need batch=1", fields=["batch"])
            return [self._unwrap(envelope, "input")]
        if not isinstance(envelope, dict):
            raise BadRequest('batch input must be an object {"0": {"json": ...}}', fields=["input"])
        return [self._unwrap(envelope.get(str(i)), str(i)) for i in range(len(names))]

    @staticmethod
    def _unwrap(item: Any, where: str) -> Any:
        if item is None:
            raise BadRequest(f'batch input has no "{where}" entry', fields=[where])
        if not isinstance(item, dict) or "json" not in item:
            raise BadRequest(f'input "{where}" must be {{"json": <input>}}', fields=[f"{where}.json"])
        return item["json"]

    # ---------------------------------------------------------------------------------- REST
    async def _rest(self, request: Request, procedure: str, handler: Callable[[Principal, Any], dict[str, Any]],
                    with_body: bool = True) -> Response:
        try:
            principal = self.auth.verify(request.headers.get("authorization"))
            data: Any = None
            if with_body:
                try:
                    data = json.loads(await request.body())
                except ValueError:
                    raise BadRequest("body is not valid JSON", fields=["body"]) from None
            result = await self._call(procedure, lambda _svc, who, body: handler(who, body), principal, data)
            return JSONResponse(result)
        except ApiError as exc:
            return _rest_error(exc)

    async def rest_create(self, request: Request) -> Response:
        """POST /api/events/events."""
        return await self._rest(request, "event.create", self.service.create_event)

    async def rest_get(self, request: Request) -> Response:
        """GET /api/events/events/{eventId}."""
        event_id = request.path_params["event_id"]
        return await self._rest(request, "event.get", lambda who, _b: self.service.get_event(who, event_id),
                                with_body=False)

    async def rest_notify(self, request: Request) -> Response:
        """POST /api/events/events/{eventId}/notify."""
        event_id = request.path_params["event_id"]
        return await self._rest(request, "event.actions.notify.request",
                                lambda who, body: self.service.apply_action(who, ActionType.NOTIFY, body, event_id))

    async def rest_search(self, request: Request) -> Response:
        """POST /api/events/events/search."""
        return await self._rest(request, "event.search", self.service.search)

    # ---------------------------------------------------------------------------------- auth
    async def token(self, request: Request) -> Response:
        """POST /auth/token (client_credentials; query string or form)."""
        params = dict(request.query_params)
        if request.method == "POST":
            content_type = request.headers.get("content-type", "")
            if "application/x-www-form-urlencoded" in content_type or "multipart/form-data" in content_type:
                params.update({k: str(v) for k, v in (await request.form()).items()})
            elif "json" in content_type:
                try:
                    body = json.loads(await request.body() or b"{}")
                except ValueError:
                    return _rest_error(BadRequest("body is not valid JSON"))
                if isinstance(body, dict):
                    params.update({k: str(v) for k, v in body.items()})
        if params.get("grant_type") != "client_credentials":
            return _rest_error(BadRequest("grant_type must be client_credentials", fields=["grant_type"]))
        try:
            token = self.auth.client_token(params.get("client_id"), params.get("client_secret"))
        except ApiError as exc:
            return _rest_error(exc)
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": self.settings.token_ttl})

    async def _json_body(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise BadRequest("body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        return body

    async def authenticate(self, request: Request) -> Response:
        """POST /auth/authenticate {username, password} -> {nonce, mobile, status}."""
        try:
            body = await self._json_body(request)
            nonce, user = self.auth.authenticate(body.get("username"), body.get("password"))
        except ApiError as exc:
            return _rest_error(exc)
        return JSONResponse({"nonce": nonce, "mobile": user.mobile, "status": "active"})

    async def verify_code(self, request: Request) -> Response:
        """POST /auth/verifyCode {nonce, code} -> {token}."""
        try:
            body = await self._json_body(request)
            token = self.auth.verify_code(body.get("nonce"), body.get("code"))
        except ApiError as exc:
            return _rest_error(exc)
        return JSONResponse({"token": token})

    async def version(self, _request: Request) -> Response:
        """GET /api/version."""
        return JSONResponse({"version": self.settings.app_version, "commit": self.settings.app_commit})

    async def ping(self, _request: Request) -> Response:
        """GET /ping."""
        return JSONResponse({"status": "ok"})


_COUNTED_PREFIXES = ("/events/", "/api/events/", "/auth/")


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


def create_app(settings: Settings) -> Starlette:
    """Build the sandbox ASGI app for one settings object."""
    api = Api(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        api.store.dispose()

    routes = [
        Route("/ping", api.ping, methods=["GET"]),
        Route("/api/version", api.version, methods=["GET"]),
        Route("/auth/token", api.token, methods=["POST", "GET"]),
        Route("/auth/authenticate", api.authenticate, methods=["POST"]),
        Route("/auth/verifyCode", api.verify_code, methods=["POST"]),
        Route("/api/events/events/search", api.rest_search, methods=["POST"]),
        Route("/api/events/events", api.rest_create, methods=["POST"]),
        Route("/api/events/events/{event_id}/notify", api.rest_notify, methods=["POST"]),
        Route("/api/events/events/{event_id}", api.rest_get, methods=["GET"]),
        Route("/events/{procedures}", api.trpc, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.api = api
    from sandbox.web import create_web_app

    app.router.routes.append(Mount("/", app=create_web_app(app)))
    return app


def wrap_faults(app: ASGIApp, faults: Faults) -> ASGIApp:
    """The ASGI app uvicorn serves: the app, behind --crash-after if set."""
    return CrashAfter(app, faults.crash_after) if faults.crash_after else app
