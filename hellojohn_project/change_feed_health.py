"""The change feed seen from outside: `/readyz`'s listener check and `/metrics`' listener lag.

Readiness (per process): on PostgreSQL a process is ready only while its listener holds a fresh
lease, that is while it can show that what it remembers is current. Without one its checks still
work (they read the database, failing closed), so an unready process is slow, never wrong; but a
listener that cannot connect (say HJ_LISTENER_DATABASE_URL names a host this process cannot reach,
or the primary has no connection slot left) must be seen. The first probe starts the listener, as the
first access check would.

Lag (across processes): one read of `hellojohn_listener`, the row each live listener rewrites on
every read of the log: how many listeners read in the last minute, the oldest of their last reads,
and how far the furthest behind is from the log's end.
"""

from collections.abc import Iterator

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from hellojohn_project import change_feed
from hellojohn_project.health import Check

# A listener that has not read for this long is counted as gone (its process ended or froze).
LIVE_SECONDS = 60
LAG_CACHE_KEY = "hj-metrics-listener-lag"
LAG_CACHE_SECONDS = 2


def listener_check() -> Check:
    if not change_feed.enabled():
        return Check(ok=True, detail="not_used")  # SQLite: every check reads the database
    return Check(ok=True) if change_feed.fresh() else Check(ok=False, detail="stale")


def listener_lag() -> tuple[int, float, int]:
    """Live listeners, seconds since the least recent read among them, changes the furthest behind has
    not read; read at most every LAG_CACHE_SECONDS whatever the number of scrapers."""
    cached = cache.get(LAG_CACHE_KEY)
    if cached is not None:
        return cached
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(max(extract(epoch FROM clock_timestamp() - read_at)), 0), "
            "coalesce(max((SELECT coalesce(max(seq), 0) FROM hellojohn_change) - seq), 0) "
            "FROM hellojohn_listener WHERE read_at > clock_timestamp() - make_interval(secs => %s)",
            [LIVE_SECONDS])
        live, oldest_read, behind = cursor.fetchone()
    figure = (int(live), float(oldest_read), int(behind))
    cache.set(LAG_CACHE_KEY, figure, timeout=LAG_CACHE_SECONDS)
    return figure


def collect_listener_lag() -> Iterator[Metric]:
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return
    live, oldest_read, behind = listener_lag()
    yield GaugeMetricFamily("hj_listeners", "Invalidation listeners that read the change log in the last minute.",
                            value=live)
    yield GaugeMetricFamily("hj_listener_lag_seconds", "Seconds since the least recent read of any live "
                            "listener (each reads at least every 0.2 s).", value=oldest_read)
    yield GaugeMetricFamily("hj_listener_lag_changes", "Changes the furthest-behind live listener has not "
                            "read yet.", value=behind)
