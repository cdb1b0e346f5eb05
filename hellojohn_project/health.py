"""Readiness checks: the database, the cache, and the checks other components register.

`GET /readyz` (hellojohn_project/health_views.py) runs every check and is ready only when all pass.
A component that a process depends on adds its own check from its AppConfig.ready(), e.g. the
worker's queue lag or the invalidation listener's freshness:

    from hellojohn_project import health
    health.register("worker_queue", check_queue_lag)   # answers Check(ok=..., detail=...)

A check answers quickly, reads nothing secret, and says why in `detail` (a short word, never an
address or a credential: the answer is public). An exception counts as a failure named by its class.
"""

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger("hellojohn.health")


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str = ""


CheckFunction = Callable[[], Check]

_registered: dict[str, CheckFunction] = {}


def register(name: str, check: CheckFunction) -> None:
    """Adds (or replaces) the readiness check `name`; run after the database and cache checks."""
    _registered[name] = check


def unregister(name: str) -> None:
    _registered.pop(name, None)


def database() -> Check:
    """One `SELECT 1` on the default connection; a broken connection is closed, so the next try reconnects."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        with suppress(Exception):
            connection.close()
        raise
    return Check(ok=True)


def cache() -> Check:
    """One read of the default cache (Redis, or the database's cache table)."""
    caches["default"].get("hj-readiness-probe")
    return Check(ok=True)


BUILT_IN: dict[str, CheckFunction] = {"database": database, "cache": cache}


def run_checks() -> dict[str, Check]:
    """Every check's answer by name: the built-in ones, then the registered ones."""
    results: dict[str, Check] = {}
    for name, check in {**BUILT_IN, **_registered}.items():
        try:
            results[name] = check()
        except Exception as exc:  # a check that cannot run is a failed check, never a 500
            logger.warning("readiness check %s failed: %s", name, exc,
                           extra={"event": "readiness.failed", "check": name})
            results[name] = Check(ok=False, detail=type(exc).__name__)
    return results
