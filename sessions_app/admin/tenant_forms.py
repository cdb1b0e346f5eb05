"""The forms of the tenant console: a new tenant's name and slug, and a tenant's session rules."""

from django import forms

from tenants_app import services
from tenants_app.models import (
    ACCESS_TOKEN_TTL_RANGE,
    IDLE_TIMEOUT_RANGE,
    MAX_SESSIONS_RANGE,
    SESSION_DURATION_RANGE,
    Tenant,
    TenantConfig,
)
from tenants_app.origin_form_field import AllowedOriginsField


def _bounded(low: int, high: int, *, required: bool, unit: str, help_text: str) -> forms.IntegerField:
    """An integer field whose errors name the bound in words the operator can act on."""
    bounds = f"between {low:,} and {high:,} {unit}".strip()
    return forms.IntegerField(
        required=required, min_value=low, max_value=high, help_text=f"{help_text} ({bounds}).",
        error_messages={"min_value": f"Must be {bounds}.", "max_value": f"Must be {bounds}.",
                        "required": "Required: a whole number of seconds."},
    )


class TenantConfigForm(forms.ModelForm):
    """The session rules; the same bounds as the database's check constraints, said in words."""

    max_sessions_per_user = _bounded(*MAX_SESSIONS_RANGE, required=False, unit="",
                                     help_text="Sessions a user may hold at once; empty for unlimited")
    session_duration = _bounded(*SESSION_DURATION_RANGE, required=True, unit="seconds",
                                help_text="A session's absolute lifetime")
    idle_timeout = _bounded(*IDLE_TIMEOUT_RANGE, required=False, unit="seconds",
                            help_text="Inactivity after which a session expires; empty for none")
    access_token_ttl = _bounded(*ACCESS_TOKEN_TTL_RANGE, required=True, unit="seconds",
                                help_text="Lifetime of an access token")
    allowed_origins = AllowedOriginsField()

    class Meta:
        model = TenantConfig
        fields = services.CONFIG_FIELDS


class TenantAddForm(forms.ModelForm):
    """A new tenant: only its name and, optionally, its slug; create_tenant does the rest."""

    slug = forms.SlugField(required=False, max_length=63, help_text="Empty: made from the name.")

    class Meta:
        model = Tenant
        fields = ("name", "slug")
