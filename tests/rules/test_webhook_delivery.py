"""Delivery to a real HTTP receiver on loopback: envelope, both signatures, rotation, schedule, 410,
Retry-After, redirects, the 5-day rule, the outbox (docs/api.md, "Webhooks")."""

import importlib.util
import json
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Response

from sessions_app.event_model import Event
from sessions_app.renderings import event_dict
from sessions_app.webhook_models import DeliveryStatus, DisabledReason, EndpointStatus, WebhookDelivery
from sessions_app.webhooks import outbound, sender, services
from sessions_app.webhooks.worker import deliver_due
from tenants_app.ids import new_id
from tests.webhook_helpers import LOOPBACK, emit, hellojohn_hmac, make_due, make_endpoint, receiver_url

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("_loopback_allowed")]


@pytest.fixture
def _loopback_allowed():
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=LOOPBACK, HJ_WEBHOOK_RETRY_SCHEDULE=[0, 300, 1800]):
        yield


def test_a_delivery_arrives_with_the_envelope_and_both_signatures(tenant, httpserver: HTTPServer):
    httpserver.expect_request("/hook", method="POST").respond_with_data("thanks")
    created = make_endpoint(tenant.tenant, receiver_url(httpserver))
    [event] = emit(tenant.tenant, "session.revoked", data={"session": {"id": "ses_x"}, "reason": "revoked_by_admin"})

    assert deliver_due() == 1

    [(request, _)] = httpserver.log
    body = request.get_data()
    assert json.loads(body) == event_dict(event)
    assert body == json.dumps(event_dict(event), separators=(",", ":"), ensure_ascii=False).encode()
    delivery = WebhookDelivery.objects.get()
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["HelloJohn-Event"] == "session.revoked"
    assert headers["HelloJohn-Delivery-ID"] == delivery.id
    assert headers["HelloJohn-Timestamp"] == headers["webhook-timestamp"]
    assert abs(int(headers["webhook-timestamp"]) - timezone.now().timestamp()) < 10
    assert headers["webhook-id"] == event.public_id
    # HelloJohn's, by hand; Standard Webhooks', by the independent package.
    assert headers["HelloJohn-Signature"] == hellojohn_hmac(created.signing_secret, body)
    assert Webhook(created.signing_secret).verify(body, dict(headers)) == event_dict(event)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    [attempt] = delivery.attempts
    assert attempt["response_status"] == 200 and attempt["error"] is None
    assert attempt["response_excerpt"] == "thanks" and attempt["duration_ms"] >= 0
    assert delivery.lease_until is None and delivery.next_attempt_at is None


def test_during_a_rotation_both_secrets_sign_each_header(tenant, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    created = make_endpoint(tenant.tenant, receiver_url(httpserver))
    rotated = services.rotate_secret(endpoint=created.endpoint)
    assert rotated.signing_secret != created.signing_secret
    emit(tenant.tenant)
    deliver_due()

    [(request, _)] = httpserver.log
    body, headers = request.get_data(), request.headers
    assert headers["HelloJohn-Signature"].split(" ") == [hellojohn_hmac(rotated.signing_secret, body),
                                                         hellojohn_hmac(created.signing_secret, body)]
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(rotated.signing_secret).verify(body, dict(headers))
    Webhook(created.signing_secret).verify(body, dict(headers))


def test_after_the_overlap_only_the_new_secret_signs(tenant, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    created = make_endpoint(tenant.tenant, receiver_url(httpserver))
    rotated = services.rotate_secret(endpoint=created.endpoint, now=timezone.now() - timedelta(hours=25))
    emit(tenant.tenant)
    deliver_due()

    [(request, _)] = httpserver.log
    body, headers = request.get_data(), request.headers
    assert headers["HelloJohn-Signature"] == hellojohn_hmac(rotated.signing_secret, body)
    Webhook(rotated.signing_secret).verify(body, dict(headers))
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(created.signing_secret).verify(body, dict(headers))


def test_a_500_follows_the_schedule_then_fails_permanently(tenant, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    make_endpoint(tenant.tenant, receiver_url(httpserver))
    [event] = emit(tenant.tenant)

    before = timezone.now()
    assert deliver_due() == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts[0]["response_status"] == 500 and delivery.attempts[0]["error"] == "http_500"
    # The second attempt is 300 s after the first (HJ_WEBHOOK_RETRY_SCHEDULE = 0,300,1800).
    assert timedelta(seconds=299) <= delivery.next_attempt_at - before <= timedelta(seconds=302)
    assert deliver_due() == 0  # not due yet
    # A wake-up is waiting for then: the task library holds it with run_after.
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY, run_after__gte=delivery.next_attempt_at,
                                       run_after__lte=delivery.next_attempt_at + timedelta(seconds=2)).exists()

    make_due(delivery)
    before = timezone.now()
    assert deliver_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and len(delivery.attempts) == 2
    assert timedelta(seconds=1799) <= delivery.next_attempt_at - before <= timedelta(seconds=1802)

    make_due(delivery)
    assert deliver_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PERMANENTLY_FAILED and len(delivery.attempts) == 3
    assert delivery.next_attempt_at is None
    assert len(httpserver.log) == 3
    # Every retry is the same event, byte for byte, with the same webhook-id.
    assert {r.get_data() for r, _ in httpserver.log} == {delivery.payload.encode()}
    assert {r.headers["webhook-id"] for r, _ in httpserver.log} == {event.public_id}

    # A manual retry makes one more attempt, which now succeeds.
    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("ok")
    services.retry_delivery(delivery=delivery)
    assert deliver_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(delivery.attempts) == 4


def test_a_410_disables_the_endpoint_as_gone(tenant, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("gone", status=410)
    created = make_endpoint(tenant.tenant, receiver_url(httpserver))
    emit(tenant.tenant, count=2)

    assert deliver_due() == 2
    endpoint = created.endpoint
    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.disabled_reason) == (EndpointStatus.DISABLED, DisabledReason.GONE)
    # The first got the 410; the second was not sent to a disabled endpoint.
    assert len(httpserver.log) == 1
    statuses = sorted((d.attempts[0]["error"], d.status) for d in WebhookDelivery.objects.all())
    assert statuses == [("endpoint_disabled", DeliveryStatus.PERMANENTLY_FAILED),
                        ("http_410", DeliveryStatus.PERMANENTLY_FAILED)]
    # A disabled endpoint gets no new deliveries.
    emit(tenant.tenant)
    assert WebhookDelivery.objects.count() == 2


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(tenant, httpserver: HTTPServer, status):
    httpserver.expect_request("/hook").respond_with_response(
        Response("slow down", status=status, headers={"Retry-After": "3600"}))
    make_endpoint(tenant.tenant, receiver_url(httpserver))
    emit(tenant.tenant)

    before = timezone.now()
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    # Retry-After (3600 s) is longer than the schedule's 300 s: the receiver's wish wins.
    assert timedelta(seconds=3599) <= delivery.next_attempt_at - before <= timedelta(seconds=3602)


def test_a_redirect_is_a_failure_and_is_not_followed(tenant, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_response(
        Response("", status=302, headers={"Location": receiver_url(httpserver, "/elsewhere")}))
    httpserver.expect_request("/elsewhere").respond_with_data("should never be reached")
    make_endpoint(tenant.tenant, receiver_url(httpserver))
    emit(tenant.tenant)

    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts[0]["response_status"] == 302 and delivery.attempts[0]["error"] == "http_302"
    assert [r.path for r, _ in httpserver.log] == ["/hook"]


def test_an_endpoint_failing_every_delivery_for_5_days_is_disabled(tenant, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    created = make_endpoint(tenant.tenant, receiver_url(httpserver))
    emit(tenant.tenant)
    deliver_due()
    endpoint = created.endpoint
    endpoint.refresh_from_db()
    assert endpoint.status == EndpointStatus.ENABLED and endpoint.failing_since is not None
    # Four days and a half of failures: still enabled; five days: disabled.
    type(endpoint).objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=4, hours=12))
    make_due(WebhookDelivery.objects.get())
    deliver_due()
    endpoint.refresh_from_db()
    assert endpoint.status == EndpointStatus.ENABLED
    type(endpoint).objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=5, seconds=1))
    emit(tenant.tenant)
    deliver_due()
    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.disabled_reason) == (EndpointStatus.DISABLED, DisabledReason.FAILING)


def test_a_success_ends_the_failure_streak(tenant, httpserver: HTTPServer):
    httpserver.expect_oneshot_request("/hook").respond_with_data("down", status=500)
    httpserver.expect_request("/hook").respond_with_data("ok")
    created = make_endpoint(tenant.tenant, receiver_url(httpserver))
    emit(tenant.tenant)
    deliver_due()
    make_due(WebhookDelivery.objects.get())
    deliver_due()
    created.endpoint.refresh_from_db()
    assert created.endpoint.failing_since is None and created.endpoint.last_triggered_at is not None


def test_only_subscribed_enabled_endpoints_of_the_tenant_get_deliveries(tenant, other_tenant, httpserver):
    url = receiver_url(httpserver)
    revoked_only = make_endpoint(tenant.tenant, url, ["session.revoked"]).endpoint
    everything = make_endpoint(tenant.tenant, url, ["*"]).endpoint
    make_endpoint(tenant.tenant, url, ["user.created"])
    disabled = make_endpoint(tenant.tenant, url, ["*"]).endpoint
    services.set_endpoint_status(endpoint=disabled, enabled=False)
    make_endpoint(other_tenant.tenant, url, ["*"])

    emit(tenant.tenant, "session.revoked", count=3)
    assert sorted(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == sorted(
        [revoked_only.id] * 3 + [everything.id] * 3)


def test_fan_out_is_a_constant_number_of_statements(tenant, httpserver, django_assert_num_queries):
    make_endpoint(tenant.tenant, receiver_url(httpserver))
    make_endpoint(tenant.tenant, receiver_url(httpserver), ["session.revoked"])
    for count in (1, 2000):
        events = [Event(public_id=new_id("evt"), tenant=tenant.tenant, type="session.revoked", actor_type="system",
                        data={"n": n}, created_at=timezone.now()) for n in range(count)]
        # One SELECT of endpoints, one INSERT of deliveries, one INSERT of the worker's wake-up.
        with transaction.atomic(), django_assert_num_queries(3):
            assert services.enqueue_for(events) == 2 * count
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, attempts=[]).count() == 2 * 2001
    one = WebhookDelivery.objects.filter(event_id=events[7].public_id).first()
    assert json.loads(one.payload) == event_dict(events[7])
    assert one.next_attempt_at == one.created_at and one.lease_owner == "" and one.lease_until is None


def test_a_rolled_back_transaction_leaves_no_delivery_and_no_wake_up(tenant, httpserver):
    make_endpoint(tenant.tenant, receiver_url(httpserver))
    tasks_before = DBTaskResult.objects.count()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        emit(tenant.tenant, count=5)
        assert WebhookDelivery.objects.count() == 5
        raise Boom
    assert WebhookDelivery.objects.count() == 0
    assert DBTaskResult.objects.count() == tasks_before
    assert deliver_due() == 0
    assert httpserver.log == []


def test_the_test_route_event_reaches_the_endpoint(tenant, secret_key_client, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    created = make_endpoint(tenant.tenant, receiver_url(httpserver), ["session.revoked"])
    response = secret_key_client.post(f"/v1/webhooks/{created.endpoint.id}/test")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["event_type"] == "webhook.test" and body["status"] == "pending" and body["attempts"] == []
    deliver_due()
    [(request, _)] = httpserver.log
    payload = Webhook(created.signing_secret).verify(request.get_data(), dict(request.headers))
    assert payload["type"] == "webhook.test" and payload["id"] == body["event_id"]
    assert payload["data"] == {"webhook_id": created.endpoint.id}
    assert payload["actor"]["type"] == "api_key"


def test_the_documented_receivers_recipes_verify_a_real_delivery(tenant, httpserver: HTTPServer):
    """docs/examples/webhook_receiver.py (the README's local receiver, docs/api.md's Python recipe)."""
    spec = importlib.util.spec_from_file_location("webhook_receiver",
                                                  settings.BASE_DIR / "docs" / "examples" / "webhook_receiver.py")
    receiver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(receiver)
    httpserver.expect_request("/hook").respond_with_data("ok")
    created = make_endpoint(tenant.tenant, receiver_url(httpserver))
    rotated = services.rotate_secret(endpoint=created.endpoint)
    emit(tenant.tenant)
    deliver_due()
    [(request, _)] = httpserver.log
    body, h = request.get_data(), request.headers
    for secret in (created.signing_secret, rotated.signing_secret):
        assert receiver.verify_hellojohn(secret, body, h["HelloJohn-Signature"], h["HelloJohn-Timestamp"])
        assert receiver.verify_standard(secret, body, h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"])
    assert not receiver.verify_hellojohn(created.signing_secret, body + b" ", h["HelloJohn-Signature"],
                                         h["HelloJohn-Timestamp"])
    assert not receiver.verify_standard("whsec_" + "A" * 44, body, h["webhook-id"], h["webhook-timestamp"],
                                        h["webhook-signature"])


def test_a_drain_costs_one_statement_per_delivery_plus_a_few_per_batch(tenant, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    make_endpoint(tenant.tenant, receiver_url(httpserver))
    emit(tenant.tenant, count=100)
    with CaptureQueriesContext(connection) as queries:
        assert deliver_due(batch_size=20) == 100
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN IMMEDIATE", "COMMIT")
                  and not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    results = [s for s in statements if s.startswith('UPDATE "sessions_app_webhookdelivery" SET "status"')]
    assert len(results) == 100  # the attempt, the status and the lease's end: one UPDATE each
    # Each batch of 20: select, lease, wake-up check (and insert), load; one endpoint write, one final check.
    assert len(statements) - len(results) <= 6 * 5 + 4, statements
    assert httpserver.log and len(httpserver.log) == 100


def test_an_answer_slower_than_the_timeout_is_a_failed_attempt(httpserver: HTTPServer):
    """The contract's 30 s, shortened here: a 2xx that comes too late does not count."""
    def slow(request):
        time.sleep(1.5)
        return Response("late but ok")

    httpserver.expect_request("/hook").respond_with_handler(slow)
    target = outbound.check_url(receiver_url(httpserver))
    started = time.monotonic()
    outcome = sender.post(target, body=b"{}", headers={}, timeout=0.5)
    assert (outcome.response_status, outcome.error, outcome.succeeded) == (None, "timeout", False)
    assert time.monotonic() - started < 1.4
    assert sender.TIMEOUT_SECONDS == 30
    # The server is shared by the session's tests: let the late answer finish and leave its log here.
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.05)
    httpserver.clear()
