"""The audit trail: one structured log line per security event.

Lines carry ids, reasons and actors, never a token, a key or a password.
"""

import logging
from collections.abc import Sequence
from datetime import datetime

logger = logging.getLogger("hellojohn.audit")


def sign_in_succeeded(*, tenant_id: str, user_id: str, session_id: str, ip_address: str | None) -> None:
    logger.info("sign_in.succeeded", extra={"event": "sign_in.succeeded", "tenant_id": tenant_id,
                                           "user_id": user_id, "session_id": session_id, "ip_address": ip_address})


def sign_in_failed(*, tenant_id: str, email: str, reason: str, ip_address: str | None) -> None:
    logger.warning("sign_in.failed", extra={"event": "sign_in.failed", "tenant_id": tenant_id, "email": email,
                                           "reason": reason, "ip_address": ip_address})


def session_refreshed(*, tenant_id: str, session_id: str) -> None:
    logger.info("session.refreshed", extra={"event": "session.refreshed", "tenant_id": tenant_id,
                                           "session_id": session_id})


def refresh_token_reused(*, tenant_id: str, session_id: str) -> None:
    logger.warning("refresh_token.reused", extra={"event": "refresh_token.reused", "tenant_id": tenant_id,
                                                 "session_id": session_id})


def sessions_revoked(*, tenant_id: str | None, session_ids: Sequence[str], reason: str, actor: str) -> None:
    for session_id in session_ids:
        logger.info("session.revoked", extra={"event": "session.revoked", "tenant_id": tenant_id,
                                             "session_id": session_id, "reason": reason, "actor": actor})


def sessions_purged(*, sessions: int, refresh_tokens: int, cutoff: datetime) -> None:
    """Retention deleted ended sessions (purge_sessions): how many, and up to when they had ended."""
    logger.info("sessions.purged", extra={"event": "sessions.purged", "sessions": sessions,
                                         "refresh_tokens": refresh_tokens, "cutoff": cutoff.isoformat()})
