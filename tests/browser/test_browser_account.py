"""The page for a worried user, in Chromium: the password change signs the other browser out, the
history says why each device ended, a keyboard alone signs a device out with the focus where it
belongs, Spanish by Accept-Language, and axe-core finds no violation in any state of the page, in
both languages, at desktop and phone widths."""

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from sessions_app import services
from sessions_app.device import describe_device
from sessions_app.models import RevocationReason, Session
from tests.browser.chromium import DESKTOP, PHONE
from tests.conftest import DESKTOP_CHROME, IPHONE_SAFARI
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a brand new passphrase 42"
AXE = Axe()


@pytest.fixture
def base_url(live_server: Any) -> str:
    return f"{live_server.url}/t/acme"


@pytest.fixture
def open_device(chromium_browser: Browser) -> Iterator[Any]:
    """A fresh browser (own cookies) with JavaScript on, as people have it; records CSP violations."""
    contexts: list[BrowserContext] = []
    violations: list[str] = []

    def open_(device: dict[str, Any], locale: str = "en-US") -> Page:
        context = chromium_browser.new_context(locale=locale, **device)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert violations == []


def sign_in(page: Page, base_url: str, *, email_label: str = "Email address", password_label: str = "Password",
            button: str = "Sign in") -> None:
    page.goto(f"{base_url}/sessions")
    page.get_by_label(email_label).fill("alice@example.com")
    page.get_by_label(password_label, exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    expect(page).to_have_url(f"{base_url}/sessions")


def elsewhere(user: Any, user_agent: str, ip: str) -> Session:
    """A session started by the service from another device and address (so its country resolves)."""
    return services.start_session(user=user, device=describe_device(user_agent=user_agent, ip_address=ip)).session


def accessible_name(locator: Any) -> str:
    """Chromium's computed accessible name of an element, through the DevTools accessibility tree."""
    page = locator.page
    client = page.context.new_cdp_session(page)
    try:
        handle = locator.element_handle()
        node = client.send("DOM.describeNode", {"objectId": handle_object_id(client, handle)})
        tree = client.send("Accessibility.getPartialAXTree", {"backendNodeId": node["node"]["backendNodeId"],
                                                              "fetchRelatives": False})
        return tree["nodes"][0]["name"]["value"]
    finally:
        client.detach()


def handle_object_id(client: Any, handle: Any) -> str:
    # Resolve the element again on the DevTools side: mark it, then find it by the mark.
    handle.evaluate("element => element.setAttribute('data-ax-probe', '1')")
    document = client.send("DOM.getDocument", {"depth": 0})
    found = client.send("DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": "[data-ax-probe]"})
    resolved = client.send("DOM.resolveNode", {"nodeId": found["nodeId"]})
    handle.evaluate("element => element.removeAttribute('data-ax-probe')")
    return resolved["object"]["objectId"]


def test_changing_the_password_signs_the_other_browser_out(open_device: Any, base_url: str, user: Any) -> None:
    desktop, phone = open_device(DESKTOP), open_device(PHONE)
    sign_in(phone, base_url)
    sign_in(desktop, base_url)
    desktop.get_by_label("Current password").fill(TEST_PASSWORD)
    desktop.get_by_label("New password").fill(NEW_PASSWORD)
    desktop.get_by_role("button", name="Change password").click()
    expect(desktop.get_by_role("status")).to_have_text("Password changed. 1 other device was signed out.")
    expect(desktop.locator("li.session")).to_have_count(1)
    expect(desktop.locator("li.ended")).to_have_count(1)
    expect(desktop.locator("li.ended")).to_contain_text("Mobile Safari 17 on iOS 17.1")
    expect(desktop.locator("li.ended")).to_contain_text("Password changed")

    phone.reload()
    expect(phone).to_have_url(f"{base_url}/sign-in?next=%2Ft%2Facme%2Fsessions")
    expect(phone.get_by_role("status")).to_have_text("Your password was changed, so this device was signed out.")
    assert Session.objects.get(user=user, device_type="mobile").revoked_reason == RevocationReason.PASSWORD_CHANGED
    assert Session.objects.get(user=user, device_type="desktop").revoked_at is None


def test_history_lists_what_was_signed_out_and_why(open_device: Any, base_url: str, user: Any) -> None:
    desktop, phone = open_device(DESKTOP), open_device(PHONE)
    sign_in(phone, base_url)
    sign_in(desktop, base_url)
    history = desktop.get_by_role("region", name="Recently signed out")
    expect(history).to_contain_text("No device was signed out in the last 30 days.")
    row = desktop.locator("li.session", has_text="Mobile Safari 17")
    row.locator("summary").click()
    row.get_by_role("button", name="Sign out of Mobile Safari 17 on iOS 17.1").click()
    expect(history.locator("li.ended")).to_have_count(1)
    expect(history.locator("li.ended")).to_contain_text("Signed out from another device")
    expect(history.get_by_role("heading", level=3)).to_have_text("Mobile Safari 17 on iOS 17.1")


def test_keyboard_alone_signs_out_with_focus_where_it_belongs(open_device: Any, base_url: str, user: Any) -> None:
    # Two phones of the same model, one in Japan (flagged), one in the United States.
    elsewhere(user, DESKTOP_CHROME, "8.8.8.8")
    japan = elsewhere(user, IPHONE_SAFARI, "133.1.1.1")
    usa = elsewhere(user, IPHONE_SAFARI, "8.8.4.4")
    desktop = open_device(DESKTOP)
    sign_in(desktop, base_url)
    summaries = {session.id: desktop.locator(f"li[id='{session.id}'] summary") for session in (japan, usa)}
    names = {sid: accessible_name(summary) for sid, summary in summaries.items()}
    assert names[japan.id] == "Sign out of Mobile Safari 17 on iOS 17.1, Japan, last active just now"
    assert names[usa.id] == "Sign out of Mobile Safari 17 on iOS 17.1, United States, last active just now"
    expect(desktop.locator(f"li[id='{japan.id}']")).to_contain_text("First sign-in from Japan")

    target = summaries[japan.id]
    for _ in range(20):
        desktop.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("the row's Sign out control is not reachable with Tab")
    desktop.keyboard.press("Enter")
    details = desktop.locator(f"li[id='{japan.id}'] details")
    expect(details).to_have_attribute("open", "")
    open_name = accessible_name(target)
    assert open_name == "Cancel, keep Mobile Safari 17 on iOS 17.1 signed in"
    assert "Cancel of" not in open_name
    desktop.keyboard.press("Escape")
    expect(details).not_to_have_attribute("open", "")
    expect(target).to_be_focused()

    desktop.keyboard.press("Enter")
    desktop.keyboard.press("Tab")
    confirm = desktop.get_by_role("button", name="Sign out of Mobile Safari 17 on iOS 17.1, Japan")
    expect(confirm).to_be_focused()
    desktop.keyboard.press("Enter")
    message = desktop.get_by_role("status")
    expect(message).to_have_text("Signed out of Mobile Safari 17 on iOS 17.1.")
    expect(message).to_be_focused()
    assert Session.objects.get(pk=japan.pk).revoked_reason == RevocationReason.REVOKED_BY_USER
    assert Session.objects.get(pk=usa.pk).revoked_at is None


def test_spanish_by_accept_language(open_device: Any, base_url: str, user: Any) -> None:
    elsewhere(user, DESKTOP_CHROME, "8.8.8.8")
    elsewhere(user, IPHONE_SAFARI, "133.1.1.1")
    page = open_device(PHONE, locale="es-ES")
    sign_in(page, base_url, email_label="Correo electrónico", password_label="Contraseña", button="Iniciar sesión")
    assert page.locator("html").get_attribute("lang") == "es"
    expect(page.get_by_role("heading", level=1)).to_have_text("Sesiones activas")
    expect(page.get_by_text("Primer inicio de sesión desde Japón")).to_be_visible()
    expect(page.get_by_role("heading", name="Sesiones cerradas recientemente")).to_be_visible()
    row = page.locator("li.session", has_text="Japón")
    row.locator("summary").click()
    row.get_by_role("button", name="Cerrar sesión en Mobile Safari 17 en iOS 17.1, Japón").click()
    expect(page.get_by_role("status")).to_have_text("Sesión cerrada en Mobile Safari 17 en iOS 17.1.")
    expect(page.locator("li.ended")).to_contain_text("Sesión cerrada desde otro dispositivo")


# --- axe-core: every state of the page, both languages, both widths --------------------------------------


def assert_no_violations(page: Page, state: str) -> None:
    results = AXE.run(page)
    summary = [(v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3]) for v in
               results.response["violations"]]
    assert summary == [], f"{state}: {summary}"


@pytest.mark.parametrize("locale", ["en-US", "es-ES"])
@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_violation_in_any_state(locale: str, device: dict[str, Any], open_device: Any,
                                             base_url: str, user: Any) -> None:
    elsewhere(user, DESKTOP_CHROME, "8.8.8.8")
    elsewhere(user, IPHONE_SAFARI, "133.1.1.1")  # flagged: new country and new device
    gone = elsewhere(user, IPHONE_SAFARI, "81.2.69.142")
    services.revoke_sessions(session_ids=[gone.pk], reason=RevocationReason.SESSION_LIMIT,
                             actor=services.SYSTEM)
    page = open_device(device, locale=locale)
    page.goto(f"{base_url}/sign-in")
    assert_no_violations(page, "sign-in")
    page.locator("input[type=email]").fill("alice@example.com")
    page.locator("input[type=password]").fill("wrong password")
    page.locator("form button[type=submit]").click()
    page.locator("#sign-in-error").wait_for()
    assert_no_violations(page, "sign-in error")
    page.locator("input[type=password]").fill(TEST_PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(f"{base_url}/sessions")
    expect(page.locator("li.session--flagged")).to_have_count(1)
    expect(page.locator("li.ended")).to_have_count(1)
    assert_no_violations(page, "sessions")
    page.locator("li.session--flagged summary").click()
    assert_no_violations(page, "row confirmation open")
    page.keyboard.press("Escape")
    page.locator(".group__header summary").click()
    assert_no_violations(page, "sign out all others open")
    page.keyboard.press("Escape")
    page.locator(".account summary").click()
    assert_no_violations(page, "header sign-out open")
    page.keyboard.press("Escape")
    page.locator("#id_current_password").fill("not my password")
    page.locator("#id_new_password").fill("short")
    page.locator("#password button[type=submit]").click()
    page.locator(".field__error").first.wait_for()
    assert_no_violations(page, "password change refused")
    page.locator("li.session--flagged summary").click()
    page.locator("li.session--flagged form button").click()
    page.get_by_role("status").wait_for()
    assert_no_violations(page, "after a sign-out")
    page.locator(".account summary").click()
    page.locator(".account form button").click()
    page.get_by_role("status").wait_for()
    assert_no_violations(page, "signed out, back at sign-in")


def test_the_axe_check_itself_catches_a_violation(open_device: Any, base_url: str, user: Any) -> None:
    """Guards the check above: a button without a name must be reported."""
    page = open_device(DESKTOP)
    page.goto(f"{base_url}/sign-in")
    page.evaluate("document.querySelector('main').append(document.createElement('button'))")
    with pytest.raises(AssertionError, match="button-name"):
        assert_no_violations(page, "broken on purpose")
