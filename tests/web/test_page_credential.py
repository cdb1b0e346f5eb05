"""The page's cookie is a credential of its own kind: the API refuses it as theft (issue 12, 2).

It used to be the session's API refresh token, so a copied cookie could be rotated through
`POST /v1/auth/token/refresh` and its chain lived on while the browser was merely sent to sign in.
Now a page credential presented to the API revokes the session (`refresh_token_reused`), and a
retired refresh token presented by the page does too, so every holder's tokens die together.
"""

from typing import Any

import pytest

from sessions_app.models import CredentialKind, RefreshToken, RevocationReason, Session
from tenants_app import secrets
from tests.conftest import client_with, error_code
from tests.webpages import COOKIE, browser, messages_on, session_of, signed_in

pytestmark = pytest.mark.django_db

PROTECTED = "This device was signed out to protect your account."


def refresh(tenant: Any, token: str) -> Any:
    return client_with(tenant.publishable_key, tenant.id).post("/v1/auth/token/refresh", {"refresh_token": token},
                                                               format="json")


def test_the_page_cookie_is_a_page_credential(tenant: Any, user: Any) -> None:
    client = signed_in()
    cookie = client.cookies[COOKIE].value
    assert cookie.startswith("pgt_")
    record = RefreshToken.objects.get(token_hash=secrets.digest(cookie))
    assert (record.kind, record.retired_at) == (CredentialKind.PAGE, None)


def test_a_copied_page_cookie_presented_to_the_api_revokes_the_session(tenant: Any, user: Any) -> None:
    client = signed_in()
    session = session_of(client)
    stolen = client.cookies[COOKIE].value

    response = refresh(tenant, stolen)
    assert response.status_code == 401
    assert error_code(response) == "refresh_token_reused"
    session.refresh_from_db()
    assert session.revoked_reason == RevocationReason.REFRESH_TOKEN_REUSED
    assert RefreshToken.objects.filter(session=session).count() == 1  # nothing was issued to the thief
    # Nor does it sign the session out through the API (it is not an API refresh token).
    signed_out = client_with(tenant.publishable_key, tenant.id).post(
        "/v1/auth/sign-out", {"refresh_token": stolen}, format="json")
    assert signed_out.status_code == 401
    # The real browser is told why, and signs in again.
    page = client.get("/t/acme/sessions", follow=True)
    assert page.redirect_chain[-1][0].startswith("/t/acme/sign-in")
    assert PROTECTED in messages_on(page)


def test_a_retired_refresh_token_presented_by_the_page_revokes_the_session(tenant: Any, user: Any,
                                                                         sign_in: Any) -> None:
    first = sign_in()["session"]
    rotated = refresh(tenant, first["refresh_token"])
    assert rotated.status_code == 200
    thief_tokens = rotated.json()["session"]

    client = browser()
    client.cookies[COOKIE] = first["refresh_token"]  # retired: a copy used after it was replaced
    page = client.get("/t/acme/sessions", follow=True)
    assert page.redirect_chain[-1][0].startswith("/t/acme/sign-in")
    assert PROTECTED in messages_on(page)
    session = Session.objects.get(pk=first["id"])
    assert session.revoked_reason == RevocationReason.REFRESH_TOKEN_REUSED
    # Every holder's credentials died with it.
    again = refresh(tenant, thief_tokens["refresh_token"])
    assert (again.status_code, error_code(again)) == (401, "session_revoked")
    assert client_with(thief_tokens["access_token"], tenant.id).get("/v1/auth/me").status_code == 401


def test_an_api_refresh_token_in_the_cookie_opens_no_page(tenant: Any, user: Any, sign_in: Any) -> None:
    body = sign_in()["session"]
    client = browser()
    client.cookies[COOKIE] = body["refresh_token"]
    page = client.get("/t/acme/sessions")
    assert page.status_code == 302 and page["Location"].startswith("/t/acme/sign-in")
    assert Session.objects.get(pk=body["id"]).revoked_at is None
    assert refresh(tenant, body["refresh_token"]).status_code == 200
