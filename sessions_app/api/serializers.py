"""Input and output serializers of the /v1 contract (spec sections 6 and 7)."""

from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from hellojohn_project.api.fields import StrictCharField, StrictInputSerializer, StrictIntegerField
from sessions_app.models import RevocationReason, Session, SessionStatus
from sessions_app.risk import FLAG_CODES, describe, flag_list
from sessions_app.services import IssuedSession
from tenants_app.models import (
    ACCESS_TOKEN_TTL_RANGE,
    IDLE_TIMEOUT_RANGE,
    MAX_SESSIONS_RANGE,
    SESSION_DURATION_RANGE,
    SignInAlerts,
    TenantConfig,
    User,
)

TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(value: datetime | None) -> str | None:
    return value.strftime(TIMESTAMP) if value is not None else None


# --- Output ---------------------------------------------------------------------------------------


# The output serializers declare the contract's shapes (the OpenAPI schema is generated from them),
# and render with a direct to_representation: DRF builds and deep-copies every field of a
# ModelSerializer per instance, which `make bench` measured at half the cost of GET /v1/auth/me.
# tests/test_serializers.py holds each rendering to its declared fields.


class UserOut(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "tenant_id", "email", "name", "status", "created_at", "last_sign_in_at"]

    tenant_id = serializers.CharField()

    def to_representation(self, user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "tenant_id": user.tenant_id,
            "email": user.email,
            "name": user.name,
            "status": user.status,
            "created_at": timestamp(user.created_at),
            "last_sign_in_at": timestamp(user.last_sign_in_at),
        }


class FlagOut(serializers.Serializer):
    """One risk flag (docs/api.md, "Risk flags")."""

    code = serializers.ChoiceField(choices=FLAG_CODES)
    detail = serializers.CharField()


def flags_of(session: Session) -> list[dict[str, str]]:
    return [{"code": code, "detail": describe(code, params)} for code, params in flag_list(session.flags or {})]


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
        data = {
            "id": session.id,
            "user_id": session.user_id,
            "tenant_id": session.tenant_id,
            "status": self.get_status(session),
            "user_agent": session.user_agent,
            "ip_address": session.ip_address,
            "country": session.country,
            "device_type": session.device_type,
            "browser": session.browser,
            "os": session.os,
            "created_at": timestamp(session.created_at),
            "last_active_at": timestamp(session.last_active_at),
            "expires_at": timestamp(session.expires_at),
            "revoked_at": timestamp(session.revoked_at),
            "revoked_reason": session.revoked_reason,
            "flags": flags_of(session),
        }
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


class VerifyOut(serializers.Serializer):
    valid = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    session = SessionOut(allow_null=True)


class ConfigOut(serializers.ModelSerializer):
    class Meta:
        model = TenantConfig
        fields = ["max_sessions_per_user", "session_duration", "idle_timeout", "access_token_ttl", "sign_in_alerts"]


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


class UserCreateIn(StrictInputSerializer):
    email = StrictCharField(max_length=254)
    password = StrictCharField(max_length=1024, trim_whitespace=False, required=False)
    name = StrictCharField(max_length=200, required=False, allow_blank=True, default="")


class UserPatchIn(StrictInputSerializer):
    name = StrictCharField(max_length=200, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=User.Status.choices, required=False)
    password = StrictCharField(max_length=1024, trim_whitespace=False, required=False)
