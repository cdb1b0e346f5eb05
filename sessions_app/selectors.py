"""Reads on sessions: what "active" means in SQL, and the lookups the hot paths make."""

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from sessions_app.models import Session, SessionStatus
from tenants_app.models import TenantConfig, User


def active_q(*, now: datetime, idle_timeout: int | None) -> Q:
    """Not revoked, not past expires_at, not idle longer than the tenant's idle_timeout."""
    q = Q(revoked_at__isnull=True, expires_at__gt=now)
    if idle_timeout is not None:
        q &= Q(last_active_at__gt=now - timedelta(seconds=idle_timeout))
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


def session_for_access_check(session_id: str) -> Session | None:
    """The session with its user, tenant and tenant config: everything a token check needs, one query."""
    return Session.objects.select_related("user", "tenant", "tenant__config").filter(pk=session_id).first()
