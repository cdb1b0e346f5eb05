"""Reads of the operator console: session status across tenants and the dashboard's aggregates.

A session's status depends on its tenant's idle_timeout. Across tenants the Q is built per
idle-timeout value (one group of tenants per distinct value) rather than by joining the config and
doing date arithmetic in SQL: each branch stays a plain `column > constant` comparison that an
index can serve, it is `selectors.status_q` itself, and the same SQL runs on SQLite and PostgreSQL.
Tenants with no idle timeout (the default), or with no config row, share the last branch, written
as "not one of the others" so that it needs no list of them.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower

from sessions_app.models import DeviceType, RevocationReason, Session, SessionStatus
from sessions_app.selectors import status_q
from tenants_app.models import TenantConfig, User

RECENT = timedelta(hours=24)
TOP_COUNTRIES = 5


def idle_timeouts_by_tenant(tenant_ids: list[str] | None = None) -> dict[str, int]:
    """Tenant id → idle_timeout, for the tenants that have one (all of them, or of `tenant_ids`)."""
    configs = TenantConfig.objects.filter(idle_timeout__isnull=False)
    if tenant_ids is not None:
        configs = configs.filter(tenant_id__in=tenant_ids)
    return dict(configs.values_list("tenant_id", "idle_timeout"))


def status_q_across_tenants(status: SessionStatus, *, now: datetime, tenant_id: str | None = None) -> Q:
    """Sessions in `status` whatever their tenant (or of `tenant_id` only), one query for the configs."""
    if status == SessionStatus.REVOKED:  # the one status that no idle timeout changes
        revoked = status_q(status, now=now, idle_timeout=None)
        return revoked if tenant_id is None else Q(tenant_id=tenant_id) & revoked
    if tenant_id is not None:
        timeout = idle_timeouts_by_tenant([tenant_id]).get(tenant_id)
        return Q(tenant_id=tenant_id) & status_q(status, now=now, idle_timeout=timeout)
    tenants_by_timeout: dict[int, list[str]] = defaultdict(list)
    for tenant, timeout in idle_timeouts_by_tenant().items():
        tenants_by_timeout[timeout].append(tenant)
    branches = [
        Q(tenant_id__in=sorted(tenants)) & status_q(status, now=now, idle_timeout=timeout)
        for timeout, tenants in sorted(tenants_by_timeout.items())
    ]
    with_timeout = [tenant for tenants in tenants_by_timeout.values() for tenant in tenants]
    no_timeout = status_q(status, now=now, idle_timeout=None)
    branches.append(~Q(tenant_id__in=with_timeout) & no_timeout if with_timeout else no_timeout)
    return reduce(or_, branches)


@dataclass(frozen=True)
class Dashboard:
    """The admin index's summary; every figure matches the sessions changelist's same filter."""

    now: datetime
    since: datetime  # "recently" is since then: the last 24 hours
    tenant_id: str | None
    active: int
    active_by_device_type: dict[str, int]
    top_countries: list[tuple[str | None, int]]
    started_recently: int
    revoked_recently: int
    revoked_recently_by_reason: dict[str, int] = field(default_factory=dict)


def dashboard(*, now: datetime, tenant_id: str | None = None) -> Dashboard:
    """Four aggregate queries (plus one for the idle timeouts); no row is loaded."""
    sessions = Session.objects.all() if tenant_id is None else Session.objects.filter(tenant_id=tenant_id)
    active = sessions.filter(status_q_across_tenants(SessionStatus.ACTIVE, now=now, tenant_id=tenant_id))
    by_device = active.aggregate(
        total=Count("pk"),
        **{kind.value: Count("pk", filter=Q(device_type=kind.value)) for kind in DeviceType},
    )
    countries = (
        active.order_by().values("country").annotate(n=Count("pk")).order_by("-n", "country")[:TOP_COUNTRIES]
    )
    since = now - RECENT
    revoked = sessions.filter(revoked_at__gte=since).aggregate(
        total=Count("pk"),
        **{reason.value: Count("pk", filter=Q(revoked_reason=reason.value)) for reason in RevocationReason},
    )
    return Dashboard(
        now=now,
        since=since,
        tenant_id=tenant_id,
        active=by_device.pop("total"),
        active_by_device_type={kind: n for kind, n in by_device.items() if n},
        top_countries=[(row["country"], row["n"]) for row in countries],
        started_recently=sessions.filter(created_at__gte=since).count(),
        revoked_recently=revoked.pop("total"),
        revoked_recently_by_reason={reason: n for reason, n in revoked.items() if n},
    )


def active_session_counts(tenant_ids: list[str], *, now: datetime) -> dict[str, int]:
    """Active sessions per tenant, for a page of tenants: one GROUP BY query (and one for configs)."""
    if not tenant_ids:
        return {}
    timeouts = idle_timeouts_by_tenant(tenant_ids)
    tenants_by_timeout: dict[int | None, list[str]] = defaultdict(list)
    for tenant in tenant_ids:
        tenants_by_timeout[timeouts.get(tenant)].append(tenant)
    active = reduce(or_, [
        Q(tenant_id__in=tenants) & status_q(SessionStatus.ACTIVE, now=now, idle_timeout=timeout)
        for timeout, tenants in tenants_by_timeout.items()
    ])
    rows = Session.objects.filter(active).order_by().values("tenant").annotate(n=Count("pk"))
    return {row["tenant"]: row["n"] for row in rows}


def user_counts(tenant_ids: list[str]) -> dict[str, int]:
    """Users per tenant, for a page of tenants: one GROUP BY query."""
    rows = User.objects.filter(tenant_id__in=tenant_ids).order_by().values("tenant").annotate(n=Count("pk"))
    return {row["tenant"]: row["n"] for row in rows}


def users_matching_email(term: str) -> QuerySet[User]:
    """Users whose email is `term` (when it has an @) or starts with it, compared as stored: lower case.

    LOWER(email) is the expression the unique index covers, so the exact match is an index lookup.
    """
    users = User.objects.annotate(email_lower=Lower("email"))
    term = term.strip().lower()
    if "@" in term:
        return users.filter(email_lower=term)
    return users.filter(email_lower__startswith=term)
