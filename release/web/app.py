"""The change-board web app: server-rendered pages (Starlette + Jinja2), logins, CSRF-guarded decision forms.

Every decision goes through the same workflow service as `release approve` / `release sign-off`, so roles,
separation of duties and quorum are checked by the one rule function and land in the same audit chain.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from release.errors import DecisionRefused, InputError, ReleaseError
from release.web import board
from release.web.accounts import authenticate
from release.web.security import SESSION_COOKIE, LoginLimiter, SessionStore, WebSession

SECRET_ENV = "RELEASE_SERVE_SECRET"
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HSTS = "max-age=31536000; includeSubDomains"


@dataclass
class ServeSettings:
    """How the app runs: where the project is, the session secret and whether cookies need HTTPS."""

    project: Any  # a release.workflow.context.Context, opened once at start
    secret: str
    secure_cookies: bool = True


@lru_cache(maxsize=1)
def _templates() -> SandboxedEnvironment:
    return SandboxedEnvironment(loader=PackageLoader("release.web", "templates"),
                                autoescape=select_autoescape(["html", "html.j2"]), undefined=StrictUndefined,
                                trim_blocks=True, lstrip_blocks=True)


def session_secret(environ: dict[str, str]) -> str:
    """RELEASE_SERVE_SECRET when set (at least 32 characters), else a random key for this start."""
    configured = environ.get(SECRET_ENV, "")
    if configured:
        if len(configured) < 32:
            raise InputError(f"{SECRET_ENV} must be at least 32 characters")
        return configured
    return secrets.token_urlsafe(48)


def create_app(settings: ServeSettings) -> Starlette:
    """Build the Starlette app around one opened project."""
    sessions = SessionStore(settings.secret)
    limiter = LoginLimiter()
    lock = threading.Lock()  # one ledger/git operation at a time: the board is low-traffic, git is not threadsafe
    from release.notify import BackgroundDeliverer

    notifier = BackgroundDeliverer(settings.project.ledger, settings.project.config.notify,
                                   settings.project.environ)

    async def work(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def locked() -> Any:
            with lock:
                return fn(*args, **kwargs)
        return await run_in_threadpool(locked)

    def page(request: Request, name: str, code: int = 200, *, sess: WebSession | None = None,
             **values: Any) -> HTMLResponse:
        flash, logout = None, ""
        if sess is not None:
            flash, sess.flash = sess.flash, None
            if sess.email:
                logout = sessions.issue_form_token(sess, "logout")
        html = _templates().get_template(name).render(user=sess.email if sess else None,
                                                      role=sess.role if sess else None, flash=flash,
                                                      logout_token=logout, **values)
        return HTMLResponse(html, status_code=code)

    def set_cookie(response: Response, value: str) -> None:
        response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="strict", secure=settings.secure_cookies,
                            path="/")

    def current(request: Request) -> WebSession | None:
        return sessions.get(request.cookies.get(SESSION_COOKIE))

    async def logged_in(request: Request) -> WebSession | None:
        """The session of an enabled account, or None (a disabled account's sessions end here)."""
        sess = current(request)
        if sess is None or sess.email is None:
            return None
        user = await work(settings.project.ledger.get_web_user, sess.email)
        if user is None or user.disabled:
            sessions.end_for(sess.email)
            return None
        sess.role = user.role
        return sess

    def to_login(request: Request) -> Response:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    def refuse(request: Request, status: int, message: str, sess: WebSession | None = None) -> HTMLResponse:
        return page(request, "error.html.j2", status, sess=sess, status=status, message=message)

    def same_origin(request: Request) -> bool:
        """Browsers send Origin on POST; when present it must be this server."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        return urlsplit(origin).netloc == request.headers.get("host", "")

    # ----- routes -----------------------------------------------------------------------------------

    async def login_form(request: Request) -> Response:
        sess = current(request)
        if sess is not None and sess.email is not None:
            return RedirectResponse("/", status_code=303)
        cookie = None
        if sess is None:
            sess, cookie = sessions.new()
        token = sessions.issue_form_token(sess, "login")
        response = page(request, "login.html.j2", sess=sess, csrf_token=token,
                        next=_safe_next(request.query_params.get("next")), email="")
        if cookie:
            set_cookie(response, cookie)
        return response

    async def login(request: Request) -> Response:
        sess = current(request)
        form = await request.form()
        email = str(form.get("email", "")).strip().lower()
        password = str(form.get("password", ""))
        if not same_origin(request) or not sessions.spend_form_token(sess, str(form.get("csrf_token", "")), "login"):
            return refuse(request, 403, "This form has expired or was already used. Reload the login page.")
        assert sess is not None
        address = request.client.host if request.client else "?"
        refusal = limiter.refusal(email, address)
        if refusal is not None:
            # The form token is spent: the next try needs a fresh login page, as after a wrong password.
            who = "this account" if refusal == "account" else "your address"
            limited = refuse(request, 429, f"Too many failed logins for {who}. Try again in 15 minutes.", sess)
            limited.headers["Retry-After"] = str(int(limiter.window_s))  # an upper bound: the whole window
            return limited
        user = await work(authenticate, settings.project.ledger, email, password)
        if user is None:
            limiter.failed(email, address)
            token = sessions.issue_form_token(sess, "login")
            sess.flash = ("error", "Wrong e-mail or password, or the account is disabled.")
            return page(request, "login.html.j2", 401, sess=sess, csrf_token=token,
                        next=_safe_next(str(form.get("next", ""))), email=email)
        limiter.succeeded(email, address)
        _, cookie = sessions.login(sess, user.email, user.role)
        response = RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)
        set_cookie(response, cookie)
        return response

    async def logout(request: Request) -> Response:
        sess = current(request)
        form = await request.form()
        if sess is None or not sessions.spend_form_token(sess, str(form.get("csrf_token", "")), "logout"):
            return refuse(request, 403, "This form has expired or was already used.")
        sessions.end(sess)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                               secure=settings.secure_cookies)
        return response

    async def index(request: Request) -> Response:
        sess = await logged_in(request)
        if sess is None:
            return to_login(request)
        rows = await work(board.release_rows, settings.project)
        return page(request, "releases.html.j2", sess=sess, releases=rows)

    async def release_page(request: Request) -> Response:
        sess = await logged_in(request)
        if sess is None:
            return to_login(request)
        version = request.path_params["version"]
        try:
            view = await work(board.release_view, settings.project, version, sess.email or "", sess.role or "")
        except ReleaseError as exc:
            return refuse(request, 404 if isinstance(exc, InputError) else 400, str(exc), sess)
        forms = [dict(f, csrf_token=sessions.issue_form_token(sess, _purpose(version, f["gate"], f["action"])))
                 for f in view["forms"]]
        history = await work(board.record_versions, settings.project, version)
        return page(request, "release.html.j2", sess=sess, view=view, forms=forms, history=history)

    async def record_page(request: Request) -> Response:
        sess = await logged_in(request)
        if sess is None:
            return to_login(request)
        version, n = request.path_params["version"], request.path_params["n"]
        try:
            view = await work(board.record_version_view, settings.project, version, int(n))
        except ReleaseError as exc:
            return refuse(request, 404 if isinstance(exc, InputError) else 400, str(exc), sess)
        return page(request, "record.html.j2", sess=sess, view=view)

    async def report_file(request: Request) -> Response:
        sess = await logged_in(request)
        if sess is None:
            return to_login(request)
        version, fmt = request.path_params["version"], request.path_params["fmt"]
        if fmt not in ("html", "md", "pdf"):
            return refuse(request, 404, f"no report format {fmt!r}; use html, md or pdf", sess)
        try:
            body, media = await work(board.report_bytes, settings.project, version, fmt)
        except ReleaseError as exc:
            return refuse(request, 404 if isinstance(exc, InputError) else 400, str(exc), sess)
        name = f"change-record-{version}.{fmt}"
        return Response(body, media_type=media, headers={"Content-Disposition": f'inline; filename="{name}"'})

    async def decide(request: Request) -> Response:
        sess = await logged_in(request)
        form = await request.form()
        if sess is None:
            return refuse(request, 401, "Log in first: only change-board accounts may record decisions.")
        version = request.path_params["version"]
        gate, action = str(form.get("gate", "")), str(form.get("action", ""))
        token = str(form.get("csrf_token", ""))
        confirmed = form.get("confirm") == "yes"
        # confirm=yes counts only with the token the confirmation page issued: the second step is the server's.
        purpose = _purpose(version, gate, action) + (":confirm" if confirmed else "")
        if not same_origin(request) or not sessions.spend_form_token(sess, token, purpose):
            return refuse(request, 403, "This form has expired or was already used. Reload the page and "
                                        "decide again.", sess)
        fields: dict[str, Any] = {"candidate_sha": str(form.get("candidate_sha", "")),
                                  "report_hash": str(form.get("report_hash", "")), "comment": str(form.get("comment", ""))}
        try:
            message = await work(board.decide, settings.project, version, action=action, gate=gate,
                                 actor=sess.email or "", account_role=sess.role or "",
                                 confirmed=confirmed, **fields)
        except board.ConfirmationNeeded as exc:
            # The second step is a new form with its own one-time token: a replayed first POST cannot confirm.
            token = sessions.issue_form_token(sess, _purpose(version, gate, action) + ":confirm")
            return page(request, "confirm.html.j2", sess=sess, version=version, gate=gate, action=action,
                        message=str(exc), failed=exc.failed, csrf_token=token, **fields)
        except board.StalePage as exc:
            return refuse(request, 409, str(exc), sess)
        except DecisionRefused as exc:
            return refuse(request, 403, str(exc), sess)
        except ReleaseError as exc:
            return refuse(request, 400, str(exc), sess)
        sess.flash = ("info", message)
        notifier.kick()  # the decision's outbox rows are committed; a receiver's answer is not awaited here
        return RedirectResponse(f"/releases/{quote(version)}", status_code=303)

    async def health(request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # no-referrer would make Chromium send Origin: null
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        if settings.secure_cookies:
            # Secure cookies mean the board is served over HTTPS (only --insecure-cookies serves plain-http
            # loopback), so browsers are told to use nothing else (RFC 6797; OWASP HTTP Headers Cheat Sheet).
            # A browser ignores the header on a plain-http response, so it never locks out a loopback board.
            response.headers["Strict-Transport-Security"] = HSTS
        return response

    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware

    routes = [
        Route("/", index),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/releases/{version}", release_page, methods=["GET"]),
        Route("/releases/{version}/report.{fmt}", report_file, methods=["GET"]),
        Route("/releases/{version}/records/{n:int}", record_page, methods=["GET"]),
        Route("/releases/{version}/decide", decide, methods=["POST"]),
        Route("/healthz", health),
    ]
    return Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=headers)])


def _purpose(version: str, gate: str, action: str) -> str:
    return f"decide:{version}:{gate}:{action}"


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
