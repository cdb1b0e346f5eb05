"""End to end: changes made through /v1 arrive at a real receiver as the right signed events, with the
right `data` (docs/api.md, "Events" and "Webhooks")."""

import json

import pytest
from django.test import override_settings
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook

from sessions_app.event_model import Event
from sessions_app.renderings import event_dict
from sessions_app.webhooks.worker import deliver_due
from tests.conftest import IPHONE_SAFARI, user_client
from tests.factories import TEST_PASSWORD, UserFactory
from tests.webhook_helpers import LOOPBACK, hellojohn_hmac, receiver_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver(secret_key_client, httpserver: HTTPServer):
    """An endpoint of the tenant subscribed to everything, on a loopback receiver; answers its secret."""
    httpserver.expect_request("/hook").respond_with_data("ok")
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK):
        response = secret_key_client.post("/v1/webhooks", {"url": receiver_url(httpserver), "events": ["*"]},
                                     format="json")
        assert response.status_code == 201, response.content
        yield response.json()["signing_secret"]


def received(httpserver: HTTPServer, secret: str) -> list[dict]:
    """Delivers what is due and answers the verified payloads, in arrival order."""
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK):
        deliver_due()
    payloads = []
    for request, _ in httpserver.log:
        body = request.get_data()
        assert request.headers["HelloJohn-Signature"] == hellojohn_hmac(secret, body)
        payloads.append(Webhook(secret).verify(body, dict(request.headers)))
    httpserver.log.clear()
    return payloads


def test_sign_in_and_sign_out_arrive_signed(receiver, httpserver, sign_in, user):
    body = sign_in()
    [created] = received(httpserver, receiver)
    assert created["type"] == "session.created"
    assert created["data"]["session"]["id"] == body["session"]["id"]
    assert created["data"]["session"]["status"] == "active"
    assert "access_token" not in json.dumps(created) and "refresh_token" not in json.dumps(created)
    assert created == event_dict(Event.objects.get(public_id=created["id"]))

    assert user_client(body).post("/v1/auth/sign-out").status_code == 204
    [revoked] = received(httpserver, receiver)
    assert revoked["type"] == "session.revoked"
    assert revoked["data"]["reason"] == "signed_out"
    assert revoked["data"]["session"]["id"] == body["session"]["id"]
    assert revoked["data"]["session"]["status"] == "revoked"
    assert revoked["actor"] == {"type": "user", "id": user.id}


def test_an_admin_revoke_arrives_with_the_key_as_actor(receiver, httpserver, secret_key_client, sign_in, user, tenant):
    session_id = sign_in()["session"]["id"]
    received(httpserver, receiver)
    assert secret_key_client.delete(f"/v1/sessions/{session_id}").status_code == 204
    [revoked] = received(httpserver, receiver)
    assert revoked["type"] == "session.revoked" and revoked["data"]["reason"] == "revoked_by_admin"
    assert revoked["actor"]["type"] == "api_key" and revoked["actor"]["id"].startswith("key_")
    assert revoked["tenant_id"] == tenant.id


def test_a_revoke_all_of_n_arrives_as_n_events(receiver, httpserver, secret_key_client, sign_in, user):
    session_ids = {sign_in()["session"]["id"] for _ in range(5)}
    received(httpserver, receiver)
    response = secret_key_client.delete(f"/v1/sessions?user_id={user.id}")
    assert response.json() == {"revoked": 5}
    payloads = received(httpserver, receiver)
    assert sorted(p["type"] for p in payloads) == ["session.revoked"] * 5
    assert {p["data"]["session"]["id"] for p in payloads} == session_ids
    assert {p["data"]["reason"] for p in payloads} == {"revoked_by_admin"}
    assert len({p["id"] for p in payloads}) == 5


def test_disabling_a_user_arrives_as_user_disabled_and_the_revocations(receiver, httpserver, secret_key_client, tenant,
                                                                        sign_in):
    user = UserFactory(tenant=tenant.tenant, email="bob@example.com")
    session_ids = {sign_in(email="bob@example.com", password=TEST_PASSWORD)["session"]["id"] for _ in range(2)}
    received(httpserver, receiver)
    response = secret_key_client.patch(f"/v1/users/{user.id}", {"status": "disabled"}, format="json")
    assert response.status_code == 200
    payloads = received(httpserver, receiver)
    by_type: dict[str, list[dict]] = {}
    for payload in payloads:
        by_type.setdefault(payload["type"], []).append(payload)
    [disabled] = by_type["user.disabled"]
    assert disabled["data"]["user"]["id"] == user.id and disabled["data"]["user"]["status"] == "disabled"
    assert {p["data"]["session"]["id"] for p in by_type["session.revoked"]} == session_ids
    assert {p["data"]["reason"] for p in by_type["session.revoked"]} == {"user_disabled"}


def test_a_flagged_sign_in_arrives_as_session_flagged_after_session_created(receiver, httpserver, sign_in, user):
    sign_in(ip="8.8.8.8")
    [first] = received(httpserver, receiver)
    assert first["type"] == "session.created" and first["data"]["session"]["flags"] == []
    body = sign_in(ip="133.1.1.1", user_agent=IPHONE_SAFARI)  # Japan, on a phone
    created, flagged = received(httpserver, receiver)
    assert [created["type"], flagged["type"]] == ["session.created", "session.flagged"]
    assert flagged["data"]["session"]["id"] == body["session"]["id"]
    codes = [flag["code"] for flag in flagged["data"]["flags"]]
    assert codes == ["new_country", "new_device", "impossible_travel"]  # seconds after a sign-in in the US
    assert flagged["data"]["flags"] == body["session"]["flags"] == created["data"]["session"]["flags"]
    assert flagged["data"]["session"]["flags"] == flagged["data"]["flags"]
    assert flagged["actor"] == {"type": "user", "id": user.id}
    assert flagged == event_dict(Event.objects.get(public_id=flagged["id"]))


def test_an_endpoint_subscribed_to_session_flagged_gets_only_flagged_sign_ins(secret_key_client, httpserver,
                                                                              sign_in, user):
    httpserver.expect_request("/hook").respond_with_data("ok")
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK):
        response = secret_key_client.post("/v1/webhooks", {"url": receiver_url(httpserver),
                                                           "events": ["session.flagged"]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["events"] == ["session.flagged"]
    secret = response.json()["signing_secret"]
    sign_in(ip="8.8.8.8")
    sign_in(ip="8.8.8.8")
    assert received(httpserver, secret) == []
    body = sign_in(ip="133.1.1.1", user_agent=IPHONE_SAFARI)
    [flagged] = received(httpserver, secret)
    assert flagged["type"] == "session.flagged" and flagged["data"]["session"]["id"] == body["session"]["id"]
