"""The sessions console of the Django admin: listing, filters, search, revocation and permissions."""

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.admin.paging import CappedCountPaginator
from sessions_app.models import DeviceType, RevocationReason, Session
from tenants_app.models import Tenant, TenantConfig
from tests.admin_helpers import action, staff_client, superuser_client
from tests.conftest import IPHONE_SAFARI, error_code, user_client
from tests.factories import SessionFactory, UserFactory

CHANGELIST = "/admin/sessions_app/session/"

pytestmark = pytest.mark.django_db


def change_url(session_id: str) -> str:
    # As the admin links it: ids quoted, "_" written "_5F".
    return f"{CHANGELIST}{quote(session_id)}/change/"


def revoke_url(session_id: str) -> str:
    return f"{CHANGELIST}{quote(session_id)}/revoke/"


def listed(client: Any, query: str = "") -> list[str]:
    response = client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200, response.content[:500]
    return [session.pk for session in response.context["cl"].result_list]


def snapshot() -> dict[str, tuple]:
    return {s.pk: (s.revoked_at, s.revoked_reason, s.revoked_by_id) for s in Session.objects.all()}


# --- Rendering ------------------------------------------------------------------------------------


def test_changelist_shows_the_columns_newest_first(root, tenant, user):
    client, _ = root
    now = timezone.now()
    older = SessionFactory(user=user, created_at=now - timedelta(hours=2), ip_address="81.2.69.142", country="GB")
    newer = SessionFactory(user=user, created_at=now - timedelta(minutes=5))
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert [s.pk for s in response.context["cl"].result_list] == [newer.pk, older.pk]
    html = response.content.decode()
    for text in (newer.pk, "alice@example.com", "Acme (acme)", "Chrome 120 on macOS 10.15", "(Desktop)",
                 "81.2.69.142", "GB", "hj-status-active"):
        assert text in html
    assert "delete_selected" not in html
    assert 'value="revoke_selected"' in html
    assert "/admin/sessions_app/session/add/" not in html


def test_detail_page_is_read_only_with_a_revoke_button(root, user):
    client, _ = root
    session = SessionFactory(user=user)
    listing = client.get(CHANGELIST).content.decode()
    assert f'href="{change_url(session.pk)}"' in listing  # the page the operator reaches from the list
    response = client.get(change_url(session.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Revoke this session" in html and revoke_url(session.pk) in html
    assert 'name="_save"' not in html  # view-only: nothing to save
    assert client.post(change_url(session.pk), {"user_agent": "x"}).status_code == 403
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.get(f"{CHANGELIST}{session.pk}/delete/").status_code == 403
    assert Session.objects.filter(pk=session.pk, user_agent=session.user_agent).exists()


def test_revoked_session_page_has_no_revoke_button(root, user):
    client, _ = root
    session = SessionFactory(user=user, revoked_at=timezone.now(), revoked_reason=RevocationReason.SIGNED_OUT)
    response = client.get(change_url(session.pk))
    assert response.status_code == 200
    assert "Revoke this session" not in response.content.decode()
    assert "hj-status-revoked" in response.content.decode()


# --- Revocation ----------------------------------------------------------------------------------


def test_revoke_action_goes_through_the_service_and_the_token_stops_working(root, user, sign_in, caplog,
                                                                          django_capture_on_commit_callbacks):
    client, operator = root
    revoked_body, kept_body = sign_in(), sign_in(user_agent=IPHONE_SAFARI)
    revoked_id, kept_id = revoked_body["session"]["id"], kept_body["session"]["id"]
    assert user_client(revoked_body).get("/v1/auth/me").status_code == 200

    # The audit line follows the commit.
    with caplog.at_level(logging.INFO, logger="hellojohn.audit"), django_capture_on_commit_callbacks(execute=True):
        response = action(client, CHANGELIST, "revoke_selected", [revoked_id])
    assert response.status_code == 302

    revoked = Session.objects.get(pk=revoked_id)
    assert revoked.revoked_reason == RevocationReason.REVOKED_BY_ADMIN
    assert revoked.revoked_by_id == operator.pk
    assert revoked.revoked_at is not None
    assert Session.objects.get(pk=kept_id).revoked_at is None
    audit = [r for r in caplog.records if getattr(r, "event", "") == "session.revoked"]
    assert [(r.session_id, r.reason, r.actor) for r in audit] == [(revoked_id, "revoked_by_admin", "operator:root")]

    me = user_client(revoked_body).get("/v1/auth/me")
    assert me.status_code == 401
    assert error_code(me) == "session_revoked"
    assert user_client(kept_body).get("/v1/auth/me").status_code == 200


def test_revoke_action_on_many_and_on_already_revoked_sessions(root, user):
    client, operator = root
    earlier = timezone.now() - timedelta(hours=1)
    active = SessionFactory.create_batch(3, user=user)
    gone = SessionFactory(user=user, revoked_at=earlier, revoked_reason=RevocationReason.SIGNED_OUT)
    untouched = SessionFactory(user=user)
    response = action(client, CHANGELIST, "revoke_selected", [s.pk for s in [*active, gone]], follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Revoked 3 session(s)."]
    after = snapshot()
    for session in active:
        assert after[session.pk][1:] == (RevocationReason.REVOKED_BY_ADMIN, operator.pk)
    assert after[gone.pk] == (earlier, RevocationReason.SIGNED_OUT, None)  # revoking a revoked one changes nothing
    assert after[untouched.pk] == (None, None, None)
    again = action(client, CHANGELIST, "revoke_selected", [gone.pk], follow=True)
    assert [str(m) for m in again.context["messages"]] == [
        "Nothing to revoke: the selected sessions were already revoked."]


def test_revoke_button_revokes_once(root, user, sign_in):
    client, operator = root
    body = sign_in()
    session_id = body["session"]["id"]
    confirmation = client.get(revoke_url(session_id))  # the button leads to the confirmation page
    assert confirmation.status_code == 200
    assert "1 active session will end." in confirmation.content.decode()
    assert client.put(revoke_url(session_id)).status_code == 405
    assert Session.objects.get(pk=session_id).revoked_at is None

    response = client.post(revoke_url(session_id), follow=True)
    assert response.redirect_chain == [(change_url(session_id), 302)]
    assert f"Revoked session {session_id}." in [str(m) for m in response.context["messages"]]
    session = Session.objects.get(pk=session_id)
    assert (session.revoked_reason, session.revoked_by_id) == (RevocationReason.REVOKED_BY_ADMIN, operator.pk)
    assert error_code(user_client(body).get("/v1/auth/me")) == "session_revoked"

    again = client.post(revoke_url(session_id), follow=True)
    assert f"Session {session_id} was already revoked." in [str(m) for m in again.context["messages"]]
    assert Session.objects.get(pk=session_id).revoked_at == session.revoked_at
    assert client.post(revoke_url("ses_doesnotexist")).status_code == 404


def test_view_only_staff_sees_but_cannot_revoke(user):
    client, _ = staff_client("viewer")
    session = SessionFactory(user=user)
    before = snapshot()

    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert session.pk in page.content.decode()
    assert "revoke_selected" not in page.content.decode()
    detail = client.get(change_url(session.pk))
    assert detail.status_code == 200
    assert "Revoke this session" not in detail.content.decode()

    # Forged requests: the action is not offered, the button's URL refuses.
    assert action(client, CHANGELIST, "revoke_selected", [session.pk]).status_code == 200  # "No action selected"
    assert client.post(revoke_url(session.pk)).status_code == 403
    assert snapshot() == before


def test_revoke_permission_alone_allows_revoking(user):
    client, operator = staff_client("revoker", ("sessions_app.view_session", "sessions_app.revoke_session"))
    session = SessionFactory(user=user)
    assert 'value="revoke_selected"' in client.get(CHANGELIST).content.decode()
    assert client.post(revoke_url(session.pk)).status_code == 302
    assert Session.objects.get(pk=session.pk).revoked_by_id == operator.pk


def test_staff_without_view_permission_is_refused(user):
    client, _ = staff_client("nobody", ())
    session = SessionFactory(user=user)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(session.pk)).status_code == 403
    assert client.post(revoke_url(session.pk)).status_code == 403
    assert Session.objects.get(pk=session.pk).revoked_at is None


# --- Filters and search --------------------------------------------------------------------------


def test_status_filter_uses_each_tenants_idle_timeout(root, tenant, other_tenant):
    client, _ = root
    TenantConfig.objects.filter(tenant=tenant.tenant).update(idle_timeout=3600)
    now = timezone.now()
    alice = UserFactory(tenant=tenant.tenant)
    bob = UserFactory(tenant=other_tenant.tenant)
    fresh = SessionFactory(user=alice, created_at=now - timedelta(hours=3), last_active_at=now - timedelta(minutes=10))
    idle = SessionFactory(user=alice, created_at=now - timedelta(hours=3), last_active_at=now - timedelta(hours=2))
    no_idle_limit = SessionFactory(user=bob, created_at=now - timedelta(hours=3),
                                   last_active_at=now - timedelta(hours=2))
    past_expiry = SessionFactory(user=bob, created_at=now - timedelta(days=40))
    revoked = SessionFactory(user=alice, revoked_at=now, revoked_reason=RevocationReason.REVOKED_BY_USER)

    assert set(listed(client, "status=active")) == {fresh.pk, no_idle_limit.pk}
    assert set(listed(client, "status=expired")) == {idle.pk, past_expiry.pk}
    assert set(listed(client, "status=revoked")) == {revoked.pk}
    assert set(listed(client, f"status=active&tenant__id__exact={tenant.id}")) == {fresh.pk}
    assert set(listed(client, f"status=expired&tenant__id__exact={other_tenant.id}")) == {past_expiry.pk}
    assert len(listed(client, "status=bogus")) == 5


def test_tenant_device_country_and_reason_filters(root, tenant, other_tenant):
    client, _ = root
    alice, bob = UserFactory(tenant=tenant.tenant), UserFactory(tenant=other_tenant.tenant)
    desktop_us = SessionFactory(user=alice)
    phone_gb = SessionFactory(user=alice, device_type=DeviceType.MOBILE, country="GB")
    unknown_place = SessionFactory(user=bob, country=None, ip_address="10.0.0.1")
    by_admin = SessionFactory(user=bob, revoked_at=timezone.now(), revoked_reason=RevocationReason.REVOKED_BY_ADMIN)
    by_limit = SessionFactory(user=bob, revoked_at=timezone.now(), revoked_reason=RevocationReason.SESSION_LIMIT)

    assert set(listed(client, f"tenant__id__exact={tenant.id}")) == {desktop_us.pk, phone_gb.pk}
    assert listed(client, "device_type__exact=mobile") == [phone_gb.pk]
    assert listed(client, "country=gb") == [phone_gb.pk]
    assert set(listed(client, "country=US")) == {desktop_us.pk, by_admin.pk, by_limit.pk}
    assert listed(client, "country=unknown") == [unknown_place.pk]
    assert listed(client, "country=usa") == []
    assert listed(client, "revoked_reason__exact=session_limit") == [by_limit.pk]
    assert listed(client, f"revoked_reason__exact=revoked_by_admin&tenant__id__exact={other_tenant.id}") == [
        by_admin.pk]
    # The country box keeps the other filters when it is submitted.
    page = client.get(f"{CHANGELIST}?device_type__exact=mobile&country=GB").content.decode()
    assert '<input type="hidden" name="device_type__exact" value="mobile">' in page


def test_search_by_session_id_email_and_ip(root, tenant, other_tenant):
    client, _ = root
    alice = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    alice_elsewhere = UserFactory(tenant=other_tenant.tenant, email="alice@example.com")
    alicia = UserFactory(tenant=tenant.tenant, email="alicia@example.org")
    first = SessionFactory(user=alice, ip_address="81.2.69.142")
    second = SessionFactory(user=alice_elsewhere, ip_address="2001:db8::1")
    third = SessionFactory(user=alicia)

    assert listed(client, f"q={first.pk}") == [first.pk]
    assert set(listed(client, "q=ALICE@example.com")) == {first.pk, second.pk}
    assert set(listed(client, "q=ali")) == {first.pk, second.pk, third.pk}
    assert listed(client, "q=alicia") == [third.pk]
    assert listed(client, "q=81.2.69.142") == [first.pk]
    assert listed(client, "q=2001:DB8:0::1") == [second.pk]
    assert listed(client, "q=nobody@example.com") == []
    assert listed(client, "q=ses_unknown") == []
    assert listed(client, "q=%25") == []  # a LIKE wildcard is matched literally


def test_odd_query_strings_do_not_crash(root, user):
    client, _ = root
    SessionFactory(user=user)
    for query in ("status=", "country=", "tenant__id__exact=nope&status=active", "q=%20",
                  "p=99999", "o=abc", "revoked_at__gte=2026-01-01T00:00:00%2B00:00"):
        response = client.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200, (query, response.status_code)
    # A NUL fits no filter: a 400 page (tests/contract/test_null_characters.py tries every filter).
    assert client.get(f"{CHANGELIST}?country=%00").status_code == 400
    # Django's changelist answers a lookup it cannot apply with a redirect to ?e=1.
    response = client.get(f"{CHANGELIST}?created_at__gte=not-a-date")
    assert (response.status_code, response["Location"]) == (302, f"{CHANGELIST}?e=1")
    assert Session.objects.filter(revoked_at__isnull=True).count() == 1


# --- Big tables ----------------------------------------------------------------------------------


def _bulk_sessions(count: int, tenants: list[Tenant]) -> None:
    users = [UserFactory(tenant=tenant) for tenant in tenants for _ in range(5)]
    now = timezone.now()
    Session.objects.bulk_create(
        [SessionFactory.build(user=users[i % len(users)], tenant=users[i % len(users)].tenant,
                              created_at=now - timedelta(seconds=i)) for i in range(count)],
        batch_size=1000,
    )


def _queries_for(client: Any, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("query", ["", "status=active", "country=US&device_type__exact=desktop", "q=8.8.8.8"])
def test_changelist_queries_do_not_grow_with_the_table(root, tenant, other_tenant, query):
    client, _ = root
    url = f"{CHANGELIST}?{query}"
    _bulk_sessions(100, [tenant.tenant, other_tenant.tenant])
    small = _queries_for(client, url)
    _bulk_sessions(4900, [tenant.tenant, other_tenant.tenant])
    big = _queries_for(client, url)
    assert len(big) == len(small) <= 8, big
    # The one count is capped: no COUNT(*) over the whole filtered table.
    counts = [sql for sql in big if "COUNT(" in sql.upper()]
    assert len(counts) == 1 and "LIMIT 10001" in counts[0].upper()


def test_count_is_capped_and_the_page_says_more_than(root, user, monkeypatch):
    client, _ = root
    monkeypatch.setattr(CappedCountPaginator, "cap", 150)
    _bulk_sessions(160, [user.tenant])
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "more than 150 sessions" in response.content.decode()
    assert "all=" not in response.content.decode()  # no "Show all" of an uncounted list
    assert len(response.context["cl"].result_list) == 100
    assert len(client.get(f"{CHANGELIST}?p=2").context["cl"].result_list) == 50


def test_a_cap_below_one_page_still_pages(root, user, monkeypatch):
    client, _ = root
    monkeypatch.setattr(CappedCountPaginator, "cap", 10)
    _bulk_sessions(120, [user.tenant])
    response = client.get(CHANGELIST)
    assert "more than 101 sessions" in response.content.decode()
    assert len(response.context["cl"].result_list) == 100


def test_revoke_button_needs_the_csrf_token(user):
    _, operator = superuser_client("csrf-root")
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    session = SessionFactory(user=user)
    assert client.post(revoke_url(session.pk)).status_code == 403
    assert Session.objects.get(pk=session.pk).revoked_at is None
