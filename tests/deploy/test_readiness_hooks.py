"""What `/readyz` and `/metrics` say about the parts behind a process: the webhook worker's queue
(how long due deliveries wait, attempts by outcome) and, on PostgreSQL, the invalidation listener
(ready only while its lease is fresh; checks still answer from the database when it is not).
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone
from pytest_httpserver import HTTPServer

from hellojohn_project import change_feed
from sessions_app.webhook_models import WebhookDelivery
from sessions_app.webhooks.worker import deliver_due
from tests.conftest import user_client
from tests.deploy.test_metrics import scrape, value  # noqa: F401 (a fixture)
from tests.live_app import gunicorn, production_env, request
from tests.webhook_helpers import LOOPBACK, emit, make_endpoint, receiver_url


def wait_until_listening() -> None:
    """On PostgreSQL the first probe starts this process's listener; its lease follows its first read."""
    if connection.vendor != "postgresql":
        return
    for _ in range(200):
        if change_feed.fresh():
            return
        change_feed.time.sleep(0.05)
    raise AssertionError("the listener never read the log")


@pytest.mark.django_db(transaction=True)
def test_readyz_reports_the_listener_and_the_queue() -> None:
    wait_until_listening()
    response = Client().get("/readyz")
    listener = {"ok": True} if connection.vendor == "postgresql" else {"ok": True, "detail": "not_used"}
    assert (response.status_code, response.json()) == (200, {"status": "ready", "checks": {
        "database": {"ok": True}, "cache": {"ok": True}, "listener": listener, "worker_queue": {"ok": True}}})


def _waiting_delivery(tenant: Any, httpserver: HTTPServer, *, waited: timedelta) -> WebhookDelivery:
    make_endpoint(tenant.tenant, receiver_url(httpserver))
    emit(tenant.tenant)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - waited)
    return delivery


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_while_a_due_delivery_waits_past_the_bound_and_recovers(
        tenant: Any, httpserver: HTTPServer, settings: Any, scrape: Callable[[], dict]) -> None:  # noqa: F811
    wait_until_listening()
    settings.HJ_READY_MAX_QUEUE_LAG = 600
    settings.HJ_WEBHOOK_ALLOWED_NETWORKS = LOOPBACK
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    _waiting_delivery(tenant, httpserver, waited=timedelta(seconds=1000))
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker_queue"] == {"ok": False, "detail": "lag_over_bound"}
    assert value(scrape(), "hj_webhook_queue_lag_seconds") >= 1000
    before = value(scrape(), "hj_webhook_attempts_total", status="succeeded")

    assert deliver_due() == 1
    cache.clear()  # the figure is cached for a few seconds; the next probe reads it again
    assert Client().get("/readyz").status_code == 200
    samples = scrape()
    assert value(samples, "hj_webhook_queue_lag_seconds") == 0
    assert value(samples, "hj_webhook_attempts_total", status="succeeded") == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_zero_bound_leaves_the_queue_out_of_readiness(tenant: Any, httpserver: HTTPServer, settings: Any) -> None:
    wait_until_listening()
    settings.HJ_READY_MAX_QUEUE_LAG = 0
    settings.HJ_WEBHOOK_ALLOWED_NETWORKS = LOOPBACK
    _waiting_delivery(tenant, httpserver, waited=timedelta(days=1))
    response = Client().get("/readyz")
    assert (response.status_code, response.json()["checks"]["worker_queue"]) == (
        200, {"ok": True, "detail": "not_checked"})


@pytest.mark.django_db(transaction=True)
def test_access_checks_are_counted_by_where_the_session_was_read(
        tenant: Any, user: Any, sign_in: Callable, scrape: Callable[[], dict]) -> None:  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("SQLite reads every session from the database")
    wait_until_listening()
    client = user_client(sign_in())
    before = scrape()
    for _ in range(3):
        assert client.get("/v1/auth/me").status_code == 200
    samples = scrape()
    read = {source: value(samples, "hj_access_checks_total", outcome="accepted", source=source)
            - value(before, "hj_access_checks_total", outcome="accepted", source=source)
            for source in ("memory", "database")}
    assert read == {"database": 1, "memory": 2}  # the first loads the session, the next two remember it
    assert value(samples, "hj_listeners") >= 1
    assert 0 <= value(samples, "hj_listener_lag_seconds") < 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_process_whose_listener_cannot_connect_is_unready_yet_answers_from_the_database(
        tenant: Any, user: Any, sign_in: Callable) -> None:
    """As when DATABASE_URL goes through PgBouncer and no direct HJ_LISTENER_DATABASE_URL is set."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no listener")
    settings_ = connection.settings_dict
    url = f"postgres://{settings_['USER']}@{settings_['HOST']}:{settings_['PORT']}/{settings_['NAME']}"
    env = production_env(url, HJ_PUBLIC_URL=django_settings.HJ_PUBLIC_URL,
                         HJ_LISTENER_DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere")
    body = sign_in()
    token, tenant_id = body["session"]["access_token"], tenant.id
    with gunicorn(env, workers=1) as base:
        for _ in range(3):
            status, _, answer = request("GET", f"{base}/readyz")
            assert status == 503, answer
            assert b'"listener":{"ok":false,"detail":"stale"}' in answer.replace(b" ", b"")
            me = request("GET", f"{base}/v1/auth/me",
                         headers={"Authorization": f"Bearer {token}", "X-Tenant-ID": tenant_id})
            assert me[0] == 200, me
