"""The REST API of ``holter cloud serve`` (FastAPI; OpenAPI document at /openapi.json).

Authentication, either of:

* ``Authorization: Bearer hol_...``: an API token (``holter cloud serve
  --create-token NAME`` prints one, once); no CSRF token needed.
* the dashboard's session cookie (``POST /api/v1/session``), HttpOnly and
  SameSite=Strict; every request that changes something must also carry the
  session's CSRF token in the ``X-CSRF-Token`` header (the pages' fetch calls do).

Scoping: see :mod:`cloud._views` (other sites' data is a 404, not a 403).
Errors: 401 without valid credentials, 403 for a missing CSRF header, 404 for
what the caller may not see, 400 / 422 for bad input (the message names the
parameter), 503 when the database is unreachable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cloud._auth import Session, sign_session, verify_session
from cloud._exceptions import StoreUnavailableError
from cloud._fhir import alert_bundle, report_bundle
from cloud._review_store import MAX_COMMENT_CHARS, ReviewStore, User
from cloud._views import NotFound, Views

SESSION_COOKIE = "holter_session"
CSRF_HEADER = "X-CSRF-Token"
FHIR_JSON = "application/fhir+json"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuthError(Exception):
    """No valid credentials (401), or a cookie request without its CSRF token (403)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


@dataclass
class Context:
    """What every request needs: the stores, the views and the cookie settings."""

    store: Any
    review: ReviewStore
    views: Views
    session_key: bytes
    secure_cookies: bool


@dataclass(frozen=True)
class Caller:
    """The authenticated user of a request and how it authenticated."""

    user: User
    session: Session | None  # None: API token


def context(request: Request) -> Context:
    return request.app.state.holter


def authenticate(request: Request, *, require_csrf: bool = True) -> Caller:
    """The caller of a request (token or session cookie); :class:`AuthError` if none."""
    ctx = context(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        user = ctx.review.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise AuthError(401, "invalid or revoked API token")
        return Caller(user, None)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = verify_session(ctx.session_key, cookie) if cookie else None
    user = ctx.review.get_user(session.user) if session is not None else None
    if session is None or user is None or user.disabled:
        raise AuthError(401, "not signed in: log in or send 'Authorization: Bearer <API token>'")
    if require_csrf and request.method in _UNSAFE and request.headers.get(CSRF_HEADER) != session.csrf:
        raise AuthError(403, f"missing or wrong {CSRF_HEADER} header (CSRF protection)")
    return Caller(user, session)


def current_caller(request: Request) -> Caller:
    return authenticate(request)


CallerDep = Annotated[Caller, Depends(current_caller)]
AlertId = Annotated[str, Field(min_length=1, max_length=64)]


class LoginIn(BaseModel):
    user: str = Field(min_length=1, max_length=64, description="user name")
    password: str = Field(min_length=1, max_length=1024)


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS, description="the comment text")


def _not_found(exc: NotFound) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


def install_error_handlers(app: FastAPI) -> None:
    """404 for :class:`NotFound`, 401/403 for :class:`AuthError`, 400 for ValueError, 503."""

    @app.exception_handler(NotFound)
    async def _nf(request: Request, exc: NotFound) -> Response:
        return _not_found(exc)

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> Response:
        if request.url.path.startswith("/api/"):
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=headers)
        from fastapi.responses import RedirectResponse

        if exc.status == 401:
            return RedirectResponse("/login", status_code=303)
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(ValueError)
    async def _bad(request: Request, exc: ValueError) -> Response:
        return JSONResponse({"detail": " ".join(str(exc).split())}, status_code=400)

    @app.exception_handler(StoreUnavailableError)
    async def _down(request: Request, exc: StoreUnavailableError) -> Response:
        return JSONResponse({"detail": "the database is unavailable, retry later"}, status_code=503)


def set_session_cookie(response: Response, ctx: Context, user: str) -> Session:
    value, session = sign_session(ctx.session_key, user)
    response.set_cookie(
        SESSION_COOKIE, value, max_age=session.expires_s - int(time.time()),
        httponly=True, samesite="strict", secure=ctx.secure_cookies, path="/",
    )  # fmt: skip
    return session


def api_router() -> APIRouter:
    """Every ``/api/v1`` route."""
    router = APIRouter(prefix="/api/v1")

    @router.post("/session", tags=["session"], summary="Log in (dashboard): sets the session cookie")
    def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
        ctx = context(request)
        user = ctx.review.authenticate(body.user, body.password)
        if user is None:
            ctx.review.log(body.user[:64], "login.failed")
            raise AuthError(401, "wrong user name or password")
        session = set_session_cookie(response, ctx, user.name)
        ctx.review.log(user.name, "login")
        return {"user": user.name, "sites": list(user.sites), "csrf": session.csrf}

    @router.delete("/session", tags=["session"], summary="Log out: clears the session cookie")
    def logout(caller: CallerDep, response: Response) -> dict[str, Any]:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return {"user": caller.user.name, "logged_out": True}

    @router.get("/me", tags=["session"], summary="Who am I, and which sites I see")
    def me(caller: CallerDep) -> dict[str, Any]:
        user = caller.user
        return {"user": user.name, "role": user.role, "sites": list(user.sites)}

    @router.get("/alerts", tags=["alerts"],
                summary="Alert inbox of my sites: most severe first, then newest (keyset paging)")  # fmt: skip
    def inbox(
        caller: CallerDep, request: Request,
        limit: Annotated[int, Query(ge=1, le=200, description="alerts per page")] = 50,
        cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
    ) -> dict[str, Any]:  # fmt: skip
        return context(request).views.inbox(caller.user, limit=limit, cursor=cursor)

    @router.get("/alerts/{alert_id}", tags=["alerts"], summary="One alert, its acknowledgement, comments and audit")
    def alert_detail(alert_id: str, caller: CallerDep, request: Request) -> dict[str, Any]:
        return context(request).views.alert_detail(caller.user, alert_id)

    @router.get("/alerts/{alert_id}/strip", tags=["alerts"],
                summary="The alert's ECG strip: samples in mV per lead, beats with their labels")  # fmt: skip
    def strip(alert_id: str, caller: CallerDep, request: Request) -> dict[str, Any]:
        views = context(request).views
        alert = views.alert(caller.user, alert_id)
        found = views.strip(alert)
        if found is None:
            raise NotFound(f"alert {alert_id} has no stored ECG strip")
        return views.strip_json(found)

    @router.post("/alerts/{alert_id}/ack", tags=["review"], summary="Acknowledge an alert (once; audited)")
    def acknowledge(alert_id: str, caller: CallerDep, request: Request) -> dict[str, Any]:
        ctx = context(request)
        alert = ctx.views.alert(caller.user, alert_id)
        ack, new = ctx.review.acknowledge(alert, caller.user.name)
        return {"alert_id": alert.id, "user": ack.user, "at_ms": ack.acked_ms, "new": new}

    @router.post("/alerts/{alert_id}/comments", tags=["review"], status_code=201,
                 summary="Comment on an alert (audited)")  # fmt: skip
    def comment(alert_id: str, body: CommentIn, caller: CallerDep, request: Request) -> dict[str, Any]:
        ctx = context(request)
        alert = ctx.views.alert(caller.user, alert_id)
        return ctx.views.comment_json(ctx.review.add_comment(alert, caller.user.name, body.body))

    @router.get("/alerts/{alert_id}/audit", tags=["review"], summary="The audit trail of one alert")
    def alert_audit(alert_id: str, caller: CallerDep, request: Request) -> list[dict[str, Any]]:
        ctx = context(request)
        alert = ctx.views.alert(caller.user, alert_id)
        return [ctx.views.audit_json(e) for e in ctx.review.alert_audit(alert.id)]

    @router.get("/audit", tags=["review"], summary="The newest audit lines of my sites")
    def site_audit(
        caller: CallerDep, request: Request,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        before_id: Annotated[int | None, Query(ge=1, description="page: lines older than this id")] = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        ctx = context(request)
        entries = ctx.review.site_audit(caller.user.sites, limit=limit, before_id=before_id)
        return [ctx.views.audit_json(e) for e in entries]

    @router.get("/alerts/{alert_id}/fhir", tags=["fhir"], response_class=JSONResponse,
                summary="FHIR R4 Bundle: the alert Observation and its strip (SampledData)")  # fmt: skip
    def alert_fhir(alert_id: str, caller: CallerDep, request: Request) -> Response:
        ctx = context(request)
        alert = ctx.views.alert(caller.user, alert_id)
        ack = ctx.review.acknowledgements([alert.id]).get(alert.id)
        bundle = alert_bundle(alert, ctx.views.strip(alert), acknowledged_by=ack.user if ack else None)
        ctx.review.log(caller.user.name, "export.fhir", site=alert.site, alert_id=alert.id)
        return JSONResponse(bundle, media_type=FHIR_JSON)

    @router.get("/sites/{site}/patients/{patient}/timeline", tags=["patients"],
                summary="Heart rate per hour, events and risk level of one patient")  # fmt: skip
    def timeline(
        site: str, patient: str, caller: CallerDep, request: Request,
        start_ms: Annotated[int | None, Query(ge=0, description="UTC epoch ms, inclusive")] = None,
        end_ms: Annotated[int | None, Query(ge=0, description="UTC epoch ms, exclusive")] = None,
    ) -> dict[str, Any]:  # fmt: skip
        if start_ms is not None and end_ms is not None and end_ms < start_ms:
            raise ValueError(f"end_ms must not be before start_ms, got {start_ms} .. {end_ms}")
        return context(request).views.timeline(caller.user, site, patient, start_ms=start_ms, end_ms=end_ms)

    @router.get("/sites/{site}/patients/{patient}/report", tags=["patients"],
                summary="The 24-hour report (the recording summary's numbers)")  # fmt: skip
    def report(site: str, patient: str, caller: CallerDep, request: Request) -> dict[str, Any]:
        views = context(request).views
        summary, alerts = views.report(caller.user, site, patient)
        return views.report_json(site, patient, summary, alerts)

    @router.get("/sites/{site}/patients/{patient}/report/fhir", tags=["fhir"], response_class=JSONResponse,
                summary="FHIR R4 Bundle: the 24-hour report as a DiagnosticReport")  # fmt: skip
    def report_fhir(site: str, patient: str, caller: CallerDep, request: Request) -> Response:
        ctx = context(request)
        summary, alerts = ctx.views.report(caller.user, site, patient)
        ctx.review.log(caller.user.name, "export.fhir.report", site=site, detail=patient)
        return JSONResponse(report_bundle(site, patient, summary, alerts), media_type=FHIR_JSON)

    return router


def create_app(store: Any, *, session_key: bytes, secure_cookies: bool = True) -> FastAPI:
    """The ``holter cloud serve`` application on an opened, migrated store.

    Parameters
    ----------
    store : Store
        From :func:`cloud.open_store` (SQLite or PostgreSQL), migrated.
    session_key : bytes
        Signs the dashboard's session cookies (:func:`cloud._auth.session_key_from_env`).
    secure_cookies : bool
        Mark the session cookie ``Secure`` (HTTPS only). Turn off only for a
        server reached over plain HTTP on loopback.
    """
    from cloud._dashboard import dashboard_router

    app = FastAPI(
        title="Holter cloud API",
        version="1",
        description="Alerts, ECG strips, patient timelines, 24-hour reports and FHIR R4 export "
        "for cardiologists, scoped to their sites.",
    )
    review = ReviewStore(store)
    app.state.holter = Context(store, review, Views(store, review), session_key, secure_cookies)
    install_error_handlers(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.url.path.startswith("/api/") or request.url.path.startswith("/alerts"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.include_router(api_router())
    app.include_router(dashboard_router())
    return app
