"""Passwords, tokens and sessions (cloud/_auth.py); users, acknowledgements,
comments and audit (cloud/_review_store.py) on SQLite and the real PostgreSQL;
the serve command's user and token creation; FHIR documents without a strip."""

from __future__ import annotations

import hashlib

import pytest

from cloud import AlertRecord, AuthConfigError, ReviewStore, open_store
from cloud._auth import (
    hash_password,
    hash_token,
    new_token,
    session_key_from_env,
    sign_session,
    verify_password,
    verify_session,
)
from cloud._fhir import alert_bundle, report_bundle
from cloud._migrations import MIGRATIONS
from cloud._records import SummaryRecord
from holter._cli import main

PASSWORD = "correct horse battery staple"


def make_alert(n: int, site: str = "A", **fields) -> AlertRecord:
    base = dict(id=f"{n:032x}", site=site, gateway="gw", patient="p1", seq=n, type="pause",
                severity="warning", start_ms=1_760_000_000_000 + n, end_ms=1_760_000_003_000 + n,
                num={"pause_ms": 3000})  # fmt: skip
    return AlertRecord(**(base | fields))


class TestPasswordsAndTokens:
    def test_hash_is_salted_scrypt_and_verifies(self):
        a, b = hash_password(PASSWORD, n=2**10), hash_password(PASSWORD, n=2**10)
        assert a != b and a.startswith("scrypt$1024$8$1$")
        assert verify_password(PASSWORD, a) and verify_password(PASSWORD, b)
        assert not verify_password(PASSWORD + "!", a)

    @pytest.mark.parametrize("stored", ["", "plain", "bcrypt$x$y$z$a$b", "scrypt$1024$8$1$!!$??"])
    def test_malformed_hash_never_verifies(self, stored):
        assert verify_password(PASSWORD, stored) is False

    def test_default_cost_is_owasp_minimum(self):
        assert hash_password(PASSWORD).split("$")[1:4] == [str(2**17), "8", "1"]

    def test_tokens_are_random_and_hashed_with_sha256(self):
        tokens = {new_token() for _ in range(50)}
        assert len(tokens) == 50 and all(t.startswith("hol_") and len(t) >= 40 for t in tokens)
        token = tokens.pop()
        assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()


class TestSessions:
    KEY = b"k" * 32

    def test_round_trip_and_expiry(self):
        cookie, session = sign_session(self.KEY, "alice", ttl_s=60, now_s=1000)
        assert verify_session(self.KEY, cookie, now_s=1059) == session
        assert verify_session(self.KEY, cookie, now_s=1061) is None

    def test_other_key_or_tampering_is_rejected(self):
        cookie, _ = sign_session(self.KEY, "alice")
        assert verify_session(b"j" * 32, cookie) is None
        body, mac = cookie.split(".")
        assert verify_session(self.KEY, body[:-1] + ("A" if body[-1] != "A" else "B") + "." + mac) is None
        assert verify_session(self.KEY, "garbage") is None

    @pytest.mark.parametrize("env", [{}, {"HOLTER_CLOUD_SESSION_KEY": "short"}])
    def test_session_key_is_required(self, env):
        with pytest.raises(AuthConfigError, match="HOLTER_CLOUD_SESSION_KEY must hold a secret of at least 32"):
            session_key_from_env(env)


@pytest.fixture
def review(store_url):
    with open_store(store_url) as store:
        yield ReviewStore(store)


class TestReviewStore:
    def test_migrations_in_version_order(self):
        versions = [m.version for m in sorted(MIGRATIONS, key=lambda m: m.version)]
        assert versions == sorted(set(versions)) and 3 in versions

    def test_users_passwords_and_sites(self, review):
        user = review.create_user("alice", PASSWORD, "B, A")
        assert user.sites == ("A", "B") and user.role == "cardiologist"
        assert review.get_user("alice") == user
        assert review.authenticate("alice", PASSWORD) == user
        assert review.authenticate("alice", "wrong password") is None
        assert review.authenticate("nobody", PASSWORD) is None
        with review.store._lock, review.store._transaction(write=False):
            stored = review.store._execute("SELECT password_hash FROM users").fetchone()[0]
        assert PASSWORD not in stored and stored.startswith("scrypt$")
        assert review.set_sites("alice", ["C"]).sites == ("C",)

    @pytest.mark.parametrize(
        ("name", "password", "sites", "role", "message"),
        [("alice", "short", "A", "cardiologist", "at least 12 characters"),
         ("bad name!", PASSWORD, "A", "cardiologist", "user name must be"),
         ("alice", PASSWORD, "", "cardiologist", "at least one site"),
         ("alice", PASSWORD, "A,b c", "cardiologist", "site must be"),
         ("alice", PASSWORD, "A", "root", "role must be one of")],
    )  # fmt: skip
    def test_bad_users_are_refused(self, review, name, password, sites, role, message):
        with pytest.raises(AuthConfigError, match=message):
            review.create_user(name, password, sites, role=role)
        assert review.get_user(name) is None

    def test_a_name_is_taken_once(self, review):
        review.create_user("alice", PASSWORD, "A")
        with pytest.raises(AuthConfigError, match="exists already"):
            review.create_user("alice", PASSWORD, "B")

    def test_tokens_revoke(self, review):
        review.create_user("alice", PASSWORD, "A")
        token = review.create_token("alice", "ehr")
        assert review.user_for_token(token).name == "alice"
        assert review.user_for_token(token + "x") is None
        assert review.revoke_tokens("alice") == 1
        assert review.user_for_token(token) is None
        with pytest.raises(AuthConfigError, match="no user"):
            review.create_token("nobody")

    def test_acknowledge_once_and_comment_audited(self, review):
        alert = make_alert(1)
        ack, new = review.acknowledge(alert, "alice")
        again, new_again = review.acknowledge(alert, "bob")
        assert new and not new_again and again == ack and ack.user == "alice"
        review.add_comment(alert, "bob", "seen\nwill call")
        with pytest.raises(AuthConfigError, match="non-empty"):
            review.add_comment(alert, "bob", "   ")
        trail = review.alert_audit(alert.id)
        assert [(e.actor, e.action) for e in trail] == [("alice", "acknowledge"), ("bob", "comment")]
        assert trail[0].at_ms == ack.acked_ms and trail[1].detail == "seen\nwill call"
        assert [c.body for c in review.comments(alert.id)] == ["seen\nwill call"]
        assert review.acknowledgements([alert.id, "f" * 32]) == {alert.id: ack}

    def test_site_audit_is_scoped_and_paged(self, review):
        for n in range(5):
            review.add_comment(make_alert(n, site="A"), "alice", f"a{n}")
        review.add_comment(make_alert(9, site="B"), "bob", "b")
        newest = review.site_audit(["A"], limit=3)
        assert [e.detail for e in newest] == ["a4", "a3", "a2"]
        older = review.site_audit(["A"], limit=3, before_id=newest[-1].id)
        assert [e.detail for e in older] == ["a1", "a0"]
        assert [e.detail for e in review.site_audit(["B"])] == ["b"]


class TestServeCommand:
    def test_create_user_and_token(self, tmp_path, monkeypatch, capsys):
        url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
        monkeypatch.setenv("HOLTER_CLOUD_PASSWORD", PASSWORD)
        assert main(["cloud", "serve", "--db", url, "--create-user", "admin", "--sites", "A,B",
                     "--role", "admin"]) == 0  # fmt: skip
        assert "created user admin (admin) for sites A, B" in capsys.readouterr().out
        assert main(["cloud", "serve", "--db", url, "--create-token", "admin"]) == 0
        token = capsys.readouterr().out.strip()
        with open_store(url) as store:
            assert ReviewStore(store).user_for_token(token).name == "admin"

    def test_no_password_no_user(self, tmp_path, monkeypatch, capsys):
        monkeypatch.delenv("HOLTER_CLOUD_PASSWORD", raising=False)
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO(""))
        url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
        assert main(["cloud", "serve", "--db", url, "--create-user", "x", "--sites", "A"]) == 2
        assert "no password: set HOLTER_CLOUD_PASSWORD" in capsys.readouterr().err

    def test_serving_needs_a_session_key(self, tmp_path, monkeypatch, capsys):
        monkeypatch.delenv("HOLTER_CLOUD_SESSION_KEY", raising=False)
        assert main(["cloud", "serve", "--db", f"sqlite:///{tmp_path / 'c.sqlite3'}"]) == 2
        assert "HOLTER_CLOUD_SESSION_KEY must hold a secret" in capsys.readouterr().err


class TestFhirWithoutEvidence:
    def test_info_alert_without_strip_or_mdc_code(self):
        from fhir.resources.R4B.bundle import Bundle

        bundle = Bundle.model_validate(alert_bundle(make_alert(1, type="lead_off", severity="info", num={})))
        (entry,) = bundle.entry
        obs = entry.resource
        assert obs.derivedFrom is None and obs.interpretation is None and obs.component is None
        assert [c.system for c in obs.valueCodeableConcept.coding] == ["urn:holter-edge:alert-type"]

    def test_report_without_alerts(self):
        from fhir.resources.R4B.bundle import Bundle

        summary = SummaryRecord(site="A", gateway="gw", patient="p1", kind="recording", seq=1,
                                start_ms=0, end_ms=86_400_000, num={"beats": 100_000, "hr_mean_bpm": 69.5})  # fmt: skip
        bundle = Bundle.model_validate(report_bundle("A", "p1", summary))
        report = bundle.entry[0].resource
        assert report.conclusion == "No alerts in the period" and len(report.result) == 2
        hr = next(e.resource for e in bundle.entry[1:] if e.resource.code.text == "hr_mean_bpm")
        assert hr.valueQuantity.code == "/min" and float(hr.valueQuantity.value) == 69.5
