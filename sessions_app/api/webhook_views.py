"""/v1/webhooks: a tenant's backend (secret key) managing its endpoints and reading their deliveries."""

from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from hellojohn_project.api.errors import InvalidParameter, api_error_from
from hellojohn_project.api.pagination import paginate
from hellojohn_project.api.params import choice_param, timestamp_param
from hellojohn_project.api.permissions import SecretKey
from hellojohn_project.api.principal import Principal
from sessions_app.api.callers import actor_of, validated
from sessions_app.api.webhook_serializers import (
    WebhookCreateIn,
    WebhookDeliveryOut,
    WebhookDeliveryPageOut,
    WebhookEndpointOut,
    WebhookEndpointPageOut,
    WebhookEndpointWithSecretOut,
    WebhookPatchIn,
)
from sessions_app.webhook_models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from sessions_app.webhooks import services
from sessions_app.webhooks.exceptions import DeliveryNotFound, WebhookNotFound
from tenants_app.ids import is_valid_id

TAGS = ["webhooks"]
# The url check of create and update (docs/api.md, "Webhooks"); the hook adds the envelope.
BAD_URL = {422: OpenApiResponse(description="The url is not https://, or resolves to an address that is not "
                                            "public (invalid_webhook_url).")}
PAGE_PARAMETERS = [
    OpenApiParameter("limit", OpenApiTypes.INT, description="1 to 100, default 20."),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="next_cursor of the previous page."),
]


def _endpoint(request: Request, pk: str) -> WebhookEndpoint:
    endpoint = None
    if is_valid_id(pk, "wh"):
        endpoint = WebhookEndpoint.objects.filter(pk=pk, tenant=request.user.tenant).first()
    if endpoint is None:
        raise api_error_from(WebhookNotFound(f"No webhook endpoint {pk[:40]} in this tenant."))
    return endpoint


class WebhookViewSet(ViewSet):
    permission_classes = [SecretKey]

    @extend_schema(request=WebhookCreateIn, responses={201: WebhookEndpointWithSecretOut, **BAD_URL}, tags=TAGS,
                   operation_id="createWebhook", summary="Create a webhook endpoint",
                   description="Registers an https:// endpoint for the listed event types. The answer carries the "
                               "signing secret, shown this once. Secret key.")
    def create(self, request: Request) -> Response:
        data = validated(WebhookCreateIn, request)
        created = services.create_endpoint(tenant=request.user.tenant, url=data["url"], events=data["events"],
                                           description=data["description"])
        return Response(WebhookEndpointWithSecretOut(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: WebhookEndpointPageOut}, tags=TAGS,
                   operation_id="listWebhooks", summary="List webhook endpoints",
                   description="The tenant's webhook endpoints, newest first, a page at a time. Secret key.")
    def list(self, request: Request) -> Response:
        endpoints = WebhookEndpoint.objects.filter(tenant=request.user.tenant)
        return Response(paginate(request, endpoints, time_field="created_at",
                                 render=lambda rows: WebhookEndpointOut(rows, many=True).data))

    @extend_schema(responses={200: WebhookEndpointOut}, tags=TAGS, operation_id="getWebhook",
                   summary="Get a webhook endpoint",
                   description="One webhook endpoint of the tenant, without its signing secret. Secret key.")
    def retrieve(self, request: Request, id: str) -> Response:
        return Response(WebhookEndpointOut(_endpoint(request, id)).data)

    @extend_schema(request=WebhookPatchIn, responses={200: WebhookEndpointOut, **BAD_URL}, tags=TAGS,
                   operation_id="updateWebhook", summary="Update a webhook endpoint",
                   description="Changes the url, event types, description or status (enabled re-enables an "
                               "endpoint that was disabled). Secret key.")
    def partial_update(self, request: Request, id: str) -> Response:
        endpoint = _endpoint(request, id)
        data = validated(WebhookPatchIn, request)
        services.update_endpoint(endpoint=endpoint, url=data.get("url"), events=data.get("events"),
                                 description=data.get("description"), status=data.get("status"))
        return Response(WebhookEndpointOut(endpoint).data)

    @extend_schema(responses={204: None}, tags=TAGS, operation_id="deleteWebhook", summary="Delete a webhook endpoint",
                   description="Deletes the endpoint and its deliveries; nothing more is sent to it. "
                               "Secret key.")
    def destroy(self, request: Request, id: str) -> Response:
        services.delete_endpoint(endpoint=_endpoint(request, id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: WebhookEndpointWithSecretOut}, tags=TAGS,
                   operation_id="rotateWebhookSecret", summary="Rotate a webhook's signing secret",
                   description="A new signing secret, shown this once; deliveries are signed with both the new and "
                               "the previous secret for a grace period. Secret key.")
    def rotate_secret(self, request: Request, id: str) -> Response:
        rotated = services.rotate_secret(endpoint=_endpoint(request, id))
        return Response(WebhookEndpointWithSecretOut(rotated).data)

    @extend_schema(request=None, responses={202: WebhookDeliveryOut}, tags=TAGS, operation_id="testWebhook",
                   summary="Send a test event",
                   description="Queues a webhook.test event to this endpoint alone; it is not in the event log. "
                               "Secret key.")
    def test(self, request: Request, id: str) -> Response:
        principal: Principal = request.user
        delivery = services.send_test(endpoint=_endpoint(request, id), actor=actor_of(principal))
        return Response(WebhookDeliveryOut(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryViewSet(ViewSet):
    permission_classes = [SecretKey]

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=DeliveryStatus.values),
            OpenApiParameter("event", OpenApiTypes.STR, description="An event type (session.revoked) or id (evt_…)."),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="Created at or after (RFC 3339)."),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Created before (RFC 3339)."),
            *PAGE_PARAMETERS,
        ],
        responses={200: WebhookDeliveryPageOut}, tags=TAGS, operation_id="listWebhookDeliveries",
        summary="List a webhook's deliveries",
        description="The endpoint's deliveries, newest first, by status, event or time. Secret key.",
    )
    def list(self, request: Request, id: str) -> Response:
        deliveries: QuerySet[WebhookDelivery] = WebhookDelivery.objects.filter(endpoint=_endpoint(request, id))
        status_filter = choice_param(request, "status", DeliveryStatus.values)
        if status_filter is not None:
            deliveries = deliveries.filter(status=status_filter)
        event = request.query_params.get("event")
        if event is not None:
            if len(event) > 64 or not event.isascii() or not event.isprintable():
                raise InvalidParameter("Invalid 'event': Must be an event type or an event id.",
                                       fields={"event": ["Must be an event type or an event id."]})
            deliveries = deliveries.filter(Q(event_id=event) if event.startswith("evt_") else Q(event_type=event))
        since, until = timestamp_param(request, "since"), timestamp_param(request, "until")
        if since is not None:
            deliveries = deliveries.filter(created_at__gte=since)
        if until is not None:
            deliveries = deliveries.filter(created_at__lt=until)
        return Response(paginate(request, deliveries, time_field="created_at",
                                 render=lambda rows: WebhookDeliveryOut(rows, many=True).data))

    @extend_schema(request=None, responses={202: WebhookDeliveryOut}, tags=TAGS,
                   operation_id="retryWebhookDelivery", summary="Retry a delivery",
                   description="One more attempt now, whatever the delivery's status; a failure then follows the "
                               "rest of the retry schedule. Secret key.")
    def retry(self, request: Request, id: str, delivery_id: str) -> Response:
        endpoint = _endpoint(request, id)
        delivery = None
        if is_valid_id(delivery_id, "del"):
            delivery = WebhookDelivery.objects.filter(pk=delivery_id, endpoint=endpoint).first()
        if delivery is None:
            raise api_error_from(DeliveryNotFound(f"No delivery {delivery_id[:40]} of this webhook endpoint."))
        return Response(WebhookDeliveryOut(services.retry_delivery(delivery=delivery)).data,
                        status=status.HTTP_202_ACCEPTED)
