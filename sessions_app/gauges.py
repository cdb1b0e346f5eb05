"""The active-sessions gauge of `GET /metrics`: one count across tenants, cached in the shared cache.

A scrape reads the cached figure; only when it is older than HJ_METRICS_ACTIVE_SESSIONS_SECONDS does
one process run the count again (selectors.count_active_sessions), so the table is counted about once
a period whatever the number of scrapers, workers or tenants.
"""

import time
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from sessions_app.selectors import count_active_sessions

CACHE_KEY = "hj-metrics-active-sessions"


def active_sessions() -> tuple[int, float]:
    """The count and when it was taken (epoch seconds), from the cache or counted now."""
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        return cached
    figure = (count_active_sessions(now=timezone.now()), time.time())
    cache.set(CACHE_KEY, figure, timeout=settings.HJ_METRICS_ACTIVE_SESSIONS_SECONDS)
    return figure


def collect_active_sessions() -> Iterator[Metric]:
    count, taken_at = active_sessions()
    yield GaugeMetricFamily("hj_active_sessions", "Active sessions across every tenant (cached count).",
                            value=count)
    yield GaugeMetricFamily("hj_active_sessions_counted_at_seconds",
                            "When hj_active_sessions was counted (Unix time).", value=taken_at)
