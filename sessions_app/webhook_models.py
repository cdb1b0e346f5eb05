"""Webhook endpoints of a tenant and their deliveries (docs/api.md, "Webhooks").

A delivery row is the whole state of one event's delivery to one endpoint: its body, fixed when the
event is fanned out (every retry sends the same bytes), its attempts, the next attempt's time, and a
lease. The task queue only wakes a worker; a worker leases due rows before sending, so a worker that
dies mid-delivery leaves a row that another worker takes once the lease has passed.
"""

from django.db import models
from django.db.models import Q

from tenants_app.ids import ID_LENGTH, new_id
from tenants_app.models import Tenant


def new_webhook_id() -> str:
    return new_id("wh")


def new_delivery_id() -> str:
    return new_id("del")


class EndpointStatus(models.TextChoices):
    ENABLED = "enabled"
    DISABLED = "disabled"


class DisabledReason(models.TextChoices):
    GONE = "gone"  # the receiver answered 410
    FAILING = "failing"  # every delivery failed for 5 days
    MANUAL = "manual"  # the tenant or an operator disabled it


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # will be retried
    PERMANENTLY_FAILED = "permanently_failed"


class WebhookEndpoint(models.Model):
    """Where a tenant wants its events POSTed, and the secret that signs them (encrypted, never in clear)."""

    id = models.CharField(primary_key=True, max_length=ID_LENGTH, default=new_webhook_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints", db_index=False)
    url = models.CharField(max_length=2048)
    description = models.CharField(max_length=500, blank=True, default="")
    # Event types, or ["*"] for every type.
    events = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=EndpointStatus.choices, default=EndpointStatus.ENABLED)
    disabled_reason = models.CharField(  # noqa: DJ001 - the contract distinguishes null from a reason
        max_length=16, choices=DisabledReason.choices, null=True, blank=True
    )
    # Fernet tokens (sessions_app.webhooks.secrets) of the `whsec_…` secret, and of the one it replaced,
    # which keeps signing until previous_secret_expires_at (rotation overlap).
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_triggered_at = models.DateTimeField(null=True, blank=True)
    # The first failed attempt since the last success: 5 days of only failures disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at", "-id"], name="webhook_tenant_created")]

    def __str__(self) -> str:
        return f"{self.id} → {self.url}"

    def subscribes_to(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class WebhookDelivery(models.Model):
    """One event to one endpoint: its body, attempts (`[{at, response_status, duration_ms, error, …}]`) and lease."""

    id = models.CharField(primary_key=True, max_length=ID_LENGTH, default=new_delivery_id, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries",
                                 db_index=False)
    # Plain ids, not a foreign key to the event log: retention of events never takes deliveries along.
    event_id = models.CharField(max_length=ID_LENGTH)
    event_type = models.CharField(max_length=64)
    # The compact JSON envelope exactly as sent.
    payload = models.TextField(editable=False)
    status = models.CharField(max_length=24, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.JSONField(default=list)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker that took the row holds it until then; after it, the row is due again (crash recovery).
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # An endpoint's delivery log, newest first (GET /v1/webhooks/{id}/deliveries, the admin).
            models.Index(fields=["endpoint", "-created_at", "-id"], name="delivery_endpoint_created"),
            # The worker's "what is due": only rows still to be attempted are in it.
            models.Index(fields=["next_attempt_at"], name="delivery_due",
                         condition=Q(status__in=["pending", "failed"])),
        ]

    def __str__(self) -> str:
        return self.id
