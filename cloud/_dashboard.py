"""The cardiologist dashboard: server-rendered HTML pages over the same views as the API.

Pages: ``/login``, ``/`` (inbox), ``/alerts/{id}`` (the ECG strip drawn as an
inline SVG polyline with its beat labels, acknowledge / comment, audit trail),
``/sites/{site}/patients/{patient}`` (timeline) and ``.../report`` (24-hour
report). A page needs the session cookie; without it the browser is sent to
``/login``. Other sites' alerts and patients are a 404 page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape

from cloud._api import AuthError, authenticate, context
from cloud._templates import CSS, JS, environment
from cloud._views import NotFound

#: Strip drawing scale: the ECG-paper convention, 25 mm/s and 10 mm/mV, at 4 px/mm.
PX_PER_S = 100.0
PX_PER_MV = 40.0
_LEAD_HEIGHT_PX = 160.0


def _utc(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "-"
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


_env = environment()
_env.filters["utc"] = _utc


def _render(name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    values.setdefault("user", None)
    values.setdefault("csrf", None)
    return HTMLResponse(_env.get_template(name).render(**values), status_code=status_code)


def strip_svg(strip: Any) -> Markup:
    """The strip as an SVG: a 25 mm/s, 10 mm/mV grid, one polyline per lead, beat labels.

    Each beat label is a ``<text class="beat-label" data-symbol="N">`` above the
    first lead at the beat's time.
    """
    n, k = strip.n_samples, len(strip.leads)
    width = max(n / strip.fs_hz * PX_PER_S, 1.0)
    height = _LEAD_HEIGHT_PX * k + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ecg-strip" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.1f} {height:.0f}" role="img" '
        f'aria-label="ECG strip, {k} lead(s), {n / strip.fs_hz:.1f} s">',
        '<g stroke="#f4c2c2" stroke-width="0.5">',
    ]
    step = PX_PER_S * 0.04  # 1 mm = 40 ms
    for i in range(int(width / step) + 1):
        w = 1.0 if i % 5 == 0 else 0.4
        parts.append(f'<line x1="{i * step:.1f}" y1="0" x2="{i * step:.1f}" y2="{height:.0f}" stroke-width="{w}"/>')
    step_y = PX_PER_MV * 0.1
    for i in range(int(height / step_y) + 1):
        w = 1.0 if i % 5 == 0 else 0.4
        parts.append(f'<line x1="0" y1="{i * step_y:.1f}" x2="{width:.1f}" y2="{i * step_y:.1f}" stroke-width="{w}"/>')
    parts.append("</g>")
    dx = PX_PER_S / strip.fs_hz
    for lead in range(k):
        baseline = 20 + _LEAD_HEIGHT_PX * (lead + 0.5)
        values = strip.samples[lead::k]
        scale = PX_PER_MV / strip.units_per_mv
        points = " ".join(f"{i * dx:.1f},{baseline - v * scale:.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline class="lead" data-lead="{escape(strip.leads[lead])}" fill="none" '
            f'stroke="#111" stroke-width="1" points="{points}"/>'
        )
        parts.append(f'<text x="4" y="{baseline - _LEAD_HEIGHT_PX / 2 + 30:.0f}" font-size="12">'
                     f"{escape(strip.leads[lead])}</text>")  # fmt: skip
    for offset, symbol in strip.beats:
        x = offset * dx
        color = "#111" if symbol == "N" else "#b00020"
        parts.append(
            f'<text class="beat-label" data-symbol="{escape(symbol)}" x="{x:.1f}" y="14" '
            f'font-size="12" text-anchor="middle" fill="{color}">{escape(symbol)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def heart_rate_svg(heart_rate: list[dict[str, Any]]) -> Markup | None:
    """Hourly mean heart rate as a polyline (min-max band as a shaded polygon)."""
    points = [h for h in heart_rate if isinstance(h.get("hr_mean_bpm"), int | float)]
    if not points:
        return None
    width, height, lo, hi = 720.0, 200.0, 30.0, 200.0
    t0, t1 = points[0]["start_ms"], max(points[-1]["start_ms"], points[0]["start_ms"] + 1)

    def xy(t: float, bpm: float) -> str:
        x = 40 + (t - t0) / (t1 - t0) * (width - 60)
        y = height - 20 - (min(max(bpm, lo), hi) - lo) / (hi - lo) * (height - 40)
        return f"{x:.1f},{y:.1f}"

    mean = " ".join(xy(h["start_ms"], h["hr_mean_bpm"]) for h in points)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="hr-chart" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="hourly heart rate">']  # fmt: skip
    for bpm in (60, 100, 150):
        y = xy(t0, bpm).split(",")[1]
        parts.append(f'<line x1="40" x2="{width - 20:.0f}" y1="{y}" y2="{y}" stroke="#ddd"/>'
                     f'<text x="4" y="{y}" font-size="11">{bpm}</text>')  # fmt: skip
    band = [h for h in points if "hr_min_bpm" in h and "hr_max_bpm" in h]
    if band:
        poly = [xy(h["start_ms"], h["hr_max_bpm"]) for h in band]
        poly += [xy(h["start_ms"], h["hr_min_bpm"]) for h in reversed(band)]
        parts.append(f'<polygon fill="#cfe0f5" points="{" ".join(poly)}"/>')
    parts.append(f'<polyline fill="none" stroke="#2f6db5" stroke-width="2" points="{mean}"/></svg>')
    return Markup("".join(parts))


def dashboard_router() -> APIRouter:
    """The HTML pages and their static files (not in the OpenAPI document)."""
    router = APIRouter(include_in_schema=False)

    def page_caller(request: Request) -> Any:
        return authenticate(request, require_csrf=False)

    def not_found(caller: Any, exc: NotFound) -> HTMLResponse:
        return _render("not_found.html", 404, user=caller.user, csrf=caller.session.csrf if caller.session else None,
                       message=str(exc))  # fmt: skip

    @router.get("/static/dashboard.css")
    def css() -> Response:
        return Response(CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    @router.get("/static/dashboard.js")
    def js() -> Response:
        return Response(JS, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        try:
            page_caller(request)
        except AuthError:
            return _render("login.html")
        return RedirectResponse("/", status_code=303)

    @router.get("/", response_class=HTMLResponse)
    def inbox_page(request: Request, cursor: str | None = Query(None, max_length=200)) -> Response:
        caller = page_caller(request)
        data = context(request).views.inbox(caller.user, limit=50, cursor=cursor)
        return _render("inbox.html", user=caller.user, csrf=caller.session.csrf if caller.session else None,
                       alerts=data["alerts"], next_cursor=data["next_cursor"])  # fmt: skip

    @router.get("/alerts/{alert_id}", response_class=HTMLResponse)
    def alert_page(alert_id: str, request: Request) -> Response:
        caller = page_caller(request)
        views = context(request).views
        try:
            detail = views.alert_detail(caller.user, alert_id)
            strip = views.strip(views.alert(caller.user, alert_id))
        except NotFound as exc:
            return not_found(caller, exc)
        return _render("alert.html", user=caller.user, csrf=caller.session.csrf if caller.session else None,
                       a=detail, strip_svg=strip_svg(strip) if strip is not None else None)  # fmt: skip

    @router.get("/sites/{site}/patients/{patient}", response_class=HTMLResponse)
    def patient_page(site: str, patient: str, request: Request) -> Response:
        caller = page_caller(request)
        try:
            timeline = context(request).views.timeline(caller.user, site, patient)
        except NotFound as exc:
            return not_found(caller, exc)
        return _render("patient.html", user=caller.user, csrf=caller.session.csrf if caller.session else None,
                       t=timeline, hr_svg=heart_rate_svg(timeline["heart_rate"]))  # fmt: skip

    @router.get("/sites/{site}/patients/{patient}/report", response_class=HTMLResponse)
    def report_page(site: str, patient: str, request: Request) -> Response:
        caller = page_caller(request)
        views = context(request).views
        try:
            summary, alerts = views.report(caller.user, site, patient)
        except NotFound as exc:
            return not_found(caller, exc)
        return _render("report.html", user=caller.user, csrf=caller.session.csrf if caller.session else None,
                       r=views.report_json(site, patient, summary, alerts))  # fmt: skip

    return router
