"""The admin's history of a session or a user: who did what, when, read from the event log."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from sessions_app.event_model import ActorType, Event

HISTORY_LIMIT = 50
_ACTOR_LABELS = {ActorType.USER: "the user", ActorType.API_KEY: "API key", ActorType.OPERATOR: "operator",
                 ActorType.SYSTEM: "the system"}


def _actor(event: Event) -> str:
    label = _ACTOR_LABELS.get(event.actor_type, event.actor_type)
    if event.actor_type == ActorType.USER and event.actor_id != event.user_id:
        return f"user {event.actor_id}"
    return label if event.actor_id is None or event.actor_type == ActorType.USER else f"{label} {event.actor_id}"


def _detail(event: Event) -> str:
    session = event.data.get("session")
    if "reason" in event.data:
        return f"{session['id']}: {event.data['reason']}"
    if session is not None:
        device = " on ".join(part for part in (session.get("browser"), session.get("os")) if part) or "unknown device"
        return f"{session['id']}: {device}, {session.get('ip_address') or 'no IP'}"
    user = event.data.get("user") or {}
    return f"{user.get('email', '')}, {user.get('status', '')}"


def event_history(*, user_id: str | None = None, session_id: str | None = None) -> SafeString:
    """The newest HISTORY_LIMIT events about the user or the session (indexed: event_user_seq /
    event_session_seq), as a table."""
    events = Event.objects.filter(**({"user_id": user_id} if user_id else {"session_id": session_id}))
    rows = list(events.order_by("-seq")[:HISTORY_LIMIT])
    if not rows:
        return format_html('<span class="quiet">{}</span>', "No events.")
    body = format_html_join(
        "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
        ((e.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"), e.type, _actor(e), _detail(e), e.public_id)
         for e in rows),
    )
    more = "" if len(rows) < HISTORY_LIMIT else format_html(
        '<p class="quiet">The newest {} events; GET /v1/events lists them all.</p>', HISTORY_LIMIT)
    return format_html(
        '<table class="hj-event-history"><thead><tr><th>When</th><th>Event</th><th>By</th><th>Details</th>'
        "<th>Event id</th></tr></thead><tbody>{}</tbody></table>{}", body, more,
    )
