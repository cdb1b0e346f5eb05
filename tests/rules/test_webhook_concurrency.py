"""Several workers at once on PostgreSQL (real threads, their own connections): every delivery is sent
exactly once while none dies, because due rows are leased with SELECT … FOR UPDATE SKIP LOCKED."""

import threading
from collections import Counter

import pytest
from django.db import connection
from django.test import override_settings
from pytest_httpserver import HTTPServer

from sessions_app.webhook_models import DeliveryStatus, WebhookDelivery
from sessions_app.webhooks.worker import deliver_due
from tests.webhook_helpers import LOOPBACK, emit, make_endpoint, receiver_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL's row locks and concurrent connections")


def test_four_workers_send_each_delivery_once(tenant, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK):
        make_endpoint(tenant.tenant, receiver_url(httpserver))
        emit(tenant.tenant, count=120)
        barrier = threading.Barrier(4)
        attempts: list[int] = []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                barrier.wait()
                attempts.append(deliver_due(batch_size=5))
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    assert sum(attempts) == 120
    assert Counter(r.headers["webhook-id"] for r, _ in httpserver.log).most_common(1)[0][1] == 1
    assert len(httpserver.log) == 120
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}
    assert all(len(d.attempts) == 1 for d in WebhookDelivery.objects.all())
