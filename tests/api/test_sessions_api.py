"""/v1/sessions for both callers: list, retrieve, revoke one, revoke all, verify (issue 4)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app.models import RevocationReason, Session
from tests.conftest import IPHONE_SAFARI, client_with, error_code, user_client
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def snapshot():
    return sorted(Session.objects.values_list("id", "revoked_at", "revoked_reason", "last_active_at"))


def test_the_docs_four_calls_as_written(tenant, user, sign_in):
    """The "Multi-Device Sessions" page's curl lines, with real ids and keys."""
    signed = [sign_in() for _ in range(5)]
    admin = client_with(tenant.secret_key, tenant.id)

    listed = admin.get(f"/v1/sessions?user_id={user.id}")
    assert listed.status_code == 200
    assert {s["id"] for s in listed.json()["data"]} == {b["session"]["id"] for b in signed}
    assert all("current" not in s for s in listed.json()["data"])

    one = signed[0]["session"]["id"]
    assert admin.delete(f"/v1/sessions/{one}").status_code == 204
    revoked = Session.objects.get(pk=one)
    assert revoked.revoked_reason == RevocationReason.REVOKED_BY_ADMIN

    response = admin.delete(f"/v1/sessions?user_id={user.id}")
    assert response.status_code == 200
    assert response.json() == {"revoked": 4}
    assert admin.delete(f"/v1/sessions?user_id={user.id}").json() == {"revoked": 0}

    response = admin.patch("/v1/admin/config", {"max_sessions_per_user": 5}, format="json")
    assert response.status_code == 200
    assert response.json()["max_sessions_per_user"] == 5


def test_limit_through_patch_then_sign_ins(tenant, user, sign_in):
    admin = client_with(tenant.secret_key, tenant.id)
    assert admin.patch("/v1/admin/config", {"max_sessions_per_user": 5}, format="json").status_code == 200
    ids = [sign_in()["session"]["id"] for _ in range(5)]
    sixth = sign_in()["session"]["id"]
    active = {s["id"] for s in admin.get(f"/v1/sessions?user_id={user.id}").json()["data"]}
    assert active == {*ids[1:], sixth}
    assert Session.objects.get(pk=ids[0]).revoked_reason == RevocationReason.SESSION_LIMIT


def test_user_caller_sees_own_sessions_with_exactly_one_current(tenant, user, sign_in):
    other_user = UserFactory(tenant=tenant.tenant, email="bob@example.com")
    SessionFactory(user=other_user)
    mine = [sign_in(), sign_in(user_agent=IPHONE_SAFARI)]
    response = user_client(mine[1]).get("/v1/sessions")
    data = response.json()["data"]
    assert {s["id"] for s in data} == {b["session"]["id"] for b in mine}
    assert [s["id"] for s in data if s["current"]] == [mine[1]["session"]["id"]]
    assert all(s["user_id"] == user.id for s in data)


def test_user_cannot_touch_another_users_session(tenant, user, sign_in):
    other_session = SessionFactory(user=UserFactory(tenant=tenant.tenant, email="bob@example.com"))
    client = user_client(sign_in())
    before = snapshot()
    for response in (client.get(f"/v1/sessions/{other_session.id}"), client.delete(f"/v1/sessions/{other_session.id}")):
        assert (response.status_code, error_code(response)) == (404, "session_not_found")
    response = client.delete(f"/v1/sessions?user_id={other_session.user_id}")
    assert (response.status_code, error_code(response)) == (404, "user_not_found")
    assert snapshot() == before


def test_user_revokes_one_device_and_then_other_devices(tenant, user, sign_in):
    current, phone, tablet = sign_in(), sign_in(user_agent=IPHONE_SAFARI), sign_in()
    client = user_client(current)
    assert client.delete(f"/v1/sessions/{phone['session']['id']}").status_code == 204
    assert Session.objects.get(pk=phone["session"]["id"]).revoked_reason == RevocationReason.REVOKED_BY_USER
    assert user_client(phone).get("/v1/auth/me").status_code == 401
    response = client.delete("/v1/sessions?except_current=true")
    assert response.json() == {"revoked": 1}
    assert Session.objects.get(pk=tablet["session"]["id"]).revoked_reason == RevocationReason.REVOKED_BY_USER
    assert client.get("/v1/auth/me").status_code == 200
    assert client.delete(f"/v1/sessions/{current['session']['id']}").status_code == 204
    assert Session.objects.get(pk=current["session"]["id"]).revoked_reason == RevocationReason.SIGNED_OUT


def test_revoking_a_revoked_session_changes_nothing(tenant, user, sign_in):
    body = sign_in()
    admin = client_with(tenant.secret_key, tenant.id)
    assert admin.delete(f"/v1/sessions/{body['session']['id']}").status_code == 204
    before = snapshot()
    assert admin.delete(f"/v1/sessions/{body['session']['id']}").status_code == 204
    assert snapshot() == before


def test_filters(tenant, user):
    admin = client_with(tenant.secret_key, tenant.id)
    us = SessionFactory(user=user, country="US", device_type="desktop")
    gb = SessionFactory(user=user, country="GB", device_type="mobile")
    revoked = SessionFactory(user=user, country="US", device_type="mobile")
    Session.objects.filter(pk=revoked.pk).update(revoked_at=revoked.created_at, revoked_reason="signed_out")

    def ids(query):
        response = admin.get(f"/v1/sessions?{query}")
        assert response.status_code == 200, response.content
        return {s["id"] for s in response.json()["data"]}

    assert ids("") == {us.id, gb.id}
    assert ids("country=gb") == {gb.id}
    assert ids("device_type=mobile") == {gb.id}
    assert ids("status=revoked") == {revoked.id}
    assert ids("status=all") == {us.id, gb.id, revoked.id}
    assert ids("status=all&country=US&device_type=mobile") == {revoked.id}


@pytest.mark.parametrize(("query", "code"), [
    ("limit=0", "invalid_parameter"), ("limit=101", "invalid_parameter"), ("limit=x", "invalid_parameter"),
    ("limit=-1", "invalid_parameter"), ("cursor=nonsense", "invalid_parameter"),
    ("cursor=cur_bm90IGpzb24", "invalid_parameter"), ("status=deleted", "invalid_parameter"),
    ("user_id=usr_123", "invalid_parameter"), ("user_id=ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "invalid_parameter"),
    ("country=USA", "invalid_parameter"), ("device_type=fridge", "invalid_parameter"),
])
def test_bad_list_parameters(tenant, user, query, code):
    response = client_with(tenant.secret_key, tenant.id).get(f"/v1/sessions?{query}")
    assert (response.status_code, error_code(response)) == (400, code)
    assert response.json()["error"]["fields"]


def test_revoke_all_needs_user_id_for_admin(tenant, user):
    admin = client_with(tenant.secret_key, tenant.id)
    SessionFactory(user=user)
    response = admin.delete("/v1/sessions")
    assert (response.status_code, error_code(response)) == (400, "invalid_parameter")
    response = admin.delete("/v1/sessions?user_id=usr_01JDQ8Z6V4X3N2M1K0HGFEDCBA")
    assert (response.status_code, error_code(response)) == (404, "user_not_found")
    assert Session.objects.filter(revoked_at__isnull=True).count() == 1


def test_pagination_walks_every_session_once_while_revoking(tenant, user):
    created = SessionFactory.create_batch(45, user=user)
    admin = client_with(tenant.secret_key, tenant.id)
    seen: list[str] = []
    url = f"/v1/sessions?user_id={user.id}&status=all&limit=10"
    page = admin.get(url).json()
    assert page["pagination"] == {"total": 45, "limit": 10, "has_more": True,
                                  "next_cursor": page["pagination"]["next_cursor"]}
    while True:
        seen += [s["id"] for s in page["data"]]
        # Revoke something on a later page between requests: the cursor must not care.
        unseen = [s.id for s in created if s.id not in seen]
        if unseen:
            assert admin.delete(f"/v1/sessions/{unseen[-1]}").status_code == 204
        if not page["pagination"]["has_more"]:
            break
        page = admin.get(f"{url}&cursor={page['pagination']['next_cursor']}").json()
    assert sorted(seen) == sorted(s.id for s in created)
    assert len(seen) == len(set(seen))


def test_tenant_isolation_on_every_sessions_endpoint(tenant, other_tenant, user, sign_in):
    body = sign_in()
    session_id = body["session"]["id"]
    foreign = client_with(other_tenant.secret_key, other_tenant.id)
    before = snapshot()
    for response in (foreign.get(f"/v1/sessions/{session_id}"), foreign.delete(f"/v1/sessions/{session_id}")):
        assert (response.status_code, error_code(response)) == (404, "session_not_found")
    for response in (foreign.get(f"/v1/sessions?user_id={user.id}"), foreign.delete(f"/v1/sessions?user_id={user.id}")):
        assert (response.status_code, error_code(response)) == (404, "user_not_found")
    assert foreign.get("/v1/sessions").json()["data"] == []
    verify = foreign.post("/v1/sessions/verify", {"token": body["session"]["access_token"]}, format="json").json()
    assert verify == {"valid": False, "reason": "invalid_token", "session": None}
    mismatched = client_with(other_tenant.secret_key, tenant.id)
    for response in (mismatched.get("/v1/sessions"), mismatched.delete(f"/v1/sessions/{session_id}")):
        assert (response.status_code, error_code(response)) == (403, "tenant_mismatch")
    assert snapshot() == before


def test_verify_tells_why(tenant, user, sign_in):
    admin = client_with(tenant.secret_key, tenant.id)
    body = sign_in()
    token = body["session"]["access_token"]
    good = admin.post("/v1/sessions/verify", {"token": token}, format="json").json()
    assert good["valid"] is True and good["reason"] is None and good["session"]["id"] == body["session"]["id"]
    admin.delete(f"/v1/sessions/{body['session']['id']}")
    bad = admin.post("/v1/sessions/verify", {"token": token}, format="json").json()
    assert (bad["valid"], bad["reason"], bad["session"]["status"]) == (False, "session_revoked", "revoked")
    junk = admin.post("/v1/sessions/verify", {"token": "junk"}, format="json").json()
    assert junk == {"valid": False, "reason": "invalid_token", "session": None}
    response = user_client(sign_in()).post("/v1/sessions/verify", {"token": token}, format="json")
    assert (response.status_code, error_code(response)) == (403, "insufficient_permissions")


def test_listing_costs_the_same_for_1_and_100_sessions(tenant, user):
    admin = client_with(tenant.secret_key, tenant.id)
    SessionFactory(user=user)
    admin.get(f"/v1/sessions?user_id={user.id}")  # warm caches
    with CaptureQueriesContext(connection) as one:
        assert len(admin.get(f"/v1/sessions?user_id={user.id}&limit=100").json()["data"]) == 1
    SessionFactory.create_batch(99, user=user)
    with CaptureQueriesContext(connection) as hundred:
        assert len(admin.get(f"/v1/sessions?user_id={user.id}&limit=100").json()["data"]) == 100
    assert len(one) == len(hundred) <= 4


def test_revoke_all_costs_the_same_for_1_and_500_sessions(tenant, user):
    admin = client_with(tenant.secret_key, tenant.id)
    SessionFactory(user=user)
    admin.get("/v1/admin/config")  # warm: the key's last_used_at write happens once a minute
    with CaptureQueriesContext(connection) as one:
        assert admin.delete(f"/v1/sessions?user_id={user.id}").json() == {"revoked": 1}
    SessionFactory.create_batch(500, user=user)
    with CaptureQueriesContext(connection) as many:
        assert admin.delete(f"/v1/sessions?user_id={user.id}").json() == {"revoked": 500}
    # The key, the user, the UPDATE, the events' INSERT and the webhook endpoints they go to (and on
    # PostgreSQL the event-log lock): tests/test_events.py counts the statements of revocation itself.
    assert len(one) == len(many) <= 5 + (connection.vendor == "postgresql")
