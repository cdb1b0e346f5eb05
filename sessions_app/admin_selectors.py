"""Reads of the operator console: the dashboard's aggregates and the per-tenant counts of a page.

Which sessions are active is `selectors.status_q_across_tenants` (built on `models.status_q`);
nothing here says it again.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower, TruncDay, TruncHour

from sessions_app.event_model import Event
from sessions_app.flags import FLAG_CODES
from sessions_app.models import DeviceType, RevocationReason, Session, SessionStatus
from sessions_app.selectors import status_q_across_tenants
from tenants_app.models import User

RECENT = timedelta(hours=24)
TOP_COUNTRIES = 5


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
    tenant_ids = None if tenant_id is None else [tenant_id]
    active = sessions.filter(status_q_across_tenants(SessionStatus.ACTIVE, now=now, tenant_ids=tenant_ids))
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
    active = status_q_across_tenants(SessionStatus.ACTIVE, now=now, tenant_ids=tenant_ids)
    rows = Session.objects.filter(active).order_by().values("tenant").annotate(n=Count("pk"))
    return {row["tenant"]: row["n"] for row in rows}


def user_counts(tenant_ids: list[str]) -> dict[str, int]:
    """Users per tenant, for a page of tenants: one GROUP BY query."""
    rows = User.objects.filter(tenant_id__in=tenant_ids).order_by().values("tenant").annotate(n=Count("pk"))
    return {row["tenant"]: row["n"] for row in rows}


def users_matching_email(term: str) -> QuerySet[User]:
    """Users whose email starts with `term` ("alice", "alice@", "alice@example.com"), in lower case.

    A prefix, "@" included: `alice@` lists alice@example.com and alice@example.org. LOWER(email)
    is the expression the unique index covers; a LIKE 'prefix%' on it is a range scan of it.
    """
    term = term.strip().lower()
    return User.objects.annotate(email_lower=Lower("email")).filter(email_lower__startswith=term)


def active_among(sessions: QuerySet[Session], *, now: datetime) -> int:
    """How many of `sessions` are active: what a revocation of them would end (one COUNT)."""
    return sessions.order_by().filter(status_q_across_tenants(SessionStatus.ACTIVE, now=now)).count()


def active_of_users(user_ids: QuerySet[User] | list[str], *, now: datetime) -> int:
    """How many active sessions these users hold: what signing them out everywhere would end."""
    return active_among(Session.objects.filter(user__in=user_ids), now=now)


@dataclass(frozen=True)
class Series:
    """Counts per time bucket: `buckets` are the start of each; `counts[key][i]` the count in bucket i.

    The key is "" for a plain count, or a revocation reason for revocations by reason.
    """

    buckets: list[datetime]
    step: timedelta
    counts: dict[str, list[int]]


def _buckets(*, now: datetime, step: timedelta, n: int) -> list[datetime]:
    if step == timedelta(hours=1):
        last = now.replace(minute=0, second=0, microsecond=0)
    else:
        last = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return [last - step * (n - 1 - i) for i in range(n)]


def _series(sessions: QuerySet[Session], *, field_name: str, buckets: list[datetime], step: timedelta,
            by: str | None = None) -> dict[str, list[int]]:
    """One GROUP BY (bucket[, by]) query over `field_name` in [first bucket, last bucket + step)."""
    trunc = TruncHour if step == timedelta(hours=1) else TruncDay
    rows = (sessions.filter(**{f"{field_name}__gte": buckets[0], f"{field_name}__lt": buckets[-1] + step})
            .order_by().annotate(bucket=trunc(field_name, tzinfo=UTC))
            .values("bucket", *([by] if by else [])).annotate(n=Count("pk")))
    index = {bucket: i for i, bucket in enumerate(buckets)}
    counts: dict[str, list[int]] = {}
    for row in rows:
        key = row[by] if by else ""
        position = index.get(row["bucket"])
        if position is not None:
            counts.setdefault(key, [0] * len(buckets))[position] += row["n"]
    if not by:
        counts.setdefault("", [0] * len(buckets))
    return counts


@dataclass(frozen=True)
class Activity:
    """The dashboard's charts: sign-ins, revocations by reason and flagged sessions over one span."""

    sign_ins: Series
    revocations: Series
    flagged: Series


def activity(*, now: datetime, tenant_id: str | None, step: timedelta, n: int) -> Activity:
    """Three aggregate queries, whatever the number of sessions."""
    sessions = Session.objects.all() if tenant_id is None else Session.objects.filter(tenant_id=tenant_id)
    buckets = _buckets(now=now, step=step, n=n)
    # A flagged session counts in the bucket it started in: flags carry no time of their own. The same
    # test as the sessions list's risk flag filter ("any"), so a bar's link lists exactly its sessions.
    flagged_sessions = sessions.filter(flags__has_any_keys=list(FLAG_CODES))
    flagged = Series(buckets, step, _series(flagged_sessions, field_name="created_at", buckets=buckets, step=step))
    return Activity(
        sign_ins=Series(buckets, step, _series(sessions, field_name="created_at", buckets=buckets, step=step)),
        revocations=Series(buckets, step, _series(sessions, field_name="revoked_at", buckets=buckets, step=step,
                                                  by="revoked_reason")),
        flagged=flagged,
    )


@dataclass(frozen=True)
class EventLine:
    """One line of a session's or a user's event history, as the console shows it."""

    public_id: str
    created_at: datetime
    type: str
    actor_type: str  # user, api_key, operator or system
    actor_id: str | None  # a user or API key id, an operator's username; None for the system
    session_id: str | None
    data: dict


HISTORY_LIMIT = 50


def event_history(*, session_id: str | None = None, user_id: str | None = None,
                  limit: int = HISTORY_LIMIT) -> list[EventLine]:
    """The newest `limit` events about a session or a user, newest first (indexed: event_session_seq /
    event_user_seq)."""
    events = Event.objects.all()
    if session_id is not None:
        events = events.filter(session_id=session_id)
    if user_id is not None:
        events = events.filter(user_id=user_id)
    rows = events.order_by("-seq").values_list("public_id", "created_at", "type", "actor_type", "actor_id",
                                                "session_id", "data")[:limit]
    return [EventLine(*row) for row in rows]
