"""A session's and a user's event history with its actors, as a read-only field of their admin pages.

The events come from `admin_selectors.event_history` (the event log); operators are named by
username, users by id, API keys by id, the system as such. Where no event log exists yet, the
field says so, and Django's own "History" (LogEntry) still lists the operators' acts.
"""

from django.contrib.auth import get_user_model
from django.template.loader import render_to_string

from sessions_app.admin_selectors import EventLine, event_history

TEMPLATE = "admin/sessions_app/event_history.html"
ACTOR_KINDS = {"user": "User", "api_key": "API key", "operator": "Operator", "system": "System"}


def _actors(lines: list[EventLine]) -> dict[str, str]:
    # One query for every operator named in the page of events.
    ids = {line.actor_id for line in lines if line.actor_type == "operator" and line.actor_id}
    found = get_user_model().objects.filter(pk__in=ids).values_list("pk", "username") if ids else []
    return {str(pk): username for pk, username in found}


def render_event_history(*, session_id: str | None = None, user_id: str | None = None) -> str:
    lines = event_history(session_id=session_id, user_id=user_id)
    if lines is None:
        return render_to_string(TEMPLATE, {"unavailable": True})
    operators = _actors(lines)
    rows = [
        {"at": line.created_at, "type": line.type, "session_id": line.session_id,
         "actor_kind": ACTOR_KINDS.get(line.actor_type, line.actor_type),
         "actor": operators.get(str(line.actor_id), line.actor_id) if line.actor_type == "operator"
         else (line.actor_id or "")}
        for line in lines
    ]
    return render_to_string(TEMPLATE, {"rows": rows, "show_session": session_id is None})
