"""Hostile requests against the end-user pages: refused with a page (never a 500 or a traceback),
and nothing in the database changes."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from sessions_app.web.cookie import cookie_name
from tests.conftest import DESKTOP_CHROME, TenantKeys
from tests.contract.test_hostile_requests import METACHARACTERS, snapshot
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(tenant: TenantKeys) -> Any:
    return UserFactory(tenant=tenant.tenant, email="alice@example.com")


@pytest.fixture
def unchanged(alice: Any) -> Iterator[Callable[[], None]]:
    before = snapshot()
    yield lambda: _same(before)


def _same(before: dict[str, Any]) -> None:
    assert snapshot() == before


def assert_page_refusal(response: Any, *statuses: int) -> None:
    assert response.status_code in statuses, response.status_code
    body = response.content.decode(errors="replace")
    assert "Traceback" not in body and "settings.py" not in body


def browser(**extra: str) -> Client:
    return Client(HTTP_USER_AGENT=DESKTOP_CHROME, REMOTE_ADDR="203.0.113.70", **extra)


@pytest.mark.parametrize("fields", [
    {"email": "alice@example.com\x00", "password": TEST_PASSWORD},
    {"email": "alice@example.com", "password": TEST_PASSWORD + "\x00"},
    {"email": "alice@example.com", "password": "x" * 5000},
    {"email": "a" * 5000 + "@example.com", "password": TEST_PASSWORD},
    {"email": ["alice@example.com", "bob@example.com"], "password": TEST_PASSWORD},
    {"password": TEST_PASSWORD},
    *({"email": evil, "password": evil} for evil in METACHARACTERS),
], ids=lambda fields: repr(fields)[:40])
def test_sign_in_form_with_hostile_fields(unchanged: Callable[[], None], fields: dict[str, Any]) -> None:
    assert_page_refusal(browser().post("/t/acme/sign-in", fields), 400)
    unchanged()


@pytest.mark.parametrize("body", [b"email=%ff%fe%00&password=\xff\xfe", b"\xff" * 1000, b"=&=&&==",
                                  b"email=" + b"%" * 5000])
def test_sign_in_form_with_malformed_bodies(unchanged: Callable[[], None], body: bytes) -> None:
    response = browser().generic("POST", "/t/acme/sign-in", data=body,
                                 content_type="application/x-www-form-urlencoded")
    assert_page_refusal(response, 400)
    unchanged()


def test_sign_in_form_with_a_3mb_body(unchanged: Callable[[], None]) -> None:
    response = browser().post("/t/acme/sign-in", {"email": "alice@example.com", "password": "x" * 3_000_000})
    assert_page_refusal(response, 400, 413)
    unchanged()


def test_8kb_user_agent_on_the_page(unchanged: Callable[[], None]) -> None:
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 " + "A" * 8192, REMOTE_ADDR="203.0.113.70")
    assert client.get("/t/acme/sign-in").status_code == 200
    assert_page_refusal(client.post("/t/acme/sign-in", {"email": "alice@example.com", "password": "nope"}), 400)
    unchanged()


@pytest.mark.parametrize("cookie", ["garbage", "rft_" + "A" * 43, "rft_\u00e9\u00e9", "x" * 4000, "' OR 1=1 --"])
def test_forged_session_cookies_sign_nobody_in(unchanged: Callable[[], None], cookie: str) -> None:
    client = browser()
    client.cookies[cookie_name()] = cookie
    page = client.get("/t/acme/sessions")
    assert page.status_code == 302 and page["Location"].startswith("/t/acme/sign-in")
    assert_page_refusal(client.post("/t/acme/sessions/sign-out-others"), 302, 403)
    unchanged()


@pytest.mark.parametrize("evil", [*METACHARACTERS, "ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "%00", "..%2f..%2f"])
def test_metacharacters_in_page_paths(unchanged: Callable[[], None], evil: str) -> None:
    client = browser()
    for path in (f"/t/{evil}/sign-in", f"/t/acme/sessions/{evil}/sign-out"):
        response = client.post(path)
        assert_page_refusal(response, 302, 403, 404, 405)
    unchanged()


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example", "javascript:alert(1)",
                                      "/\\evil.example", "http:/evil.example"])
def test_sign_in_never_redirects_off_site(alice: Any, next_url: str) -> None:
    response = browser().post("/t/acme/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD,
                                                  "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/t/acme/sessions"
