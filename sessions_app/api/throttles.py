"""Rate limits on the credential endpoints (docs/api.md section 13: 429 `rate_limited` with
Retry-After and X-RateLimit-* headers).

Counted atomically in hellojohn_project.counters (the database, or Redis with REDIS_URL), so every
app process shares one count.
"""

import hashlib
import math
from typing import Any

from rest_framework.request import Request

from hellojohn_project.api.errors import ApiError
from hellojohn_project.counted_throttle import CountedRateThrottle
from sessions_app.device import client_ip


class RateLimited(ApiError):
    status_code = 429
    default_code = "rate_limited"
    default_detail = "Too many requests; retry later."


class ContractThrottle(CountedRateThrottle):
    """SimpleRateThrottle that answers the contract's 429 itself, with its headers."""

    def get_ident(self, request: Request) -> str:  # the client address as device metadata sees it
        return client_ip(request)[0] or "unknown"

    def scope_key(self, request: Request) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = self.scope_key(request)
        return None if key is None else self.cache_format % {"scope": self.scope, "ident": key}

    def allow_request(self, request: Request, view: Any) -> bool:
        if super().allow_request(request, view):
            return True
        wait = max(1, math.ceil(self.wait() or 1))
        raise RateLimited(headers={
            "Retry-After": str(wait),
            "X-RateLimit-Limit": str(self.num_requests),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(math.ceil(self.now + wait)),
        })


def _tenant_id(request: Request) -> str:
    principal = getattr(request, "user", None)
    tenant = getattr(principal, "tenant", None)
    return tenant.id if tenant is not None else "-"


class PerIp(ContractThrottle):
    def scope_key(self, request: Request) -> str | None:
        return f"{_tenant_id(request)}:{self.get_ident(request)}"


class PerKey(ContractThrottle):
    def scope_key(self, request: Request) -> str | None:
        api_key = getattr(getattr(request, "user", None), "api_key", None)
        return api_key.id if api_key is not None else None


class PerEmail(ContractThrottle):
    def scope_key(self, request: Request) -> str | None:
        email = request.data.get("email") if isinstance(request.data, dict) else None
        if not isinstance(email, str):
            return None
        # Hashed: any string a client sends becomes a short, safe cache key (memcached refuses spaces,
        # control characters and keys over 250 bytes), and addresses stay out of the cache.
        digest = hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
        return f"{_tenant_id(request)}:{digest}"


def throttles(scope: str, *kinds: type[ContractThrottle]) -> list[type[ContractThrottle]]:
    return [type(f"{kind.__name__}_{scope}", (kind,), {"scope": f"{scope}_{kind.__name__.lower()}"}) for kind in kinds]


SignInThrottles = throttles("sign_in", PerIp, PerEmail)
SignUpThrottles = throttles("sign_up", PerIp, PerKey)
RefreshThrottles = throttles("refresh", PerIp, PerKey)
