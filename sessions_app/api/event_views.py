"""/v1/events: the tenant's event log, newest first (docs/api.md, "Events")."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from hellojohn_project.api.errors import InvalidParameter
from hellojohn_project.api.pagination import paginate_log
from hellojohn_project.api.params import choice_param, id_param, timestamp_param
from hellojohn_project.api.permissions import SecretKey
from hellojohn_project.db_router import lag_tolerant
from sessions_app.api.event_serializers import EventPageOut
from sessions_app.event_model import Event, EventType
from sessions_app.renderings import event_dict

PARAMETERS = [
    OpenApiParameter("type", OpenApiTypes.STR, enum=EventType.values, description="Only events of this type."),
    OpenApiParameter("user_id", OpenApiTypes.STR, description="Only events about this user."),
    OpenApiParameter("session_id", OpenApiTypes.STR, description="Only events about this session."),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Created at or after (RFC 3339)."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Created before (RFC 3339)."),
    OpenApiParameter("limit", OpenApiTypes.INT, description="1 to 100, default 20."),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="next_cursor of the previous page."),
]


class EventViewSet(ViewSet):
    permission_classes = [SecretKey]

    @extend_schema(parameters=PARAMETERS, responses={200: EventPageOut}, tags=["events"], operation_id="listEvents",
                   summary="List events",
                   description="The tenant's event log, newest first, filtered by type, user, session or time; "
                               "follow next_cursor for older events. Secret key.")
    def list(self, request: Request) -> Response:
        events = Event.objects.filter(tenant=request.user.tenant)
        event_type = choice_param(request, "type", EventType.values)
        if event_type is not None:
            events = events.filter(type=event_type)
        user_id = id_param(request, "user_id", "usr")
        if user_id is not None:
            events = events.filter(user_id=user_id)
        session_id = id_param(request, "session_id", "ses")
        if session_id is not None:
            events = events.filter(session_id=session_id)
        since, until = timestamp_param(request, "since"), timestamp_param(request, "until")
        if since is not None and until is not None and since > until:
            raise InvalidParameter("Invalid 'until': Must not be before 'since'.",
                                   fields={"until": ["Must not be before 'since'."]})
        if since is not None:
            events = events.filter(created_at__gte=since)
        if until is not None:
            events = events.filter(created_at__lt=until)
        # From the read replica when there is one: the log may lag the primary (docs/api.md, "Read replica").
        return Response(lag_tolerant(paginate_log)(request, events, position_field="seq",
                                                   render=lambda rows: [event_dict(event) for event in rows]))
