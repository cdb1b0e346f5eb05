"""Sections 2 and 3: listing and revoke-all as one user's sessions grow, and as the table grows.

Listing is GET /v1/sessions by the user (first page, default limit); revoke-all is
DELETE /v1/sessions?user_id=… by the tenant's backend. Each is timed through the whole stack and
its statements are counted and their plans read, so a query per row or a full-table scan shows.
"""

from collections.abc import Callable
from typing import Any

from bench.fixtures import BenchTenant, user_with_sessions
from bench.measure import Queries, median, queries_of, seconds_per_call, uses_full_scan
from bench.wsgi_client import Reply, WsgiClient
from sessions_app.models import Session


def _counts(queries: Queries) -> dict[str, int]:
    """All statements, and those on the sessions table apart: the API key's usage stamp (written
    at most once a minute) lands in some calls and not others, and is not what scales."""
    return {"queries": queries.total, "writes": queries.writes, "session_queries": len(queries.on_sessions),
            "session_writes": queries.session_writes,
            "full_scans": sum(uses_full_scan(s) for s in queries.on_sessions)}


def listing(tenant: BenchTenant, count: int, *, repeat: int) -> dict[str, Any]:
    _, token = user_with_sessions(tenant, count)
    client = WsgiClient(bearer=token, tenant_id=tenant.tenant.id)
    reply = client.get("/v1/sessions")
    if reply.status != 200 or reply.json()["pagination"]["total"] != count:
        raise RuntimeError(f"listing {count} sessions answered {reply.status}: {reply.body[:200]!r}")
    queries = queries_of(lambda: client.get("/v1/sessions"))
    timings = seconds_per_call(lambda: client.get("/v1/sessions"), repeat)
    return {
        "sessions_of_user": count, "ms_per_call": round(median(timings) * 1000, 2),
        **_counts(queries),
    }


def revoke_all(tenant: BenchTenant, count: int, *, repeat: int) -> dict[str, Any]:
    """Each call revokes a fresh user's `count` sessions (revoking twice would touch nothing):
    `repeat` timed calls, then one more whose statements are counted."""
    admin = WsgiClient(bearer=tenant.secret_key, tenant_id=tenant.tenant.id)

    def revoke_fresh_user(measure: Callable[[Callable[[], object]], object], *, stamp_key: bool = False) -> object:
        user, _ = user_with_sessions(tenant, count)
        if stamp_key:
            # The key's last_used_at is written on its first request a minute after the last write
            # (tenants_app.services.record_key_use). Making 10,000 sessions takes 10-20 s, so the
            # counted call landed either side of that minute and showed a second write in some runs
            # and not others. One request just before takes the stamp out of the count: it is not a
            # cost of revoking, and the session statements are what this table is about.
            stamped = admin.get("/v1/admin/config")
            if stamped.status != 200:
                raise RuntimeError(f"GET /v1/admin/config answered {stamped.status}: {stamped.body[:200]!r}")
        replies: list[Reply] = []
        measured = measure(lambda: replies.append(admin.delete("/v1/sessions", query=f"user_id={user.pk}")))
        if replies[0].status != 200 or replies[0].json() != {"revoked": count}:
            raise RuntimeError(f"revoke-all of {count} answered {replies[0].status}: {replies[0].body[:200]!r}")
        if Session.objects.filter(user=user, revoked_at__isnull=True).exists():
            raise RuntimeError(f"revoke-all of {count} left sessions active")
        return measured

    timings = [revoke_fresh_user(lambda call: seconds_per_call(call, 1)[0]) for _ in range(repeat)]
    counted = revoke_fresh_user(queries_of, stamp_key=True)
    return {
        "sessions_of_user": count, "ms_per_call": round(median(timings) * 1000, 2),
        "us_per_session": round(median(timings) * 1e6 / count, 1),
        **_counts(counted),
    }
