"""The page for a worried user: flagged rows say why, "Recently signed out" says why each ended,
the password can be changed there (signing out every other device), and the page speaks Spanish."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from sessions_app import services
from sessions_app.models import RevocationReason, Session
from tenants_app.models import User
from tests.conftest import IPHONE_SAFARI
from tests.factories import TEST_PASSWORD, SessionFactory
from tests.webpages import browser, messages_on, session_of, signed_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


def csrf(client: Any) -> str:
    return str(client.get("/t/acme/sessions").context["csrf_token"])


def change(client: Any, current: str, new: str, **extra: Any) -> Any:
    return client.post("/t/acme/password", {"current_password": current, "new_password": new,
                                            "csrfmiddlewaretoken": csrf(client)}, **extra)


# --- flags ---------------------------------------------------------------------------------------------


def test_a_flagged_row_says_why_next_to_its_sign_out(user: User) -> None:
    client = signed_in()
    flagged = SessionFactory(user=user, country="JP", flags={"new_country": {"country": "JP", "earlier": ["US"]},
                                                             "new_device": {"device_type": "mobile"}})
    plain = SessionFactory(user=user)
    html = client.get("/t/acme/sessions").content.decode()
    row = html[html.rindex("<li", 0, html.index(f'id="{flagged.id}"')):]
    row = row[:row.index("</li>")]
    assert "session--flagged" in row
    assert "Unusual sign-in:</strong> First sign-in from Japan · New device" in row
    assert row.index("First sign-in from Japan") < row.index("<details")  # beside the row's sign-out control
    plain_row = html[html.index(f'id="{plain.id}"'):]
    assert "Unusual sign-in" not in plain_row[:plain_row.index("</li>")]


# --- recently signed out ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("reason", "words"), [
    (RevocationReason.REVOKED_BY_USER, "Signed out from another device"),
    (RevocationReason.SESSION_LIMIT, "Signed out: too many devices"),
    (RevocationReason.PASSWORD_CHANGED, "Password changed"),
    (RevocationReason.REVOKED_BY_ADMIN, "Signed out by an administrator"),
    (RevocationReason.SIGNED_OUT, "Signed out on that device"),
    (RevocationReason.REFRESH_TOKEN_REUSED, "Signed out to protect your account"),
    (RevocationReason.USER_DISABLED, "Account disabled"),
])
def test_recently_signed_out_says_why(reason: str, words: str, user: User) -> None:
    client = signed_in()
    SessionFactory(user=user, browser="Firefox 121", os="Windows 10", country="DE",
                   revoked_at=timezone.now() - timedelta(days=2), revoked_reason=reason)
    html = client.get("/t/acme/sessions").content.decode()
    history = html[html.index('id="ended-title"'):html.index('id="password-title"')]
    assert re.findall(r'<li class="ended">', history) == ['<li class="ended">']
    assert "Firefox 121 on Windows 10" in history and "Germany" in history
    assert f'<span class="ended__reason">{words}</span>' in history
    assert "2\xa0days ago" in history


def test_recently_signed_out_keeps_30_days_latest_first_and_only_the_users(user: User) -> None:
    client = signed_in()
    now = timezone.now()
    newest = SessionFactory(user=user, revoked_at=now - timedelta(hours=1), revoked_reason="revoked_by_user")
    expired = SessionFactory(user=user, created_at=now - timedelta(days=40), expires_at=now - timedelta(days=10))
    older = SessionFactory(user=user, revoked_at=now - timedelta(days=29), revoked_reason="session_limit")
    SessionFactory(user=user, revoked_at=now - timedelta(days=31), revoked_reason="revoked_by_user")  # too old
    SessionFactory(user=user, created_at=now - timedelta(days=70), expires_at=now - timedelta(days=31))  # too old
    SessionFactory(revoked_at=now, revoked_reason="revoked_by_user")  # someone else's
    from sessions_app.session_history import recently_ended_for

    assert [s.id for s in recently_ended_for(user, now=now)] == [newest.id, expired.id, older.id]
    html = client.get("/t/acme/sessions").content.decode()
    history = html[html.index('id="ended-title"'):html.index('id="password-title"')]
    assert history.count('<li class="ended">') == 3
    assert "Expired" in history


def test_nothing_recently_signed_out(user: User) -> None:
    html = signed_in().get("/t/acme/sessions").content.decode()
    assert "No device was signed out in the last 30 days." in html


# --- change password --------------------------------------------------------------------------------------


def test_changing_the_password_signs_out_every_other_device_and_says_how_many(user: User) -> None:
    client = signed_in()
    here = session_of(client)
    phone = signed_in(user_agent=IPHONE_SAFARI)
    SessionFactory(user=user)
    response = change(client, TEST_PASSWORD, NEW_PASSWORD, follow=True)
    assert response.redirect_chain == [("/t/acme/sessions", 302)]
    assert messages_on(response) == ["Password changed. 2 other devices were signed out."]
    assert set(Session.objects.filter(user=user, revoked_at__isnull=True).values_list("id", flat=True)) == {here.id}
    assert set(Session.objects.filter(user=user).exclude(pk=here.pk).values_list("revoked_reason", flat=True)) == {
        RevocationReason.PASSWORD_CHANGED}
    user.refresh_from_db()
    assert services.authenticate(tenant=user.tenant, email=user.email, password=NEW_PASSWORD, ip_address=None)
    assert phone.get("/t/acme/sessions")["Location"].startswith("/t/acme/sign-in")
    html = response.content.decode()
    assert html.count('<span class="ended__reason">Password changed</span>') == 2


def test_changing_the_password_alone(user: User) -> None:
    client = signed_in()
    response = change(client, TEST_PASSWORD, NEW_PASSWORD, follow=True)
    assert messages_on(response) == ["Password changed. No other device was signed in."]


@pytest.mark.parametrize(("current", "new", "field", "message"), [
    ("wrong password", NEW_PASSWORD, "current_password", "The current password is incorrect."),
    (TEST_PASSWORD, "short", "new_password", "This password is too short. It must contain at least 10 characters."),
    (TEST_PASSWORD, "1234567890123", "new_password", "This password is entirely numeric."),
    (TEST_PASSWORD, "", "new_password", "This field is required."),
])
def test_a_refused_change_changes_nothing_and_says_why(current: str, new: str, field: str, message: str,
                                                       user: User) -> None:
    client = signed_in()
    other = SessionFactory(user=user)
    before = User.objects.get(pk=user.pk).password
    response = change(client, current, new)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<p class="field__error" id="id_{field}_error">' in html
    assert message in html
    assert re.search(rf'<input[^>]*aria-describedby="id_{field}_error"[^>]*id="id_{field}"', html)
    assert current not in re.findall(r'value="([^"]*)"', html)  # no password echoed back
    assert User.objects.get(pk=user.pk).password == before
    assert Session.objects.get(pk=other.pk).revoked_at is None


def test_password_change_needs_the_csrf_token_and_a_signed_in_visitor(user: User) -> None:
    client = signed_in()
    client.handler.enforce_csrf_checks = True
    response = client.post("/t/acme/password", {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 403
    anonymous = browser()
    response = anonymous.post("/t/acme/password", {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/t/acme/sign-in"
    assert User.objects.get(pk=user.pk).password == user.password


# --- language ---------------------------------------------------------------------------------------------


def test_the_page_speaks_spanish_by_accept_language(user: User) -> None:
    client = signed_in()
    SessionFactory(user=user, country="JP", flags={"new_country": {"country": "JP", "earlier": ["US"]}})
    SessionFactory(user=user, revoked_at=timezone.now(), revoked_reason="session_limit")
    response = client.get("/t/acme/sessions", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9,en;q=0.5")
    html = response.content.decode()
    assert response["Content-Language"] == "es"
    assert "Accept-Language" in response["Vary"]
    assert '<html lang="es">' in html
    for words in ("Sesiones activas", "Primer inicio de sesión desde Japón", "Sesión cerrada: demasiados dispositivos",
                  "Cambiar contraseña", "Contraseña actual", "Cerrar sesión en Chrome 120 en macOS 10.15, Japón",
                  "Estados Unidos", "ahora mismo", "Este dispositivo", "Saltar al contenido"):
        assert words in html, words
    for english in ("Active sessions", "Sign out", "This device", "Recently signed out", "Unknown location"):
        assert english not in html, english


def test_english_by_default_and_for_unknown_languages(user: User) -> None:
    client = signed_in()
    for header in ({}, {"HTTP_ACCEPT_LANGUAGE": "ja,zh;q=0.8"}, {"HTTP_ACCEPT_LANGUAGE": "en-GB"}):
        response = client.get("/t/acme/sessions", **header)
        assert response["Content-Language"] == "en"
        assert '<html lang="en">' in response.content.decode()


def test_spanish_messages_after_an_action(user: User) -> None:
    client = signed_in()
    other = SessionFactory(user=user)
    response = client.post(f"/t/acme/sessions/{other.id}/sign-out", {"csrfmiddlewaretoken": csrf(client)},
                           HTTP_ACCEPT_LANGUAGE="es", follow=True)
    assert messages_on(response) == ["Sesión cerrada en Chrome 120 en macOS 10.15."]


def test_spanish_sign_in_page_and_error(tenant: Any, user: User) -> None:
    client = browser(HTTP_ACCEPT_LANGUAGE="es")
    page = client.get("/t/acme/sign-in")
    html = page.content.decode()
    assert '<html lang="es">' in html and "Inicia sesión en Acme" in html and "Correo electrónico" in html
    response = client.post("/t/acme/sign-in", {"email": "alice@example.com", "password": "wrong",
                                               "csrfmiddlewaretoken": str(page.context["csrf_token"])})
    assert "El correo o la contraseña no son correctos" in response.content.decode()


def test_the_api_stays_english_whatever_the_browser_asks(tenant: Any) -> None:
    from tests.conftest import client_with, error_code

    response = client_with(tenant.publishable_key, tenant.id, HTTP_ACCEPT_LANGUAGE="es").post(
        "/v1/auth/sign-in", {"email": "alice@example.com"}, format="json")
    assert error_code(response) == "invalid_parameter"
    assert response.json()["error"]["fields"]["password"] == ["This field is required."]
