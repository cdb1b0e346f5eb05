"""A tenant's single-page app on its own origin, in a real Chromium (issue 16).

A tiny static page (tests/browser/cors_page/) is served on another loopback port, a second origin, and
calls the live server with fetch(): the browser itself enforces CORS, so what the page can read is
exactly what the service's headers allow.
"""

import functools
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from sessions_app.models import RevocationReason, Session
from tenants_app.models import TenantConfig
from tenants_app.services import update_tenant_config
from tests.conftest import TenantKeys
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE_FILES = Path(__file__).resolve().parent / "cors_page"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def serve_page() -> Iterator[Callable[[], str]]:
    """Serves tests/browser/cors_page on a fresh loopback port; answers the page's origin."""
    servers: list[ThreadingHTTPServer] = []

    def serve() -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(PAGE_FILES)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def open_app(chromium_browser: Browser, live_server: Any, tenant: TenantKeys) -> Iterator[Callable[[str], Page]]:
    contexts = []

    def open_(origin: str) -> Page:
        context = chromium_browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{origin}/index.html")
        page.evaluate("([url, tenant, key]) => window.app.configure(url, tenant, key)",
                      [live_server.url, tenant.id, tenant.publishable_key])
        return page

    yield open_
    for context in contexts:
        context.close()


def app(page: Page, call: str, *args: Any) -> dict[str, Any]:
    return page.evaluate(f"(args) => window.app.{call}(...args)", list(args))


def test_an_allowed_origin_signs_in_lists_signs_another_device_out_and_itself(
    open_app: Any, serve_page: Any, tenant: TenantKeys, user: Any, sign_in: Any,
) -> None:
    origin = serve_page()
    update_tenant_config(tenant=tenant.tenant, changes={"allowed_origins": [origin]})
    other_device = sign_in()["session"]["id"]
    page = open_app(origin)

    signed_in = app(page, "signIn", user.email, TEST_PASSWORD)
    assert signed_in["status"] == 200, signed_in
    assert signed_in["requestId"].startswith("req_")  # an exposed header
    this_device = signed_in["body"]["session"]["id"]
    assert page.locator("#status").text_content() == "Signed in as alice@example.com"

    me = app(page, "me")
    assert (me["status"], me["body"]["session"]["id"], me["body"]["session"]["current"]) == (200, this_device, True)

    listed = app(page, "sessions")
    assert listed["status"] == 200
    assert {row["id"]: row["current"] for row in listed["body"]["data"]} == {this_device: True, other_device: False}
    assert page.locator("#sessions li").count() == 2

    assert app(page, "revoke", other_device)["status"] == 204
    assert Session.objects.get(pk=other_device).revoked_reason == RevocationReason.REVOKED_BY_USER
    assert [row["id"] for row in app(page, "sessions")["body"]["data"]] == [this_device]

    assert app(page, "signOut")["status"] == 204
    assert Session.objects.get(pk=this_device).revoked_reason == RevocationReason.SIGNED_OUT
    after = app(page, "me")  # an error envelope, readable by the page too
    assert (after["status"], after["body"]["error"]["code"]) == (401, "session_revoked")
    assert after["requestId"] == after["body"]["error"]["request_id"]


def test_error_envelopes_are_readable_by_the_allowed_page(
    open_app: Any, serve_page: Any, tenant: TenantKeys, user: Any,
) -> None:
    origin = serve_page()
    update_tenant_config(tenant=tenant.tenant, changes={"allowed_origins": [origin]})
    page = open_app(origin)
    wrong = app(page, "signIn", user.email, "not the password")
    assert (wrong["status"], wrong["body"]["error"]["code"]) == (401, "invalid_credentials")
    assert wrong["requestId"] == wrong["body"]["error"]["request_id"]
    no_token = app(page, "me")
    assert (no_token["status"], no_token["body"]["error"]["code"]) == (401, "missing_token")


def test_the_same_page_on_an_origin_not_allowed_is_refused_by_the_browser(
    open_app: Any, serve_page: Any, tenant: TenantKeys, user: Any,
) -> None:
    allowed, elsewhere = serve_page(), serve_page()
    update_tenant_config(tenant=tenant.tenant, changes={"allowed_origins": [allowed]})
    page = open_app(elsewhere)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    refused = app(page, "signIn", user.email, TEST_PASSWORD)
    assert refused == {"failed": "TypeError: Failed to fetch"}
    assert Session.objects.filter(user=user).count() == 0  # the preflight stopped it before the sign-in
    page.wait_for_timeout(200)
    assert any("blocked by CORS policy" in text for text in console), console


def test_a_page_cannot_call_a_secret_key_route_even_from_an_allowed_origin(
    open_app: Any, serve_page: Any, tenant: TenantKeys,
) -> None:
    origin = serve_page()
    update_tenant_config(tenant=tenant.tenant, changes={"allowed_origins": [origin]})
    page = open_app(origin)
    read = app(page, "withSecretKey", tenant.secret_key, "GET", "/v1/admin/config")
    assert read == {"failed": "TypeError: Failed to fetch"}
    write = app(page, "withSecretKey", tenant.secret_key, "PATCH", "/v1/admin/config", {"max_sessions_per_user": 1})
    assert write == {"failed": "TypeError: Failed to fetch"}
    assert TenantConfig.objects.get(tenant=tenant.tenant).max_sessions_per_user is None
