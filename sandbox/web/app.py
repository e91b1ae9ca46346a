"""The sandbox web client: server-rendered pages that call the sandbox API in-process over its wire format."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from sandbox.web import forms, session
from sandbox.web.api import ApiError, SandboxApi
from sandbox.web.records import User, index_row, record_view

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "crvs_sandbox_web"
SESSION_MAX_AGE_SECONDS = 8 * 3600
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
}
STATUS_MESSAGES = {
    400: "The request was refused",
    403: "You are not allowed to do this",
    404: "Not found",
    402: "Too many attempts; wait a minute and try again",
    409: "The record is not in a state that allows this, or somebody else is working on it",
    429: "Too many attempts; wait a minute and try again",
}


RECORD_ACTIONS = ("assign", "validate", "register", "print")


# A 1x1 PNG: the "signature" the web client uploads for the review page (farajaland's form requires one).
SIGNATURE_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
# The choice listed first on the declare page (farajaland's e2e picks these).
PREFERRED_CHOICES = {"facility": "Klow Village Hospital", "area": "Klow"}


@dataclass(frozen=True)
class Choice:
    """One option of a select on the declare page."""

    value: str
    label: str
    kind: str = ""


def _choices(items: list[dict[str, Any]], kind: str) -> list[Choice]:
    """Options by name, the preferred one first."""
    found = [Choice(str(i["id"]), str(i.get("name") or i["id"]), kind) for i in items if isinstance(i.get("id"), str)]
    return sorted(found, key=lambda c: (c.label != PREFERRED_CHOICES.get(kind), c.label))


class LoginRequired(Exception):
    """The page needs a logged-in user."""


def _templates() -> SandboxedEnvironment:
    return SandboxedEnvironment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                                undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _api_message(exc: ApiError) -> str:
    """A one-line message for an API error, never a traceback."""
    base = STATUS_MESSAGES.get(exc.status, "The service could not complete the request")
    return f"{base}: {exc.message}" if exc.message and exc.message != base else base


def _transaction_id(form: Any, key: str) -> str:
    """The form's transaction ID if it is a UUID (so a resubmitted form is not applied twice), else a new one."""
    value = form.get(key)
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else str(uuid.uuid4())
    except ValueError:
        return str(uuid.uuid4())


class WebClient:
    """Routes and rendering; holds the API app it talks to."""

    def __init__(self, api_app: ASGIApp) -> None:
        self.api_app = api_app
        self.env = _templates()
        # user id -> username of everyone who logged in here, so the history can name its actors
        self.usernames: dict[str, str] = {}

    # -- helpers ---------------------------------------------------------------------------------------
    def api(self, request: Request, *, anonymous: bool = False) -> SandboxApi:
        token = None if anonymous else request.session.get("token")
        return SandboxApi(self.api_app, token if isinstance(token, str) else None)

    def render(self, request: Request, template: str, status_code: int = 200, *, keep_flashes: bool = False,
               **context: Any) -> HTMLResponse:
        """A page; `keep_flashes` leaves pending messages for the next page (one that forwards at once)."""
        flashes = [] if keep_flashes else session.pop_flashes(request)
        context.setdefault("user", session.current_user(request))
        html = self.env.get_template(template).render(
            csrf_token=session.csrf_token(request), csrf_field=session.CSRF_FIELD,
            flash_errors=[m for k, m in flashes if k == "error"],
            flash_infos=[m for k, m in flashes if k == "info"], **context)
        return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)

    @staticmethod
    def redirect(url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})

    @staticmethod
    def require_user(request: Request) -> User:
        user = session.current_user(request)
        if user is None:
            raise LoginRequired
        return user

    async def checked_form(self, request: Request) -> Any:
        """The POSTed form, or None when it lacks the session's CSRF token."""
        form = await request.form()
        return form if session.csrf_ok(request, form) else None

    def csrf_refused(self, request: Request) -> HTMLResponse:
        session.flash(request, "error", "This form has expired or did not come from this site. "
                                        "Reload the page and try again.")
        return self.render(request, "error.html", 403, title="Refused")

    # -- error handlers ------------------------------------------------------------------------------
    async def on_login_required(self, request: Request, exc: Exception) -> Response:
        session.flash(request, "info", "Please log in.")
        return self.redirect("/login")

    async def on_api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        if exc.status == 401:
            request.session.clear()
            session.flash(request, "info", "Your session has ended. Please log in again.")
            return self.redirect("/login")
        session.flash(request, "error", _api_message(exc))
        status = exc.status if exc.status in STATUS_MESSAGES else 502
        return self.render(request, "error.html", status, title="Error")

    # -- login -----------------------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        if session.current_user(request) is not None:
            return self.redirect("/")
        if request.method == "GET":
            return self.render(request, "login.html", user=None, username="")
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        if not username or not password:
            session.flash(request, "error", "Enter your username and password.")
            return self.render(request, "login.html", 400, user=None, username=username)
        try:
            async with self.api(request, anonymous=True) as api:
                nonce = await api.authenticate(username, password)
        except ApiError as exc:
            message = "Wrong username or password." if exc.status in (400, 401) else _api_message(exc)
            session.flash(request, "error", message)
            return self.render(request, "login.html", exc.status if exc.status < 500 else 502,
                               user=None, username=username)
        request.session["login"] = {"nonce": nonce, "username": username}
        return self.redirect("/login/code")

    async def login_code(self, request: Request) -> Response:
        pending = request.session.get("login")
        if not isinstance(pending, dict) or not pending.get("nonce"):
            return self.redirect("/login")
        if request.method == "GET":
            return self.render(request, "login_code.html", user=None)
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        code = str(form.get("code", "")).strip()
        try:
            async with self.api(request, anonymous=True) as api:
                token = await api.verify_code(str(pending["nonce"]), code)
        except ApiError as exc:
            message = "Wrong code." if exc.status in (400, 401) else _api_message(exc)
            session.flash(request, "error", message)
            return self.render(request, "login_code.html", exc.status if exc.status < 500 else 502, user=None)
        username = str(pending.get("username", ""))
        user = session.user_from_token(token, username)
        if user is None:
            session.flash(request, "error", "The login service answered with a token this client cannot read.")
            return self.render(request, "login_code.html", 502, user=None)
        session.log_in(request, token, username)
        self.usernames[user.user_id] = username
        return self.redirect("/")

    async def logout(self, request: Request) -> Response:
        if request.method == "GET":
            return self.render(request, "logout.html", title="Log out")
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        request.session.clear()
        session.flash(request, "info", "You are logged out.")
        return self.redirect("/login")

    # -- pages -----------------------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        if session.current_user(request) is None:
            # packages/client/nginx.conf answers `/` with the web app's index.html (200) and the app then sends an
            # anonymous visitor to the login; here the index page does that with a meta refresh and a link.
            session.flash(request, "info", "Please log in.")
            return self.render(request, "welcome.html", keep_flashes=True, title="Welcome")
        async with self.api(request) as api:
            results, total = await api.search(forms.workqueue_input())
        return self.render(request, "home.html", rows=[index_row(r) for r in results], total=total)

    async def _declare_choices(self, request: Request) -> tuple[list[Choice], list[Choice]]:
        """The health facilities and the leaf administrative areas the declare page offers."""
        async with self.api(request) as api:
            facilities = await api.locations("HEALTH_FACILITY")
            areas = await api.administrative_areas()
        parents = {a.get("parentId") for a in areas}
        return _choices(facilities, "facility"), _choices([a for a in areas if a.get("id") not in parents], "area")

    async def declare_birth(self, request: Request) -> Response:
        self.require_user(request)
        facilities, areas = await self._declare_choices(request)
        defaults = {"child_birth_location": facilities[0].value if facilities else "",
                    "mother_area": areas[0].value if areas else ""}
        if request.method == "GET":
            return self.render_declare(request, forms.blank_birth_form(defaults), facilities, areas)
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        values = forms.birth_form_values(form, defaults)
        create_tx = _transaction_id(form, "create_transaction_id")
        declare_tx = _transaction_id(form, "declare_transaction_id")
        bad_choice = tuple(f for f, key, allowed in (
            ("child.gender", "child_gender", forms.GENDERS),
            ("informant.relation", "informant_relation", forms.INFORMANT_RELATIONS))
            if values[key] and values[key] not in allowed)
        again = (facilities, areas)
        if bad_choice:
            session.flash(request, "error", forms.field_error_message(bad_choice, "Choose one of the options."))
            return self.render_declare(request, values, *again, 400, bad_choice, create_tx, declare_tx)
        try:
            async with self.api(request) as api:
                created = await api.mutation("event.create", {"transactionId": create_tx, "type": "birth"})
                event_id = str(created["id"])
                signature = await api.upload("signature.png", "image/png", SIGNATURE_PNG)
                declared = await api.mutation("event.actions.declare.request", {
                    "eventId": event_id, "transactionId": declare_tx,
                    "declaration": forms.birth_declaration(values),
                    "annotation": {"review.comment": values["review_comment"], "review.signature": signature}})
        except ApiError as exc:
            if exc.status == 401:
                raise
            message = (forms.field_error_message(exc.fields, exc.message) if exc.status == 400
                       else _api_message(exc))
            session.flash(request, "error", message)
            status = exc.status if exc.status in STATUS_MESSAGES else 502
            return self.render_declare(request, values, *again, status, exc.fields, create_tx, declare_tx)
        except (KeyError, TypeError):
            session.flash(request, "error", "The API answered event.create in an unexpected format.")
            return self.render_declare(request, values, *again, 502, (), create_tx, declare_tx)
        tracking = declared.get("trackingId", "") if isinstance(declared, dict) else ""
        session.flash(request, "info", f"Birth declared. Tracking ID {tracking}.")
        return self.redirect(f"/records/{quote(event_id, safe='')}")

    def render_declare(self, request: Request, values: dict[str, str], facilities: list[Choice],
                       areas: list[Choice], status_code: int = 200, fields: tuple[str, ...] = (),
                       create_tx: str | None = None, declare_tx: str | None = None) -> HTMLResponse:
        return self.render(request, "declare_birth.html", status_code, values=values,
                           invalid=forms.invalid_inputs(fields), genders=forms.GENDERS,
                           relations=forms.INFORMANT_RELATIONS, facilities=facilities, areas=areas,
                           create_tx=create_tx or str(uuid.uuid4()), declare_tx=declare_tx or str(uuid.uuid4()))

    async def record(self, request: Request) -> Response:
        user = self.require_user(request)
        event_id = request.path_params["event_id"]
        async with self.api(request) as api:
            document = await api.get_event(event_id)
        return self.render(request, "record.html", record=record_view(document, user, self.usernames),
                           transaction_id=str(uuid.uuid4()))

    async def record_action(self, request: Request) -> Response:
        user = self.require_user(request)
        event_id, action = request.path_params["event_id"], request.path_params["action"]
        if action not in RECORD_ACTIONS:
            session.flash(request, "error", "There is no such action.")
            return self.render(request, "error.html", 404, title="Not found")
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        tx = _transaction_id(form, "transaction_id")
        try:
            async with self.api(request) as api:
                view = record_view(await api.get_event(event_id), user)
                if action == "assign":
                    await api.mutation("event.actions.assignment.assign", {
                        "type": "ASSIGN", "eventId": event_id, "transactionId": tx, "assignedTo": user.user_id})
                    session.flash(request, "info", "Assigned to you.")
                elif view.assigned_to != user.user_id:
                    session.flash(request, "error", "Assign the record to yourself first.")
                elif action == "validate":
                    await api.mutation("event.actions.custom.request", {
                        "type": "CUSTOM", "customActionType": "VALIDATE_DECLARATION", "eventId": event_id,
                        "transactionId": tx, "declaration": {}, "annotation": {}})
                    session.flash(request, "info", "Declaration validated.")
                elif action == "register":
                    document = await api.mutation("event.actions.register.request", {
                        "type": "REGISTER", "eventId": event_id, "transactionId": tx, "declaration": {},
                        "annotation": {}})
                    number = record_view(document, user).registration_number
                    session.flash(request, "info", f"Registered. Registration number {number}." if number
                                  else "Registration requested; the number follows once it is accepted.")
                else:
                    await api.mutation("event.actions.printCertificate.request", {
                        "type": "PRINT_CERTIFICATE", "eventId": event_id, "transactionId": tx,
                        "declaration": {}, "annotation": {}})
                    session.flash(request, "info", "Certificate printed.")
        except ApiError as exc:
            if exc.status in (401, 404):
                raise  # the login page, or the not-found page rather than a record page that cannot load
            session.flash(request, "error", _api_message(exc))
        return self.redirect(f"/records/{quote(event_id, safe='')}")

    async def search(self, request: Request) -> Response:
        self.require_user(request)
        form = forms.SearchForm.from_params(request.query_params)
        submitted = any(k in request.query_params for k in ("name", "dob", "tracking_id", "registration_number"))
        rows, total, status = None, 0, 200
        if submitted and form.is_empty:
            session.flash(request, "error", "Enter a name, date of birth, tracking ID or registration number.")
            status = 400
        elif not form.is_empty:
            try:
                async with self.api(request) as api:
                    results, total = await api.search(forms.search_input(form))
                rows = [index_row(r) for r in results]
            except ApiError as exc:
                if exc.status == 401:
                    raise
                message = (forms.search_error_message(exc.fields, exc.message) if exc.status == 400
                           else _api_message(exc))
                session.flash(request, "error", message)
                status = exc.status if exc.status in STATUS_MESSAGES else 502
        return self.render(request, "search.html", status, form=form, rows=rows, total=total)


def create_web_app(api_app: ASGIApp, *, secret_key: str | None = None,
                   fallback: Callable[[Request], Awaitable[Response]] | None = None) -> Starlette:
    """The web client at `/`, calling `api_app` (the gateway) in-process over the wire format.

    `fallback` answers GET on any other path (the register host's SPA index). Without a secret key, sessions are
    signed with a random key and end when the process ends.
    """
    client = WebClient(api_app)
    routes = [
        Route("/", client.home, methods=["GET"]),
        Route("/login", client.login, methods=["GET", "POST"]),
        Route("/login/code", client.login_code, methods=["GET", "POST"]),
        Route("/logout", client.logout, methods=["GET", "POST"]),
        Route("/declare/birth", client.declare_birth, methods=["GET", "POST"]),
        Route("/records/{event_id}", client.record, methods=["GET"]),
        Route("/records/{event_id}/{action:str}", client.record_action, methods=["POST"]),
        Route("/search", client.search, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    if fallback is not None:
        routes.append(Route("/{other:path}", fallback, methods=["GET", "HEAD"]))
    middleware = [Middleware(SessionMiddleware, secret_key=secret_key or secrets.token_urlsafe(32),
                             session_cookie=SESSION_COOKIE, max_age=SESSION_MAX_AGE_SECONDS,
                             same_site="lax", https_only=False)]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={
        LoginRequired: client.on_login_required, ApiError: client.on_api_error})
