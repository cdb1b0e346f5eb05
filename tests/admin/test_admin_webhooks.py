"""The admin's webhook pages: endpoints per tenant with enable/disable, deliveries read-only with retry."""

import pytest

from sessions_app.webhook_models import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint
from sessions_app.webhooks import services
from tests.admin_helpers import action, staff_client, superuser_client
from tests.webhook_helpers import emit

pytestmark = pytest.mark.django_db
ENDPOINTS = "/admin/sessions_app/webhookendpoint/"
DELIVERIES = "/admin/sessions_app/webhookdelivery/"


@pytest.fixture
def endpoint(tenant):
    return services.create_endpoint(tenant=tenant.tenant, url="https://93.184.216.34/hook", events=["*"])


def test_endpoints_are_listed_without_their_secret_and_can_be_disabled_and_enabled(endpoint):
    client, _ = superuser_client()
    page = client.get(ENDPOINTS)
    assert page.status_code == 200
    html = page.content.decode()
    assert endpoint.endpoint.id in html and endpoint.signing_secret not in html
    detail = client.get(f"{ENDPOINTS}{endpoint.endpoint.id}/change/").content.decode()
    assert endpoint.signing_secret not in detail and endpoint.endpoint.secret_encrypted not in detail

    action(client, ENDPOINTS, "disable_endpoints", [endpoint.endpoint.id])
    stored = WebhookEndpoint.objects.get()
    assert (stored.status, stored.disabled_reason) == (EndpointStatus.DISABLED, "manual")
    action(client, ENDPOINTS, "enable_endpoints", [endpoint.endpoint.id])
    stored.refresh_from_db()
    assert (stored.status, stored.disabled_reason) == (EndpointStatus.ENABLED, None)
    assert client.get(f"{ENDPOINTS}add/").status_code == 403


def test_deliveries_are_read_only_with_a_retry_action(endpoint, tenant):
    emit(tenant.tenant)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PERMANENTLY_FAILED,
                                                          next_attempt_at=None)
    client, _ = superuser_client()
    assert delivery.id in client.get(f"{DELIVERIES}?endpoint__id__exact={endpoint.endpoint.id}").content.decode()
    assert client.get(f"{DELIVERIES}{delivery.id}/change/").status_code == 200
    assert client.get(f"{DELIVERIES}{delivery.id}/delete/").status_code == 403
    action(client, DELIVERIES, "retry_deliveries", [delivery.id])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None


def test_a_view_only_operator_cannot_retry_or_disable(endpoint, tenant):
    emit(tenant.tenant)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    client, _ = staff_client("viewer", ("sessions_app.view_webhookendpoint", "sessions_app.view_webhookdelivery"))
    assert client.get(DELIVERIES).status_code == 200
    action(client, DELIVERIES, "retry_deliveries", [delivery.id])
    action(client, ENDPOINTS, "disable_endpoints", [endpoint.endpoint.id])
    assert WebhookDelivery.objects.get().status == DeliveryStatus.FAILED
    assert WebhookEndpoint.objects.get().status == EndpointStatus.ENABLED
