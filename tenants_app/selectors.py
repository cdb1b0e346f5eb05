"""Reads on tenants and API keys."""

from tenants_app import secrets
from tenants_app.models import ApiKey, Tenant, TenantConfig


def api_key_for(plaintext: str) -> ApiKey | None:
    """The live key whose hash matches `plaintext`, with its tenant and config, in one query."""
    api_key = (
        ApiKey.objects.select_related("tenant", "tenant__config")
        .filter(key_hash=secrets.digest(plaintext), revoked_at__isnull=True, tenant__status=Tenant.Status.ACTIVE)
        .first()
    )
    # The indexed lookup already matched on the hash; comparing again in constant time keeps the
    # final decision free of timing differences whatever the database's comparison does.
    if api_key is None or not secrets.matches(plaintext, api_key.key_hash):
        return None
    return api_key


def config_of(tenant: Tenant) -> TenantConfig:
    """The tenant's session rules; the contract's defaults for a tenant that has no config row."""
    config = getattr(tenant, "config", None)
    return config if config is not None else TenantConfig(tenant=tenant)


def active_tenant_by_slug(slug: str) -> Tenant | None:
    return Tenant.objects.select_related("config").filter(slug=slug, status=Tenant.Status.ACTIVE).first()
