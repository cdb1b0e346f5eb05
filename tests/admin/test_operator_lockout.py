"""Operator sign-in throttling (issue 12, finding 4): django-axes on /admin/login/.

After AXES_FAILURE_LIMIT (5) failures for one username, or from one client address, that username
or address is refused, the right password included, with a readable 429 page; failures are in
axes' tables (listed in the admin) and in the audit trail; `axes_reset` lifts the lock.
"""

import logging
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "operator password 0123"
LIMIT = 5


@pytest.fixture
def operator() -> Any:
    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)


def sign_in(ip: str, username: str, password: str, **extra: str) -> Any:
    client = Client(REMOTE_ADDR=ip, **extra)
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password,
                                                         "next": "/admin/"})
    response.signed_in = client.get("/admin/").status_code == 200
    return response


def assert_locked_out(response: Any) -> None:
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert not response.signed_in


def test_thirty_wrong_passwords_then_the_right_one_is_refused(operator: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hellojohn.audit")
    statuses = [sign_in("203.0.113.1", "root", f"wrong {n}").status_code for n in range(30)]
    # The form again with its error, then the failure that reaches the limit and all after it: locked.
    assert statuses == [200] * (LIMIT - 1) + [429] * (30 - LIMIT + 1)
    assert_locked_out(sign_in("203.0.113.1", "root", PASSWORD))
    # From any other address too: the username is locked.
    assert_locked_out(sign_in("198.51.100.9", "root", PASSWORD))

    attempt = AccessAttempt.objects.get(username="root", ip_address="203.0.113.1")
    assert attempt.failures_since_start >= LIMIT
    events = [(record.getMessage(), record.__dict__.get("username")) for record in caplog.records
              if record.name == "hellojohn.audit"]
    assert events.count(("operator.sign_in_failed", "root")) == 32  # every refused attempt
    assert ("operator.locked_out", "root") in events
    assert not any(PASSWORD in record.getMessage() or "wrong 0" in str(record.__dict__) for record in caplog.records)


def test_one_address_trying_many_usernames_is_locked(operator: Any) -> None:
    for n in range(LIMIT):
        assert sign_in("203.0.113.2", f"guess{n}", "wrong").status_code == (200 if n < LIMIT - 1 else 429)
    assert_locked_out(sign_in("203.0.113.2", "root", PASSWORD))
    # The operator from elsewhere is not affected: only that address is locked for "root".
    assert sign_in("203.0.113.3", "root", PASSWORD).signed_in


def test_a_success_before_the_limit_resets_the_count(operator: Any) -> None:
    for n in range(LIMIT - 1):
        sign_in("203.0.113.4", "root", f"wrong {n}")
    assert sign_in("203.0.113.4", "root", PASSWORD).signed_in
    for n in range(LIMIT - 1):
        assert sign_in("203.0.113.4", "root", f"wrong again {n}").status_code == 200
    assert sign_in("203.0.113.4", "root", PASSWORD).signed_in


def test_axes_reset_lifts_the_lock(operator: Any) -> None:
    for n in range(LIMIT):
        sign_in("203.0.113.5", "root", f"wrong {n}")
    assert_locked_out(sign_in("203.0.113.5", "root", PASSWORD))
    call_command("axes_reset")
    assert sign_in("203.0.113.5", "root", PASSWORD).signed_in


def test_the_address_is_the_one_rate_limits_use(operator: Any, settings: Any) -> None:
    """X-Forwarded-For counts only from HJ_TRUSTED_PROXIES (sessions_app.device.client_ip)."""
    settings.HJ_TRUSTED_PROXIES = ["10.0.0.0/8"]
    sign_in("10.0.0.5", "guess", "wrong", HTTP_X_FORWARDED_FOR="192.0.2.7")
    sign_in("198.51.100.20", "guess", "wrong", HTTP_X_FORWARDED_FOR="192.0.2.8")  # not a proxy: not believed
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.7", "198.51.100.20"}
    # Behind the proxy, each client has its own count: a locked client does not lock the proxy.
    for n in range(LIMIT):
        sign_in("10.0.0.5", f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR="192.0.2.9")
    assert_locked_out(sign_in("10.0.0.5", "root", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.9"))
    assert sign_in("10.0.0.5", "root", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.10").signed_in


def test_operators_see_failures_in_the_admin(operator: Any) -> None:
    for n in range(LIMIT):
        sign_in("203.0.113.6", "mallory", f"wrong {n}")
    client = Client()
    client.force_login(operator)
    page = client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert "mallory" in page.content.decode() and "203.0.113.6" in page.content.decode()
    assert client.get("/admin/axes/accessfailurelog/").status_code == 200


def test_a_nul_in_the_user_agent_is_recorded_without_it(operator: Any) -> None:
    """Axes stores the user agent and Accept of each failure; PostgreSQL refuses NUL in text: dropped."""
    response = sign_in("203.0.113.7", "root", "wrong", HTTP_USER_AGENT="Mozilla\x00/5.0", HTTP_ACCEPT="text/\x00html")
    assert response.status_code == 200
    attempt = AccessAttempt.objects.get(ip_address="203.0.113.7")
    assert (attempt.user_agent, attempt.http_accept) == ("Mozilla/5.0", "text/html")
