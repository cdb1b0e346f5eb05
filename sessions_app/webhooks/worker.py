"""The delivery loop: lease due deliveries, send each signed, record the attempt, schedule the next.

Surviving a worker killed at any point (kill -9 included), without the task library's help:

1. A worker takes due rows in small batches and leases them (`lease_until`, `lease_owner`) in one
   transaction, which also schedules a wake-up for the moment the lease ends. A row is due when it is
   pending or failed, its `next_attempt_at` has come, and it has no lease or an expired one.
2. Before sending, the worker extends its lease on that one row, conditionally on still owning it, so a
   row whose lease expired and that another worker took is never sent by both.
3. The attempt's outcome, the new status and the next attempt are written in one UPDATE that also
   drops the lease, again only if the worker still owns the row.
4. Each run ends by scheduling a wake-up for the earliest moment an unfinished row becomes due: its
   next attempt, or the end of its lease. So a worker that dies leaves rows whose lease ends, a wake-up
   waiting for then (from step 1, or from the last run that saw the lease), and any worker running then
   sends them again: at least once. A receiver may so get a delivery twice, with the same webhook-id.
"""

import logging
import secrets as random_tokens
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from hellojohn_project import metrics
from sessions_app.webhook_models import (
    DeliveryStatus,
    DisabledReason,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from sessions_app.webhooks import outbound, secrets, sender, signing
from sessions_app.webhooks.exceptions import InvalidWebhookUrl
from sessions_app.webhooks.outbound import Resolver
from sessions_app.webhooks.tasks import wake_worker

logger = logging.getLogger("hellojohn.webhooks")

BATCH_SIZE = 20
FAILING_FOR = timedelta(days=5)
MAX_RETRY_AFTER = timedelta(hours=24)
_UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


@dataclass
class _Run:
    """What one run keeps between its attempts: connections, decrypted secrets, endpoints' last writes."""

    owner: str
    resolver: Resolver | None
    connections: sender.Connections
    disabled: set[str] = field(default_factory=set)
    secrets: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    endpoint_state: dict[str, tuple[datetime, bool]] = field(default_factory=dict)  # last write, failing


def _lease() -> timedelta:
    return timedelta(seconds=settings.HJ_WEBHOOK_LEASE_SECONDS)


def _claim(owner: str, *, now: datetime, size: int) -> list[WebhookDelivery]:
    lease_until = now + _lease()
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status__in=_UNFINISHED, next_attempt_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:size]
        )
        if not ids:
            return []
        WebhookDelivery.objects.filter(id__in=ids).update(lease_until=lease_until, lease_owner=owner)
        wake_worker(at=lease_until)  # if this worker dies, someone sends these when the lease ends
    return list(WebhookDelivery.objects.select_related("endpoint").filter(id__in=ids, lease_owner=owner)
                .order_by("next_attempt_at"))


def queue_lag(*, now: datetime) -> timedelta:
    """How long the longest-waiting due delivery has been due (zero when none is): the worker's backlog.

    One read of the `delivery_due` index; a delivery under another worker's live lease is being sent and
    counts too, so a stuck send shows as lag.
    """
    oldest = (WebhookDelivery.objects.filter(status__in=_UNFINISHED, next_attempt_at__lte=now)
              .aggregate(oldest=Min("next_attempt_at"))["oldest"])
    return max(timedelta(0), now - oldest) if oldest is not None else timedelta(0)


def _next_delay(attempt_count: int, outcome: sender.Outcome) -> timedelta | None:
    """When to try again after the `attempt_count`-th attempt failed; None when the schedule is over."""
    schedule = settings.HJ_WEBHOOK_RETRY_SCHEDULE
    if attempt_count >= len(schedule):
        return None
    delay = timedelta(seconds=schedule[attempt_count])
    if outcome.retry_after is not None:
        # Capped before it becomes a timedelta: a receiver's Retry-After of 1e14 s (or infinity) overflows one.
        delay = max(delay, timedelta(seconds=min(outcome.retry_after, MAX_RETRY_AFTER.total_seconds())))
    return delay


def _record(delivery: WebhookDelivery, owner: str, *, at: datetime, outcome: sender.Outcome) -> DeliveryStatus:
    attempts = [*delivery.attempts, {
        "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "response_status": outcome.response_status,
        "duration_ms": outcome.duration_ms,
        "error": outcome.error,
        "response_excerpt": outcome.excerpt,
    }]
    next_attempt_at = None
    if outcome.succeeded:
        status = DeliveryStatus.SUCCEEDED
    elif outcome.response_status == 410 or outcome.error == "endpoint_disabled":
        status = DeliveryStatus.PERMANENTLY_FAILED
    else:
        delay = _next_delay(len(attempts), outcome)
        status = DeliveryStatus.FAILED if delay is not None else DeliveryStatus.PERMANENTLY_FAILED
        next_attempt_at = at + delay if delay is not None else None
    recorded = WebhookDelivery.objects.filter(pk=delivery.pk, lease_owner=owner).update(
        status=status, attempts=attempts, next_attempt_at=next_attempt_at, lease_until=None, lease_owner="",
    )
    if recorded:
        metrics.WEBHOOK_ATTEMPTS.labels(status=status).inc()
    delivery.attempts, delivery.status, delivery.next_attempt_at = attempts, status, next_attempt_at
    return status


def _after_attempt(endpoint: WebhookEndpoint, *, at: datetime, outcome: sender.Outcome, run: _Run) -> None:
    """The endpoint's side: last triggered, the failure streak, and disabling (`gone`, `failing`).

    Written with conditional UPDATEs, not a save of this copy, so a change the tenant made meanwhile
    (re-enabling, a new URL) is never overwritten.
    """
    streak_start = None if outcome.succeeded else (endpoint.failing_since or at)
    # Within one run, last_triggered_at is written at most once a second per endpoint unless the
    # failure streak starts or ends: draining a queue to one endpoint is then not one write per attempt.
    last = run.endpoint_state.get(endpoint.pk)
    failing = not outcome.succeeded
    if last is None or last[1] != failing or at - last[0] >= timedelta(seconds=1):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            last_triggered_at=at, failing_since=None if outcome.succeeded else Coalesce(F("failing_since"), at))
        run.endpoint_state[endpoint.pk] = (at, failing)
    reason = None
    if outcome.response_status == 410:
        reason = DisabledReason.GONE
    elif streak_start is not None and at - streak_start >= FAILING_FOR:
        reason = DisabledReason.FAILING
    if reason is not None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, status=EndpointStatus.ENABLED).update(
            status=EndpointStatus.DISABLED, disabled_reason=reason)
        endpoint.status, endpoint.disabled_reason = EndpointStatus.DISABLED, reason
        logger.warning("webhook.disabled", extra={"event": "webhook.disabled", "webhook_id": endpoint.id,
                                                  "tenant_id": endpoint.tenant_id, "reason": reason})


def _signing_secrets(endpoint: WebhookEndpoint, *, now: datetime, run: _Run) -> list[str]:
    """The endpoint's secrets in clear, decrypted once per run (and again when the rotation overlap ends)."""
    overlapping = bool(endpoint.previous_secret_encrypted) and endpoint.previous_secret_expires_at is not None \
        and endpoint.previous_secret_expires_at > now
    key = (endpoint.pk, endpoint.secret_encrypted, endpoint.previous_secret_encrypted if overlapping else "")
    if key not in run.secrets:
        run.secrets[key] = secrets.signing_secrets(
            secret_encrypted=endpoint.secret_encrypted, previous_encrypted=endpoint.previous_secret_encrypted,
            previous_expires_at=endpoint.previous_secret_expires_at, now=now)
    return run.secrets[key]


def _attempt(delivery: WebhookDelivery, *, claimed_at: datetime, run: _Run) -> bool:
    """One attempt of a leased delivery; False when the lease was lost and nothing was sent."""
    owner = run.owner
    now = timezone.now()
    if now - claimed_at > _lease() / 2:
        renewed = WebhookDelivery.objects.filter(pk=delivery.pk, lease_owner=owner, status__in=_UNFINISHED).update(
            lease_until=now + _lease())
        if not renewed:
            return False
    endpoint = delivery.endpoint
    if endpoint.status != EndpointStatus.ENABLED or endpoint.pk in run.disabled:
        _record(delivery, owner, at=now, outcome=sender.Outcome(
            response_status=None, duration_ms=0, error="endpoint_disabled", excerpt="", retry_after=None))
        return True
    try:
        target = outbound.check_url(endpoint.url, resolver=run.resolver)
    except InvalidWebhookUrl as exc:
        outcome = sender.Outcome(response_status=None, duration_ms=0, error="url_refused",
                                 excerpt=exc.message[:sender.EXCERPT_CHARS], retry_after=None)
    else:
        body = delivery.payload.encode()
        headers = signing.signed_headers(secrets=_signing_secrets(endpoint, now=now, run=run), body=body,
                                         event_id=delivery.event_id, event_type=delivery.event_type,
                                         delivery_id=delivery.id, timestamp=int(time.time()))
        outcome = run.connections.post(target, body=body, headers=headers)
    _record(delivery, owner, at=now, outcome=outcome)
    _after_attempt(endpoint, at=now, outcome=outcome, run=run)
    if endpoint.status == EndpointStatus.DISABLED:
        run.disabled.add(endpoint.pk)
    return True


def _attempt_isolated(delivery: WebhookDelivery, *, claimed_at: datetime, run: _Run) -> bool:
    """`_attempt`, where an unexpected failure of one delivery (a secret no key decrypts, a bug) is
    recorded as a failed attempt on the normal schedule instead of ending the run: otherwise that
    delivery, the oldest due, would be claimed first again after every lease and hold up the queue."""
    try:
        return _attempt(delivery, claimed_at=claimed_at, run=run)
    except Exception:
        logger.exception("webhook.attempt_failed", extra={
            "event": "webhook.attempt_failed", "delivery_id": delivery.id, "webhook_id": delivery.endpoint_id})
    try:
        _record(delivery, run.owner, at=timezone.now(), outcome=sender.Outcome(
            response_status=None, duration_ms=0, error="internal_error", excerpt="", retry_after=None))
    except Exception:  # the lease lapses and another run tries again
        logger.exception("webhook.attempt_not_recorded", extra={"event": "webhook.attempt_not_recorded",
                                                                "delivery_id": delivery.id})
    return True


def _schedule_next_wakeup(*, now: datetime) -> None:
    """A wake-up at the earliest moment an unfinished row becomes due (a retry, or a lease's end)."""
    unfinished = WebhookDelivery.objects.filter(status__in=_UNFINISHED)
    earliest = unfinished.aggregate(
        retry=Min("next_attempt_at", filter=Q(lease_until__isnull=True) | Q(lease_until__lte=now)),
        lease=Min("lease_until", filter=Q(lease_until__gt=now)),
    )
    moments = [m for m in (earliest["retry"], earliest["lease"]) if m is not None]
    if moments:
        wake_worker(at=max(min(moments), now))


def deliver_due(*, resolver: Resolver | None = None, batch_size: int = BATCH_SIZE,
                max_attempts: int | None = None) -> int:
    """Sends every delivery that is due, batch after batch; answers the number of attempts made."""
    attempted = 0
    with sender.Connections() as connections:
        run = _Run(owner=random_tokens.token_hex(16), resolver=resolver, connections=connections)
        while max_attempts is None or attempted < max_attempts:
            claimed_at = timezone.now()
            batch = _claim(run.owner, now=claimed_at, size=batch_size)
            if not batch:
                break
            for delivery in batch:
                if _attempt_isolated(delivery, claimed_at=claimed_at, run=run):
                    attempted += 1
    _schedule_next_wakeup(now=timezone.now())
    return attempted
