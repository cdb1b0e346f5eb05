"""The read replica as this process sees it: configured or not, usable now or not, how far behind; its metrics.

The router (hellojohn_project/db_router.py) asks `usable()` before a lag-tolerant read. A replica is
left alone for HJ_REPLICA_RETRY_SECONDS after it failed (it could not be reached, or a query broke
on it), so a replica that is down costs one refused connection per process per back-off, not one
per request; and it is skipped while it is further behind than HJ_REPLICA_MAX_LAG_SECONDS, as it
measures itself (at most once a second per process). Readiness (`/readyz`) does not look at it:
while it is down the reads it served go to the primary, and the process is still ready.
"""

import logging
import math
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

logger = logging.getLogger("hellojohn.replica")

ALIAS = "replica"
LAG_CACHE_SECONDS = 1.0
# Bytes received but not yet replayed, and the age of the last replayed transaction while some are
# (a caught-up replica of an idle primary is 0 s behind, however old its last transaction).
LAG_SQL = """
    SELECT COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint,
           CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
                ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8
"""


@dataclass(frozen=True)
class Lag:
    bytes: int
    seconds: float


@dataclass
class _State:
    failed_until: float = 0.0
    measured_at: float = -math.inf
    lag: Lag | None = None


_state = _State()


def _database(alias: str) -> tuple[object, ...]:
    found = connections[alias].settings_dict
    return found["HOST"], str(found["PORT"]), found["NAME"]


def configured() -> bool:
    """A replica alias that is another database than `default` (a test mirror of default is not)."""
    return ALIAS in connections.settings and _database(ALIAS) != _database(DEFAULT_DB_ALIAS)


def mark_failed() -> None:
    """Reads stay on the primary for HJ_REPLICA_RETRY_SECONDS; the broken connection is dropped."""
    if time.monotonic() >= _state.failed_until:
        logger.warning("read replica unavailable; reading from the primary for %s s", settings.HJ_REPLICA_RETRY_SECONDS,
                       extra={"event": "replica.unavailable"})
    _state.failed_until = time.monotonic() + settings.HJ_REPLICA_RETRY_SECONDS
    _state.lag = None
    with suppress(Exception):
        connections[ALIAS].close()


def current_lag() -> Lag:
    """The replica's own measure of its lag, at most LAG_CACHE_SECONDS old; raises DatabaseError if it is down."""
    now = time.monotonic()
    if _state.lag is None or now - _state.measured_at >= LAG_CACHE_SECONDS:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(LAG_SQL)
            lag_bytes, lag_seconds = cursor.fetchone()
        _state.lag, _state.measured_at = Lag(bytes=int(lag_bytes), seconds=float(lag_seconds)), now
    return _state.lag


def usable() -> bool:
    """Whether a lag-tolerant read may go to the replica now (connecting to it if need be)."""
    if not configured() or time.monotonic() < _state.failed_until:
        return False
    try:
        connections[ALIAS].ensure_connection()
        max_lag = settings.HJ_REPLICA_MAX_LAG_SECONDS
        return max_lag <= 0 or current_lag().seconds <= max_lag
    except DatabaseError:
        mark_failed()
        return False


def collect() -> Iterator[Metric]:
    """hj_replica_up, and while it is up hj_replica_lag_seconds and hj_replica_lag_bytes (a metrics collector)."""
    up = GaugeMetricFamily("hj_replica_up", "1 when the read replica answers; 0 while its reads go to the primary.")
    if not configured():
        return
    lag = None
    if time.monotonic() >= _state.failed_until:
        try:
            lag = current_lag()
        except DatabaseError:
            mark_failed()
    up.add_metric([], 1 if lag is not None else 0)
    yield up
    if lag is not None:
        yield GaugeMetricFamily("hj_replica_lag_seconds", "How far the replica's replay is behind, in seconds "
                                "(age of its last replayed transaction while WAL waits to be replayed).",
                                value=lag.seconds)
        yield GaugeMetricFamily("hj_replica_lag_bytes", "WAL the replica has received but not yet replayed, in bytes.",
                                value=lag.bytes)
