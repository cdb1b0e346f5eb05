"""/v1/webhooks through HTTP: shapes, the secret shown once and stored encrypted, validation, filters,
pages, and tenant isolation of every route (docs/api.md, "Webhooks")."""

import base64
import json
import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sessions_app.event_model import Event
from sessions_app.webhook_models import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint
from sessions_app.webhooks import secrets
from tests.conftest import client_with, error_code, user_client
from tests.webhook_helpers import emit

pytestmark = pytest.mark.django_db
URL = "https://93.184.216.34/hooks/hellojohn"
ENDPOINT_FIELDS = {"id", "url", "description", "events", "status", "disabled_reason", "created_at",
                   "last_triggered_at"}


def create(client, **body):
    response = client.post("/v1/webhooks", {"url": URL, "events": ["*"], **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_answers_the_endpoint_with_its_secret_once(secret_key_client, tenant):
    body = create(secret_key_client, events=["session.revoked", "session.created"], description="Backend")
    assert set(body) == ENDPOINT_FIELDS | {"signing_secret"}
    assert body["id"].startswith("wh_") and body["url"] == URL and body["description"] == "Backend"
    assert body["events"] == ["session.revoked", "session.created"]
    assert body["status"] == "enabled" and body["disabled_reason"] is None and body["last_triggered_at"] is None
    secret = body["signing_secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    # Stored encrypted: the plaintext is in no column; the token decrypts to it.
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.tenant_id == tenant.id
    assert secret not in endpoint.secret_encrypted and secrets.decrypt(endpoint.secret_encrypted) == secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM sessions_app_webhookendpoint")
        assert secret not in repr(cursor.fetchall())
    # Read, list and update never show it.
    for response in (secret_key_client.get(f"/v1/webhooks/{body['id']}"), secret_key_client.get("/v1/webhooks"),
                     secret_key_client.patch(f"/v1/webhooks/{body['id']}", {"description": "x"}, format="json")):
        assert response.status_code == 200
        assert secret not in response.content.decode() and "signing_secret" not in response.content.decode()


def test_list_pages_newest_first(secret_key_client):
    ids = [create(secret_key_client)["id"] for _ in range(3)]
    page = secret_key_client.get("/v1/webhooks?limit=2").json()
    assert [e["id"] for e in page["data"]] == ids[::-1][:2]
    assert page["pagination"]["total"] == 3 and page["pagination"]["has_more"] is True
    rest = secret_key_client.get(f"/v1/webhooks?limit=2&cursor={page['pagination']['next_cursor']}").json()
    assert [e["id"] for e in rest["data"]] == [ids[0]] and rest["pagination"]["has_more"] is False
    assert set(rest["data"][0]) == ENDPOINT_FIELDS


def test_update_delete_and_status(secret_key_client):
    endpoint = create(secret_key_client)
    response = secret_key_client.patch(f"/v1/webhooks/{endpoint['id']}", {"status": "disabled",
                                                                     "events": ["user.disabled"]}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "disabled" and response.json()["disabled_reason"] == "manual"
    assert response.json()["events"] == ["user.disabled"]
    response = secret_key_client.patch(f"/v1/webhooks/{endpoint['id']}", {"status": "enabled"}, format="json")
    assert response.json()["status"] == "enabled" and response.json()["disabled_reason"] is None
    assert secret_key_client.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 204
    assert WebhookEndpoint.objects.count() == 0
    assert error_code(secret_key_client.get(f"/v1/webhooks/{endpoint['id']}")) == "webhook_not_found"


@pytest.mark.parametrize("body", [
    {"url": URL},  # events missing
    {"url": URL, "events": []},
    {"url": URL, "events": ["session.exploded"]},
    {"url": URL, "events": "*"},
    {"url": URL, "events": [1]},
    {"url": 5, "events": ["*"]},
    {"events": ["*"]},
    {"url": URL, "events": ["*"], "secret": "mine"},  # unknown field
    {"url": URL, "events": ["*"], "description": "x" * 501},
])
def test_invalid_bodies_answer_400_and_store_nothing(secret_key_client, body):
    response = secret_key_client.post("/v1/webhooks", body, format="json")
    assert response.status_code == 400, response.content
    assert error_code(response) in {"invalid_parameter", "invalid_request"}
    assert WebhookEndpoint.objects.count() == 0


def test_rotate_secret_shows_the_new_secret_and_keeps_the_old_for_24_hours(secret_key_client):
    endpoint = create(secret_key_client)
    response = secret_key_client.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret")
    assert response.status_code == 200
    rotated = response.json()
    assert set(rotated) == ENDPOINT_FIELDS | {"signing_secret"}
    assert rotated["signing_secret"].startswith("whsec_") and rotated["signing_secret"] != endpoint["signing_secret"]
    stored = WebhookEndpoint.objects.get()
    assert secrets.decrypt(stored.secret_encrypted) == rotated["signing_secret"]
    assert secrets.decrypt(stored.previous_secret_encrypted) == endpoint["signing_secret"]
    remaining = stored.previous_secret_expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < remaining <= timedelta(hours=24)


def test_deliveries_list_filters_and_pages(secret_key_client, tenant):
    endpoint = create(secret_key_client)
    revoked = emit(tenant.tenant, "session.revoked", count=3)
    emit(tenant.tenant, "user.created")
    WebhookDelivery.objects.filter(event_id=revoked[0].public_id).update(status=DeliveryStatus.SUCCEEDED)
    base = f"/v1/webhooks/{endpoint['id']}/deliveries"

    page = secret_key_client.get(base).json()
    assert page["pagination"]["total"] == 4
    first = page["data"][0]
    assert set(first) == {"id", "webhook_id", "event_id", "event_type", "status", "attempts", "next_attempt_at",
                          "created_at"}
    assert first["webhook_id"] == endpoint["id"] and first["id"].startswith("del_")
    assert secret_key_client.get(f"{base}?event=session.revoked").json()["pagination"]["total"] == 3
    by_id = secret_key_client.get(f"{base}?event={revoked[1].public_id}").json()["data"]
    assert [d["event_id"] for d in by_id] == [revoked[1].public_id]
    assert secret_key_client.get(f"{base}?status=succeeded").json()["pagination"]["total"] == 1
    assert secret_key_client.get(f"{base}?status=pending").json()["pagination"]["total"] == 3
    later = (timezone.now() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert secret_key_client.get(f"{base}?since={later}").json()["pagination"]["total"] == 0
    assert secret_key_client.get(f"{base}?until={later}").json()["pagination"]["total"] == 4
    two = secret_key_client.get(f"{base}?limit=2").json()
    rest = secret_key_client.get(f"{base}?limit=2&cursor={two['pagination']['next_cursor']}").json()
    assert len({d["id"] for d in two["data"] + rest["data"]}) == 4
    for bad in ("status=done", "since=yesterday", "until=2024-01-01T00:00:00", "limit=0", "cursor=cur_x"):
        response = secret_key_client.get(f"{base}?{bad}")
        assert response.status_code == 400 and error_code(response) == "invalid_parameter", bad


def test_retry_answers_202_and_makes_the_delivery_due(secret_key_client, tenant):
    endpoint = create(secret_key_client)
    emit(tenant.tenant)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PERMANENTLY_FAILED,
                                                          next_attempt_at=None)
    response = secret_key_client.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery.id}/retry")
    assert response.status_code == 202
    assert response.json()["status"] == "pending" and response.json()["id"] == delivery.id
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at <= timezone.now()
    missing = secret_key_client.post(f"/v1/webhooks/{endpoint['id']}/deliveries/del_01JDQ8Z6V4X3N2M1K0HGFEDCBA/retry")
    assert missing.status_code == 404 and error_code(missing) == "delivery_not_found"


def test_another_tenants_ids_answer_404_on_every_route(secret_key_client, tenant, other_tenant):
    mine = create(secret_key_client)
    emit(tenant.tenant)
    delivery = WebhookDelivery.objects.get()
    other = client_with(other_tenant.secret_key, other_tenant.id)
    wh, base = mine["id"], f"/v1/webhooks/{mine['id']}"
    calls = [
        ("get", base, None), ("patch", base, {"description": "stolen"}), ("delete", base, None),
        ("post", f"{base}/rotate-secret", None), ("post", f"{base}/test", None), ("get", f"{base}/deliveries", None),
        ("post", f"{base}/deliveries/{delivery.id}/retry", None),
    ]
    before = list(WebhookEndpoint.objects.values()), list(WebhookDelivery.objects.values())
    for method, path, body in calls:
        response = getattr(other, method)(path, body, format="json")
        assert response.status_code == 404, (method, path)
        assert error_code(response) == "webhook_not_found"
    assert (list(WebhookEndpoint.objects.values()), list(WebhookDelivery.objects.values())) == before
    assert other.get("/v1/webhooks").json()["data"] == []
    # Another endpoint's delivery through my endpoint's path is not found either.
    theirs = create(other)
    response = other.post(f"/v1/webhooks/{theirs['id']}/deliveries/{delivery.id}/retry")
    assert response.status_code == 404 and error_code(response) == "delivery_not_found"
    assert WebhookEndpoint.objects.get(pk=wh).description == ""


@pytest.mark.parametrize("path", ["/v1/webhooks/wh_nope", "/v1/webhooks/usr_01JDQ8Z6V4X3N2M1K0HGFEDCBA",
                                  "/v1/webhooks/wh_01JDQ8Z6V4X3N2M1K0HGFEDCBA/deliveries"])
def test_malformed_and_unknown_ids_answer_404(secret_key_client, path):
    response = secret_key_client.get(path)
    assert response.status_code == 404 and error_code(response) == "webhook_not_found"


def test_only_the_secret_key_may_call(public_client, sign_in, user):
    for client in (public_client, user_client(sign_in())):
        response = client.get("/v1/webhooks")
        assert response.status_code == 403 and error_code(response) == "insufficient_permissions"
        response = client.post("/v1/webhooks", {"url": URL, "events": ["*"]}, format="json")
        assert response.status_code == 403
    assert WebhookEndpoint.objects.count() == 0


def test_no_secret_in_any_log_line_event_or_list(secret_key_client, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    endpoint = create(secret_key_client)
    rotated = secret_key_client.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret").json()
    secret_key_client.post(f"/v1/webhooks/{endpoint['id']}/test")
    secret_key_client.patch(f"/v1/webhooks/{endpoint['id']}", {"status": "disabled"}, format="json")
    emit(tenant.tenant)
    listed = secret_key_client.get("/v1/webhooks").content.decode() + secret_key_client.get(
        f"/v1/webhooks/{endpoint['id']}/deliveries").content.decode()
    events = json.dumps(list(Event.objects.values("data", "actor_id")), default=str)
    deliveries = json.dumps(list(WebhookDelivery.objects.values()), default=str)
    for secret in (endpoint["signing_secret"], rotated["signing_secret"]):
        raw = secret.removeprefix("whsec_")
        for text in (caplog.text, listed, events, deliveries):
            assert secret not in text and raw not in text
    assert WebhookEndpoint.objects.get().status == EndpointStatus.DISABLED


def test_an_encryption_key_rotation_then_reencrypt_lets_the_old_key_go(secret_key_client):
    from cryptography.fernet import Fernet
    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings

    endpoint = create(secret_key_client)
    rotated = secret_key_client.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret").json()
    old_keys, new_key = list(settings.HJ_ENCRYPTION_KEYS), Fernet.generate_key().decode()
    with override_settings(HJ_ENCRYPTION_KEYS=[new_key, *old_keys]):
        call_command("reencrypt_webhook_secrets", stdout=open("/dev/null", "w"))  # noqa: SIM115
    with override_settings(HJ_ENCRYPTION_KEYS=[new_key]):
        stored = WebhookEndpoint.objects.get()
        assert secrets.decrypt(stored.secret_encrypted) == rotated["signing_secret"]
        assert secrets.decrypt(stored.previous_secret_encrypted) == endpoint["signing_secret"]
