"""Helpers for the end-user page tests: a browser-like Django client signed in through the page."""

from typing import Any

from django.test import Client

from sessions_app.models import Session
from tenants_app import secrets
from tests.conftest import DESKTOP_CHROME
from tests.factories import TEST_PASSWORD

# The suite runs with DEBUG off, so the cookie is the Secure, __Host- prefixed one.
COOKIE = "__Host-hj_session"


def browser(user_agent: str = DESKTOP_CHROME, ip: str = "127.0.0.1", **extra: Any) -> Client:
    return Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip, **extra)


def signed_in(slug: str = "acme", email: str = "alice@example.com", password: str = TEST_PASSWORD,
              **browser_kwargs: Any) -> Client:
    client = browser(**browser_kwargs)
    # Like a browser: the form first, for its CSRF token (needed by clients that enforce CSRF).
    token = str(client.get(f"/t/{slug}/sign-in").context["csrf_token"])
    response = client.post(f"/t/{slug}/sign-in", {"email": email, "password": password,
                                                  "csrfmiddlewaretoken": token})
    assert response.status_code == 302, response.content
    assert COOKIE in client.cookies
    return client


def session_of(client: Client) -> Session:
    """The session whose refresh token the client's cookie carries."""
    token = client.cookies[COOKIE].value
    return Session.objects.get(refresh_tokens__token_hash=secrets.digest(token))


def messages_on(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []
