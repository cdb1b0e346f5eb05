"""The "Manage active sessions" page in a real browser: two devices of one user sign each other out.

Chromium runs with JavaScript disabled: the page must work without it. Every action is performed the
way a person does it (open the disclosure, confirm), and the API confirms what the page did.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from sessions_app.models import RevocationReason, Session
from tests.browser.chromium import DESKTOP, PHONE
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"


@pytest.fixture
def base_url(live_server: Any) -> str:
    return f"{live_server.url}/t/acme"


@pytest.fixture
def open_device(chromium_browser: Browser) -> Iterator[Any]:
    """Opens a fresh browser (own cookie jar) as a device; records CSP violations on its pages."""
    contexts: list[BrowserContext] = []
    violations: list[str] = []

    def open_(device: dict[str, Any]) -> Page:
        context = chromium_browser.new_context(java_script_enabled=False, **device)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert violations == []


def sign_in(page: Page, base_url: str, email: str = "alice@example.com", password: str = TEST_PASSWORD) -> None:
    page.goto(f"{base_url}/sessions")
    expect(page).to_have_url(f"{base_url}/sign-in?next=%2Ft%2Facme%2Fsessions")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/sessions")
    expect(page.get_by_role("heading", name="Active sessions", level=1)).to_be_visible()


def session_items(page: Page) -> Any:
    return page.locator("li.session")


def sign_out_other(page: Page, label: str) -> None:
    """Opens the row's "Sign out" disclosure and confirms, like a person would."""
    row = session_items(page).filter(has=page.get_by_role("heading", name=label))
    row.locator("summary").click()
    row.get_by_role("button", name=f"Sign out of {label}").click()


def api_sessions(secret_key_client: Any, user_id: str) -> dict[str, dict[str, Any]]:
    response = secret_key_client.get("/v1/sessions", {"user_id": user_id, "status": "all", "limit": 100})
    assert response.status_code == 200, response.content
    return {row["id"]: row for row in response.json()["data"]}


def test_desktop_lists_both_devices_and_signs_the_iphone_out(
    open_device: Any, base_url: str, user: Any, secret_key_client: Any,
) -> None:
    desktop, iphone = open_device(DESKTOP), open_device(PHONE)
    sign_in(desktop, base_url)
    sign_in(iphone, base_url)
    desktop.reload()

    items = session_items(desktop)
    expect(items).to_have_count(2)
    current = items.filter(has_text="This device")
    expect(current).to_have_count(1)
    expect(current.get_by_role("heading")).to_have_text("Chrome 120 on macOS 10.15 This device")
    expect(current.get_by_role("img", name="Computer")).to_be_visible()
    expect(current.locator("summary")).to_have_count(0)  # no sign-out button on the current session
    other = items.filter(has_not_text="This device")
    expect(other.get_by_role("heading")).to_have_text("Mobile Safari 17 on iOS 17.1")
    expect(other.get_by_role("img", name="Phone")).to_be_visible()
    expect(other).to_contain_text("Unknown location")  # the live server sees 127.0.0.1
    expect(other).to_contain_text("127.0.0.1")
    expect(other).to_contain_text("Last active just now")

    sign_out_other(desktop, "Mobile Safari 17 on iOS 17.1")
    expect(desktop).to_have_url(f"{base_url}/sessions")
    expect(desktop.get_by_role("status")).to_have_text("Signed out of Mobile Safari 17 on iOS 17.1.")
    expect(session_items(desktop)).to_have_count(1)
    expect(desktop.get_by_text("You aren't signed in anywhere else.")).to_be_visible()

    iphone.reload()
    expect(iphone).to_have_url(f"{base_url}/sign-in?next=%2Ft%2Facme%2Fsessions")
    expect(iphone.get_by_role("status")).to_have_text("This device was signed out from another of your devices.")

    iphone_session = Session.objects.get(user=user, device_type="mobile")
    desktop_session = Session.objects.get(user=user, device_type="desktop")
    rows = api_sessions(secret_key_client, user.id)
    assert (rows[iphone_session.id]["status"], rows[iphone_session.id]["revoked_reason"]) == (
        "revoked", RevocationReason.REVOKED_BY_USER)
    assert (rows[desktop_session.id]["status"], rows[desktop_session.id]["revoked_reason"]) == ("active", None)


def test_iphone_signs_out_all_other_devices(open_device: Any, base_url: str, user: Any, secret_key_client: Any) -> None:
    desktop, firefox, iphone = open_device(DESKTOP), open_device({**DESKTOP, "user_agent": FIREFOX_WINDOWS}), \
        open_device(PHONE)
    for page in (desktop, firefox, iphone):
        sign_in(page, base_url)
    iphone.reload()
    expect(session_items(iphone)).to_have_count(3)

    iphone.locator("summary", has_text="Sign out of all other devices").click()
    iphone.get_by_role("button", name="Sign out of all other devices").click()
    expect(iphone.get_by_role("status")).to_have_text("Signed out of 2 other devices.")
    items = session_items(iphone)
    expect(items).to_have_count(1)
    expect(items).to_contain_text("This device")
    expect(items.get_by_role("heading")).to_have_text("Mobile Safari 17 on iOS 17.1 This device")

    for page in (desktop, firefox):
        page.reload()
        expect(page).to_have_url(f"{base_url}/sign-in?next=%2Ft%2Facme%2Fsessions")

    iphone_session = Session.objects.get(user=user, device_type="mobile")
    rows = api_sessions(secret_key_client, user.id)
    assert {(row["browser"], row["status"], row["revoked_reason"]) for row in rows.values()} == {
        ("Chrome 120", "revoked", "revoked_by_user"),
        ("Firefox 121", "revoked", "revoked_by_user"),
        ("Mobile Safari 17", "active", None),
    }
    assert rows[iphone_session.id]["status"] == "active"


def test_signing_out_this_device_from_the_header(open_device: Any, base_url: str, user: Any) -> None:
    desktop = open_device(DESKTOP)
    sign_in(desktop, base_url)
    desktop.locator(".account summary").click()
    desktop.get_by_role("button", name="Sign out of this device").click()
    expect(desktop).to_have_url(f"{base_url}/sign-in")
    expect(desktop.get_by_role("status")).to_have_text("You signed out.")
    session = Session.objects.get(user=user)
    assert session.revoked_reason == RevocationReason.SIGNED_OUT
    assert desktop.context.cookies() == [c for c in desktop.context.cookies() if c["name"] != "__Host-hj_session"]


def test_a_keyboard_alone_can_sign_out_another_device(open_device: Any, base_url: str, user: Any) -> None:
    desktop, iphone = open_device(DESKTOP), open_device(PHONE)
    sign_in(iphone, base_url)
    sign_in(desktop, base_url)
    desktop.reload()
    summary = desktop.locator("li.session summary")
    for _ in range(12):  # skip link, header sign-out, sign out of all others, then the row's button
        desktop.keyboard.press("Tab")
        if summary.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("the row's Sign out button is not reachable with Tab")
    # A visible focus ring: the outline is drawn, not suppressed.
    assert summary.evaluate("element => getComputedStyle(element).outlineStyle") == "solid"
    desktop.keyboard.press("Enter")
    desktop.keyboard.press("Tab")
    expect(desktop.get_by_role("button", name="Sign out of Mobile Safari 17 on iOS 17.1")).to_be_focused()
    desktop.keyboard.press("Enter")
    expect(desktop.get_by_role("status")).to_have_text("Signed out of Mobile Safari 17 on iOS 17.1.")
    assert Session.objects.get(user=user, device_type="mobile").revoked_reason == RevocationReason.REVOKED_BY_USER
