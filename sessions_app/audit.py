"""The audit trail: one structured log line per security event.

Lines carry ids, reasons and actors, never a token, a key or a password. A line about a change
(a session started, refreshed, revoked, purged) is written when the change commits, never for one
that rolled back: inside a transaction it waits for the commit, outside one it is written at once.
A process that dies between the commit and the write loses that line; only an event log written in
the same transaction as the change closes that gap. Failed sign-ins change nothing and are written
at once.
"""

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

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


def sessions_revoked(*, tenant_id: str | None, session_ids: Sequence[str], reason: str, actor: str) -> None:
    for session_id in session_ids:
        _on_commit(logging.INFO, "session.revoked", tenant_id=tenant_id, session_id=session_id, reason=reason,
                   actor=actor)


def sessions_purged(*, sessions: int, refresh_tokens: int, cutoff: datetime) -> None:
    """Retention deleted ended sessions (purge_sessions): how many, and up to when they had ended."""
    _on_commit(logging.INFO, "sessions.purged", sessions=sessions, refresh_tokens=refresh_tokens,
               cutoff=cutoff.isoformat())
