"""The contract's JSON shapes of a session, a user and an event (docs/api.md, "Objects"), written once.

The /v1 answers (api/serializers.py) and the event log's `data` (events.py) both render through these,
so an event's session is exactly the session an answer shows, minus what only answers carry (tokens,
`current`).
"""

from datetime import datetime
from typing import Any

from sessions_app.event_model import Event
from sessions_app.flags import flag_dicts
from sessions_app.models import Session
from tenants_app.models import User

TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(value: datetime | None) -> str | None:
    return value.strftime(TIMESTAMP) if value is not None else None


def user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "tenant_id": user.tenant_id,
        "email": user.email,
        "name": user.name,
        "status": user.status,
        "created_at": timestamp(user.created_at),
        "last_sign_in_at": timestamp(user.last_sign_in_at),
    }


def session_dict(session: Session, *, now: datetime, idle_timeout: int | None) -> dict[str, Any]:
    return {
        "id": session.id,
        "user_id": session.user_id,
        "tenant_id": session.tenant_id,
        "status": session.status_at(now, idle_timeout),
        "user_agent": session.user_agent,
        "ip_address": session.ip_address,
        "country": session.country,
        "device_type": session.device_type,
        "browser": session.browser,
        "os": session.os,
        "created_at": timestamp(session.created_at),
        "last_active_at": timestamp(session.last_active_at),
        "expires_at": timestamp(session.expires_at),
        "revoked_at": timestamp(session.revoked_at),
        "revoked_reason": session.revoked_reason,
        "flags": flag_dicts(session.flags),
    }


def event_dict(event: Event) -> dict[str, Any]:
    """The envelope, as GET /v1/events lists it and webhooks deliver it."""
    return {
        "id": event.public_id,
        "type": event.type,
        "created_at": timestamp(event.created_at),
        "tenant_id": event.tenant_id,
        "actor": {"type": event.actor_type, "id": event.actor_id},
        "data": event.data,
    }
