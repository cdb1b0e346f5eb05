"""Helpers of the webhook tests: endpoints on a loopback receiver, events fanned out, headers checked."""

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from pytest_httpserver import HTTPServer

from sessions_app.event_model import Event
from sessions_app.webhook_models import WebhookDelivery
from sessions_app.webhooks import services
from tenants_app.ids import new_id
from tenants_app.models import Tenant

LOOPBACK = ["127.0.0.0/8"]


def receiver_url(httpserver: HTTPServer, path: str = "/hook") -> str:
    # The address, not "localhost": the receiver listens on IPv4 only.
    return f"http://127.0.0.1:{httpserver.port}{path}"


def make_endpoint(tenant: Tenant, url: str, events: list[str] | None = None) -> services.EndpointWithSecret:
    return services.create_endpoint(tenant=tenant, url=url, events=events or ["*"])


def emit(tenant: Tenant, type: str = "session.revoked", *, count: int = 1, data: dict[str, Any] | None = None
         ) -> list[Event]:
    """Events written and fanned out in one transaction, as the event log does."""
    now = timezone.now()
    events = [Event(public_id=new_id("evt"), tenant=tenant, type=type, actor_type="api_key", actor_id=new_id("key"),
                    data=data or {"n": n}, created_at=now) for n in range(count)]
    with transaction.atomic():
        for event in events:
            event.save()
        services.enqueue_for(events)
    return events


def hellojohn_hmac(secret: str, body: bytes) -> str:
    """HelloJohn-Signature computed by hand: HMAC-SHA256 of the raw body keyed with the whole secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def make_due(delivery: WebhookDelivery) -> None:
    """As if the time of its next attempt had come."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
