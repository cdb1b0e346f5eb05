"""The sessions page: who sees what, what each row says, and when the cookie stops opening it."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from sessions_app import services
from sessions_app.exceptions import RefreshTokenReused
from sessions_app.models import DeviceType, RevocationReason, Session
from tenants_app.models import TenantConfig, User
from tests.conftest import IPHONE_SAFARI
from tests.factories import SessionFactory, UserFactory
from tests.webpages import COOKIE, browser, messages_on, session_of, signed_in

pytestmark = pytest.mark.django_db


def rows(html: str) -> list[str]:
    return re.findall(r'<li class="session[^"]*" id="(ses_[0-9A-Z]+)">', html)


def row_html(html: str, session_id: str) -> str:
    start = html.index(f'id="{session_id}"')
    return html[start:html.index("</li>", start)]


def test_without_a_cookie_the_page_sends_to_sign_in(tenant: Any) -> None:
    response = browser().get("/t/acme/sessions")
    assert (response.status_code, response["Location"]) == (302, "/t/acme/sign-in?next=%2Ft%2Facme%2Fsessions")


def test_lists_the_users_active_sessions_current_first_then_most_recently_active(user: User) -> None:
    client = signed_in()
    current = session_of(client)
    now = timezone.now()
    recent = SessionFactory(user=user, last_active_at=now - timedelta(minutes=5))
    older = SessionFactory(user=user, last_active_at=now - timedelta(days=2))
    SessionFactory(user=user, revoked_at=now, revoked_reason=RevocationReason.REVOKED_BY_USER)
    SessionFactory(user=user, created_at=now - timedelta(days=40), expires_at=now - timedelta(days=10))
    SessionFactory(user=UserFactory(tenant=user.tenant))  # someone else's

    response = client.get("/t/acme/sessions")

    assert response.status_code == 200
    html = response.content.decode()
    assert rows(html) == [current.id, recent.id, older.id]
    assert "alice@example.com" in html
    assert "on 3 devices" in html
    assert 'Other devices <span class="count">2</span>' in html


def test_the_current_session_has_the_badge_and_no_sign_out_button(user: User) -> None:
    client = signed_in()
    current = session_of(client)
    other = SessionFactory(user=user)
    html = client.get("/t/acme/sessions").content.decode()

    mine = row_html(html, current.id)
    assert '<span class="badge">This device</span>' in mine
    assert "<form" not in mine and "<summary" not in mine
    theirs = row_html(html, other.id)
    assert "This device" not in theirs
    assert f'action="/t/acme/sessions/{other.id}/sign-out"' in theirs
    # The control's accessible name tells rows of one device model apart: device, place, last activity.
    assert ('<span class="visually-hidden">Sign out of Chrome 120 on macOS 10.15, United States, last active just now'
            '</span>') in theirs
    assert "Cancel, keep Chrome 120 on macOS 10.15 signed in" in theirs and " of Chrome" not in theirs.split(
        "when-open")[1].split("</summary>")[0]
    # this device, all others, the one other session, the password change
    assert html.count('name="csrfmiddlewaretoken"') == 4
    assert "Sign out of all other devices" in html


def test_each_row_says_device_place_address_and_times(user: User) -> None:
    client = signed_in()
    now = timezone.now()
    iphone = SessionFactory(
        user=user, device_type=DeviceType.MOBILE, browser="Mobile Safari 17", os="iOS 17.1", country="GB",
        ip_address="81.2.69.142", user_agent=IPHONE_SAFARI,
        created_at=datetime(2024, 1, 15, 9, 30, tzinfo=UTC), last_active_at=now - timedelta(minutes=5, seconds=3),
        expires_at=now + timedelta(days=1),
    )
    unknown = SessionFactory(user=user, device_type=DeviceType.UNKNOWN, browser="", os="", country=None,
                             ip_address=None, last_active_at=now - timedelta(hours=3))
    html = client.get("/t/acme/sessions").content.decode()

    row = row_html(html, iphone.id)
    assert '<h3 class="session__title">Mobile Safari 17 on iOS 17.1</h3>' in row
    assert 'role="img" aria-label="Phone"' in row
    assert '<span class="flag" aria-hidden="true">\U0001F1EC\U0001F1E7</span> United Kingdom' in row
    assert "81.2.69.142" in row
    stamp = iphone.last_active_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    exact = f"{iphone.last_active_at:%b} {iphone.last_active_at.day}, {iphone.last_active_at:%Y, %H:%M} UTC"
    assert f'Last active <time datetime="{stamp}" title="{exact}">5\xa0minutes ago</time>' in row
    assert 'Signed in <time datetime="2024-01-15T09:30:00Z">Jan 15, 2024</time>' in row

    row = row_html(html, unknown.id)
    assert "Unknown device" in row and 'aria-label="Unknown device type"' in row
    assert "Unknown location" in row and 'class="flag"' not in row and "session__ip" not in row
    assert "3\xa0hours ago" in row


def test_alone_there_is_no_sign_out_of_all_other_devices(user: User) -> None:
    html = signed_in().get("/t/acme/sessions").content.decode()
    assert "Sign out of all other devices" not in html
    assert "You aren't signed in anywhere else." in html


def test_queries_do_not_grow_with_the_number_of_sessions(user: User, django_assert_num_queries: Any) -> None:
    client = signed_in()
    client.get("/t/acme/sessions")
    # tenant by slug, session by token (with user, tenant, config), the list, recently signed out;
    # messages need none.
    with django_assert_num_queries(4):
        assert client.get("/t/acme/sessions").status_code == 200
    SessionFactory.create_batch(12, user=user)
    SessionFactory.create_batch(5, user=user, revoked_at=timezone.now(), revoked_reason="revoked_by_user")
    with django_assert_num_queries(4):
        response = client.get("/t/acme/sessions")
    assert len(rows(response.content.decode())) == 13


def test_activity_is_recorded_at_most_once_a_minute(user: User) -> None:
    client = signed_in()
    session = session_of(client)
    stale = timezone.now() - timedelta(minutes=10)
    Session.objects.filter(pk=session.pk).update(last_active_at=stale)
    client.get("/t/acme/sessions")
    session.refresh_from_db()
    assert session.last_active_at > stale + timedelta(minutes=9)
    fresh = session.last_active_at
    client.get("/t/acme/sessions")
    session.refresh_from_db()
    assert session.last_active_at == fresh


def test_the_page_never_rotates_the_token(user: User) -> None:
    client = signed_in()
    session = session_of(client)
    for _ in range(3):
        assert client.get("/t/acme/sessions").status_code == 200
    assert session.refresh_tokens.count() == 1
    assert session.refresh_tokens.get().retired_at is None


@pytest.mark.parametrize("reason,explanation", [
    (RevocationReason.REVOKED_BY_USER, "This device was signed out from another of your devices."),
    (RevocationReason.REVOKED_BY_ADMIN, "An administrator signed this device out."),
    (RevocationReason.PASSWORD_CHANGED, "Your password was changed, so this device was signed out."),
])
def test_a_revoked_session_sends_the_browser_to_sign_in_with_the_reason(
    user: User, reason: RevocationReason, explanation: str,
) -> None:
    client = signed_in()
    session = session_of(client)
    services.revoke_session(session=session, reason=reason, actor=services.SYSTEM)
    response = client.get("/t/acme/sessions")
    assert (response.status_code, response["Location"]) == (302, "/t/acme/sign-in?next=%2Ft%2Facme%2Fsessions")
    assert response.cookies[COOKIE].value == "" and response.cookies[COOKIE]["max-age"] == 0
    page = client.get(response["Location"])
    assert messages_on(page) == [explanation]
    assert explanation in page.content.decode()


def test_an_expired_session_sends_the_browser_to_sign_in(user: User) -> None:
    client = signed_in()
    Session.objects.filter(pk=session_of(client).pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/t/acme/sessions", follow=True)
    assert response.redirect_chain[-1][0].startswith("/t/acme/sign-in")
    assert messages_on(response) == ["Your session on this device has expired. Please sign in again."]


def test_an_idle_session_sends_the_browser_to_sign_in(user: User) -> None:
    TenantConfig.objects.filter(tenant=user.tenant).update(idle_timeout=600)
    client = signed_in()
    session = session_of(client)
    Session.objects.filter(pk=session.pk).update(last_active_at=timezone.now() - timedelta(minutes=11))
    response = client.get("/t/acme/sessions", follow=True)
    assert response.redirect_chain[-1][0].startswith("/t/acme/sign-in")
    assert messages_on(response) == ["Your session on this device has expired. Please sign in again."]
    session.refresh_from_db()
    assert session.revoked_at is None  # idle is a status, not a revocation


def test_a_disabled_user_is_sent_to_sign_in(user: User) -> None:
    client = signed_in()
    User.objects.filter(pk=user.pk).update(status=User.Status.DISABLED)
    response = client.get("/t/acme/sessions")
    assert response.status_code == 302 and response["Location"].startswith("/t/acme/sign-in")
    assert response.cookies[COOKIE].value == "" and response.cookies[COOKIE]["max-age"] == 0


@pytest.mark.parametrize("value", ["garbage", "rft_" + "A" * 43, "x" * 5000])
def test_an_unknown_cookie_sends_the_browser_to_sign_in(tenant: Any, value: str) -> None:
    client = browser()
    client.cookies[COOKIE] = value
    response = client.get("/t/acme/sessions", follow=True)
    assert response.redirect_chain[-1][0].startswith("/t/acme/sign-in")
    assert messages_on(response) == ["Please sign in again to manage your sessions."]


def test_another_tenants_cookie_opens_nothing_there(user: User, other_tenant: Any) -> None:
    UserFactory(tenant=other_tenant.tenant, email="alice@example.com")  # same email, other tenant
    client = signed_in("acme")
    acme_session = session_of(client)

    response = client.get("/t/globex/sessions")
    assert response.status_code == 302
    assert response["Location"] == "/t/globex/sign-in?next=%2Ft%2Fglobex%2Fsessions"
    assert response.cookies[COOKIE]["max-age"] == 0
    acme_session.refresh_from_db()
    assert acme_session.revoked_at is None  # dropped from this browser, not revoked
    assert Session.objects.filter(tenant=other_tenant.tenant).count() == 0


def test_the_page_has_the_security_headers(user: User) -> None:
    response = signed_in().get("/t/acme/sessions")
    assert response["Content-Security-Policy"].startswith("default-src 'self'; ")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


def test_the_page_only_answers_get(user: User) -> None:
    assert signed_in().post("/t/acme/sessions").status_code == 405


def test_the_tenants_root_leads_to_the_sessions_page(tenant: Any) -> None:
    response = browser().get("/t/acme/")
    assert (response.status_code, response["Location"]) == (302, "/t/acme/sessions")
    assert browser().get("/t/nope/").status_code == 404


def test_a_cookie_presented_to_the_api_ends_the_session(user: User) -> None:
    client = signed_in()
    session = session_of(client)
    with pytest.raises(RefreshTokenReused):  # the page's credential is no API refresh token: theft
        services.refresh_session(tenant=user.tenant, refresh_token=client.cookies[COOKIE].value)
    response = client.get("/t/acme/sessions")
    assert response.status_code == 302 and response["Location"].startswith("/t/acme/sign-in")
    session.refresh_from_db()
    assert session.revoked_reason == "refresh_token_reused"  # tests/web/test_page_credential.py
