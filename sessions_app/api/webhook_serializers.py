"""Input and output serializers of /v1/webhooks (docs/api.md, "Webhooks")."""

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from hellojohn_project.api.fields import StrictCharField, StrictInputSerializer
from sessions_app.api.serializers import PaginationOut
from sessions_app.event_model import EventType
from sessions_app.renderings import timestamp
from sessions_app.webhook_models import (
    DeliveryStatus,
    DisabledReason,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from sessions_app.webhooks.outbound import MAX_URL_LENGTH

# What an endpoint may subscribe to: every event type of the log, and "*" for all of them.
SUBSCRIBABLE = sorted({*EventType.values, "*"})
MAX_SUBSCRIPTIONS = 50


# --- Output ---------------------------------------------------------------------------------------


class WebhookEndpointOut(serializers.Serializer):
    """An endpoint; never its secret (that is only in WebhookEndpointWithSecretOut)."""

    id = serializers.CharField()
    url = serializers.CharField()
    description = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=EndpointStatus.choices)
    disabled_reason = serializers.ChoiceField(choices=DisabledReason.choices, allow_null=True)
    created_at = serializers.DateTimeField()
    last_triggered_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, endpoint: WebhookEndpoint) -> dict[str, Any]:
        return {
            "id": endpoint.id,
            "url": endpoint.url,
            "description": endpoint.description,
            "events": list(endpoint.events),
            "status": endpoint.status,
            "disabled_reason": endpoint.disabled_reason,
            "created_at": timestamp(endpoint.created_at),
            "last_triggered_at": timestamp(endpoint.last_triggered_at),
        }


class WebhookEndpointWithSecretOut(WebhookEndpointOut):
    """The answers to create and rotate-secret: the only moments the secret is shown."""

    signing_secret = serializers.CharField(help_text="whsec_…: shown once; store it to verify signatures.")

    def to_representation(self, created: Any) -> dict[str, Any]:
        return {**super().to_representation(created.endpoint), "signing_secret": created.signing_secret}


@extend_schema_serializer(many=False)
class WebhookEndpointPageOut(serializers.Serializer):
    data = WebhookEndpointOut(many=True)
    pagination = PaginationOut()


class AttemptOut(serializers.Serializer):
    at = serializers.DateTimeField()
    response_status = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    error = serializers.CharField(allow_null=True, help_text="timeout, connection_error, tls_error, http_<status>, "
                                                             "url_refused or endpoint_disabled.")
    response_excerpt = serializers.CharField(help_text="The first 1,024 characters of the response body.")


class WebhookDeliveryOut(serializers.Serializer):
    id = serializers.CharField()
    webhook_id = serializers.CharField()
    event_id = serializers.CharField()
    event_type = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = AttemptOut(many=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, delivery: WebhookDelivery) -> dict[str, Any]:
        return {
            "id": delivery.id,
            "webhook_id": delivery.endpoint_id,
            "event_id": delivery.event_id,
            "event_type": delivery.event_type,
            "status": delivery.status,
            "attempts": [
                {"at": a["at"], "response_status": a["response_status"], "duration_ms": a["duration_ms"],
                 "error": a["error"], "response_excerpt": a.get("response_excerpt", "")}
                for a in delivery.attempts
            ],
            "next_attempt_at": timestamp(delivery.next_attempt_at)
            if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED) else None,
            "created_at": timestamp(delivery.created_at),
        }


@extend_schema_serializer(many=False)
class WebhookDeliveryPageOut(serializers.Serializer):
    data = WebhookDeliveryOut(many=True)
    pagination = PaginationOut()


# --- Input ----------------------------------------------------------------------------------------


class _EventsField(serializers.ListField):
    default_error_messages = {"wrong_type": "Must be a list of event types."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.ChoiceField(choices=SUBSCRIBABLE), min_length=1,
                         max_length=MAX_SUBSCRIPTIONS, **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            self.fail("wrong_type")
        return super().to_internal_value(data)


class WebhookCreateIn(StrictInputSerializer):
    url = StrictCharField(max_length=MAX_URL_LENGTH, trim_whitespace=False)
    events = _EventsField()
    description = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


class WebhookPatchIn(StrictInputSerializer):
    url = StrictCharField(max_length=MAX_URL_LENGTH, trim_whitespace=False, required=False)
    events = _EventsField(required=False)
    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=EndpointStatus.choices, required=False)
