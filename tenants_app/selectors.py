"""Reads on tenants and API keys."""

import time

from hellojohn_project import change_feed
from tenants_app import secrets
from tenants_app.models import ApiKey, Tenant, TenantConfig

# Live keys (with tenant and config) by the digest of their plaintext, on PostgreSQL under the
# change feed's lease; a revoked key or a disabled tenant is dropped by the change log before the
# revoking call returns (hellojohn_project/change_feed.py).
_live_keys = change_feed.Cache("api keys", size=10_000)


def api_key_for(plaintext: str) -> ApiKey | None:
    """The live key whose hash matches `plaintext`, with its tenant and config, in one query (none
    when this process remembers it under the change feed's lease)."""
    digest = secrets.digest(plaintext)
    lease = change_feed.lease_held()
    if lease:
        remembered = _live_keys.get(digest)
        if remembered is not None and secrets.matches(plaintext, remembered.key_hash):
            return remembered
    generation = change_feed.generation()
    api_key = (
        ApiKey.objects.select_related("tenant", "tenant__config")
        .filter(key_hash=digest, revoked_at__isnull=True, tenant__status=Tenant.Status.ACTIVE)
        .first()
    )
    # The indexed lookup already matched on the hash; comparing again in constant time keeps the
    # final decision free of timing differences whatever the database's comparison does.
    if api_key is None or not secrets.matches(plaintext, api_key.key_hash):
        return None
    if lease:
        _live_keys.put(digest, api_key, tags=[("api_key", api_key.id), ("tenant", api_key.tenant_id)],
                       generation=generation, expires_at=time.monotonic() + 3600)
    return api_key


def config_of(tenant: Tenant) -> TenantConfig:
    """The tenant's session rules; the contract's defaults for a tenant that has no config row."""
    config = getattr(tenant, "config", None)
    return config if config is not None else TenantConfig(tenant=tenant)


def active_tenant_by_slug(slug: str) -> Tenant | None:
    return Tenant.objects.select_related("config").filter(slug=slug, status=Tenant.Status.ACTIVE).first()
