"""Tenants (customer applications), their config, their API keys and their end users."""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from tenants_app.ids import ID_LENGTH, new_key_id, new_tenant_id, new_user_id

# Bounds of the tenant config (`docs/api.md` section 7, "Tenant config"); the database enforces them too.
MAX_SESSIONS_RANGE = (1, 1000)
SESSION_DURATION_RANGE = (300, 365 * 86400)
IDLE_TIMEOUT_RANGE = (60, 365 * 86400)
ACCESS_TOKEN_TTL_RANGE = (60, 86400)
DEFAULT_SESSION_DURATION = 30 * 86400
DEFAULT_ACCESS_TOKEN_TTL = 900
# Browser origins a tenant may allow cross-origin (docs/api.md "Cross-origin calls (CORS)").
MAX_ALLOWED_ORIGINS = 20


class Tenant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        DISABLED = "disabled"

    id = models.CharField(primary_key=True, max_length=ID_LENGTH, default=new_tenant_id, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class SignInAlerts(models.TextChoices):
    """Which new sign-ins email the user (docs/api.md, tenant config)."""

    OFF = "off"
    FLAGGED = "flagged"
    ALL = "all"


class TenantConfig(models.Model):
    """Session rules of one tenant. Created with the tenant; durations are whole seconds."""

    tenant = models.OneToOneField(Tenant, primary_key=True, on_delete=models.CASCADE, related_name="config")
    max_sessions_per_user = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    session_duration = models.PositiveIntegerField(default=DEFAULT_SESSION_DURATION)
    idle_timeout = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no idle expiry.")
    access_token_ttl = models.PositiveIntegerField(default=DEFAULT_ACCESS_TOKEN_TTL)
    allowed_origins = models.JSONField(
        default=list, blank=True,
        help_text="Browser origins (scheme://host[:port]) that may call the publishable-key and access-token routes.",
    )
    sign_in_alerts = models.CharField(max_length=8, choices=SignInAlerts.choices, default=SignInAlerts.OFF)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="config_max_sessions_in_range",
                condition=Q(max_sessions_per_user__isnull=True)
                | Q(max_sessions_per_user__gte=MAX_SESSIONS_RANGE[0],
                    max_sessions_per_user__lte=MAX_SESSIONS_RANGE[1]),
            ),
            models.CheckConstraint(
                name="config_session_duration_in_range",
                condition=Q(session_duration__gte=SESSION_DURATION_RANGE[0],
                            session_duration__lte=SESSION_DURATION_RANGE[1]),
            ),
            models.CheckConstraint(
                name="config_idle_timeout_in_range",
                condition=Q(idle_timeout__isnull=True)
                | Q(idle_timeout__gte=IDLE_TIMEOUT_RANGE[0], idle_timeout__lte=IDLE_TIMEOUT_RANGE[1]),
            ),
            models.CheckConstraint(
                name="config_access_token_ttl_in_range",
                condition=Q(access_token_ttl__gte=ACCESS_TOKEN_TTL_RANGE[0],
                            access_token_ttl__lte=ACCESS_TOKEN_TTL_RANGE[1]),
            ),
            models.CheckConstraint(name="config_sign_in_alerts_known",
                                   condition=Q(sign_in_alerts__in=SignInAlerts.values)),
        ]

    def __str__(self) -> str:
        return f"Config of {self.tenant_id}"


class ApiKey(models.Model):
    """A tenant's secret (`sk_`) or publishable (`pk_`) key. Only a SHA-256 of the key is stored."""

    class Kind(models.TextChoices):
        SECRET = "secret"  # noqa: S105 - a kind of key, not a secret
        PUBLISHABLE = "publishable"

    class Mode(models.TextChoices):
        LIVE = "live"
        TEST = "test"

    id = models.CharField(primary_key=True, max_length=ID_LENGTH, default=new_key_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.LIVE)
    display_prefix = models.CharField(max_length=24, help_text="The first characters, to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.display_prefix}… ({self.kind}, {self.mode})"


class User(models.Model):
    """An end user of a tenant's application. Never a Django admin user."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        DISABLED = "disabled"

    id = models.CharField(primary_key=True, max_length=ID_LENGTH, default=new_user_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="users")
    email = models.EmailField(max_length=254, help_text="Stored normalized: lower case.")
    name = models.CharField(max_length=200, blank=True, default="")
    password = models.CharField(max_length=256, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), "tenant", name="user_email_unique_per_tenant"),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at", "-id"], name="user_tenant_created")]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE
