"""Writes on tenants, their config and their API keys."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from hellojohn_project import change_feed
from tenants_app import secrets
from tenants_app.models import ApiKey, Tenant, TenantConfig
from tenants_app.origin_selectors import forget_allowed_origins

KEY_PREFIXES = {ApiKey.Kind.SECRET: "sk", ApiKey.Kind.PUBLISHABLE: "pk"}
CONFIG_FIELDS = ("max_sessions_per_user", "session_duration", "idle_timeout", "access_token_ttl", "allowed_origins",
                 "sign_in_alerts")


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: the only moment its plaintext exists."""

    api_key: ApiKey
    plaintext: str


def issue_api_key(*, tenant: Tenant, kind: str, mode: str = ApiKey.Mode.LIVE) -> IssuedKey:
    kind, mode = ApiKey.Kind(kind), ApiKey.Mode(mode)
    plaintext = secrets.generate(f"{KEY_PREFIXES[kind]}_{mode}_")
    api_key = ApiKey.objects.create(
        tenant=tenant, kind=kind, mode=mode,
        display_prefix=plaintext[: len(KEY_PREFIXES[kind]) + len(mode) + 6],
        key_hash=secrets.digest(plaintext),
    )
    return IssuedKey(api_key=api_key, plaintext=plaintext)


def revoke_api_key(*, api_key: ApiKey) -> bool:
    """Revokes the key; answers whether it was still live, once every process has seen it (change_feed)."""
    revoked = bool(ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))
    if revoked:
        change_feed.after_change()
    return revoked


def record_key_use(*, api_key: ApiKey) -> None:
    """Advances last_used_at, at most once per HJ_KEY_USAGE_WRITE_INTERVAL.

    A conditional UPDATE, issued only when the loaded value is stale, so the common request makes
    no write at all and concurrent requests make at most one.
    """
    now = timezone.now()
    stale_before = now - settings.HJ_KEY_USAGE_WRITE_INTERVAL
    if api_key.last_used_at is not None and api_key.last_used_at > stale_before:
        return
    ApiKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale_before), pk=api_key.pk
    ).update(last_used_at=now)
    api_key.last_used_at = now  # a remembered key (change_feed) then writes nothing until the next interval


def unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "tenant"
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    secret_key: IssuedKey
    publishable_key: IssuedKey


@transaction.atomic
def create_tenant(*, name: str, slug: str | None = None, mode: str = ApiKey.Mode.LIVE) -> CreatedTenant:
    """A tenant with its default config, one secret key and one publishable key."""
    tenant = Tenant.objects.create(name=name, slug=slug or unique_slug(name))
    TenantConfig.objects.create(tenant=tenant)
    return CreatedTenant(
        tenant=tenant,
        secret_key=issue_api_key(tenant=tenant, kind=ApiKey.Kind.SECRET, mode=mode),
        publishable_key=issue_api_key(tenant=tenant, kind=ApiKey.Kind.PUBLISHABLE, mode=mode),
    )


TENANT_FIELDS = ("name", "slug", "status")


def update_tenant(*, tenant: Tenant, changes: dict[str, Any]) -> Tenant:
    """Applies already-validated changes to a tenant's name, slug or status."""
    unknown = set(changes) - set(TENANT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown tenant fields: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(tenant, field, value)
    if changes:
        tenant.save(update_fields=list(changes))
        change_feed.after_change()  # a disabled tenant's tokens stop in every process before this returns
    if "status" in changes:
        _forget_origins_now_and_on_commit(tenant.pk)
    return tenant


def update_tenant_config(*, tenant: Tenant, changes: dict[str, Any]) -> TenantConfig:
    """Applies already-validated changes. The database's check constraints are the last word on bounds."""
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"Unknown config fields: {sorted(unknown)}")
    config, _ = TenantConfig.objects.get_or_create(tenant=tenant)
    for field, value in changes.items():
        setattr(config, field, value)
    config.save(update_fields=[*changes, "updated_at"])
    change_feed.after_change()
    if "allowed_origins" in changes:
        _forget_origins_now_and_on_commit(tenant.pk)
    return config


def _forget_origins_now_and_on_commit(tenant_id: str) -> None:
    """Clears the CORS cache now, and again at commit: a reader between the two may have cached the old rows."""
    forget_allowed_origins(tenant_id)
    transaction.on_commit(lambda: forget_allowed_origins(tenant_id))
