"""Per-tenant CORS: tells django-cors-headers whether a request's Origin may read the answer.

django-cors-headers answers preflights and writes the Access-Control-* headers; its documented
hook, the `check_request_enabled` signal, is asked here for the origin decision (docs/api.md,
"Cross-origin calls (CORS)"):

- only the publishable-key and access-token routes (settings.CORS_URLS_REGEX) are ever allowed;
  secret-key routes never grant a cross-origin read;
- a preflight names no tenant (browsers send no X-Tenant-ID value on it), so it is allowed when
  some active tenant lists the origin;
- the real request is allowed when the tenant in its X-Tenant-ID lists the origin, also when the
  answer is an error envelope, so the page can read the error; a request without X-Tenant-ID is
  judged like a preflight, so the page can read its 400 missing_tenant_id.
"""

import re
from typing import Any

from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest

from hellojohn_project.api.principal import Principal
from tenants_app.models import Tenant
from tenants_app.origin_selectors import allowed_origins_of_tenant, origins_of_any_tenant

BROWSER_ROUTES = re.compile(settings.CORS_URLS_REGEX)


def is_preflight(request: HttpRequest) -> bool:
    return request.method == "OPTIONS" and "access-control-request-method" in request.headers


def origins_for_request(request: HttpRequest) -> frozenset[str]:
    """The origins of the tenant the request names: from its loaded credential when it has one (no query)."""
    # vars(), not request.user: before DRF authenticates, request.user is Django's lazy session user.
    principal = vars(request).get("user")
    if type(principal) is Principal and Tenant.config.is_cached(principal.tenant):
        return frozenset(principal.tenant.config.allowed_origins)
    tenant_id = request.headers.get("x-tenant-id", "").strip()
    return allowed_origins_of_tenant(tenant_id) if tenant_id else origins_of_any_tenant()


@receiver(check_request_enabled, dispatch_uid="hellojohn-tenant-origins")
def allow_tenant_origin(sender: Any, request: HttpRequest, **kwargs: Any) -> bool:
    if not BROWSER_ROUTES.match(request.path_info):
        return False
    origin = request.headers.get("origin")
    if not origin:
        return False
    return origin in (origins_of_any_tenant() if is_preflight(request) else origins_for_request(request))
