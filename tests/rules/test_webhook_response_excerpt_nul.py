"""A receiver's answer with a NUL byte in its body is recorded like any other: PostgreSQL's jsonb has no
place for U+0000, so the excerpt kept with the attempt drops it (docs/api.md, "Delivery")."""

import pytest
from django.test import override_settings
from pytest_httpserver import HTTPServer

from sessions_app.webhook_models import DeliveryStatus, WebhookDelivery
from sessions_app.webhooks.worker import deliver_due
from tests.webhook_helpers import LOOPBACK, emit, make_endpoint, receiver_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("_loopback_allowed")]


@pytest.fixture
def _loopback_allowed():
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK, HJ_WEBHOOK_RETRY_SCHEDULE=[0, 300, 1800]):
        yield


@pytest.mark.parametrize(("status", "expected"), [(200, DeliveryStatus.SUCCEEDED), (500, DeliveryStatus.FAILED)])
def test_a_nul_in_the_response_body_is_left_out_of_the_excerpt(tenant, httpserver: HTTPServer, status, expected):
    httpserver.expect_request("/hook").respond_with_data(b"ok\x00done", status=status)
    make_endpoint(tenant.tenant, receiver_url(httpserver))
    emit(tenant.tenant)

    assert deliver_due() == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == expected and delivery.lease_owner == ""
    assert [(a["response_status"], a["response_excerpt"]) for a in delivery.attempts] == [(status, "okdone")]
