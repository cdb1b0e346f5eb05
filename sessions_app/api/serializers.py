"""Input and output serializers of the /v1 contract (docs/api.md §7 objects, §8 to §10 endpoints).

Over 250 lines because every object of the contract is here side by side (each short): the
OpenAPI document is generated from these classes, and one module keeps the shapes consistent.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from hellojohn_project.api.fields import StrictCharField, StrictInputSerializer, StrictIntegerField
from sessions_app.flags import FLAG_CODES
from sessions_app.models import RevocationReason, Session, SessionStatus
from sessions_app.renderings import session_dict, timestamp, user_dict
from sessions_app.services import IssuedSession
from tenants_app.models import (
    ACCESS_TOKEN_TTL_RANGE,
    IDLE_TIMEOUT_RANGE,
    MAX_ALLOWED_ORIGINS,
    MAX_SESSIONS_RANGE,
    SESSION_DURATION_RANGE,
    SignInAlerts,
    TenantConfig,
    User,
)
from tenants_app.origins import InvalidOrigin, normalize_origins

# --- Output ---------------------------------------------------------------------------------------


# The output serializers declare the contract's shapes (the OpenAPI schema is generated from them),
# and render with a direct to_representation: DRF builds and deep-copies every field of a
# ModelSerializer per instance, which `make bench` measured at half the cost of GET /v1/auth/me.
# tests/api/test_serializers.py holds each rendering to its declared fields.


class UserOut(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "tenant_id", "email", "name", "status", "created_at", "last_sign_in_at"]

    tenant_id = serializers.CharField()

    def to_representation(self, user: User) -> dict[str, Any]:
        return user_dict(user)


class FlagOut(serializers.Serializer):
    """One risk flag (docs/api.md, "Risk flags")."""

    code = serializers.ChoiceField(choices=FLAG_CODES)
    detail = serializers.CharField()


class SessionOut(serializers.ModelSerializer):
    """A session. Context: `now`, `idle_timeout`, and `current_session_id` for end-user callers only."""

    status = serializers.SerializerMethodField()
    revoked_reason = serializers.ChoiceField(choices=RevocationReason.choices, allow_null=True)
    tenant_id = serializers.CharField()
    user_id = serializers.CharField()
    flags = FlagOut(many=True, help_text="Risk flags computed when the session was created; [] when none.")

    class Meta:
        model = Session
        fields = [
            "id", "user_id", "tenant_id", "status", "user_agent", "ip_address", "country", "device_type",
            "browser", "os", "created_at", "last_active_at", "expires_at", "revoked_at", "revoked_reason", "flags",
        ]

    def get_status(self, session: Session) -> SessionStatus:
        return session.status_at(self.context["now"], self.context["idle_timeout"])

    def to_representation(self, session: Session) -> dict[str, Any]:
        data = session_dict(session, now=self.context["now"], idle_timeout=self.context["idle_timeout"])
        if "current_session_id" in self.context:
            data["current"] = session.pk == self.context["current_session_id"]
        return data


class SessionWithCurrentOut(SessionOut):
    """Schema only: the session as an end user sees it."""

    current = serializers.BooleanField(required=False, help_text="Present only for end-user callers.")

    class Meta(SessionOut.Meta):
        fields = [*SessionOut.Meta.fields, "current"]


class IssuedSessionOut(SessionOut):
    """A session with its freshly issued tokens (sign-up, sign-in, refresh)."""

    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    access_token_expires_at = serializers.DateTimeField()
    refresh_token_expires_at = serializers.DateTimeField()

    class Meta(SessionOut.Meta):
        fields = [*SessionOut.Meta.fields, "access_token", "refresh_token", "access_token_expires_at",
                  "refresh_token_expires_at"]

    def to_representation(self, issued: IssuedSession) -> dict[str, Any]:  # type: ignore[override]
        return {
            **super().to_representation(issued.session),
            "access_token": issued.access_token.token,
            "refresh_token": issued.refresh_token,
            "access_token_expires_at": timestamp(issued.access_token.expires_at),
            "refresh_token_expires_at": timestamp(issued.refresh_token_expires_at),
        }


class UserAndIssuedSessionOut(serializers.Serializer):
    user = UserOut()
    session = IssuedSessionOut()


class IssuedSessionOnlyOut(serializers.Serializer):
    session = IssuedSessionOut()


class MeOut(serializers.Serializer):
    user = UserOut()
    session = SessionWithCurrentOut()


class PaginationOut(serializers.Serializer):
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(allow_null=True)


# One page object, not a list of them: drf-spectacular would wrap a `list` action's answer in an array.
@extend_schema_serializer(many=False)
class SessionPageOut(serializers.Serializer):
    data = SessionWithCurrentOut(many=True)
    pagination = PaginationOut()


# One page object, not a list of them: drf-spectacular would wrap a `list` action's answer in an array.
@extend_schema_serializer(many=False)
class UserPageOut(serializers.Serializer):
    data = UserOut(many=True)
    pagination = PaginationOut()


class RevokedCountOut(serializers.Serializer):
    revoked = serializers.IntegerField()


# Why POST /v1/sessions/verify calls a token not good: the codes the same token would get as a credential.
VERIFY_REASONS = ["invalid_token", "token_expired", "session_revoked", "session_expired"]


class VerifyOut(serializers.Serializer):
    valid = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=VERIFY_REASONS, allow_null=True,
        help_text="Why the token is not good (an error code), or null when it is.")
    session = SessionOut(allow_null=True, help_text="The token's session, or null when the token names none.")


class ConfigOut(serializers.ModelSerializer):
    class Meta:
        model = TenantConfig
        fields = ["max_sessions_per_user", "session_duration", "idle_timeout", "access_token_ttl", "allowed_origins",
                  "sign_in_alerts"]

    # Declared with the contract's bounds (docs/api.md, "Tenant config"): the schema shows them, not the column's.
    max_sessions_per_user = serializers.IntegerField(
        min_value=MAX_SESSIONS_RANGE[0], max_value=MAX_SESSIONS_RANGE[1], allow_null=True,
        help_text="Active sessions a user may hold; null for unlimited.")
    session_duration = serializers.IntegerField(
        min_value=SESSION_DURATION_RANGE[0], max_value=SESSION_DURATION_RANGE[1],
        help_text="A session's absolute lifetime, in seconds.")
    idle_timeout = serializers.IntegerField(
        min_value=IDLE_TIMEOUT_RANGE[0], max_value=IDLE_TIMEOUT_RANGE[1], allow_null=True,
        help_text="Seconds of inactivity after which a session expires; null for none.")
    access_token_ttl = serializers.IntegerField(
        min_value=ACCESS_TOKEN_TTL_RANGE[0], max_value=ACCESS_TOKEN_TTL_RANGE[1],
        help_text="Lifetime of an access token, in seconds.")
    allowed_origins = serializers.ListField(child=serializers.CharField(), max_length=MAX_ALLOWED_ORIGINS,
                                            help_text="Browser origins that may call the pk and user routes.")


class JwkOut(serializers.Serializer):
    """One Ed25519 public key (RFC 8037)."""

    kty = serializers.ChoiceField(choices=["OKP"])
    crv = serializers.ChoiceField(choices=["Ed25519"])
    x = serializers.CharField(help_text="The public key, base64url.")
    kid = serializers.CharField(help_text="The key id (key_…), the `kid` of the tokens it signs.")
    alg = serializers.ChoiceField(choices=["EdDSA"])
    use = serializers.ChoiceField(choices=["sig"])


class JwkSetOut(serializers.Serializer):
    keys = JwkOut(many=True, help_text="Every key that may have signed a live token, newest first.")


# --- Input ----------------------------------------------------------------------------------------


class SignUpIn(StrictInputSerializer):
    email = StrictCharField(max_length=254)
    password = StrictCharField(max_length=1024, trim_whitespace=False)
    name = StrictCharField(max_length=200, required=False, allow_blank=True, default="")


class SignInIn(StrictInputSerializer):
    email = StrictCharField(max_length=254)
    password = StrictCharField(max_length=1024, trim_whitespace=False)


class RefreshIn(StrictInputSerializer):
    refresh_token = StrictCharField(max_length=256)


class SignOutIn(StrictInputSerializer):
    refresh_token = StrictCharField(max_length=256, required=False)


class PasswordChangeIn(StrictInputSerializer):
    current_password = StrictCharField(max_length=1024, trim_whitespace=False)
    new_password = StrictCharField(max_length=1024, trim_whitespace=False)


class VerifyIn(StrictInputSerializer):
    token = StrictCharField(max_length=4096)


class ConfigPatchIn(StrictInputSerializer):
    max_sessions_per_user = StrictIntegerField(
        min_value=MAX_SESSIONS_RANGE[0], max_value=MAX_SESSIONS_RANGE[1], allow_null=True, required=False,
        error_messages={"min_value": "Must be between 1 and 1000.", "max_value": "Must be between 1 and 1000."},
    )
    session_duration = StrictIntegerField(min_value=SESSION_DURATION_RANGE[0], max_value=SESSION_DURATION_RANGE[1],
                                          required=False)
    idle_timeout = StrictIntegerField(min_value=IDLE_TIMEOUT_RANGE[0], max_value=IDLE_TIMEOUT_RANGE[1],
                                      allow_null=True, required=False)
    access_token_ttl = StrictIntegerField(min_value=ACCESS_TOKEN_TTL_RANGE[0], max_value=ACCESS_TOKEN_TTL_RANGE[1],
                                          required=False)
    sign_in_alerts = serializers.ChoiceField(choices=SignInAlerts.choices, required=False)
    allowed_origins = serializers.ListField(
        child=StrictCharField(max_length=300, trim_whitespace=False), max_length=MAX_ALLOWED_ORIGINS, required=False,
        error_messages={"max_length": f"At most {MAX_ALLOWED_ORIGINS} origins."},
        help_text="Each scheme://host[:port] (http or https), no path, no wildcard; at most 20.",
    )

    def validate_allowed_origins(self, value: list[str]) -> list[str]:
        try:
            return normalize_origins(value)
        except InvalidOrigin as exc:
            raise serializers.ValidationError(str(exc), code="invalid_origin") from exc


class UserCreateIn(StrictInputSerializer):
    email = StrictCharField(max_length=254)
    password = StrictCharField(max_length=1024, trim_whitespace=False, required=False)
    name = StrictCharField(max_length=200, required=False, allow_blank=True, default="")


class UserPatchIn(StrictInputSerializer):
    name = StrictCharField(max_length=200, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=User.Status.choices, required=False)
    password = StrictCharField(max_length=1024, trim_whitespace=False, required=False)
