"""Reads on sessions: what "active" means in SQL, and the lookups the hot paths make."""

from datetime import datetime

from django.db.models import Q, QuerySet

from sessions_app.models import RefreshToken, Session, SessionStatus, idle_cutoff
from sessions_app.precompiled import PrecompiledLookup
from tenants_app import secrets
from tenants_app.models import Tenant, TenantConfig, User


def active_q(*, now: datetime, idle_timeout: int | None) -> Q:
    """Not revoked, not past expires_at, not idle longer than the tenant's idle_timeout."""
    q = Q(revoked_at__isnull=True, expires_at__gt=now)
    if idle_timeout is not None:
        q &= Q(last_active_at__gt=idle_cutoff(now, idle_timeout))
    return q


def status_q(status: SessionStatus, *, now: datetime, idle_timeout: int | None) -> Q:
    if status == SessionStatus.ACTIVE:
        return active_q(now=now, idle_timeout=idle_timeout)
    if status == SessionStatus.REVOKED:
        return Q(revoked_at__isnull=False)
    return Q(revoked_at__isnull=True) & ~active_q(now=now, idle_timeout=idle_timeout)


def idle_timeout_of(config: TenantConfig | None) -> int | None:
    return config.idle_timeout if config is not None else None


def active_sessions_for(user: User, *, now: datetime) -> QuerySet[Session]:
    """The user's active sessions, most recently active first."""
    config = getattr(user.tenant, "config", None)
    return Session.objects.filter(active_q(now=now, idle_timeout=idle_timeout_of(config)), user=user).order_by(
        "-last_active_at", "-id"
    )


def _access_check_queryset(session_id: str) -> QuerySet[Session]:
    # No ORDER BY: a lookup by primary key needs none.
    return Session.objects.select_related("user", "tenant", "tenant__config").filter(pk=session_id).order_by()


# Every request with an access token runs this lookup, so its SQL is compiled once (see precompiled.py).
_access_check = PrecompiledLookup(_access_check_queryset, placeholder="ses_")


def session_for_access_check(session_id: str) -> Session | None:
    """The session with its user, tenant and tenant config: everything a token check needs, one query."""
    return _access_check.first(session_id)


def session_for_refresh_token(*, tenant: Tenant, token: str) -> Session | None:
    """The session whose unretired refresh token is `token`, within `tenant`; one query.

    The web page's cookie carries this token. The session comes with its user, tenant and config,
    and the user's tenant is the session's (same row), so the page's checks and its list of the
    user's sessions need no further lookups.
    """
    record = (
        RefreshToken.objects.select_related("session__user", "session__tenant__config")
        .filter(token_hash=secrets.digest(token), session__tenant=tenant, retired_at__isnull=True)
        .first()
    )
    # The indexed lookup matched on the hash; the constant-time comparison makes the final decision.
    if record is None or not secrets.matches(token, record.token_hash):
        return None
    session = record.session
    session.user.tenant = session.tenant
    return session


def session_of_user(*, user: User, session_id: str) -> Session | None:
    """One of `user`'s sessions, whatever its status; None for anyone else's or an unknown id."""
    return Session.objects.filter(pk=session_id, user=user, tenant_id=user.tenant_id).first()
