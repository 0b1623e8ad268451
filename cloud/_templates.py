"""The dashboard's HTML templates (Jinja2, autoescaped), its stylesheet and script.

Everything is served by the app itself (``/static/...``): no CDN, no external
font, so the Content-Security-Policy can be ``default-src 'self'``. The script
sends every change (log in, acknowledge, comment, log out) with ``fetch`` as
JSON and the session's CSRF token in the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import jinja2

_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{% if csrf %}<meta name="csrf-token" content="{{ csrf }}">{% endif %}
<title>{% block title %}Holter{% endblock %} - Holter cloud</title>
<link rel="stylesheet" href="/static/dashboard.css">
<script src="/static/dashboard.js" defer></script>
</head><body>
<header><a class="brand" href="/">Holter cloud</a>
{% if user %}<span class="who">{{ user.name }} ({{ user.role }}) - sites {{ user.sites|join(', ') }}</span>
<button type="button" id="logout">Log out</button>{% endif %}</header>
<main>{% block main %}{% endblock %}</main>
</body></html>
"""

_LOGIN = """{% extends "base.html" %}{% block title %}Log in{% endblock %}
{% block main %}<h1>Log in</h1>
<form id="login-form" class="card">
<label>User <input name="user" id="user" autocomplete="username" required maxlength="64"></label>
<label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label>
<button type="submit" id="login-button">Log in</button>
<p class="error" id="login-error" role="alert"></p>
</form>{% endblock %}
"""

_INBOX = """{% extends "base.html" %}{% block title %}Inbox{% endblock %}
{% block main %}<h1>Alert inbox</h1>
<p class="hint">Most severe first, then newest. {{ alerts|length }} alert(s) on this page.</p>
<table id="inbox"><thead><tr><th>Severity</th><th>Event</th><th>Patient</th><th>Site</th>
<th>Start (UTC)</th><th>Numbers</th><th>Acknowledged</th></tr></thead><tbody>
{% for a in alerts %}<tr class="sev-{{ a.severity }}" data-alert-id="{{ a.id }}">
<td><span class="badge {{ a.severity }}">{{ a.severity }}</span></td>
<td><a href="/alerts/{{ a.id }}">{{ a.type_text }}</a></td>
<td><a href="/sites/{{ a.site }}/patients/{{ a.patient }}">{{ a.patient }}</a></td>
<td>{{ a.site }}</td><td>{{ a.start_ms|utc }}</td>
<td>{% for k, v in a.num.items() %}{{ k }}={{ v }} {% endfor %}</td>
<td>{% if a.acknowledged %}{{ a.acknowledged.user }}{% else %}-{% endif %}</td></tr>
{% else %}<tr><td colspan="7" class="empty">No alerts.</td></tr>{% endfor %}
</tbody></table>
{% if next_cursor %}<p><a id="next-page" href="/?cursor={{ next_cursor|urlencode }}">Next page</a></p>{% endif %}
{% endblock %}
"""

_ALERT = """{% extends "base.html" %}{% block title %}{{ a.type_text }}{% endblock %}
{% block main %}<h1><span class="badge {{ a.severity }}">{{ a.severity }}</span> {{ a.type_text }}</h1>
<dl class="card"><dt>Patient</dt><dd><a href="/sites/{{ a.site }}/patients/{{ a.patient }}">{{ a.patient }}</a> (site {{ a.site }}, gateway {{ a.gateway }})</dd>
<dt>Event</dt><dd>{{ a.start_ms|utc }} to {{ a.end_ms|utc }}</dd>
<dt>Numbers</dt><dd>{% for k, v in a.num.items() %}{{ k }} = {{ v }}{% if not loop.last %}, {% endif %}{% else %}-{% endfor %}</dd>
<dt>Acknowledged</dt><dd id="ack-state">{% if a.acknowledged %}by {{ a.acknowledged.user }} at {{ a.acknowledged.at_ms|utc }}{% else %}not yet{% endif %}</dd></dl>
<h2>ECG strip</h2>
{% if strip_svg %}<div class="strip">{{ strip_svg }}</div>
<p class="hint">25 mm/s, 10 mm/mV grid; beat labels: MIT-BIH symbols (N normal, A supraventricular, V ventricular, F fusion, Q unclassifiable).</p>
{% else %}<p class="hint" id="no-strip">No ECG strip stored for this alert.</p>{% endif %}
<h2>Review</h2>
<div class="card">{% if not a.acknowledged %}<button type="button" id="ack-button" data-alert-id="{{ a.id }}">Acknowledge</button>{% endif %}
<form id="comment-form" data-alert-id="{{ a.id }}"><label>Comment <textarea id="comment-body" maxlength="2000" required></textarea></label>
<button type="submit" id="comment-button">Add comment</button></form><p class="error" id="review-error" role="alert"></p></div>
<h3>Comments</h3><ul id="comments">{% for c in a.comments %}<li><b>{{ c.user }}</b> {{ c.at_ms|utc }}: {{ c.body }}</li>{% else %}<li class="empty">none</li>{% endfor %}</ul>
<h3>Audit trail</h3><table id="audit"><thead><tr><th>When (UTC)</th><th>Who</th><th>What</th><th>Detail</th></tr></thead><tbody>
{% for e in a.audit %}<tr><td>{{ e.at_ms|utc }}</td><td>{{ e.actor }}</td><td class="action">{{ e.action }}</td><td>{{ e.detail }}</td></tr>
{% else %}<tr><td colspan="4" class="empty">nothing yet</td></tr>{% endfor %}</tbody></table>
<p><a href="/api/v1/alerts/{{ a.id }}/fhir">FHIR R4 export (JSON)</a></p>
{% endblock %}
"""

_PATIENT = """{% extends "base.html" %}{% block title %}Patient {{ t.patient }}{% endblock %}
{% block main %}<h1>Patient {{ t.patient }} <small>site {{ t.site }}</small></h1>
<p class="card">Risk level: <b id="risk-level" class="risk {{ t.risk.level }}">{{ t.risk.level }}</b>
<span class="hint">({{ t.risk.source }}{% if t.risk.points is not none %}, {{ t.risk.points }} points{% endif %}{% if t.risk.model_probability is not none %}, model probability {{ t.risk.model_probability }}{% endif %})</span>
{% if t.has_report %} - <a href="/sites/{{ t.site }}/patients/{{ t.patient }}/report">24-hour report</a>{% endif %}</p>
<h2>Heart rate per hour</h2>
{% if hr_svg %}<div class="hr">{{ hr_svg }}</div>{% else %}<p class="hint">No hourly summaries received yet.</p>{% endif %}
<table><thead><tr><th>Hour start (UTC)</th><th>Min</th><th>Mean</th><th>Max bpm</th><th>Beats</th><th>V</th><th>S</th></tr></thead><tbody>
{% for h in t.heart_rate %}<tr><td>{{ h.start_ms|utc }}</td><td>{{ h.hr_min_bpm }}</td><td>{{ h.hr_mean_bpm }}</td><td>{{ h.hr_max_bpm }}</td><td>{{ h.beats }}</td><td>{{ h.v_beats }}</td><td>{{ h.s_beats }}</td></tr>{% endfor %}
</tbody></table>
<h2>Events</h2><table id="events"><thead><tr><th>Start (UTC)</th><th>Severity</th><th>Event</th><th>Acknowledged</th></tr></thead><tbody>
{% for a in t.events %}<tr><td>{{ a.start_ms|utc }}</td><td><span class="badge {{ a.severity }}">{{ a.severity }}</span></td>
<td><a href="/alerts/{{ a.id }}">{{ a.type_text }}</a></td><td>{% if a.acknowledged %}{{ a.acknowledged.user }}{% else %}-{% endif %}</td></tr>
{% else %}<tr><td colspan="4" class="empty">No events.</td></tr>{% endfor %}</tbody></table>
{% endblock %}
"""

_REPORT = """{% extends "base.html" %}{% block title %}24-hour report {{ r.patient }}{% endblock %}
{% block main %}<h1>24-hour report: patient {{ r.patient }} <small>site {{ r.site }}</small></h1>
<p class="card">{{ r.start_ms|utc }} to {{ r.end_ms|utc }}. Risk level: <b class="risk {{ r.risk.level }}">{{ r.risk.level }}</b></p>
<h2>Numbers</h2><table id="report"><thead><tr><th>Quantity</th><th>Value</th></tr></thead><tbody>
{% for k, v in r.num|dictsort %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</tbody></table>
<h2>Alerts in the period</h2><ul>{% for k, v in r.alert_counts|dictsort %}<li>{{ k }}: {{ v }}</li>{% else %}<li>none</li>{% endfor %}</ul>
<p><a href="/api/v1/sites/{{ r.site }}/patients/{{ r.patient }}/report/fhir">FHIR R4 DiagnosticReport (JSON)</a></p>
{% endblock %}
"""

_NOT_FOUND = """{% extends "base.html" %}{% block title %}Not found{% endblock %}
{% block main %}<h1>Not found</h1><p id="not-found">{{ message }}</p><p><a href="/">Back to the inbox</a></p>{% endblock %}
"""

CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f6f7f9}
header{display:flex;gap:1em;align-items:center;padding:.6em 1em;background:#123;color:#fff}
header a{color:#fff;text-decoration:none;font-weight:600}.who{margin-left:auto;font-size:.9em}
main{padding:1em 1.5em;max-width:1200px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;font-size:.92em}
.badge{padding:.1em .45em;border-radius:.3em;font-size:.85em;color:#fff;background:#777}
.badge.critical{background:#b00020}.badge.warning{background:#c77800}.badge.info{background:#2f6db5}
.card{background:#fff;padding:.8em 1em;border:1px solid #ddd;border-radius:.4em}
.hint{color:#555;font-size:.88em}.error{color:#b00020}.empty{color:#777}
.strip svg,.hr svg{background:#fff;border:1px solid #ddd;max-width:100%;height:auto}
.risk.high{color:#b00020}.risk.intermediate{color:#c77800}.risk.low{color:#1b7f3b}
label{display:block;margin:.4em 0}textarea{width:100%;min-height:4em}
"""

JS = """
"use strict";
function csrf() { const m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; }
async function send(method, url, body) {
  const r = await fetch(url, {method, credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
    body: body === undefined ? undefined : JSON.stringify(body)});
  if (!r.ok) { let d = r.statusText; try { d = (await r.json()).detail; } catch (e) {}
    throw new Error(typeof d === "string" ? d : JSON.stringify(d)); }
  return r.json();
}
function show(id, err) { const el = document.getElementById(id); if (el) el.textContent = err.message; }
document.addEventListener("DOMContentLoaded", () => {
  const login = document.getElementById("login-form");
  if (login) login.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await send("POST", "/api/v1/session", {user: login.user.value, password: login.password.value});
          window.location.assign("/"); } catch (e) { show("login-error", e); }
  });
  const out = document.getElementById("logout");
  if (out) out.addEventListener("click", async () => {
    try { await send("DELETE", "/api/v1/session"); } finally { window.location.assign("/login"); }
  });
  const ack = document.getElementById("ack-button");
  if (ack) ack.addEventListener("click", async () => {
    try { await send("POST", "/api/v1/alerts/" + encodeURIComponent(ack.dataset.alertId) + "/ack");
          window.location.reload(); } catch (e) { show("review-error", e); }
  });
  const comment = document.getElementById("comment-form");
  if (comment) comment.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await send("POST", "/api/v1/alerts/" + encodeURIComponent(comment.dataset.alertId) + "/comments",
                     {body: document.getElementById("comment-body").value});
          window.location.reload(); } catch (e) { show("review-error", e); }
  });
});
"""

_ENV = jinja2.Environment(
    loader=jinja2.DictLoader({
        "base.html": _BASE, "login.html": _LOGIN, "inbox.html": _INBOX, "alert.html": _ALERT,
        "patient.html": _PATIENT, "report.html": _REPORT, "not_found.html": _NOT_FOUND,
    }),
    autoescape=True,
)  # fmt: skip


def environment() -> jinja2.Environment:
    """The template environment (filters are added by :mod:`cloud._dashboard`)."""
    return _ENV
