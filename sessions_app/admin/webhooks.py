"""The operators' view of webhooks: endpoints per tenant (enable, disable) and their deliveries (read-only,
retry). Every change goes through sessions_app.webhooks.services; signing secrets are never shown.

Registered by sessions_app/admin/__init__.py's import.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from sessions_app.webhook_models import DisabledReason, WebhookDelivery, WebhookEndpoint
from sessions_app.webhooks import services

ENDPOINT_FIELDS = ("id", "tenant", "url", "description", "events", "status", "disabled_reason", "created_at",
                   "last_triggered_at", "failing_since", "deliveries_link")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "url", "status", "disabled_reason", "last_triggered_at", "created_at")
    list_filter = ("status", "disabled_reason", "tenant")
    list_select_related = ("tenant",)
    search_fields = ("=id", "url")
    fields = ENDPOINT_FIELDS
    readonly_fields = ENDPOINT_FIELDS
    actions = ("enable_endpoints", "disable_endpoints")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tenants create endpoints through the API, where the secret is shown once

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # operators disable an endpoint; deleting one is the tenant's (DELETE /v1/webhooks/{id})

    @admin.display(description="Deliveries")
    def deliveries_link(self, endpoint: WebhookEndpoint) -> str:
        url = reverse("admin:sessions_app_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">{} deliveries</a>', url, endpoint.deliveries.count())

    @admin.action(description="Enable selected endpoints", permissions=["change"])
    def enable_endpoints(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            services.set_endpoint_status(endpoint=endpoint, enabled=True)
        self.message_user(request, f"Enabled {len(queryset)} endpoint(s).", messages.SUCCESS)

    @admin.action(description="Disable selected endpoints", permissions=["change"])
    def disable_endpoints(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            services.set_endpoint_status(endpoint=endpoint, enabled=False, reason=DisabledReason.MANUAL)
        self.message_user(request, f"Disabled {len(queryset)} endpoint(s).", messages.SUCCESS)


DELIVERY_FIELDS = ("id", "endpoint", "event_id", "event_type", "status", "attempts", "next_attempt_at",
                   "lease_until", "created_at", "payload")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "endpoint", "event_type", "status", "attempt_count", "next_attempt_at", "created_at")
    list_filter = ("status", "event_type")
    list_select_related = ("endpoint",)
    search_fields = ("=id", "=event_id", "=endpoint__id")
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS
    actions = ("retry_deliveries",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only; the retry action has its own permission

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("sessions_app.change_webhookdelivery")

    @admin.display(description="Attempts")
    def attempt_count(self, delivery: WebhookDelivery) -> int:
        return len(delivery.attempts)

    @admin.action(description="Retry selected deliveries now", permissions=["retry"])
    def retry_deliveries(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset:
            services.retry_delivery(delivery=delivery)
        self.message_user(request, f"Queued {len(queryset)} delivery(ies) for one more attempt.", messages.SUCCESS)
