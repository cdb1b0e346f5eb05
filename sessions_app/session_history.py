"""Reads for the page's "Recently signed out": a user's sessions that ended in the last 30 days."""

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from sessions_app.models import Session
from tenants_app.models import User

# As long as retention keeps ended sessions by default (HJ_SESSION_RETENTION_DAYS): older ones are gone.
RECENT = timedelta(days=30)
SHOWN = 20


def recently_ended_for(user: User, *, now: datetime, limit: int = SHOWN) -> list[Session]:
    """Revoked, or past their absolute expiry, within RECENT; the latest ended first.

    Sessions that only went idle are left out: idleness depends on the tenant's current
    idle_timeout and is not final (docs/api.md, retention).
    """
    since = now - RECENT
    ended: QuerySet[Session] = Session.objects.filter(
        Q(revoked_at__gte=since) | Q(revoked_at__isnull=True, expires_at__gte=since, expires_at__lte=now), user=user,
    )
    return list(ended.annotate(ended_at=Coalesce("revoked_at", "expires_at")).order_by("-ended_at", "-id")[:limit])
