"""Rate limits for every face: count one attempt against its scopes' limits, keyed the same way everywhere.

`docs/api.md` section 13 ("Rate limits") is the contract. The API's sign-in, sign-up and refresh
(through `sessions_app/api/throttles.py`, a thin DRF adapter) and the page's sign-in form call
`hit_all` with keys built here, so an email is hashed the same way for both and a face never builds
a key of its own.

Counting is a fixed window per key that opens at the key's first attempt, counted by
`hellojohn_project.counters.hit_in_order`: on the database every process shares, atomic
`INSERT … ON CONFLICT DO UPDATE … RETURNING` (one statement for all of a request's scopes on
PostgreSQL, one per scope on SQLite), or INCR on Redis when REDIS_URL is set. So N parallel
attempts never let more than the limit through, in one process or across all of them (a cache's
get-then-set, as DRF's throttles and the database cache's `incr` do, would). Rates are read from
`settings.HJ_RATE_LIMITS` on every call ("10/min": a count per second, minute, hour or day).
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings

from hellojohn_project import counters
from sessions_app.services.accounts import canonical_email

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PREFIX = "hj:rate"


@dataclass(frozen=True)
class Refusal:
    """An attempt over a scope's limit: what the client is told (429, Retry-After, X-RateLimit-*)."""

    scope: str
    limit: int
    retry_after: int  # whole seconds, at least 1
    reset_at: int  # Unix time at which the window ends


def rate(scope: str) -> tuple[int, int]:
    """The scope's configured (count, window seconds), read now so a changed setting applies at once."""
    count, _, period = settings.HJ_RATE_LIMITS[scope].partition("/")
    return int(count), _PERIODS[period.strip()[0]]


def address_key(tenant_id: str, address: str | None) -> str:
    """The key of one client address within one tenant."""
    return f"{tenant_id}:ip:{address or 'unknown'}"


def email_key(tenant_id: str, email: str) -> str:
    """The key of one account's email within one tenant, spelled as accounts store it (`canonical_email`).

    Hashed: any string a client sends becomes a short, safe cache key (memcached refuses spaces,
    control characters and keys over 250 bytes), and addresses stay out of the cache."""
    digest = hashlib.sha256(canonical_email(email).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{tenant_id}:email:{digest}"


def api_key_key(api_key_id: str) -> str:
    """The key of one API key (its id names its tenant)."""
    return f"key:{api_key_id}"


def hit_all(*attempts: tuple[str, str | None]) -> Refusal | None:
    """Counts `(scope, key)` attempts in order and stops at the first refusal, which it answers; a None
    key is skipped (a body without a usable email still counts against its address).

    One call of `counters.hit_in_order`, so one statement on PostgreSQL however many scopes; an attempt
    refused by an earlier scope is not counted against the later ones (an address over its limit does
    not spend its key's)."""
    counted = [(scope, key, *rate(scope)) for scope, key in attempts if key is not None]
    now = time.time()
    hits = counters.hit_in_order([counters.Attempt(f"{_PREFIX}:{scope}:{key}", window, limit)
                                  for scope, key, limit, window in counted], now=now)
    if not hits:
        return None
    (scope, _, limit, _), last = counted[len(hits) - 1], hits[-1]
    if last.count <= limit:
        return None
    retry_after = max(1, math.ceil(last.resets_at - now))
    return Refusal(scope=scope, limit=limit, retry_after=retry_after, reset_at=math.ceil(now + retry_after))
