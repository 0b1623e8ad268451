"""The dashboard in a real browser: Playwright driving Debian's Chromium
(/usr/bin/chromium; Playwright's own browser downloads are never used).

``make test`` installs Debian's ``chromium`` when it is missing (see the
Makefile). Without it this test skips, saying so, unless ``HOLTER_REQUIRE_DATA``
is set (as ``.ci/run`` does), where it fails.
"""

from __future__ import annotations

import os
import re

import httpx
import pytest

from benchmarks._data import data_required
from cloud import open_store
from tests.cloud.serve_helpers import PASSWORD, LiveServer, add_users, alert_id, fill

CHROMIUM = os.environ.get("HOLTER_CHROMIUM", "/usr/bin/chromium")


def _browser_or_skip():
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[dev]')"
    if reason is None and not os.access(CHROMIUM, os.X_OK):
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; make test does it)"
    if reason is not None:
        if data_required():
            pytest.fail(f"dashboard browser test: {reason} (HOLTER_REQUIRE_DATA is set)", pytrace=False)
        pytest.skip(f"dashboard browser test: {reason}")
    return sync_playwright


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('dash') / 'cloud.sqlite3'}")
    fill(store)
    review = add_users(store)
    review.create_user("carol", PASSWORD, ["C"])  # a clinic with no alerts
    token = review.create_token("carol")
    try:
        with LiveServer(store) as server:
            yield server, token
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])  # fmt: skip
        try:
            yield browser
        finally:
            browser.close()


def _login(browser, url: str, user: str):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("#user", user)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(f"{url}/")
    return context, page


def test_cardiologist_reviews_an_alert_and_another_clinic_cannot_see_it(site, browser):
    server, carol_token = site
    vt = alert_id(3)
    errors: list[str] = []

    context, page = _login(browser, server.url, "alice")
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # the inbox: site A only, most severe first (the critical VT on top)
        rows = page.locator("#inbox tbody tr")
        assert rows.count() == 5
        assert rows.first.get_attribute("data-alert-id") == vt
        assert page.locator(f'tr[data-alert-id="{alert_id(100)}"]').count() == 0
        cookie = next(c for c in context.cookies() if c["name"] == "holter_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

        # the alert page: the strip drawn with its beat labels
        page.click(f'tr[data-alert-id="{vt}"] a[href="/alerts/{vt}"]')
        page.wait_for_url(f"{server.url}/alerts/{vt}")
        assert page.locator("svg.ecg-strip polyline.lead").count() == 2
        labels = page.locator("svg.ecg-strip text.beat-label")
        assert [labels.nth(i).get_attribute("data-symbol") for i in range(labels.count())] == ["N", "N", "V", "N"]
        assert page.locator("svg.ecg-strip").bounding_box()["width"] > 100

        # acknowledge: the page reloads with the state and the audit line
        page.click("#ack-button")
        page.wait_for_selector("#audit td.action:text('acknowledge')")
        assert re.search(r"by alice", page.inner_text("#ack-state"))
        assert page.locator("#ack-button").count() == 0
        audit_row = page.locator("#audit tbody tr", has_text="acknowledge")
        assert "alice" in audit_row.inner_text()

        # comment
        page.fill("#comment-body", "VT 3 beats, patient called")
        page.click("#comment-button")
        page.wait_for_selector("#comments li:has-text('VT 3 beats, patient called')")
        assert page.locator("#audit td.action:text('comment')").count() == 1

        # patient timeline and the 24-hour report
        page.goto(f"{server.url}/sites/A/patients/pa-1")
        assert page.inner_text("#risk-level") == "high"
        assert page.locator("svg.hr-chart polyline").count() == 1
        page.click("text=24-hour report")
        assert "12003" in page.inner_text("#report")
    finally:
        context.close()
    assert errors == []

    # another clinic: empty inbox, the alert's URL is a 404 page, the API says 404 too
    context, page = _login(browser, server.url, "carol")
    try:
        assert page.locator("#inbox tbody tr td.empty").count() == 1
        response = page.goto(f"{server.url}/alerts/{vt}")
        assert response.status == 404 and "no alert" in page.inner_text("#not-found")
        assert page.locator("svg.ecg-strip").count() == 0
        response = page.goto(f"{server.url}/sites/A/patients/pa-1")
        assert response.status == 404
    finally:
        context.close()
    api = httpx.get(f"{server.url}/api/v1/alerts/{vt}", headers={"Authorization": f"Bearer {carol_token}"},
                    timeout=60.0)
    assert api.status_code == 404


def test_pages_need_a_session(site, browser):
    server, _ = site
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{server.url}/alerts/{alert_id(3)}")
        assert page.url == f"{server.url}/login"
        page.fill("#user", "alice")
        page.fill("#password", "wrong password!!")
        page.click("#login-button")
        page.wait_for_selector("#login-error:has-text('wrong user name or password')")
    finally:
        context.close()
