"""The event envelope's schema (docs/api.md, "Events"); rendered by sessions_app.renderings.event_dict."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from sessions_app.api.serializers import PaginationOut
from sessions_app.event_model import ActorType, EventType


class ActorOut(serializers.Serializer):
    type = serializers.ChoiceField(choices=ActorType.choices)
    id = serializers.CharField(allow_null=True, help_text="usr_…, key_…, an operator's username, or null.")


class EventOut(serializers.Serializer):
    id = serializers.CharField(help_text="evt_…")
    type = serializers.ChoiceField(choices=EventType.choices)
    created_at = serializers.DateTimeField()
    tenant_id = serializers.CharField()
    actor = ActorOut()
    data = serializers.DictField(
        help_text="session.*: `session` (no tokens, no `current`), and `reason` for session.revoked; "
                  "user.*: `user`.")


# One page object, not a list of them: drf-spectacular would wrap a `list` action's answer in an array.
@extend_schema_serializer(many=False)
class EventPageOut(serializers.Serializer):
    data = EventOut(many=True)
    pagination = PaginationOut()
