"""Rate limit of the sign-in form: per client address and per email, shared by every process.

hellojohn_project.counters does the counting (an atomic fixed window per key); the page only
chooses the keys. The rate is `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["web_sign_in"]`, applied to
each key separately, so one address cannot try many accounts and many addresses cannot hammer one.
"""

import math
from typing import Any

from django.http import HttpRequest

from hellojohn_project.counted_throttle import CountedRateThrottle
from sessions_app.device import client_ip
from tenants_app.models import Tenant


class _SignInKey(CountedRateThrottle):
    scope = "web_sign_in"

    def __init__(self, ident: str):
        super().__init__()
        self.ident = ident

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


def sign_in_retry_after(request: HttpRequest, *, tenant: Tenant, email: str) -> int | None:
    """Records one sign-in attempt; answers the seconds to wait when it is over the limit, else None."""
    keys = [
        _SignInKey(f"{tenant.id}:ip:{client_ip(request)[0] or 'unknown'}"),
        _SignInKey(f"{tenant.id}:email:{email.strip().lower()[:254]}"),
    ]
    for key in keys:
        if not key.allow_request(request, None):
            return max(1, math.ceil(key.wait() or 1))
    return None
