"""The figures `/metrics` and `/readyz` read from the database: active sessions and the webhook queue's lag.

Both are cached in the shared cache, so the database is read about once a period whatever the number
of scrapers, probes, workers or tenants.

Active sessions: one count across tenants, run again (selectors.count_active_sessions) only when the
cached figure is older than HJ_METRICS_ACTIVE_SESSIONS_SECONDS. The queue's lag: one read of the due
deliveries' index (webhooks.worker.queue_lag), at most every QUEUE_LAG_SECONDS.
"""

import time
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from hellojohn_project.health import Check
from sessions_app.selectors import count_active_sessions
from sessions_app.webhooks.worker import queue_lag

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


QUEUE_LAG_CACHE_KEY = "hj-metrics-webhook-queue-lag"
# Read again at most this often, whatever the number of probes and scrapers.
QUEUE_LAG_SECONDS = 5


def webhook_queue_lag() -> float:
    """Seconds the longest-waiting due webhook delivery has waited (webhooks.worker.queue_lag), cached briefly."""
    cached = cache.get(QUEUE_LAG_CACHE_KEY)
    if cached is not None:
        return cached
    lag = queue_lag(now=timezone.now()).total_seconds()
    cache.set(QUEUE_LAG_CACHE_KEY, lag, timeout=QUEUE_LAG_SECONDS)
    return lag


def collect_webhook_queue() -> Iterator[Metric]:
    yield GaugeMetricFamily("hj_webhook_queue_lag_seconds", "How long the longest-waiting due webhook delivery "
                            "has waited for the worker (0 when none is due).", value=webhook_queue_lag())


def worker_queue_check() -> Check:
    """Ready while the worker keeps up: due deliveries wait at most HJ_READY_MAX_QUEUE_LAG seconds (0: not checked)."""
    bound = settings.HJ_READY_MAX_QUEUE_LAG
    if not bound:
        return Check(ok=True, detail="not_checked")
    return Check(ok=True) if webhook_queue_lag() <= bound else Check(ok=False, detail="lag_over_bound")
