"""One delivery that cannot be attempted (here: a secret no configured key decrypts) is recorded as a
failed attempt on the schedule; the deliveries behind it in the queue are still sent in the same run."""

import pytest
from django.test import override_settings
from pytest_httpserver import HTTPServer

from sessions_app.webhook_models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from sessions_app.webhooks.worker import deliver_due
from tests.webhook_helpers import LOOPBACK, emit, make_endpoint, receiver_url

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def _loopback_allowed():
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK, HJ_WEBHOOK_RETRY_SCHEDULE=[0, 300, 1800]):
        yield


@pytest.mark.usefixtures("_loopback_allowed")
def test_an_undecryptable_secret_fails_its_delivery_and_the_queue_moves_on(tenant, other_tenant,
                                                                           httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok", status=200)
    broken = make_endpoint(tenant.tenant, receiver_url(httpserver)).endpoint
    make_endpoint(other_tenant.tenant, receiver_url(httpserver))
    # As after an operator dropped the old HJ_ENCRYPTION_KEY before re-encrypting the secrets.
    WebhookEndpoint.objects.filter(pk=broken.pk).update(secret_encrypted="gAAAAA-not-a-fernet-token")
    emit(tenant.tenant)
    emit(other_tenant.tenant)

    assert deliver_due() == 2
    failed = WebhookDelivery.objects.get(endpoint=broken)
    sent = WebhookDelivery.objects.exclude(endpoint=broken).get()
    assert failed.status == DeliveryStatus.FAILED and failed.lease_owner == "" and failed.next_attempt_at is not None
    assert [a["error"] for a in failed.attempts] == ["internal_error"]
    assert sent.status == DeliveryStatus.SUCCEEDED
    assert len(httpserver.log) == 1
