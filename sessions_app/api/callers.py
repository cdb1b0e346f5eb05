"""What every /v1 view takes from its request: the validated body, the caller as an actor, the serializer context."""

from typing import Any

from django.utils import timezone
from rest_framework.request import Request

from hellojohn_project.api.principal import Principal
from sessions_app.actors import Actor
from sessions_app.selectors import idle_timeout_of


def validated(serializer_class: type, request: Request) -> dict[str, Any]:
    """The request body through its input serializer; invalid input raises the contract's 400."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def actor_of(principal: Principal) -> Actor:
    """A tenant's backend acts as its API key; an end user as themself."""
    if principal.api_key is not None:
        return Actor.for_api_key(principal.api_key.id)
    return Actor.for_user(principal.user.id)


def session_context(principal: Principal) -> dict[str, Any]:
    """Serializer context: the clock and rules that decide `status`, and `current` for end users."""
    context: dict[str, Any] = {
        "now": timezone.now(),
        "idle_timeout": idle_timeout_of(getattr(principal.tenant, "config", None)),
    }
    if principal.session is not None:
        context["current_session_id"] = principal.session.pk
    return context
