"""The service's Prometheus metrics, and the hooks through which components add their own.

Counters and histograms are prometheus-client's; under gunicorn they are written to files in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode, chosen by that variable when the
process starts), so `GET /metrics` on any worker answers the sum over every worker.

Rules count where they decide, one line each: `@counted(SIGN_INS)` on `sign_in`, `@counted(REFRESHES)`
on `refresh_session`, `@counted(ACCESS_CHECKS, ...)` on `use_session`, and `_revoke` adds the sessions
it ended to REVOCATIONS. A component whose figures are read, not counted (the active sessions, a
worker's queue lag, a listener's lag), registers a collector from its AppConfig.ready():

    from hellojohn_project import metrics
    metrics.register_collector("webhooks", collect_webhook_metrics)  # yields prometheus Metric families

Collectors run on every scrape, in the scraping process, so they must be cheap (read a cached value).
"""

import logging
import re
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

logger = logging.getLogger("hellojohn.metrics")

P = ParamSpec("P")
R = TypeVar("R")

REQUESTS = Counter("hj_http_requests", "HTTP requests answered, by route (the URL pattern), method and status.",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram(
    "hj_http_request_duration_seconds", "Time from the request's arrival in Django to its answer, by route, "
    "method and status.", ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
ACCESS_CHECKS = Counter("hj_access_checks", "Session checks of an access token or a page cookie: outcome is "
                        "`accepted` or the refusal's error code; source is where the session was read: "
                        "`memory`, `database`, or `token` (the token itself refused).",
                        ["outcome", "source"])
SIGN_INS = Counter("hj_sign_ins", "Sign-ins: `succeeded` or the refusal's error code.", ["outcome"])
REFRESHES = Counter("hj_refreshes", "Refresh-token rotations: `succeeded` or the refusal's error code.",
                    ["outcome"])
WEBHOOK_ATTEMPTS = Counter("hj_webhook_attempts", "Webhook delivery attempts, by the status they left the "
                           "delivery in: `succeeded`, `failed` (will be retried) or `permanently_failed`.",
                           ["status"])
REVOCATIONS = Counter("hj_sessions_revoked", "Sessions revoked, by revocation reason.", ["reason"])

SUCCESS = "succeeded"


def outcome_of(exc: BaseException) -> str:
    """A domain error's contract code (`invalid_credentials`), else its class name in snake case."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def counted(counter: Counter, *, success: str = SUCCESS, **labels: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Counts each call of the decorated rule under `outcome`: `success`, or the error it raised."""

    def decorate(rule: Callable[P, R]) -> Callable[P, R]:
        @wraps(rule)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                result = rule(*args, **kwargs)
            except Exception as exc:
                counter.labels(outcome=outcome_of(exc), **labels).inc()
                raise
            counter.labels(outcome=success, **labels).inc()
            return result

        return call

    return decorate


CollectorFunction = Callable[[], Iterable[Metric]]

_collectors: dict[str, CollectorFunction] = {}


def register_collector(name: str, collect: CollectorFunction) -> None:
    """Adds (or replaces) a collector run on every scrape; see the module's docstring."""
    _collectors[name] = collect


def unregister_collector(name: str) -> None:
    _collectors.pop(name, None)


class RegisteredCollectors:
    """prometheus-client's collector interface over the registered functions.

    A collector that fails (its database is down, say) is left out of this scrape and reported as
    `hj_metrics_collector_up{collector=...} 0`; the rest of the scrape still answers.
    """

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("hj_metrics_collector_up", "1 when the registered collector answered this scrape.",
                               labels=["collector"])
        for name, collect in list(_collectors.items()):
            try:
                families = list(collect())
            except Exception as exc:
                logger.warning("metrics collector %s failed: %s", name, exc,
                               extra={"event": "metrics.collector_failed", "collector": name})
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up

    def describe(self) -> list[Any]:
        return []  # not known before a scrape; prometheus-client then skips its duplicate check
