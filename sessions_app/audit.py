"""The audit trail: one structured log line per security event.

Lines carry ids, reasons and actors, never a token, a key or a password. A line about a change
(a session started, refreshed, revoked, purged; a user created or changed) is written when the change
commits, never for one that rolled back: inside a transaction it waits for the commit, outside one it
is written at once. The lines of session.created, session.revoked and user.* are written from the
event log (sessions_app/events.py), which is written in the same transaction as the change: a process
that dies between the commit and the line loses the line, never the event. Failed sign-ins change
nothing and are written at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction

if TYPE_CHECKING:
    from sessions_app.event_model import Event

logger = logging.getLogger("hellojohn.audit")


def _on_commit(level: int, event: str, **fields: Any) -> None:
    transaction.on_commit(lambda: logger.log(level, event, extra={"event": event, **fields}))


def sign_in_succeeded(*, tenant_id: str, user_id: str, session_id: str, ip_address: str | None) -> None:
    _on_commit(logging.INFO, "sign_in.succeeded", tenant_id=tenant_id, user_id=user_id, session_id=session_id,
               ip_address=ip_address)


def sign_in_failed(*, tenant_id: str, email: str, reason: str, ip_address: str | None) -> None:
    logger.warning("sign_in.failed", extra={"event": "sign_in.failed", "tenant_id": tenant_id, "email": email,
                                           "reason": reason, "ip_address": ip_address})


def session_refreshed(*, tenant_id: str, session_id: str) -> None:
    _on_commit(logging.INFO, "session.refreshed", tenant_id=tenant_id, session_id=session_id)


def refresh_token_reused(*, tenant_id: str, session_id: str) -> None:
    _on_commit(logging.WARNING, "refresh_token.reused", tenant_id=tenant_id, session_id=session_id)


def events_committed(*, events: Sequence[Event]) -> None:
    """One line per committed event: its type, ids and actor ("api_key:key_…", "system"), and the
    reason of a revocation. Called by transaction.on_commit (sessions_app/events.py)."""
    for event in events:
        actor = event.actor_type if event.actor_id is None else f"{event.actor_type}:{event.actor_id}"
        extra = {"event": event.type, "event_id": event.public_id, "tenant_id": event.tenant_id,
                 "user_id": event.user_id, "session_id": event.session_id, "actor": actor}
        if "reason" in event.data:
            extra["reason"] = event.data["reason"]
        logger.info(event.type, extra=extra)


def sessions_purged(*, sessions: int, refresh_tokens: int, cutoff: datetime) -> None:
    """Retention deleted ended sessions (purge_sessions): how many, and up to when they had ended."""
    _on_commit(logging.INFO, "sessions.purged", sessions=sessions, refresh_tokens=refresh_tokens,
               cutoff=cutoff.isoformat())
