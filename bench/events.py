"""Section 3b: revoke-all with the event log, at 10 / 1,000 / 10,000 sessions.

The same call as section 3 (DELETE /v1/sessions?user_id=… by the tenant's backend, through the whole
stack), now writing one session.revoked event per session in the same transaction. Counted: every
statement, the UPDATEs of the sessions table and the INSERTs into the event log, which must be one
each at every size; timed: ms per call and µs per session, next to the numbers measured before the
event log existed (docs/benchmarks.md, 2026-11-27, section 3).
"""

from collections.abc import Callable
from typing import Any

from bench.fixtures import BenchTenant, user_with_sessions
from bench.measure import median, queries_of, seconds_per_call
from bench.wsgi_client import Reply, WsgiClient
from sessions_app.event_model import Event

EVENTS_TABLE = "sessions_app_event"
# µs per session of revoke-all before the event log (docs/benchmarks.md, measured 2026-11-27 16:36 UTC).
BEFORE_EVENTS_US_PER_SESSION = {
    "sqlite": {10: 540, 1_000: 32, 10_000: 47},
    "postgresql": {10: 738, 1_000: 95, 10_000: 111},
}


def revoke_all_with_events(tenant: BenchTenant, count: int, *, repeat: int, vendor: str) -> dict[str, Any]:
    """`repeat` timed revoke-alls of a fresh user's `count` sessions, then one counted."""
    admin = WsgiClient(bearer=tenant.secret_key, tenant_id=tenant.tenant.id)

    def revoke_fresh_user(measure: Callable[[Callable[[], object]], object]) -> object:
        user, _ = user_with_sessions(tenant, count)
        replies: list[Reply] = []
        measured = measure(lambda: replies.append(admin.delete("/v1/sessions", query=f"user_id={user.pk}")))
        if replies[0].status != 200 or replies[0].json() != {"revoked": count}:
            raise RuntimeError(f"revoke-all of {count} answered {replies[0].status}: {replies[0].body[:200]!r}")
        written = Event.objects.filter(user_id=user.pk, type="session.revoked").count()
        if written != count:
            raise RuntimeError(f"revoke-all of {count} wrote {written} events")
        return measured

    timings = [revoke_fresh_user(lambda call: seconds_per_call(call, 1)[0]) for _ in range(repeat)]
    counted = revoke_fresh_user(queries_of)
    sql = counted.sql
    us_per_session = median(timings) * 1e6 / count
    before = BEFORE_EVENTS_US_PER_SESSION.get(vendor, {}).get(count)
    return {
        "sessions_of_user": count, "ms_per_call": round(median(timings) * 1000, 2),
        "us_per_session": round(us_per_session, 1), "us_per_session_before_events": before,
        "queries": counted.total, "writes": counted.writes,
        "session_updates": sum(s.startswith('UPDATE "sessions_app_session"') for s in sql),
        "event_inserts": sum(s.startswith(f'INSERT INTO "{EVENTS_TABLE}"') for s in sql),
        "event_log_locks": sum("pg_advisory_xact_lock" in s for s in sql),
    }

