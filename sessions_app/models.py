"""Device sessions, their refresh tokens and the keys that sign access tokens.

What counts as an active session is written here once, as `Session.status_at` for a loaded row and
as `status_q` for SQL; the two say the same thing (tests/rules/test_session_rules.py holds them equal).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from sessions_app.event_model import ActorType, Event, EventType  # noqa: F401  (the event log's models)
from sessions_app.webhook_models import WebhookDelivery, WebhookEndpoint  # noqa: F401  (webhooks' models)
from tenants_app.ids import ID_LENGTH, new_id
from tenants_app.models import Tenant, User


def new_session_id() -> str:
    return new_id("ses")


def new_signing_key_id() -> str:
    return new_id("key")


class DeviceType(models.TextChoices):
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    BOT = "bot"
    UNKNOWN = "unknown"


class RevocationReason(models.TextChoices):
    SIGNED_OUT = "signed_out"
    REVOKED_BY_USER = "revoked_by_user"
    REVOKED_BY_ADMIN = "revoked_by_admin"
    SESSION_LIMIT = "session_limit"
    REFRESH_TOKEN_REUSED = "refresh_token_reused"
    PASSWORD_CHANGED = "password_changed"
    USER_DISABLED = "user_disabled"


class SessionStatus(models.TextChoices):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


def idle_cutoff(now: datetime, idle_timeout: int) -> datetime:
    """A session last active at or before this moment has gone idle.

    last_active_at is written at most once per HJ_ACTIVITY_WRITE_INTERVAL, so the stored value may
    lag real activity by that much; idleness is judged with that much grace, or a session in steady
    use would expire up to a minute early.
    """
    return now - timedelta(seconds=idle_timeout) - settings.HJ_ACTIVITY_WRITE_INTERVAL


def status_q(status: SessionStatus, *, now: datetime, idle_timeout: int | None) -> Q:
    """The sessions in `status` at `now`, as a filter: the SQL of `Session.status_at`."""
    active = Q(revoked_at__isnull=True, expires_at__gt=now)
    if idle_timeout is not None:
        active &= Q(last_active_at__gt=idle_cutoff(now, idle_timeout))
    if status == SessionStatus.ACTIVE:
        return active
    if status == SessionStatus.REVOKED:
        return Q(revoked_at__isnull=False)
    return Q(revoked_at__isnull=True) & ~active


def active_q(*, now: datetime, idle_timeout: int | None) -> Q:
    """Not revoked, not past expires_at, not idle longer than the tenant's idle_timeout."""
    return status_q(SessionStatus.ACTIVE, now=now, idle_timeout=idle_timeout)


class Session(models.Model):
    """One sign-in of one user on one device. Device metadata is captured once, at creation."""

    id = models.CharField(primary_key=True, max_length=ID_LENGTH, default=new_session_id, editable=False)
    # No index of their own: the composite indexes below lead with these columns. Every extra index
    # is one more write per sign-in and per revoked row (`make bench`, revoke-all).
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sessions", db_index=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions", db_index=False)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # The contract distinguishes "unknown" (null) from any value, so these strings are nullable.
    country = models.CharField(max_length=2, null=True, blank=True)  # noqa: DJ001
    device_type = models.CharField(max_length=16, choices=DeviceType.choices, default=DeviceType.UNKNOWN)
    browser = models.CharField(max_length=64, blank=True, default="")
    os = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()
    last_active_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(  # noqa: DJ001
        max_length=32, choices=RevocationReason.choices, null=True, blank=True
    )
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The operator who revoked it from the admin, if one did.",
    )
    # Risk flags (docs/api.md, "Risk flags"): {code: what the rule saw}, written once at creation
    # by sessions_app.risk and never changed. A mapping, so `flags__has_key` filters on both databases.
    flags = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["-last_active_at", "-id"]
        indexes = [
            # A user's active sessions, newest activity first: the page, the API list, the limit.
            models.Index(
                fields=["user", "-last_active_at", "-id"], name="session_user_active",
                condition=Q(revoked_at__isnull=True),
            ),
            # Every status of a user's sessions, and the tenant-wide list in keyset order.
            models.Index(fields=["user", "-last_active_at", "-id"], name="session_user_recent"),
            models.Index(fields=["tenant", "-last_active_at", "-id"], name="session_tenant_recent"),
            # Dashboard and retention: recent sign-ins and revocations, and old rows to purge.
            models.Index(fields=["created_at"], name="session_created"),
            models.Index(fields=["revoked_at"], name="session_revoked"),
            models.Index(fields=["expires_at"], name="session_expires"),
            # The admin's filters, each in its newest-first order, and its search by IP.
            models.Index(fields=["tenant", "-created_at", "-id"], name="session_tenant_created"),
            models.Index(fields=["country", "-created_at", "-id"], name="session_country_created"),
            models.Index(fields=["device_type", "-created_at", "-id"], name="session_device_created"),
            models.Index(
                fields=["revoked_reason", "-created_at", "-id"], name="session_reason_created",
                condition=Q(revoked_reason__isnull=False),
            ),
            models.Index(fields=["ip_address"], name="session_ip"),
            # The risk rules read one user's sign-ins of the last 90 days (sessions_app.risk).
            models.Index(fields=["user", "created_at"], name="session_user_created"),
        ]
        # Operators may view sessions and, with this permission, revoke them; no one edits or deletes them.
        permissions = [("revoke_session", "Can revoke sessions")]
        constraints = [
            models.CheckConstraint(
                name="session_revoked_has_reason",
                condition=Q(revoked_at__isnull=True, revoked_reason__isnull=True)
                | Q(revoked_at__isnull=False, revoked_reason__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.id

    def status_at(self, now: datetime, idle_timeout: int | None) -> SessionStatus:
        """This session's status at `now`: what `status_q` selects in SQL."""
        if self.revoked_at is not None:
            return SessionStatus.REVOKED
        if self.expires_at <= now:
            return SessionStatus.EXPIRED
        if idle_timeout is not None and self.last_active_at <= idle_cutoff(now, idle_timeout):
            return SessionStatus.EXPIRED
        return SessionStatus.ACTIVE

    @property
    def device_label(self) -> str:
        """"Chrome 120 on macOS 10.15", or what is known of it."""
        if self.browser and self.os:
            return f"{self.browser} on {self.os}"
        return self.browser or self.os or "Unknown device"


class CredentialKind(models.TextChoices):
    """Which face a session credential belongs to: an API client's refresh token, or a page's cookie."""

    API = "api"
    PAGE = "page"


class RefreshToken(models.Model):
    """One issued refresh token. Rotation retires it; presenting a retired one is reuse (theft).

    A `page` credential is the sessions page's cookie: only the page accepts it, and the API treats
    one presented to it as stolen (docs/api.md §12, "The page's credential").
    """

    # Indexed once, by refresh_token_session below (the foreign key's own index would be a duplicate).
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="refresh_tokens", db_index=False)
    token_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=CredentialKind.choices, default=CredentialKind.API)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )

    class Meta:
        indexes = [models.Index(fields=["session"], name="refresh_token_session")]

    def __str__(self) -> str:
        return f"refresh token {self.pk} of {self.session_id}"


class SigningKey(models.Model):
    """An Ed25519 key pair for access tokens.

    Every unretired key is published and verifies; the newest unretired key whose `activates_at` has
    passed signs. A rotated-in key is published ahead of signing (docs/api.md §11).
    """

    id = models.CharField(primary_key=True, max_length=ID_LENGTH, default=new_signing_key_id, editable=False)
    private_key_pem = models.TextField(editable=False)
    public_key_pem = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    activates_at = models.DateTimeField(help_text="From then on (if it is the newest) this key signs.")
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id


class SignInFailure(models.Model):
    """One failed sign-in for an email of a tenant, kept for the `after_failures` risk rule.

    The email is stored only as a keyed hash (sessions_app.sign_in_failures); rows older than the
    rule's window are deleted by `purge_sessions`.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    email_hash = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "email_hash", "at"], name="sign_in_failure_email"),
            models.Index(fields=["at"], name="sign_in_failure_at"),
        ]

    def __str__(self) -> str:
        return f"failed sign-in at {self.at:%Y-%m-%dT%H:%M:%SZ}"
