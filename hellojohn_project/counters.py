"""Atomic fixed-window counters shared by every process: Redis when the cache is Redis, else the database.

Rate limits count here (docs/api.md section 13, 429 `rate_limited`). Django's cache API cannot do it
for the database cache, whose `incr` is a read then a write: two processes read 9 and both write 10.
Each `hit` is one atomic step instead: Redis INCR + EXPIRE NX in a MULTI (Redis 7 or later), or on the database one
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` (PostgreSQL, and SQLite 3.35 or later), which locks
the row, so N parallel hits always answer the counts 1..N.
"""

import hashlib
import random
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import DEFAULT_DB_ALIAS, connections

# About one hit in this many also deletes counters whose window has ended, so the table stays small.
_SWEEP_ONE_IN = 500

# On conflict the SET expressions read the row as it is under the lock, not as a snapshot saw it.
_UPSERT = """
    INSERT INTO hj_rate_counter (digest, count, window_ends_at) VALUES (%s, 1, %s)
    ON CONFLICT (digest) DO UPDATE SET
        count = CASE WHEN hj_rate_counter.window_ends_at <= %s THEN 1 ELSE hj_rate_counter.count + 1 END,
        window_ends_at = CASE WHEN hj_rate_counter.window_ends_at <= %s THEN excluded.window_ends_at
                              ELSE hj_rate_counter.window_ends_at END
    RETURNING count, window_ends_at
"""
_SWEEP = "DELETE FROM hj_rate_counter WHERE window_ends_at <= %s"


@dataclass(frozen=True)
class Hit:
    count: int  # this hit included
    resets_at: float  # epoch seconds when the window ends and counting starts again at 1


def hit(key: str, window_seconds: int, *, now: float | None = None) -> Hit:
    """Counts one attempt under `key` in a window of `window_seconds` opened by the first attempt."""
    now = time.time() if now is None else now
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return _hit_redis(cache, key, window_seconds, now)
    return _hit_database(key, window_seconds, now)


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
        if random.randrange(_SWEEP_ONE_IN) == 0:  # noqa: S311 (spreading work, not a secret)
            cursor.execute(_SWEEP, [now])
    return Hit(count=int(count), resets_at=float(resets_at))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
