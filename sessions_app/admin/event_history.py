"""A session's and a user's event history with its actors, as a read-only field of their admin pages.

The events come from `admin_selectors.event_history` (the event log, docs/api.md "Events"); each
actor is shown by type and id: a user's or API key's id, an operator's username (what the event
records), the system without one. Django's own "History" (LogEntry) lists the operators' acts too.
"""

from django.template.loader import render_to_string

from sessions_app.admin_selectors import HISTORY_LIMIT, EventLine, event_history

TEMPLATE = "admin/sessions_app/event_history.html"
ACTOR_KINDS = {"user": "User", "api_key": "API key", "operator": "Operator", "system": "System"}


def _detail(line: EventLine) -> str:
    """What the event says: the revocation's reason, the session's device and IP, or the user's email and status."""
    session = line.data.get("session")
    if "reason" in line.data:
        return str(line.data["reason"])
    if session is not None:
        device = " on ".join(part for part in (session.get("browser"), session.get("os")) if part) or "unknown device"
        return f"{device}, {session.get('ip_address') or 'no IP'}"
    user = line.data.get("user") or {}
    return f"{user.get('email', '')}, {user.get('status', '')}"


def render_event_history(*, session_id: str | None = None, user_id: str | None = None) -> str:
    lines = event_history(session_id=session_id, user_id=user_id)
    rows = [
        {"at": line.created_at, "type": line.type, "session_id": line.session_id, "event_id": line.public_id,
         "actor_kind": ACTOR_KINDS.get(line.actor_type, line.actor_type), "actor": line.actor_id or "",
         "detail": _detail(line)}
        for line in lines
    ]
    return render_to_string(TEMPLATE, {"rows": rows, "show_session": session_id is None,
                                       "capped": len(rows) >= HISTORY_LIMIT, "limit": HISTORY_LIMIT})
