"""Rate limits (`docs/api.md` section 13): 429 `rate_limited` in the envelope, with Retry-After and
X-RateLimit-*; sign-in per email and per client address, sign-up and refresh per key and per
address, the page's sign-in form. Counters live in Django's cache (cleared before every test).

Rates are read from `settings.HJ_RATE_LIMITS` on every attempt, so each test sets small ones there.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from sessions_app import rate_limits
from sessions_app.models import Session
from tenants_app.models import User
from tests.conftest import DESKTOP_CHROME, TenantKeys, client_with, error_code
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

GENEROUS = "10000/min"


@pytest.fixture
def rates(settings: Any) -> Callable[..., None]:
    """rates(sign_in_peremail="3/min"): every other scope is generous, so one limit is tested at a time."""

    def set_rates(**chosen: str) -> None:
        table = {scope: GENEROUS for scope in settings.HJ_RATE_LIMITS}
        unknown = set(chosen) - set(table)
        assert not unknown, f"no such rate-limit scope: {unknown}"
        settings.HJ_RATE_LIMITS = {**table, **chosen}

    return set_rates


def public(keys: TenantKeys, ip: str = "203.0.113.1", **extra: str) -> APIClient:
    return client_with(keys.publishable_key, keys.id, REMOTE_ADDR=ip, HTTP_USER_AGENT=DESKTOP_CHROME, **extra)


def attempt_sign_in(client: APIClient, email: str, password: str = "wrong password!") -> Any:
    return client.post("/v1/auth/sign-in", {"email": email, "password": password}, format="json")


def assert_rate_limited(response: Any, limit: int) -> None:
    assert response.status_code == 429, response.content
    assert error_code(response) == "rate_limited"
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    assert response["X-RateLimit-Limit"] == str(limit)
    assert response["X-RateLimit-Remaining"] == "0"
    reset = int(response["X-RateLimit-Reset"])
    now = int(timezone.now().timestamp())
    assert now - 5 < reset <= now + 61  # in the future when answered (a slow CI machine may have moved on)


# --- Sign-in ----------------------------------------------------------------------------------------


def test_sign_in_per_email(tenant: TenantKeys, user: User, rates: Callable[..., None]) -> None:
    rates(sign_in_peremail="3/min")
    for ip in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):  # a different address each time: still one email
        assert attempt_sign_in(public(tenant, ip), "alice@example.com").status_code == 401
    # The same address however it is spelled; the right password does not get through either.
    limited = attempt_sign_in(public(tenant, "203.0.113.4"), "  ALICE@example.COM ", TEST_PASSWORD)
    assert_rate_limited(limited, 3)
    assert not Session.objects.exists()
    # Another account from the same addresses is not affected.
    UserFactory(tenant=tenant.tenant, email="bob@example.com")
    assert attempt_sign_in(public(tenant, "203.0.113.1"), "bob@example.com", TEST_PASSWORD).status_code == 200


def test_sign_in_per_client_address(tenant: TenantKeys, user: User, rates: Callable[..., None]) -> None:
    rates(sign_in_perip="3/min")
    client = public(tenant, "198.51.100.7")
    for n in range(3):  # one address trying many accounts
        assert attempt_sign_in(client, f"victim{n}@example.com").status_code == 401
    assert_rate_limited(attempt_sign_in(client, "alice@example.com", TEST_PASSWORD), 3)
    assert attempt_sign_in(public(tenant, "198.51.100.8"), "alice@example.com", TEST_PASSWORD).status_code == 200


def test_forged_forwarded_for_does_not_escape_the_address_limit(tenant: TenantKeys, user: User, settings: Any,
                                                                rates: Callable[..., None]) -> None:
    settings.HJ_TRUSTED_PROXIES = ["10.0.0.0/8"]
    rates(sign_in_perip="3/min")
    for n in range(3):
        client = public(tenant, "198.51.100.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert attempt_sign_in(client, f"victim{n}@example.com").status_code == 401
    forged = public(tenant, "198.51.100.7", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert_rate_limited(attempt_sign_in(forged, "x@example.com"), 3)


def test_behind_a_trusted_proxy_each_client_has_its_own_count(tenant: TenantKeys, user: User, settings: Any,
                                                              rates: Callable[..., None]) -> None:
    settings.HJ_TRUSTED_PROXIES = ["10.0.0.0/8"]
    rates(sign_in_perip="2/min")
    behind_proxy = {"ip": "10.0.0.5"}
    for client_address in ("192.0.2.1", "192.0.2.2"):
        for _ in range(2):
            client = public(tenant, HTTP_X_FORWARDED_FOR=client_address, **behind_proxy)
            assert attempt_sign_in(client, "nobody@example.com").status_code == 401
    client = public(tenant, HTTP_X_FORWARDED_FOR="192.0.2.1", **behind_proxy)
    assert_rate_limited(attempt_sign_in(client, "nobody@example.com"), 2)


def test_limits_are_per_tenant(tenant: TenantKeys, other_tenant: TenantKeys, user: User,
                               rates: Callable[..., None]) -> None:
    rates(sign_in_perip="2/min", sign_in_peremail="2/min")
    for _ in range(2):
        assert attempt_sign_in(public(tenant), "alice@example.com").status_code == 401
    assert attempt_sign_in(public(tenant), "alice@example.com").status_code == 429
    UserFactory(tenant=other_tenant.tenant, email="alice@example.com")
    assert attempt_sign_in(public(other_tenant), "alice@example.com", TEST_PASSWORD).status_code == 200


def test_the_window_slides(tenant: TenantKeys, user: User, rates: Callable[..., None]) -> None:
    rates(sign_in_peremail="2/min")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(2):
            assert attempt_sign_in(public(tenant), "alice@example.com").status_code == 401
        limited = attempt_sign_in(public(tenant), "alice@example.com", TEST_PASSWORD)
        assert_rate_limited(limited, 2)
        clock.shift(timedelta(seconds=int(limited["Retry-After"]) + 1))
        assert attempt_sign_in(public(tenant), "alice@example.com", TEST_PASSWORD).status_code == 200


def test_malformed_bodies_are_still_counted_per_address(tenant: TenantKeys, rates: Callable[..., None]) -> None:
    """A body without a usable email skips the per-email count but never the per-address one."""
    rates(sign_in_perip="2/min", sign_in_peremail="1/min")
    client = public(tenant)
    for body in ({"email": ["x"], "password": "x"}, {"password": "x"}):
        assert client.post("/v1/auth/sign-in", body, format="json").status_code == 400
    assert_rate_limited(client.post("/v1/auth/sign-in", {"password": "x"}, format="json"), 2)


# --- Sign-up and refresh ------------------------------------------------------------------------------


def sign_up(client: APIClient, n: int) -> Any:
    return client.post("/v1/auth/sign-up", {"email": f"new{n}@example.com", "password": TEST_PASSWORD},
                       format="json")


def test_sign_up_per_key(tenant: TenantKeys, rates: Callable[..., None]) -> None:
    rates(sign_up_perkey="3/min")
    for n in range(3):
        assert sign_up(public(tenant, f"203.0.113.{n + 1}"), n).status_code == 201
    assert_rate_limited(sign_up(public(tenant, "203.0.113.50"), 99), 3)
    assert not User.objects.filter(email="new99@example.com").exists()


def test_sign_up_per_client_address(tenant: TenantKeys, rates: Callable[..., None]) -> None:
    rates(sign_up_perip="2/min")
    client = public(tenant, "198.51.100.20")
    for n in range(2):
        assert sign_up(client, n).status_code == 201
    assert_rate_limited(sign_up(client, 2), 2)
    assert sign_up(public(tenant, "198.51.100.21"), 3).status_code == 201


def refresh(client: APIClient, token: str) -> Any:
    return client.post("/v1/auth/token/refresh", {"refresh_token": token}, format="json")


def test_refresh_per_key(tenant: TenantKeys, user: User, sign_in: Callable[..., dict[str, Any]],
                         rates: Callable[..., None]) -> None:
    token = sign_in()["session"]["refresh_token"]
    rates(refresh_perkey="3/min")
    for n in range(3):
        response = refresh(public(tenant, f"203.0.113.{n + 1}"), token)
        assert response.status_code == 200
        token = response.json()["session"]["refresh_token"]
    assert_rate_limited(refresh(public(tenant, "203.0.113.9"), token), 3)
    # The refused refresh did not rotate: the token is still the live one once the limit allows.
    rates(refresh_perkey="100/min")
    assert refresh(public(tenant, "203.0.113.9"), token).status_code == 200


def test_refresh_per_client_address(tenant: TenantKeys, rates: Callable[..., None]) -> None:
    rates(refresh_perip="2/min")
    client = public(tenant, "198.51.100.30")
    for _ in range(2):
        assert refresh(client, "rft_unknown").status_code == 401
    assert_rate_limited(refresh(client, "rft_unknown"), 2)
    assert refresh(public(tenant, "198.51.100.31"), "rft_unknown").status_code == 401


def test_unlimited_routes_carry_no_throttle(secret_key_client: APIClient, rates: Callable[..., None]) -> None:
    rates(sign_in_perip="1/min", sign_up_perip="1/min", refresh_perip="1/min")
    for _ in range(5):
        assert secret_key_client.get("/v1/sessions").status_code == 200


# --- The page's sign-in form ----------------------------------------------------------------------


def test_sign_in_form(tenant: TenantKeys, user: User, rates: Callable[..., None]) -> None:
    rates(web_sign_in="3/min")
    browser = Client(REMOTE_ADDR="203.0.113.60", HTTP_USER_AGENT=DESKTOP_CHROME)
    for _ in range(3):
        page = browser.post("/t/acme/sign-in", {"email": "alice@example.com", "password": "wrong password!"})
        assert page.status_code == 400
    page = browser.post("/t/acme/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD})
    assert page.status_code == 429
    assert 1 <= int(page["Retry-After"]) <= 60
    assert not Session.objects.exists()
    # Another address, same email: still limited (per email); another email there: allowed.
    other = Client(REMOTE_ADDR="203.0.113.61", HTTP_USER_AGENT=DESKTOP_CHROME)
    assert other.post("/t/acme/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD}).status_code == 429
    UserFactory(tenant=tenant.tenant, email="bob@example.com")
    assert other.post("/t/acme/sign-in", {"email": "bob@example.com", "password": TEST_PASSWORD}).status_code == 302


# --- The counter ------------------------------------------------------------------------------------


# Parallel attempts against one counter: tests/rules/test_shared_rate_limits.py (threads on PostgreSQL,
# a SQLite file and Redis, and several gunicorn workers).


def test_the_page_and_the_api_key_an_email_alike() -> None:
    assert rate_limits.email_key("ten_x", "  ALICE@example.COM ") == rate_limits.email_key("ten_x", "alice@example.com")
    assert "alice" not in rate_limits.email_key("ten_x", "alice@example.com")
