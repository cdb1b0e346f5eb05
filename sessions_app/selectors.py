"""Reads on sessions: the lookups the hot paths make, and which sessions are in a status across tenants.

What "active" means is `models.status_q` (and `Session.status_at`); everything here builds on it.
A status across tenants depends on each tenant's idle_timeout, so the filter is built per
idle-timeout value (one group of tenants per distinct value) rather than by joining the config and
doing date arithmetic in SQL: each branch stays a plain `column > constant` comparison that an index
can serve, and the same SQL runs on SQLite and PostgreSQL.
"""

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from sessions_app.models import RefreshToken, Session, SessionStatus, active_q, status_q
from sessions_app.orm_internals import PrecompiledLookup
from tenants_app import secrets
from tenants_app.models import Tenant, TenantConfig, User


def idle_timeout_of(config: TenantConfig | None) -> int | None:
    return config.idle_timeout if config is not None else None


def session_status(session: Session, *, now: datetime) -> SessionStatus:
    """`session`'s status under its tenant's rules; no query when its tenant and config came with it."""
    return session.status_at(now, idle_timeout_of(getattr(session.tenant, "config", None)))


def active_sessions_for(user: User, *, now: datetime) -> QuerySet[Session]:
    """The user's active sessions, most recently active first."""
    config = getattr(user.tenant, "config", None)
    return Session.objects.filter(active_q(now=now, idle_timeout=idle_timeout_of(config)), user=user).order_by(
        "-last_active_at", "-id"
    )


def idle_timeouts_by_tenant(tenant_ids: Collection[str] | None = None) -> dict[str, int]:
    """Tenant id → idle_timeout, for the tenants that have one (all of them, or of `tenant_ids`)."""
    configs = TenantConfig.objects.filter(idle_timeout__isnull=False)
    if tenant_ids is not None:
        configs = configs.filter(tenant_id__in=tenant_ids)
    return dict(configs.values_list("tenant_id", "idle_timeout"))


def status_q_across_tenants(status: SessionStatus, *, now: datetime,
                            tenant_ids: Collection[str] | None = None) -> Q:
    """Sessions in `status` whatever their tenant (or of `tenant_ids` only); one query for the configs.

    Tenants with no idle timeout (the default), or with no config row, share one branch; across all
    tenants it is written as "not one of the others", so that it needs no list of them.
    """
    if status == SessionStatus.REVOKED:  # the one status that no idle timeout changes
        revoked = status_q(status, now=now, idle_timeout=None)
        return revoked if tenant_ids is None else Q(tenant_id__in=tenant_ids) & revoked
    timeouts = idle_timeouts_by_tenant(tenant_ids)
    tenants_by_timeout: dict[int | None, list[str]] = defaultdict(list)
    for tenant in timeouts if tenant_ids is None else tenant_ids:
        tenants_by_timeout[timeouts.get(tenant)].append(tenant)
    branches = [
        Q(tenant_id__in=sorted(tenants)) & status_q(status, now=now, idle_timeout=timeout)
        for timeout, tenants in sorted(tenants_by_timeout.items(), key=lambda item: item[0] or 0)
        if timeout is not None
    ]
    no_timeout = status_q(status, now=now, idle_timeout=None)
    if tenant_ids is not None:
        if None in tenants_by_timeout:
            branches.append(Q(tenant_id__in=sorted(tenants_by_timeout[None])) & no_timeout)
    elif timeouts:
        branches.append(~Q(tenant_id__in=sorted(timeouts)) & no_timeout)
    else:
        branches.append(no_timeout)
    return reduce(or_, branches) if branches else Q(pk__in=[])


def count_active_sessions(*, now: datetime) -> int:
    """Active sessions across every tenant: one COUNT, for the metrics gauge (never per tenant)."""
    return Session.objects.filter(status_q_across_tenants(SessionStatus.ACTIVE, now=now)).count()


def _access_check_queryset(session_id: str) -> QuerySet[Session]:
    # No ORDER BY: a lookup by primary key needs none.
    return Session.objects.select_related("user", "tenant", "tenant__config").filter(pk=session_id).order_by()


# Every request with an access token runs this lookup, so its SQL is compiled once (see orm_internals.py).
_access_check = PrecompiledLookup(_access_check_queryset, placeholder="ses_")


def session_for_access_check(session_id: str) -> Session | None:
    """The session with its user, tenant and tenant config: everything a token check needs, one query."""
    return _access_check.first(session_id)


def _refresh_token_queryset(token_hash: str) -> QuerySet[RefreshToken]:
    # The hash is unique, so no ORDER BY; the tenant is compared in Python (refresh_token_for).
    return (RefreshToken.objects.select_related("session__user", "session__tenant__config")
            .filter(token_hash=token_hash).order_by())


# Every refresh and every request of the sessions page runs this lookup: compiled once (orm_internals.py).
_refresh_token = PrecompiledLookup(_refresh_token_queryset, placeholder="0" * 64)


def refresh_token_for(*, tenant: Tenant, token: str) -> RefreshToken | None:
    """The refresh-token record that `token` is, retired or not, within `tenant`; one query.

    It comes with its session, the session's user, tenant and config, and the user's tenant is the
    session's (same row), so the checks that follow and the page's list of the user's sessions need
    no further lookups.
    """
    record = _refresh_token.first(secrets.digest(token))
    # The indexed lookup matched on the hash; the constant-time comparison makes the final decision.
    # Another tenant's token is no token here, whatever it is there.
    if record is None or record.session.tenant_id != tenant.id or not secrets.matches(token, record.token_hash):
        return None
    record.session.user.tenant = record.session.tenant
    return record


def session_of_user(*, user: User, session_id: str) -> Session | None:
    """One of `user`'s sessions, whatever its status; None for anyone else's or an unknown id."""
    return Session.objects.filter(pk=session_id, user=user, tenant_id=user.tenant_id).first()
