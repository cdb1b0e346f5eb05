"""A receiver's Retry-After, however large or odd, is one failed attempt waiting at most a day, never a
worker crash that leaves the delivery leased and re-sent after every lease (docs/api.md, "Delivery")."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Response

from sessions_app.webhook_models import DeliveryStatus, WebhookDelivery
from sessions_app.webhooks.worker import MAX_RETRY_AFTER, deliver_due
from tests.webhook_helpers import LOOPBACK, emit, make_endpoint, receiver_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("_loopback_allowed")]


@pytest.fixture
def _loopback_allowed():
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK, HJ_WEBHOOK_RETRY_SCHEDULE=[0, 300, 1800]):
        yield


@pytest.mark.parametrize("retry_after", [
    "100000000000000",  # 1e14 s: beyond what a timedelta holds
    "9" * 400,  # float() makes it infinity
    "\u00b2",  # a Latin-1 superscript digit: str.isdigit() says yes, float() says no
])
def test_an_oversized_or_odd_retry_after_is_a_failed_attempt(tenant, httpserver: HTTPServer, retry_after):
    httpserver.expect_request("/hook").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": retry_after}))
    make_endpoint(tenant.tenant, receiver_url(httpserver))
    emit(tenant.tenant)

    before = timezone.now()
    assert deliver_due() == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.lease_owner == "" and delivery.lease_until is None
    assert [(a["response_status"], a["error"]) for a in delivery.attempts] == [(429, "http_429")]
    wait = delivery.next_attempt_at - before
    if retry_after.isascii():
        assert MAX_RETRY_AFTER - timedelta(seconds=1) <= wait <= MAX_RETRY_AFTER + timedelta(seconds=2)
    else:  # not a number: the schedule's next step
        assert timedelta(seconds=299) <= wait <= timedelta(seconds=302)
