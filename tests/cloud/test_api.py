"""The REST API over HTTP (a real uvicorn server) on the real PostgreSQL store:
authentication, per-site scoping (404, not 403), CSRF, acknowledgements,
comments and audit, strips, timeline, report, FHIR export, bad input."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import httpx
import pytest

from cloud import open_store
from tests.cloud.conftest import _with_database
from tests.cloud.serve_helpers import (
    PASSWORD,
    UNITS_PER_MV,
    LiveServer,
    add_users,
    alert_id,
    fill,
)

#: Login hashes a password with scrypt at the OWASP cost: under a loaded CI machine a
#: request can take longer than httpx's default 5 s (seen: ReadTimeout in a dry run).
HTTP_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def served(pg_database_url):
    """A PostgreSQL store (own schema) with two sites' data and users, served over HTTP."""
    import psycopg

    schema = f"api_{secrets.token_hex(6)}"
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = _with_database(pg_database_url, urlsplit(pg_database_url).path.lstrip("/"),
                         f"options=-csearch_path%3D{schema}")  # fmt: skip
    store = open_store(url)
    alerts = fill(store)
    review = add_users(store)
    tokens = {"alice": review.create_token("alice", "tests"), "bob": review.create_token("bob")}
    try:
        with LiveServer(store) as server:
            yield server, store, review, alerts, tokens
    finally:
        store.close()
        with psycopg.connect(pg_database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def alice(served):
    server, _, _, _, tokens = served
    with httpx.Client(timeout=HTTP_TIMEOUT_S, base_url=server.url, headers={"Authorization": f"Bearer {tokens['alice']}"}) as c:
        yield c


@pytest.fixture
def bob(served):
    server, _, _, _, tokens = served
    with httpx.Client(timeout=HTTP_TIMEOUT_S, base_url=server.url, headers={"Authorization": f"Bearer {tokens['bob']}"}) as c:
        yield c


@pytest.fixture
def anonymous(served):
    with httpx.Client(timeout=HTTP_TIMEOUT_S, base_url=served[0].url) as c:
        yield c


VT = alert_id(3)  # site A, critical VT with a strip
B_ALERT = alert_id(100)  # site B, with a strip


class TestAuthentication:
    @pytest.mark.parametrize("path", ["/api/v1/alerts", f"/api/v1/alerts/{VT}", "/api/v1/me", "/api/v1/audit"])
    def test_no_credentials_is_401(self, anonymous, path):
        r = anonymous.get(path)
        assert r.status_code == 401
        assert "not signed in" in r.json()["detail"]

    def test_wrong_or_malformed_token_is_401(self, anonymous, served):
        for header in ("Bearer hol_not-a-token", "Basic abc", "Bearer " + served[4]["alice"][:-1]):
            r = anonymous.get("/api/v1/alerts", headers={"Authorization": header})
            assert r.status_code == 401, header
            assert r.json()["detail"] == "invalid or revoked API token"

    def test_token_identifies_the_user(self, alice):
        assert alice.get("/api/v1/me").json() == {"user": "alice", "role": "cardiologist", "sites": ["A"]}

    def test_only_the_token_hash_is_stored(self, served):
        _, store, _, _, tokens = served
        with store._lock, store._transaction(write=False):
            rows = store._execute("SELECT token_sha256 FROM api_tokens").fetchall()
        stored = {r[0] for r in rows}
        import hashlib

        assert hashlib.sha256(tokens["alice"].encode()).hexdigest() in stored
        assert tokens["alice"] not in stored and all(len(s) == 64 for s in stored)

    def test_login_sets_a_strict_httponly_cookie_and_cookie_writes_need_csrf(self, served):
        server = served[0]
        with httpx.Client(timeout=HTTP_TIMEOUT_S, base_url=server.url) as c:
            bad = c.post("/api/v1/session", json={"user": "alice", "password": "wrong password!"})
            assert bad.status_code == 401 and "holter_session" not in bad.cookies
            r = c.post("/api/v1/session", json={"user": "alice", "password": PASSWORD})
            assert r.status_code == 200
            cookie = r.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=strict" in cookie
            csrf = r.json()["csrf"]
            assert c.get("/api/v1/me").json()["user"] == "alice"
            # a cookie-authenticated write without the CSRF header is refused, nothing is stored
            refused = c.post(f"/api/v1/alerts/{alert_id(5)}/comments", json={"body": "forged"})
            assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
            wrong = c.post(f"/api/v1/alerts/{alert_id(5)}/comments", json={"body": "forged"},
                           headers={"X-CSRF-Token": csrf + "x"})  # fmt: skip
            assert wrong.status_code == 403
            assert all(cm["body"] != "forged" for cm in c.get(f"/api/v1/alerts/{alert_id(5)}").json()["comments"])
            ok = c.post(f"/api/v1/alerts/{alert_id(5)}/comments", json={"body": "with csrf"},
                        headers={"X-CSRF-Token": csrf})  # fmt: skip
            assert ok.status_code == 201
            assert c.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 200
            c.cookies.clear()
            assert c.get("/api/v1/me").status_code == 401

    def test_a_tampered_session_cookie_is_rejected(self, served):
        with httpx.Client(timeout=HTTP_TIMEOUT_S, base_url=served[0].url) as c:
            c.post("/api/v1/session", json={"user": "bob", "password": PASSWORD})
            value = c.cookies["holter_session"]
            body, mac = value.split(".")
            import base64

            forged = base64.urlsafe_b64encode(b"alice|9999999999|x").rstrip(b"=").decode()
            c.cookies.clear()
            c.cookies.set("holter_session", f"{forged}.{mac}")
            assert c.get("/api/v1/me").status_code == 401

    def test_failed_login_is_audited_without_the_password(self, served):
        _, store, _, _, _ = served
        with httpx.Client(timeout=HTTP_TIMEOUT_S, base_url=served[0].url) as c:
            c.post("/api/v1/session", json={"user": "mallory", "password": "guess-123456789"})
        with store._lock, store._transaction(write=False):
            rows = store._execute(
                "SELECT actor, action, detail FROM audit_log WHERE action = 'login.failed'"
            ).fetchall()
        assert ("mallory", "login.failed", "") in [tuple(r) for r in rows]


class TestScoping:
    def test_inbox_shows_only_my_sites_sorted_by_severity_then_time(self, alice, bob, served):
        alerts = served[3]
        got = alice.get("/api/v1/alerts").json()
        expected = sorted(alerts["A"], key=lambda a: (-a.severity_rank, -a.start_ms, a.id))
        assert [a["id"] for a in got["alerts"]] == [a.id for a in expected]
        assert {a["site"] for a in got["alerts"]} == {"A"}
        assert {a["id"] for a in bob.get("/api/v1/alerts").json()["alerts"]} == {a.id for a in alerts["B"]}

    def test_keyset_paging_walks_the_whole_inbox_once(self, alice, served):
        ids, cursor = [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = alice.get("/api/v1/alerts", params=params).json()
            ids += [a["id"] for a in page["alerts"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(ids) == sorted(a.id for a in served[3]["A"]) and len(ids) == len(set(ids))

    @pytest.mark.parametrize("suffix", ["", "/strip", "/audit", "/fhir"])
    def test_other_sites_alert_is_404_like_a_missing_one(self, bob, suffix):
        theirs = bob.get(f"/api/v1/alerts/{VT}{suffix}")
        missing = bob.get(f"/api/v1/alerts/{alert_id(999)}{suffix}")
        assert theirs.status_code == missing.status_code == 404
        assert "no alert" in theirs.json()["detail"]

    @pytest.mark.parametrize("method", ["ack", "comments"])
    def test_other_sites_alert_cannot_be_reviewed(self, bob, alice, method):
        r = bob.post(f"/api/v1/alerts/{VT}/{method}", json={"body": "not mine"})
        assert r.status_code == 404
        audit = alice.get(f"/api/v1/alerts/{VT}/audit").json()
        assert all(e["actor"] != "bob" for e in audit)

    @pytest.mark.parametrize("suffix", ["/timeline", "/report", "/report/fhir"])
    def test_other_sites_patient_is_404(self, bob, suffix):
        assert bob.get(f"/api/v1/sites/A/patients/pa-1{suffix}").status_code == 404


class TestReview:
    def test_acknowledge_once_with_audit(self, served):
        server, _, review, _, _ = served
        aid = alert_id(2)
        token = review.create_token("alice", "ack test")
        with httpx.Client(timeout=HTTP_TIMEOUT_S, base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
            first = c.post(f"/api/v1/alerts/{aid}/ack").json()
            again = c.post(f"/api/v1/alerts/{aid}/ack").json()
            assert first["new"] is True and again["new"] is False
            assert again["at_ms"] == first["at_ms"] and first["user"] == "alice"
            detail = c.get(f"/api/v1/alerts/{aid}").json()
            assert detail["acknowledged"] == {"user": "alice", "at_ms": first["at_ms"]}
            acks = [e for e in c.get(f"/api/v1/alerts/{aid}/audit").json() if e["action"] == "acknowledge"]
            assert len(acks) == 1 and acks[0]["actor"] == "alice" and acks[0]["at_ms"] == first["at_ms"]
            inbox = {a["id"]: a for a in c.get("/api/v1/alerts").json()["alerts"]}
            assert inbox[aid]["acknowledged"]["user"] == "alice"

    def test_comment_lands_in_comments_and_audit(self, alice):
        aid = alert_id(4)
        made = alice.post(f"/api/v1/alerts/{aid}/comments", json={"body": "  pause 3.2 s, call patient  "})
        assert made.status_code == 201 and made.json()["body"] == "pause 3.2 s, call patient"
        detail = alice.get(f"/api/v1/alerts/{aid}").json()
        assert detail["comments"][-1]["body"] == "pause 3.2 s, call patient"
        entry = [e for e in detail["audit"] if e["action"] == "comment"][-1]
        assert (entry["actor"], entry["site"], entry["alert_id"]) == ("alice", "A", aid)
        site_audit = alice.get("/api/v1/audit").json()
        assert entry["id"] in [e["id"] for e in site_audit]
        assert all(e["site"] == "A" for e in site_audit)

    def test_site_audit_is_scoped(self, bob, alice):
        alice.post(f"/api/v1/alerts/{alert_id(1)}/comments", json={"body": "site A only"})
        assert all(e["site"] == "B" for e in bob.get("/api/v1/audit").json())


class TestEvidence:
    def test_strip_samples_in_mv_and_beats(self, alice):
        strip = alice.get(f"/api/v1/alerts/{VT}/strip").json()
        assert strip["leads"] == ["II", "V1"] and strip["units_per_mv"] == UNITS_PER_MV
        lead_ii, lead_v1 = strip["samples_mv"]
        assert len(lead_ii) == strip["n_samples"] == 1000
        assert max(lead_ii) == pytest.approx(1.0) and max(lead_v1) == pytest.approx(0.5)
        assert [b["symbol"] for b in strip["beats"]] == ["N", "N", "V", "N"]
        assert strip["beats"][2] == {"offset_samples": 562, "time_s": 2.248, "symbol": "V"}

    def test_alert_without_strip(self, alice):
        assert alice.get(f"/api/v1/alerts/{alert_id(1)}").json()["has_strip"] is False
        r = alice.get(f"/api/v1/alerts/{alert_id(1)}/strip")
        assert r.status_code == 404 and "no stored ECG strip" in r.json()["detail"]

    def test_timeline_heart_rate_events_and_risk(self, alice):
        t = alice.get("/api/v1/sites/A/patients/pa-1/timeline").json()
        assert [h["hr_mean_bpm"] for h in t["heart_rate"]] == [70.0, 71.0, 72.0]
        assert [e["id"] for e in t["events"]] == [alert_id(i) for i in range(1, 6)]
        assert t["risk"]["level"] == "high" and t["risk"]["points"] == 7

    def test_report(self, alice):
        r = alice.get("/api/v1/sites/A/patients/pa-1/report").json()
        assert r["num"]["beats"] == 12003 and r["risk"]["level"] == "high"
        assert sum(r["alert_counts"].values()) == 5

    def test_unknown_patient_is_404(self, alice):
        assert alice.get("/api/v1/sites/A/patients/nobody/timeline").status_code == 404


class TestFhir:
    def test_alert_bundle_validates_and_points_at_the_strip(self, alice):
        from fhir.resources.R4B.bundle import Bundle

        r = alice.get(f"/api/v1/alerts/{VT}/fhir")
        assert r.headers["content-type"].startswith("application/fhir+json")
        bundle = Bundle.model_validate(r.json())
        observation, strip = (e.resource for e in bundle.entry)
        assert observation.derivedFrom[0].reference == bundle.entry[1].fullUrl
        assert observation.interpretation[0].coding[0].code == "AA"
        mdc = [c for c in observation.valueCodeableConcept.coding if c.system == "urn:iso:std:iso:11073:10101"]
        assert mdc and mdc[0].code == str(10 * 65536 + 9968)
        lead_ii = strip.component[0].valueSampledData
        values = [int(v) * float(lead_ii.factor) for v in lead_ii.data.split()]
        assert max(values) == pytest.approx(1.0)
        assert float(lead_ii.period) == pytest.approx(4.0)  # ms at 250 Hz

    def test_report_bundle_validates(self, alice):
        from fhir.resources.R4B.bundle import Bundle

        bundle = Bundle.model_validate(alice.get("/api/v1/sites/A/patients/pa-1/report/fhir").json())
        report = bundle.entry[0].resource
        assert report.__resource_type__ == "DiagnosticReport"
        assert report.code.coding[0].code == "18754-2"
        assert len(report.result) == len(bundle.entry) - 1


class TestBadInput:
    @pytest.mark.parametrize(
        ("params", "needle"),
        [({"limit": 0}, "greater than or equal to 1"), ({"limit": 201}, "less than or equal to 200"),
         ({"limit": "many"}, "valid integer")],
    )  # fmt: skip
    def test_bad_limit_is_422_naming_it(self, alice, params, needle):
        r = alice.get("/api/v1/alerts", params=params)
        assert r.status_code == 422
        detail = r.json()["detail"][0]
        assert detail["loc"] == ["query", "limit"] and needle in detail["msg"]

    def test_bad_cursor_is_400(self, alice):
        r = alice.get("/api/v1/alerts", params={"cursor": "not-a-cursor"})
        assert r.status_code == 400 and "cursor" in r.json()["detail"]

    @pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "x" * 2001}, {"text": "wrong field"}])
    def test_bad_comment_is_422(self, alice, body):
        r = alice.post(f"/api/v1/alerts/{VT}/comments", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "body"]

    def test_comment_with_control_characters_is_400(self, alice):
        r = alice.post(f"/api/v1/alerts/{VT}/comments", json={"body": "bell\x07"})
        assert r.status_code == 400 and "control characters" in r.json()["detail"]

    def test_reversed_time_range_is_400(self, alice):
        r = alice.get("/api/v1/sites/A/patients/pa-1/timeline", params={"start_ms": 10, "end_ms": 5})
        assert r.status_code == 400 and "end_ms" in r.json()["detail"]

    def test_login_body_must_be_json(self, anonymous):
        r = anonymous.post("/api/v1/session", content="user=alice&password=x",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert r.status_code == 422


def test_openapi_document_lists_the_api(anonymous):
    doc = anonymous.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/alerts", "/api/v1/alerts/{alert_id}/strip", "/api/v1/alerts/{alert_id}/ack",
                 "/api/v1/alerts/{alert_id}/fhir", "/api/v1/sites/{site}/patients/{patient}/report/fhir"):
        assert path in doc["paths"], path
    assert not any(p.startswith("/static") or p == "/login" for p in doc["paths"])
