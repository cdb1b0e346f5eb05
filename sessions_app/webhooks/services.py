"""Webhook rules: every write on endpoints and deliveries outside the worker, and the fan-out of events.

`enqueue_for` is called in the transaction that writes events: the deliveries and the worker's wake-up
are rows of that transaction (an outbox), so a rolled-back change leaves no delivery and a committed
one always has its deliveries.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from sessions_app.actors import Actor
from sessions_app.event_model import Event
from sessions_app.renderings import TIMESTAMP, event_dict
from sessions_app.webhook_models import (
    DeliveryStatus,
    DisabledReason,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from sessions_app.webhooks import outbound, secrets
from sessions_app.webhooks.outbound import Resolver
from sessions_app.webhooks.tasks import wake_worker
from tenants_app.ids import new_id
from tenants_app.models import Tenant

ROTATION_OVERLAP = timedelta(hours=24)
TEST_EVENT_TYPE = "webhook.test"


@dataclass(frozen=True)
class EndpointWithSecret:
    """An endpoint and its new signing secret in clear: only the answers to create and rotate-secret."""

    endpoint: WebhookEndpoint
    signing_secret: str


# --- Fan-out --------------------------------------------------------------------------------------


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def enqueue_for(events: Sequence[Event], *, now: datetime | None = None) -> int:
    """A delivery for each event to each enabled endpoint of its tenant subscribed to its type (or "*").

    Call it in the transaction that inserted `events`. A constant number of statements whatever
    len(events): one read of the tenants' endpoints, one multi-row INSERT of deliveries, one wake-up
    of the worker (none of the last two without a subscriber). Answers the number of deliveries.
    """
    if not events:
        return 0
    endpoints = list(
        WebhookEndpoint.objects.filter(tenant_id__in={e.tenant_id for e in events}, status=EndpointStatus.ENABLED)
        .only("id", "tenant_id", "events")
    )
    if not endpoints:
        return 0
    now = now or timezone.now()
    rows: list[WebhookDelivery] = []
    for event in events:
        body: str | None = None
        for endpoint in endpoints:
            if endpoint.tenant_id == event.tenant_id and endpoint.subscribes_to(event.type):
                body = body or compact_json(event_dict(event))
                rows.append(WebhookDelivery(
                    id=new_id("del"), endpoint_id=endpoint.id, event_id=event.public_id, event_type=event.type,
                    payload=body, next_attempt_at=now, created_at=now,
                ))
    if rows:
        _insert_deliveries(rows)
        wake_worker()
    return len(rows)


_INSERTED = ("id", "endpoint_id", "event_id", "event_type", "payload", "next_attempt_at", "created_at")


def _insert_deliveries(rows: list[WebhookDelivery], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """One INSERT of every row, whatever their number: the rows travel as one JSON parameter, so
    neither SQLite's 999 bound parameters nor bulk_create's batching splits it (revoke-all of 10,000
    sessions fans out 10,000 deliveries per endpoint)."""
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(WebhookDelivery._meta.db_table)
    names = [*_INSERTED, "status", "attempts", "lease_owner"]
    columns = ", ".join(quote(WebhookDelivery._meta.get_field(name).column) for name in names)

    def moment(value: datetime) -> str:
        return connection.ops.adapt_datetimefield_value(value) if connection.vendor == "sqlite" else value.isoformat()

    payload = json.dumps([[r.id, r.endpoint_id, r.event_id, r.event_type, r.payload, moment(r.next_attempt_at),
                           moment(r.created_at)] for r in rows], separators=(",", ":"))
    if connection.vendor == "postgresql":
        values = ", ".join([*(f"r->>{i}" for i in range(5)), "(r->>5)::timestamptz", "(r->>6)::timestamptz",
                            "'pending'", "'[]'::jsonb", "''"])
        sql = f"INSERT INTO {table} ({columns}) SELECT {values} FROM jsonb_array_elements(%s::jsonb) AS e(r)"  # noqa: S608
    else:
        values = ", ".join([*(f"json_extract(value, '$[{i}]')" for i in range(7)), "'pending'", "'[]'", "''"])
        sql = f"INSERT INTO {table} ({columns}) SELECT {values} FROM json_each(%s)"  # noqa: S608
    # Only the model's quoted identifiers are formatted in; the rows are the one bound parameter.
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])


# --- Endpoints ------------------------------------------------------------------------------------


def _encrypted_new_secret() -> tuple[str, str]:
    secret = secrets.generate_secret()
    return secret, secrets.encrypt(secret)


def create_endpoint(*, tenant: Tenant, url: str, events: list[str], description: str = "",
                    resolver: Resolver | None = None) -> EndpointWithSecret:
    outbound.check_url(url, resolver=resolver)
    secret, encrypted = _encrypted_new_secret()
    endpoint = WebhookEndpoint.objects.create(tenant=tenant, url=url, events=list(dict.fromkeys(events)),
                                              description=description, secret_encrypted=encrypted)
    return EndpointWithSecret(endpoint=endpoint, signing_secret=secret)


def update_endpoint(*, endpoint: WebhookEndpoint, url: str | None = None, events: list[str] | None = None,
                    description: str | None = None, status: str | None = None,
                    resolver: Resolver | None = None) -> WebhookEndpoint:
    """Re-enabling clears the disabled reason and the failure streak; disabling through here is `manual`."""
    fields: list[str] = []
    if url is not None:
        outbound.check_url(url, resolver=resolver)
        endpoint.url = url
        fields.append("url")
    if events is not None:
        endpoint.events = list(dict.fromkeys(events))
        fields.append("events")
    if description is not None:
        endpoint.description = description
        fields.append("description")
    if status is not None and status != endpoint.status:
        set_endpoint_status(endpoint=endpoint, enabled=status == EndpointStatus.ENABLED, save=False)
        fields += ["status", "disabled_reason", "failing_since"]
    if fields:
        endpoint.save(update_fields=fields)
    return endpoint


def set_endpoint_status(*, endpoint: WebhookEndpoint, enabled: bool,
                        reason: DisabledReason = DisabledReason.MANUAL, save: bool = True) -> WebhookEndpoint:
    """Enable, or disable with a reason (the API and the admin: `manual`; the worker: `gone`, `failing`)."""
    if enabled:
        endpoint.status, endpoint.disabled_reason, endpoint.failing_since = EndpointStatus.ENABLED, None, None
    else:
        endpoint.status, endpoint.disabled_reason = EndpointStatus.DISABLED, reason
    if save:
        endpoint.save(update_fields=["status", "disabled_reason", "failing_since"])
    return endpoint


def delete_endpoint(*, endpoint: WebhookEndpoint) -> None:
    """Its deliveries go with it; a worker holding one of them finds it gone and moves on."""
    endpoint.delete()


def reencrypt_secrets() -> int:
    """Every endpoint's secrets encrypted again under the first HJ_ENCRYPTION_KEY (a key rotation's second half)."""
    count = 0
    with transaction.atomic():
        for endpoint in WebhookEndpoint.objects.select_for_update().only(
                "id", "secret_encrypted", "previous_secret_encrypted"):
            endpoint.secret_encrypted = secrets.rotate_encryption(endpoint.secret_encrypted)
            if endpoint.previous_secret_encrypted:
                endpoint.previous_secret_encrypted = secrets.rotate_encryption(endpoint.previous_secret_encrypted)
            endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted"])
            count += 1
    return count


def rotate_secret(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> EndpointWithSecret:
    """A new secret signs from now on; the one it replaces keeps signing too for 24 hours.

    The endpoint's row is locked and its current secret read under the lock, so two rotations at once
    queue: the second keeps the first one's new secret as its previous one, and every secret either
    answer handed out signs. A rotation ends an earlier rotation's overlap (docs/api.md, "Webhooks").
    """
    now = now or timezone.now()
    secret, encrypted = _encrypted_new_secret()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret_encrypted = locked.secret_encrypted
        endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
        endpoint.secret_encrypted = encrypted
        endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_expires_at"])
    return EndpointWithSecret(endpoint=endpoint, signing_secret=secret)


# --- Deliveries -----------------------------------------------------------------------------------


def send_test(*, endpoint: WebhookEndpoint, actor: Actor) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint alone, now. It is not a change, so not in the event log."""
    now = timezone.now()
    event_id = new_id("evt")
    body = compact_json({
        "id": event_id, "type": TEST_EVENT_TYPE, "created_at": now.strftime(TIMESTAMP),
        "tenant_id": endpoint.tenant_id, "actor": actor.as_record(),
        "data": {"webhook_id": endpoint.id},
    })
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_id=event_id, event_type=TEST_EVENT_TYPE,
                                                  payload=body, next_attempt_at=now, created_at=now)
        wake_worker()
    return delivery


def retry_delivery(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """One more attempt now, whatever the delivery's status; a failure then follows the schedule's rest."""
    now = timezone.now()
    with transaction.atomic():
        # A lease is left alone: a worker sending this delivery right now still records its attempt.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING, next_attempt_at=now)
        wake_worker()
    delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, now
    return delivery
