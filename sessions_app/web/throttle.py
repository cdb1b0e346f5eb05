"""Rate limit of the sign-in form: per client address and per email, through `sessions_app.rate_limits`.

The rate is `HJ_RATE_LIMITS["web_sign_in"]`, applied to each key separately, so one address cannot
try many accounts and many addresses cannot hammer one. The keys are the rate-limit module's, the
email hashed as the API's is.
"""

from django.http import HttpRequest

from sessions_app import rate_limits
from sessions_app.device import client_ip
from tenants_app.models import Tenant


def sign_in_retry_after(request: HttpRequest, *, tenant: Tenant, email: str) -> int | None:
    """Records one sign-in attempt; answers the seconds to wait when it is over the limit, else None."""
    refusal = rate_limits.hit_all(
        ("web_sign_in", rate_limits.address_key(tenant.id, client_ip(request)[0])),
        ("web_sign_in", rate_limits.email_key(tenant.id, email)),
    )
    return None if refusal is None else refusal.retry_after
