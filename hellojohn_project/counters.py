"""Atomic fixed-window counters shared by every process: Redis when the cache is Redis, else the database.

Rate limits count here (docs/api.md section 13, 429 `rate_limited`). Django's cache API cannot do it
for the database cache, whose `incr` is a read then a write: two processes read 9 and both write 10.
Each `hit` is one atomic step instead: Redis INCR + EXPIRE NX in a MULTI (Redis 7 or later), or on the database one
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` (PostgreSQL, and SQLite 3.35 or later), which locks
the row, so N parallel hits always answer the counts 1..N.

`hit_in_order` counts a request's several limits (per address, then per key) in order and stops after
the first one over its limit. On PostgreSQL that is one statement, a chain of data-modifying CTEs each
counting only when the previous count is within its limit; SQLite allows no INSERT in a CTE and Redis
is a round trip to another server anyway, so there it is one `hit` after another.
"""

import hashlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorWrapper

from hellojohn_project.postgresql import statement_cursor

# About one call in this many also deletes counters whose window has ended, so the table stays small.
_SWEEP_ONE_IN = 500

# On conflict the SET expressions read the row as it is under the lock, not as a snapshot saw it.
_ON_CONFLICT = """
    ON CONFLICT (digest) DO UPDATE SET
        count = CASE WHEN hj_rate_counter.window_ends_at <= %s THEN 1 ELSE hj_rate_counter.count + 1 END,
        window_ends_at = CASE WHEN hj_rate_counter.window_ends_at <= %s THEN excluded.window_ends_at
                              ELSE hj_rate_counter.window_ends_at END
    RETURNING count, window_ends_at
"""
# Every value is a parameter: the text is built only from this module's constants and CTE names (S608).
_UPSERT = "INSERT INTO hj_rate_counter (digest, count, window_ends_at) VALUES (%s, 1, %s)" + _ON_CONFLICT  # noqa: S608
# Attempt n of a chain (PostgreSQL): inserts a row only when attempt n - 1 answered a count within its
# limit, so an attempt refused per address is not counted against the key behind it.
_CHAINED_UPSERT = ("INSERT INTO hj_rate_counter (digest, count, window_ends_at) "  # noqa: S608
                   "SELECT %s, 1, %s FROM {previous} WHERE {previous}.count <= %s" + _ON_CONFLICT)
_SWEEP = "DELETE FROM hj_rate_counter WHERE window_ends_at <= %s"
# On PostgreSQL the sweep takes only the rows nobody holds: a request's chain (`hit_in_order`) holds
# one counter while it waits for the next, and a sweep that held the next while waiting for the
# first would deadlock with it. A row skipped now is swept by a later hit.
_SWEEP_POSTGRESQL = ("DELETE FROM hj_rate_counter WHERE digest IN (SELECT digest FROM hj_rate_counter "
                     "WHERE window_ends_at <= %s FOR UPDATE SKIP LOCKED)")


@dataclass(frozen=True)
class Hit:
    count: int  # this hit included
    resets_at: float  # epoch seconds when the window ends and counting starts again at 1


class Attempt(NamedTuple):
    """One limit a request is counted against."""

    key: str
    window_seconds: int
    limit: int  # the count at or under which the next attempt of a chain is counted too


def hit(key: str, window_seconds: int, *, now: float | None = None) -> Hit:
    """Counts one attempt under `key` in a window of `window_seconds` opened by the first attempt."""
    now = time.time() if now is None else now
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return _hit_redis(cache, key, window_seconds, now)
    return _hit_database(key, window_seconds, now)


def hit_in_order(attempts: Sequence[Attempt], *, now: float | None = None) -> list[Hit]:
    """Counts `attempts` in order, stopping after the first whose count is over its limit.

    Answers the hits counted, in order: as many as `attempts` when none was over its limit, else up to
    and including the one that was (the last). Keys must be distinct, and callers should name shared
    keys in the same order (address before key), so two requests lock the rows in the same order.
    One statement on PostgreSQL; one `hit` after another on SQLite and on Redis.
    """
    if len({attempt.key for attempt in attempts}) != len(attempts):
        raise ValueError("each key may be counted once per call")
    now = time.time() if now is None else now
    cache = caches["default"]
    if isinstance(cache, RedisCache) or connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        hits: list[Hit] = []
        for attempt in attempts:
            hits.append(hit(attempt.key, attempt.window_seconds, now=now))
            if hits[-1].count > attempt.limit:
                break
        return hits
    return _hit_chain_postgresql(attempts, now)


def _hit_redis(cache: RedisCache, key: str, window_seconds: int, now: float) -> Hit:
    name = cache.make_and_validate_key(f"hj-counter:{_digest(key)}")
    client = cache._cache.get_client(name, write=True)
    pipeline = client.pipeline(transaction=True)
    pipeline.incr(name)
    pipeline.expire(name, window_seconds, nx=True)  # only the hit that created the key opens a window
    pipeline.pttl(name)
    count, _, ttl_ms = pipeline.execute()
    return Hit(count=int(count), resets_at=now + max(ttl_ms, 0) / 1000)


def _hit_database(key: str, window_seconds: int, now: float) -> Hit:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_UPSERT, [_digest(key), now + window_seconds, now, now])
        count, resets_at = cursor.fetchone()
        _maybe_sweep(cursor, now)
    return Hit(count=int(count), resets_at=float(resets_at))


def _hit_chain_postgresql(attempts: Sequence[Attempt], now: float) -> list[Hit]:
    """One statement: CTE n counts attempt n when CTE n - 1 answered a count within its limit.

    The CTEs share one snapshot, but each reads its predecessor's RETURNING row, which the
    predecessor's ON CONFLICT computed under its row lock: the order and the atomicity of `hit`.
    """
    if not attempts:
        return []
    parts, params, answers = [], [], []
    for n, attempt in enumerate(attempts):
        ends_at = now + attempt.window_seconds
        if n == 0:
            parts.append(f"a0 AS ({_UPSERT})")
            params += [_digest(attempt.key), ends_at, now, now]
        else:
            parts.append(f"a{n} AS ({_CHAINED_UPSERT.format(previous=f'a{n - 1}')})")
            params += [_digest(attempt.key), ends_at, attempts[n - 1].limit, now, now]
        answers.append(f"SELECT {n} AS n, count, window_ends_at FROM a{n}")  # noqa: S608
    sql = f"WITH {', '.join(parts)} {' UNION ALL '.join(answers)}"
    with statement_cursor(connections[DEFAULT_DB_ALIAS]) as cursor:
        cursor.execute(sql, params)
        rows = sorted(cursor.fetchall())
        _maybe_sweep(cursor, now)
    return [Hit(count=int(count), resets_at=float(resets_at)) for _, count, resets_at in rows]


def _maybe_sweep(cursor: CursorWrapper, now: float) -> None:
    if random.randrange(_SWEEP_ONE_IN) == 0:  # noqa: S311 (spreading work, not a secret)
        sweep(cursor, now)


def sweep(cursor: CursorWrapper, now: float) -> None:
    """Deletes the counters whose window ended before `now` (on PostgreSQL, those no request holds)."""
    cursor.execute(_SWEEP_POSTGRESQL if cursor.db.vendor == "postgresql" else _SWEEP, [now])


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
