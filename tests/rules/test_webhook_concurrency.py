"""Several workers at once on PostgreSQL (real threads, their own connections): every delivery is sent
exactly once while none dies, because due rows are leased with SELECT … FOR UPDATE SKIP LOCKED."""

import threading
import time
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


def test_racing_secret_rotations_hand_out_only_secrets_that_sign(tenant, monkeypatch):
    """Eight rotate-secret calls at once queue on the endpoint's row: the two secrets that sign afterwards
    are the last two handed out, never the secret from before (which a lost update would keep)."""
    from django.utils import timezone

    from sessions_app.webhook_models import WebhookEndpoint
    from sessions_app.webhooks import secrets as webhook_secrets
    from sessions_app.webhooks.services import rotate_secret

    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK):
        endpoint = make_endpoint(tenant.tenant, "http://127.0.0.1:9/hook").endpoint
    original = endpoint.secret_encrypted
    # Encrypting takes a while here, so that every rotation is under way before any of them writes.
    encrypt = webhook_secrets.encrypt
    monkeypatch.setattr(webhook_secrets, "encrypt", lambda secret: (time.sleep(0.05), encrypt(secret))[1])
    barrier = threading.Barrier(8)
    handed_out: list[str] = []
    errors: list[BaseException] = []

    def rotate() -> None:
        try:
            barrier.wait()
            handed_out.append(rotate_secret(endpoint=WebhookEndpoint.objects.get(pk=endpoint.pk)).signing_secret)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=rotate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(handed_out) == 8
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    signing = webhook_secrets.signing_secrets(
        secret_encrypted=stored.secret_encrypted, previous_encrypted=stored.previous_secret_encrypted,
        previous_expires_at=stored.previous_secret_expires_at, now=timezone.now())
    assert stored.previous_secret_encrypted != original
    assert len(signing) == 2 and set(signing) <= set(handed_out)
