"""The admin cannot delete a tenant's webhook endpoint: operators disable it (the change goes through
sessions_app.webhooks.services); deleting is the tenant's, through DELETE /v1/webhooks/{id}."""

import pytest

from sessions_app.webhook_models import WebhookDelivery, WebhookEndpoint
from sessions_app.webhooks import services
from tests.admin_helpers import superuser_client
from tests.webhook_helpers import emit

pytestmark = pytest.mark.django_db
ENDPOINTS = "/admin/sessions_app/webhookendpoint/"


def test_neither_the_delete_page_nor_the_bulk_delete_action_deletes_an_endpoint(tenant):
    created = services.create_endpoint(tenant=tenant.tenant, url="https://93.184.216.34/hook", events=["*"])
    emit(tenant.tenant)
    client, _ = superuser_client()
    endpoint_id = created.endpoint.id

    assert client.get(f"{ENDPOINTS}{endpoint_id}/delete/").status_code == 403
    assert client.post(f"{ENDPOINTS}{endpoint_id}/delete/", {"post": "yes"}).status_code == 403
    assert "delete_selected" not in client.get(ENDPOINTS).content.decode()
    client.post(ENDPOINTS, {"action": "delete_selected", "_selected_action": [endpoint_id], "post": "yes"})

    assert list(WebhookEndpoint.objects.values_list("id", flat=True)) == [endpoint_id]
    assert WebhookDelivery.objects.filter(endpoint_id=endpoint_id).count() == 1
