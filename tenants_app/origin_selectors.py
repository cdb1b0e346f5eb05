"""Cached reads of the tenants' `allowed_origins`, for the CORS decision (docs/api.md, "Cross-origin calls").

Only cross-origin requests ask (a same-origin request carries no `Origin` header and never gets
here), and they ask on every request, preflights included: the answers live in Django's cache for
ORIGINS_CACHE_SECONDS in the cache every process shares (the database cache, or Redis with
REDIS_URL), and every change of a tenant's config or status clears them at once and again when it
commits, so a request that read the old list meanwhile cannot keep it cached.
"""

from django.core.cache import cache

from tenants_app.ids import is_valid_id
from tenants_app.models import Tenant, TenantConfig

ORIGINS_CACHE_SECONDS = 60
_ALL_KEY = "hj:cors:all"
_TENANT_KEY = "hj:cors:tenant:{}"


def allowed_origins_of_tenant(tenant_id: str) -> frozenset[str]:
    """The origins an active tenant allows; empty for an unknown, malformed or disabled tenant id."""
    if not is_valid_id(tenant_id, "tnt"):
        return frozenset()
    key = _TENANT_KEY.format(tenant_id)
    origins = cache.get(key)
    if origins is None:
        row = (TenantConfig.objects.filter(tenant_id=tenant_id, tenant__status=Tenant.Status.ACTIVE)
               .values_list("allowed_origins", flat=True).first())
        origins = frozenset(row or ())
        cache.set(key, origins, ORIGINS_CACHE_SECONDS)
    return origins


def origins_of_any_tenant() -> frozenset[str]:
    """Every origin some active tenant allows: what a preflight, which names no tenant, is checked against."""
    origins = cache.get(_ALL_KEY)
    if origins is None:
        rows = (TenantConfig.objects.filter(tenant__status=Tenant.Status.ACTIVE)
                .exclude(allowed_origins=[]).values_list("allowed_origins", flat=True))
        origins = frozenset(origin for row in rows for origin in row)
        cache.set(_ALL_KEY, origins, ORIGINS_CACHE_SECONDS)
    return origins


def forget_allowed_origins(tenant_id: str) -> None:
    """Drops the cached answers that involve `tenant_id`; services call it after every config or status change."""
    cache.delete_many([_ALL_KEY, _TENANT_KEY.format(tenant_id)])
