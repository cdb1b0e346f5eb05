"""Signing in on the page rotates the CSRF token and ends the page session the browser held (issue 12, 11)."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from sessions_app.models import RevocationReason, Session
from tenants_app.models import User
from tests.factories import TEST_PASSWORD, UserFactory
from tests.webpages import COOKIE, browser, session_of

pytestmark = pytest.mark.django_db


def sign_in_with_csrf(client: Client, email: str = "alice@example.com") -> tuple[str, str]:
    """Signs in through the form with CSRF enforced; answers the CSRF cookie before and after."""
    page = client.get("/t/acme/sign-in")
    token = str(page.context["csrf_token"])
    before = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post("/t/acme/sign-in", {"email": email, "password": TEST_PASSWORD,
                                               "csrfmiddlewaretoken": token})
    assert response.status_code == 302, response.content
    return before, client.cookies[settings.CSRF_COOKIE_NAME].value


def test_sign_in_rotates_the_csrf_token(user: User) -> None:
    client = browser(enforce_csrf_checks=True)
    before, after = sign_in_with_csrf(client)
    assert after != before
    # The token read before sign-in no longer passes; the page's new one does.
    stale = client.post("/t/acme/sign-out", {"csrfmiddlewaretoken": before})
    assert stale.status_code == 403
    fresh = str(client.get("/t/acme/sessions").context["csrf_token"])
    assert client.post("/t/acme/sign-out", {"csrfmiddlewaretoken": fresh}).status_code == 302


@pytest.mark.parametrize("second", ["alice@example.com", "bob@example.com"])
def test_a_second_sign_in_in_the_same_browser_signs_the_first_out(tenant: Any, user: User, second: str) -> None:
    UserFactory(tenant=tenant.tenant, email="bob@example.com")
    client = browser(enforce_csrf_checks=True)
    sign_in_with_csrf(client)
    first = session_of(client)
    # A second sign-in from the same browser (say, a form in another tab), with the current CSRF token.
    token = str(client.get("/t/acme/sessions").context["csrf_token"])
    response = client.post("/t/acme/sign-in", {"email": second, "password": TEST_PASSWORD,
                                               "csrfmiddlewaretoken": token})
    assert response.status_code == 302, response.content
    second_session = session_of(client)
    assert second_session.pk != first.pk and second_session.revoked_at is None
    first.refresh_from_db()
    assert (first.revoked_reason, first.revoked_at is not None) == (RevocationReason.SIGNED_OUT, True)
    assert Session.objects.filter(revoked_at__isnull=True).count() == 1
    assert COOKIE in client.cookies


def test_a_failed_second_sign_in_leaves_the_first_session_alone(user: User) -> None:
    client = browser()
    client.get("/t/acme/sign-in")
    assert client.post("/t/acme/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD}).status_code == 302
    first = session_of(client)
    assert client.post("/t/acme/sign-in", {"email": "alice@example.com", "password": "wrong"}).status_code == 400
    first.refresh_from_db()
    assert first.revoked_at is None
