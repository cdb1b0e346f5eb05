"""Refresh tokens: rotation, reuse detection (theft), and signing out with a refresh token."""

from datetime import datetime
from typing import NoReturn

from django.utils import timezone

from hellojohn_project import metrics
from sessions_app import audit
from sessions_app.actors import SYSTEM, Actor
from sessions_app.exceptions import RefreshTokenExpired, RefreshTokenInvalid, RefreshTokenReused, SessionRevoked
from sessions_app.models import CredentialKind, RevocationReason, Session
from sessions_app.selectors import refresh_token_for
from sessions_app.services.credentials import IssuedSession, issued, new_refresh_token_plaintext
from sessions_app.services.revocation import revoke_session
from sessions_app.services.rotation import Rotation, rotate
from sessions_app.services.session_use import ensure_active
from tenants_app import secrets
from tenants_app.models import Tenant


@metrics.counted(metrics.REFRESHES)
def refresh_session(*, tenant: Tenant, refresh_token: str) -> IssuedSession:
    """Rotates a refresh token: the presented one is retired and a new one issued.

    Presenting a retired token is treated as theft and revokes the whole session. The rotation
    (`rotation.rotate`, one statement on PostgreSQL) writes only when every rule below holds at the
    moment of its write, so of two refreshes racing with one token exactly one wins, and a
    revocation committed meanwhile issues nothing. When it wrote nothing, the rules are asked in
    their order which one refused, on the token and session as read.
    """
    now = timezone.now()
    plaintext = new_refresh_token_plaintext()
    rotated = rotate(tenant=tenant, presented=refresh_token, successor_hash=secrets.digest(plaintext), now=now)
    if rotated.token is None:
        raise RefreshTokenInvalid()
    session = rotated.token.session
    if rotated.successor is None:
        _refuse(rotated, now=now)
    session.last_active_at = now
    audit.session_refreshed(tenant_id=tenant.id, session_id=session.id)
    return issued(session=session, refresh=(rotated.successor, plaintext), now=now)


def _refuse(rotated: Rotation, *, now: datetime) -> NoReturn:
    """Raises the reason `rotated` wrote nothing, checking the rules in the contract's order."""
    record, session = rotated.token, rotated.token.session
    # The page's cookie never leaves the browser that holds it (HttpOnly): presented here, it was
    # copied, and the session is revoked as for a reused token (docs/api.md §12, "The page's credential").
    # A token a racing rotation retired after the read is reuse too: of two presentations, one is a copy.
    if record.retired_at is not None or record.kind != CredentialKind.API or rotated.retired_meanwhile:
        _handle_reuse(session)
    if session.revoked_at is not None:
        raise SessionRevoked()
    if record.expires_at <= now:
        raise RefreshTokenExpired()
    ensure_active(session, now=now)
    # Every rule held as read: a revocation committed between the read and the write.
    raise SessionRevoked()


def _handle_reuse(session: Session) -> None:
    revoke_session(session=session, reason=RevocationReason.REFRESH_TOKEN_REUSED, actor=SYSTEM)
    audit.refresh_token_reused(tenant_id=session.tenant_id, session_id=session.id)
    raise RefreshTokenReused()


def sign_out_with_refresh_token(*, tenant: Tenant, refresh_token: str) -> None:
    """Sign-out by refresh token: works whether or not the access token has expired (it signs out)."""
    record = refresh_token_for(tenant=tenant, token=refresh_token)
    if record is None or record.retired_at is not None or record.kind != CredentialKind.API:
        raise RefreshTokenInvalid()
    session = record.session
    revoke_session(session=session, actor=Actor.for_user(session.user_id), current=session)
