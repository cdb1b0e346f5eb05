"""End users in the Django admin: lookup, their active sessions, signing out everywhere, disabling."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.models import RevocationReason, Session
from tenants_app.models import User
from tests.admin_helpers import VIEW_ONLY, action, staff_client
from tests.conftest import IPHONE_SAFARI, client_with, error_code, user_client
from tests.factories import TEST_PASSWORD, SessionFactory, UserFactory

CHANGELIST = "/admin/tenants_app/user/"

pytestmark = pytest.mark.django_db


def listed(client: Any, query: str = "") -> list[str]:
    response = client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    return [user.pk for user in response.context["cl"].result_list]


def sessions_of(user: User) -> dict[str, tuple]:
    return {s.pk: (s.revoked_reason, s.revoked_by_id) for s in Session.objects.filter(user=user)}


def test_changelist_search_and_filters(root, tenant, other_tenant):
    client, _ = root
    alice = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    alice_elsewhere = UserFactory(tenant=other_tenant.tenant, email="alice@example.com")
    bob = UserFactory(tenant=tenant.tenant, email="bob@example.com", status=User.Status.DISABLED)

    assert set(listed(client)) == {alice.pk, alice_elsewhere.pk, bob.pk}
    assert set(listed(client, "q=Alice@Example.com")) == {alice.pk, alice_elsewhere.pk}
    assert listed(client, "q=bo") == [bob.pk]
    assert listed(client, "q=carol@example.com") == []
    assert set(listed(client, f"tenant__id__exact={tenant.id}")) == {alice.pk, bob.pk}
    assert listed(client, "status__exact=disabled") == [bob.pk]
    assert listed(client, f"status__exact=active&tenant__id__exact={other_tenant.id}") == [alice_elsewhere.pk]
    html = client.get(CHANGELIST).content.decode()
    assert "delete_selected" not in html and f"{CHANGELIST}add/" not in html


def test_user_page_shows_only_active_sessions_read_only(root, user):
    client, _ = root
    now = timezone.now()
    active = SessionFactory(user=user, ip_address="81.2.69.142", country="GB")
    revoked = SessionFactory(user=user, revoked_at=now, revoked_reason=RevocationReason.SIGNED_OUT)
    expired = SessionFactory(user=user, created_at=now - timedelta(days=31))
    response = client.get(f"{CHANGELIST}{user.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert active.pk in html and "Chrome 120 on macOS 10.15" in html and "81.2.69.142" in html
    assert f'href="/admin/sessions_app/session/{quote(active.pk)}/change/"' in html
    assert revoked.pk not in html and expired.pk not in html
    assert 'name="_save"' not in html
    assert user.password not in html
    assert client.post(f"{CHANGELIST}{user.pk}/change/", {"name": "Mallory"}).status_code == 403
    assert client.get(f"{CHANGELIST}{user.pk}/delete/").status_code == 403
    assert User.objects.get(pk=user.pk).name == user.name


def test_sign_out_of_all_devices(root, tenant, user, sign_in):
    client, operator = root
    first, second = sign_in(), sign_in(user_agent=IPHONE_SAFARI)
    old = SessionFactory(user=user, revoked_at=timezone.now(), revoked_reason=RevocationReason.SIGNED_OUT)
    bystander = UserFactory(tenant=tenant.tenant)
    other_session = SessionFactory(user=bystander)

    response = action(client, CHANGELIST, "sign_out_everywhere", [user.pk], follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Signed 1 user(s) out: 2 session(s) revoked."]
    after = sessions_of(user)
    for body in (first, second):
        assert after[body["session"]["id"]] == (RevocationReason.REVOKED_BY_ADMIN, operator.pk)
        assert error_code(user_client(body).get("/v1/auth/me")) == "session_revoked"
    assert after[old.pk] == (RevocationReason.SIGNED_OUT, None)
    assert Session.objects.get(pk=other_session.pk).revoked_at is None
    assert User.objects.get(pk=user.pk).status == User.Status.ACTIVE  # signing out does not disable
    sign_in()  # and the user can sign in again


def test_disable_signs_out_everywhere_and_enable_restores(root, tenant, user, sign_in):
    client, operator = root
    body = sign_in()
    response = action(client, CHANGELIST, "disable", [user.pk], follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Disabled 1 user(s) and revoked their sessions."]
    assert User.objects.get(pk=user.pk).status == User.Status.DISABLED
    assert sessions_of(user) == {body["session"]["id"]: (RevocationReason.USER_DISABLED, operator.pk)}
    assert error_code(user_client(body).get("/v1/auth/me")) == "session_revoked"
    refused = client_with(tenant.publishable_key, tenant.id).post(
        "/v1/auth/sign-in", {"email": user.email, "password": TEST_PASSWORD}, format="json")
    assert refused.status_code == 403 and error_code(refused) == "account_disabled"

    action(client, CHANGELIST, "enable", [user.pk])
    assert User.objects.get(pk=user.pk).status == User.Status.ACTIVE
    sign_in()


def test_view_only_staff_cannot_sign_out_or_disable(user):
    client, _ = staff_client("viewer")
    session = SessionFactory(user=user)
    html = client.get(CHANGELIST).content.decode()
    assert "sign_out_everywhere" not in html and 'value="disable"' not in html
    assert client.get(f"{CHANGELIST}{user.pk}/change/").status_code == 200
    for name in ("sign_out_everywhere", "disable"):
        action(client, CHANGELIST, name, [user.pk])
    assert User.objects.get(pk=user.pk).status == User.Status.ACTIVE
    assert Session.objects.get(pk=session.pk).revoked_at is None


def test_each_action_needs_its_own_permission(user):
    client, operator = staff_client("revoker", (*VIEW_ONLY, "sessions_app.revoke_session"))
    session = SessionFactory(user=user)
    html = client.get(CHANGELIST).content.decode()
    assert 'value="sign_out_everywhere"' in html and 'value="disable"' not in html
    action(client, CHANGELIST, "disable", [user.pk])
    assert User.objects.get(pk=user.pk).status == User.Status.ACTIVE
    action(client, CHANGELIST, "sign_out_everywhere", [user.pk])
    assert sessions_of(user) == {session.pk: (RevocationReason.REVOKED_BY_ADMIN, operator.pk)}


def test_changelist_queries_do_not_grow_with_the_table(root, tenant):
    client, _ = root
    UserFactory.create_batch(5, tenant=tenant.tenant)
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"{CHANGELIST}?status__exact=active").status_code == 200
    User.objects.bulk_create([UserFactory.build(tenant=tenant.tenant, password="x") for _ in range(300)])
    with CaptureQueriesContext(connection) as many:
        assert client.get(f"{CHANGELIST}?status__exact=active").status_code == 200
    assert len(many) == len(few)
    counts = [q["sql"] for q in many.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 10001" in counts[0].upper()
