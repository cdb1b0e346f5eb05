"""The page's sign-in: a real session with this browser's metadata, its token in a hardened cookie,
one generic failure message, a rate limit, and a `next` that never leaves the site."""

import re
from typing import Any

import pytest
from django.test import Client

from sessions_app.models import DeviceType, RefreshToken, Session
from sessions_app.web.security import CONTENT_SECURITY_POLICY
from tenants_app import secrets
from tenants_app.models import Tenant, User
from tests.conftest import IPHONE_SAFARI
from tests.factories import TEST_PASSWORD, UserFactory
from tests.webpages import COOKIE, browser, signed_in

pytestmark = pytest.mark.django_db

GENERIC_FAILURE = "The email or password is incorrect, or this account cannot sign in."


def post_sign_in(client: Client, email: str = "alice@example.com", password: str = TEST_PASSWORD,
                 **extra: str) -> Any:
    return client.post("/t/acme/sign-in", {"email": email, "password": password, **extra})


def test_sign_in_page_is_served_with_the_security_headers(tenant: Any) -> None:
    response = browser().get("/t/acme/sign-in")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ) == CONTENT_SECURITY_POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert '<label class="field__label" for="id_email">Email address</label>' in html
    assert '<label class="field__label" for="id_password">Password</label>' in html
    assert "<h1" in html and "Sign in to Acme" in html
    # Nothing from another origin and nothing inline that the policy would block.
    # One script, a same-origin file (Escape closes confirmations); nothing inline.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/web/confirm.js" defer>']
    assert "</script>" in html and "<script>" not in html and "style=" not in html and "<style" not in html
    assert "https://" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


@pytest.mark.parametrize("path", ["/t/nope/sign-in", "/t/nope/sessions", "/t/globex/sign-in"])
def test_unknown_or_disabled_tenant_is_404(tenant: Any, other_tenant: Any, path: str) -> None:
    Tenant.objects.filter(slug="globex").update(status=Tenant.Status.DISABLED)
    assert browser().get(path).status_code == 404


def test_sign_in_creates_a_session_of_this_browser_and_stores_its_token_in_the_cookie(user: User) -> None:
    client = browser(user_agent=IPHONE_SAFARI, ip="81.2.69.142")
    response = post_sign_in(client)

    assert response.status_code == 302
    assert response["Location"] == "/t/acme/sessions"
    session = Session.objects.get(user=user)
    assert (session.device_type, session.browser, session.os) == (DeviceType.MOBILE, "Mobile Safari 17", "iOS 17.1")
    assert (session.ip_address, session.country, session.revoked_at) == ("81.2.69.142", "GB", None)
    cookie = response.cookies[COOKIE]
    assert cookie.value.startswith("pgt_")
    # Stored only hashed, as an unretired page credential of exactly this session (never an API one).
    token = RefreshToken.objects.get(session=session)
    assert token.token_hash == secrets.digest(cookie.value) and token.retired_at is None
    assert not RefreshToken.objects.filter(token_hash=cookie.value).exists()
    assert (cookie["httponly"], cookie["secure"], cookie["samesite"], cookie["path"]) == (True, True, "Lax", "/")
    assert cookie["domain"] == ""
    assert 30 * 86400 - 60 <= int(cookie["max-age"]) <= 30 * 86400


def test_in_debug_the_cookie_is_neither_secure_nor_prefixed(user: User, settings: Any) -> None:
    settings.DEBUG = True
    response = post_sign_in(browser())
    assert response.status_code == 302
    assert COOKIE not in response.cookies
    cookie = response.cookies["hj_session"]
    assert (cookie["httponly"], cookie["secure"], cookie["samesite"]) == (True, "", "Lax")


@pytest.mark.parametrize("email,password", [
    ("alice@example.com", "not the password"),
    ("nobody@example.com", TEST_PASSWORD),
    ("ALICE@example.com ", "wrong"),
])
def test_failures_show_one_generic_message_and_create_nothing(user: User, email: str, password: str) -> None:
    response = post_sign_in(browser(), email=email, password=password)
    assert response.status_code == 400
    html = response.content.decode()
    assert GENERIC_FAILURE in html
    assert password not in html  # the password field comes back empty
    assert COOKIE not in response.cookies
    assert Session.objects.count() == 0


def test_a_disabled_account_gets_the_same_message(user: User) -> None:
    User.objects.filter(pk=user.pk).update(status=User.Status.DISABLED)
    response = post_sign_in(browser())
    assert response.status_code == 400
    assert GENERIC_FAILURE in response.content.decode()
    assert Session.objects.count() == 0


def test_email_is_case_and_space_insensitive(user: User) -> None:
    assert post_sign_in(browser(), email="  Alice@Example.COM ").status_code == 302
    assert Session.objects.filter(user=user).count() == 1


def test_missing_fields_are_named_without_saying_anything_about_accounts(tenant: Any) -> None:
    response = browser().post("/t/acme/sign-in", {"email": "", "password": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_email_error"' in html and 'aria-invalid="true"' in html
    assert GENERIC_FAILURE not in html
    assert Session.objects.count() == 0


def test_attempts_per_address_are_limited(user: User) -> None:
    client = browser(ip="203.0.113.9")
    for attempt in range(10):
        assert post_sign_in(client, email=f"guess{attempt}@example.com").status_code == 400
    response = post_sign_in(client)  # even the right password waits now
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many sign-in attempts" in response.content.decode()
    assert Session.objects.count() == 0
    # Another address is not affected.
    assert post_sign_in(browser(ip="203.0.113.10")).status_code == 302


def test_attempts_per_email_are_limited_across_addresses(user: User) -> None:
    for attempt in range(10):
        assert post_sign_in(browser(ip=f"198.51.100.{attempt}"), password="wrong").status_code == 400
    assert post_sign_in(browser(ip="198.51.100.200")).status_code == 429
    assert Session.objects.count() == 0
    other = UserFactory(tenant=user.tenant, email="bob@example.com")
    assert post_sign_in(browser(ip="198.51.100.201"), email="bob@example.com").status_code == 302
    assert Session.objects.filter(user=other).count() == 1


@pytest.mark.parametrize("next_url", [
    "https://evil.example/phish", "//evil.example/phish", "http://testserver.evil.example/",
    "javascript:alert(1)", "/\\evil.example", "https:///evil.example",
])
def test_next_never_leaves_the_site(user: User, next_url: str) -> None:
    response = post_sign_in(browser(), next=next_url)
    assert response.status_code == 302
    assert response["Location"] == "/t/acme/sessions"
    page = browser().get("/t/acme/sign-in", {"next": next_url})
    assert 'name="next"' not in page.content.decode()


def test_a_local_next_is_followed(user: User) -> None:
    page = browser().get("/t/acme/sign-in", {"next": "/t/acme/sessions?from=mail"})
    assert 'name="next" value="/t/acme/sessions?from=mail"' in page.content.decode()
    response = post_sign_in(browser(), next="/t/acme/sessions?from=mail")
    assert (response.status_code, response["Location"]) == (302, "/t/acme/sessions?from=mail")


def test_a_signed_in_browser_skips_the_form(user: User) -> None:
    client = signed_in()
    response = client.get("/t/acme/sign-in")
    assert (response.status_code, response["Location"]) == (302, "/t/acme/sessions")
    assert Session.objects.count() == 1


def test_sign_in_without_the_csrf_token_is_refused(user: User) -> None:
    client = browser(enforce_csrf_checks=True)
    response = post_sign_in(client)
    assert response.status_code == 403
    assert COOKIE not in response.cookies
    assert Session.objects.count() == 0


def test_sign_in_with_the_csrf_token_from_the_form_works(user: User) -> None:
    client = browser(enforce_csrf_checks=True)
    form = client.get("/t/acme/sign-in")
    token = form.context["csrf_token"]
    assert post_sign_in(client, csrfmiddlewaretoken=str(token)).status_code == 302
    assert Session.objects.filter(user=user).count() == 1


def test_other_methods_are_refused(tenant: Any) -> None:
    assert browser().put("/t/acme/sign-in").status_code == 405
