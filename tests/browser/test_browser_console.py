"""The operators' console in Chromium: no table wider than its container at 1,280 px, status in view,
no serious or critical axe-core violation on each page, and the dashboard's screenshot for the README."""

import time
from datetime import timedelta
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from sessions_app.models import DeviceType, RevocationReason
from tests.browser.chromium import DESKTOP, PHONE, SCREENSHOTS
from tests.factories import SessionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "operator password 0123"
# Long values: what makes a table wide (an IPv6 address, a long email, a long device name).
LONG_EMAIL = "alexandria.montgomery-fitzgerald@subsidiary.example.com"


@pytest.fixture
def console(tenant: Any) -> dict[str, Any]:
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    now = timezone.now()
    user = UserFactory(tenant=tenant.tenant, email=LONG_EMAIL)
    sessions = []
    for i in range(12):
        sessions.append(SessionFactory(
            user=user, ip_address="2001:db8:85a3:1234:5678:8a2e:370:7334" if i % 2 else "81.2.69.142",
            country=("GB", "US", "DE", None)[i % 4], device_type=(DeviceType.DESKTOP, DeviceType.MOBILE)[i % 2],
            browser="Mobile Safari 17.2" if i % 2 else "Chrome 120", os="iOS 17.2" if i % 2 else "Windows 10",
            created_at=now - timedelta(hours=i * 2), last_active_at=now - timedelta(minutes=i * 7),
            revoked_at=now - timedelta(hours=i) if i % 5 == 4 else None,
            revoked_reason=RevocationReason.REVOKED_BY_ADMIN if i % 5 == 4 else None))
    return {"user": user, "session": sessions[1]}


def signed_in(browser: Browser, live_server: Any, device: dict[str, Any]) -> Page:
    context = browser.new_context(**device)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def pages(live_server: Any, console: dict[str, Any]) -> dict[str, str]:
    base = f"{live_server.url}/admin"
    return {
        "index": f"{base}/",
        "sessions": f"{base}/sessions_app/session/",
        "session": f"{base}/sessions_app/session/{quote(console['session'].pk)}/change/",
        "users": f"{base}/tenants_app/user/",
        "user": f"{base}/tenants_app/user/{quote(console['user'].pk)}/change/",
        "tenants": f"{base}/tenants_app/tenant/",
        "tenant": f"{base}/tenants_app/tenant/{quote(console['user'].tenant_id)}/change/",
        "api keys": f"{base}/tenants_app/apikey/",
        "two-factor": f"{base}/mfa/",
    }


OVERFLOW = """() => [...document.querySelectorAll('#content table')].map(t => {
    const box = t.parentElement; return {id: t.id || t.className, table: t.scrollWidth, room: box.clientWidth,
    scroller: box.scrollWidth > box.clientWidth};
})"""


def test_no_table_overflows_at_1280_px_and_the_status_is_in_view(chromium_browser, live_server, console):
    page = signed_in(chromium_browser, live_server, DESKTOP)
    urls = pages(live_server, console)
    for name in ("sessions", "session", "user"):
        page.goto(urls[name])
        tables = page.evaluate(OVERFLOW)
        assert tables or name == "session", name  # a session's page is fields, not a table
        wide_rows = page.evaluate("[...document.querySelectorAll('.form-row')]"
                                  ".filter(r => r.scrollWidth > r.clientWidth).length")
        assert wide_rows == 0, name
        for table in tables:
            assert table["table"] <= table["room"] and not table["scroller"], (name, table)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, name
    page.goto(urls["sessions"])
    statuses = page.locator("#result_list .hj-status")
    assert statuses.count() == 12
    for i in range(statuses.count()):
        box = statuses.nth(i).bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1280
    page.context.close()


def test_phone_width_lists_sessions_without_page_wide_scrolling(chromium_browser, live_server, console):
    page = signed_in(chromium_browser, live_server, PHONE)
    page.goto(pages(live_server, console)["sessions"])
    assert page.locator("#result_list .hj-status").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    page.screenshot(path=SCREENSHOTS / "admin-sessions-mobile.png", full_page=False, animations="disabled")
    page.context.close()


def serious(page: Page) -> list[tuple[str, str, list[str]]]:
    results = Axe().run(page)
    return [(v["id"], v["impact"], [n["target"][0] for n in v["nodes"]][:3])
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_or_critical_violation_on_any_console_page(chromium_browser, live_server, console):
    context = chromium_browser.new_context(**DESKTOP)
    login = context.new_page()
    login.goto(f"{live_server.url}/admin/login/")
    found = {"login": serious(login)}
    context.close()
    page = signed_in(chromium_browser, live_server, DESKTOP)
    for name, url in pages(live_server, console).items():
        page.goto(url)
        found[name] = serious(page)
    assert {name: v for name, v in found.items() if v} == {}
    page.context.close()


def test_dashboard_screenshot(chromium_browser, live_server, console):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = signed_in(chromium_browser, live_server, DESKTOP)
    assert page.locator("#hj-dashboard svg[role=group]").count() == 5  # sign-ins, revocations, flagged, country, device
    page.locator("#hj-dashboard").screenshot(path=SCREENSHOTS / "admin-dashboard.png", animations="disabled")
    assert (SCREENSHOTS / "admin-dashboard.png").stat().st_size > 10_000
    page.context.close()


def test_an_operator_enrols_signs_in_with_a_code_finds_alice_and_revokes_three_after_confirming(
        chromium_browser, live_server, console, settings, tenant):
    import base64

    from django.contrib.admin.models import LogEntry
    from django_otp.oath import TOTP

    from sessions_app.models import Session

    settings.HJ_OPERATOR_MFA = "required"
    alice = UserFactory(tenant=tenant.tenant, email="alice@example.org")
    three = [SessionFactory(user=alice, created_at=timezone.now() - timedelta(minutes=n)) for n in range(3)]
    context = chromium_browser.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/mfa/")  # required, and none enrolled yet: enrol first
    secret = page.locator("#hj-totp-secret").inner_text()
    page.get_by_label("Code", exact=True).fill(f"{TOTP(base64.b32decode(secret)).token():06d}")
    page.get_by_role("button", name="Confirm").click()
    assert page.locator("#hj-recovery-codes li").count() == 10

    # A new browser signs in with the password and the authenticator's code (the next one: codes are single use).
    context.close()
    context = chromium_browser.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    totp = TOTP(base64.b32decode(secret))
    totp.time = time.time() + 30
    page.get_by_label("Code (authenticator app or recovery code)").fill(f"{totp.token():06d}")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.locator("#hj-dashboard svg[role=group]").count() == 5  # sign-ins, revocations, flagged, country, device

    page.goto(f"{live_server.url}/admin/sessions_app/session/?q=alice%40")
    assert page.locator("#result_list tbody tr").count() == 3
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option("revoke_selected")
    page.get_by_role("button", name="Go").click()
    assert page.locator("#hj-confirm-count").inner_text() == "3 active sessions will end."
    assert Session.objects.filter(user=alice, revoked_at__isnull=True).count() == 3
    page.get_by_role("button", name="Yes, revoke them").click()
    expect(page.locator("ul.messagelist")).to_contain_text("Revoked 3 session(s).")
    assert Session.objects.filter(user=alice, revoked_at__isnull=True).count() == 0
    assert LogEntry.objects.filter(object_id__in=[s.pk for s in three]).count() == 3
    page.goto(f"{live_server.url}/admin/sessions_app/session/{quote(three[0].pk)}/history/")
    expect(page.locator("#change-history")).to_contain_text("Revoked by an operator from the console.")
    context.close()
