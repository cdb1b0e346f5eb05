"""DRF adapter of `sessions_app.rate_limits` for the credential endpoints: sign-in, sign-up, refresh.

Over a limit the call answers `docs/api.md` section 13's 429 `rate_limited` with Retry-After and
X-RateLimit-* headers. Each view has one throttle that counts all of its scopes in one
`rate_limits.hit_all` call (one statement on PostgreSQL), per address first: an attempt refused per
address is not counted against the key or the email behind it. Each kind only picks its key from the
request; the counting, the keys' shape and the rates are the rate-limit module's.
"""

from collections.abc import Callable
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from hellojohn_project.api.errors import ApiError
from sessions_app import rate_limits
from sessions_app.device import client_ip


class RateLimited(ApiError):
    status_code = 429
    default_code = "rate_limited"
    default_detail = "Too many requests; retry later."


class ContractThrottle(BaseThrottle):
    """Counts the request against each `(scope, its key)` in order; over a limit it answers the 429 itself."""

    scopes: tuple[tuple[str, Callable[[Request], str | None]], ...]

    def allow_request(self, request: Request, view: Any) -> bool:
        refusal = rate_limits.hit_all(*((scope, key_of(request)) for scope, key_of in self.scopes))
        if refusal is None:
            return True
        raise RateLimited(headers={
            "Retry-After": str(refusal.retry_after),
            "X-RateLimit-Limit": str(refusal.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(refusal.reset_at),
        })


def _tenant_id(request: Request) -> str:
    principal = getattr(request, "user", None)
    tenant = getattr(principal, "tenant", None)
    return tenant.id if tenant is not None else "-"


class Kind:
    """What a request is counted under in one scope; the scope is the view's name and this class's, lowercased."""

    @staticmethod
    def key(request: Request) -> str | None:
        raise NotImplementedError


class PerIp(Kind):
    @staticmethod
    def key(request: Request) -> str | None:
        return rate_limits.address_key(_tenant_id(request), client_ip(request)[0])


class PerKey(Kind):
    @staticmethod
    def key(request: Request) -> str | None:
        api_key = getattr(getattr(request, "user", None), "api_key", None)
        return rate_limits.api_key_key(api_key.id) if api_key is not None else None


class PerEmail(Kind):
    @staticmethod
    def key(request: Request) -> str | None:
        email = request.data.get("email") if isinstance(request.data, dict) else None
        return rate_limits.email_key(_tenant_id(request), email) if isinstance(email, str) else None


def throttles(scope: str, *kinds: type[Kind]) -> list[type[ContractThrottle]]:
    """The view's `throttle_classes`: one throttle counting `kinds` in the order given (`sign_in_perip`, ...)."""
    scopes = tuple((f"{scope}_{kind.__name__.lower()}", kind.key) for kind in kinds)
    name = "".join(kind.__name__ for kind in kinds)
    return [type(f"{name}_{scope}", (ContractThrottle,), {"scopes": scopes})]


SignInThrottles = throttles("sign_in", PerIp, PerEmail)
SignUpThrottles = throttles("sign_up", PerIp, PerKey)
RefreshThrottles = throttles("refresh", PerIp, PerKey)
