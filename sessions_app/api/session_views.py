"""/v1/sessions: list, retrieve, revoke one, revoke all, verify (spec section 7)."""

from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from hellojohn_project.api.errors import ApiError, api_error_from
from hellojohn_project.api.pagination import paginate
from hellojohn_project.api.params import bool_param, choice_param, country_param, id_param
from hellojohn_project.api.permissions import AnyOf, SecretKey
from hellojohn_project.api.principal import Principal
from sessions_app import services
from sessions_app.api.auth_views import session_context, validated
from sessions_app.api.serializers import (
    RevokedCountOut,
    SessionOut,
    SessionPageOut,
    SessionWithCurrentOut,
    VerifyIn,
    VerifyOut,
)
from sessions_app.authentication import session_for_access_token
from sessions_app.exceptions import SessionExpired, SessionNotFound, SessionRevoked
from sessions_app.models import DeviceType, RevocationReason, Session, SessionStatus
from sessions_app.risk import FLAG_CODES
from sessions_app.selectors import status_q
from tenants_app.exceptions import UserNotFound
from tenants_app.ids import is_valid_id
from tenants_app.models import User

STATUS_FILTERS = [*SessionStatus.values, "all"]

LIST_PARAMETERS = [
    OpenApiParameter("user_id", OpenApiTypes.STR, description="Admin: only this user's sessions."),
    OpenApiParameter("status", OpenApiTypes.STR, enum=STATUS_FILTERS, description="Default: active."),
    OpenApiParameter("country", OpenApiTypes.STR, description="ISO 3166-1 alpha-2."),
    OpenApiParameter("device_type", OpenApiTypes.STR, enum=DeviceType.values),
    OpenApiParameter("flagged", OpenApiTypes.BOOL, description="true: only flagged sessions; false: only unflagged."),
    OpenApiParameter("flag", OpenApiTypes.STR, enum=list(FLAG_CODES), description="Only sessions with this flag."),
    OpenApiParameter("limit", OpenApiTypes.INT, description="1 to 100, default 20."),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="next_cursor of the previous page."),
]


def _scoped_user(request: Request, *, required_for_admin: bool) -> User | None:
    """The user whose sessions the call is about: the named `user_id` (admin) or the caller (user)."""
    principal: Principal = request.user
    user_id = id_param(request, "user_id", "usr", required=required_for_admin and principal.kind == "secret")
    if principal.kind == "user":
        if user_id is not None and user_id != principal.user.pk:
            raise api_error_from(UserNotFound())
        user = principal.user
    elif user_id is None:
        return None
    else:
        user = User.objects.filter(pk=user_id, tenant=principal.tenant).first()
        if user is None:
            raise api_error_from(UserNotFound())
    user.tenant = principal.tenant  # already loaded with its config: no query for the session rules
    return user


def _visible_sessions(principal: Principal) -> QuerySet[Session]:
    sessions = Session.objects.filter(tenant=principal.tenant)
    if principal.kind == "user":
        sessions = sessions.filter(user=principal.user)
    return sessions


def _flag_filtered(request: Request, sessions: QuerySet[Session]) -> QuerySet[Session]:
    """`flagged` and `flag` (docs/api.md, "Risk flags"); flags are a JSON mapping keyed by code."""
    if "flagged" in request.query_params:
        flagged = Q(flags__has_any_keys=list(FLAG_CODES))
        sessions = sessions.filter(flagged if bool_param(request, "flagged") else ~flagged)
    flag = choice_param(request, "flag", FLAG_CODES)
    if flag is not None:
        sessions = sessions.filter(flags__has_key=flag)
    return sessions


class SessionViewSet(ViewSet):
    permission_classes = [AnyOf.kinds("secret", "user")]

    @extend_schema(parameters=LIST_PARAMETERS, responses={200: SessionPageOut}, tags=["sessions"])
    def list(self, request: Request) -> Response:
        principal: Principal = request.user
        context = session_context(principal)
        user = _scoped_user(request, required_for_admin=False)
        sessions = _visible_sessions(principal)
        if user is not None:
            sessions = sessions.filter(user=user)
        status_filter = choice_param(request, "status", STATUS_FILTERS, default=SessionStatus.ACTIVE)
        if status_filter != "all":
            sessions = sessions.filter(status_q(SessionStatus(status_filter), now=context["now"],
                                                idle_timeout=context["idle_timeout"]))
        country = country_param(request)
        if country is not None:
            sessions = sessions.filter(country=country)
        device_type = choice_param(request, "device_type", DeviceType.values)
        if device_type is not None:
            sessions = sessions.filter(device_type=device_type)
        sessions = _flag_filtered(request, sessions)
        page = paginate(request, sessions, time_field="last_active_at",
                        render=lambda rows: SessionOut(rows, many=True, context=context).data)
        return Response(page)

    @extend_schema(responses={200: SessionWithCurrentOut}, tags=["sessions"])
    def retrieve(self, request: Request, id: str) -> Response:
        return Response(SessionOut(self._get(request, id), context=session_context(request.user)).data)

    @extend_schema(responses={204: None}, tags=["sessions"])
    def destroy(self, request: Request, id: str) -> Response:
        principal: Principal = request.user
        session = self._get(request, id)
        if principal.kind == "secret":
            reason = RevocationReason.REVOKED_BY_ADMIN
        elif session.pk == principal.session.pk:
            reason = RevocationReason.SIGNED_OUT  # a user revoking its own current session signs out
        else:
            reason = RevocationReason.REVOKED_BY_USER
        services.revoke_sessions(sessions=Session.objects.filter(pk=session.pk), reason=reason,
                                 actor=services.Actor(principal.actor))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            OpenApiParameter("user_id", OpenApiTypes.STR, description="Required with a secret key."),
            OpenApiParameter("except_current", OpenApiTypes.BOOL, description="User: keep the calling session."),
        ],
        responses={200: RevokedCountOut}, tags=["sessions"], operation_id="v1_sessions_revoke_all",
    )
    def revoke_all(self, request: Request) -> Response:
        principal: Principal = request.user
        user = _scoped_user(request, required_for_admin=True)
        keep = principal.session if principal.kind == "user" and bool_param(request, "except_current") else None
        reason = RevocationReason.REVOKED_BY_ADMIN if principal.kind == "secret" else RevocationReason.REVOKED_BY_USER
        revoked = services.revoke_user_sessions(user=user, reason=reason, actor=services.Actor(principal.actor),
                                                keep=keep)
        return Response({"revoked": len(revoked)})

    def _get(self, request: Request, pk: str) -> Session:
        session = None
        if is_valid_id(pk, "ses"):
            session = _visible_sessions(request.user).filter(pk=pk).first()
        if session is None:
            raise api_error_from(SessionNotFound(f"No session {pk[:40]} in this tenant."))
        return session


class VerifyViewSet(ViewSet):
    permission_classes = [SecretKey]

    @extend_schema(request=VerifyIn, responses={200: VerifyOut}, tags=["sessions"])
    def create(self, request: Request) -> Response:
        """Tells a backend whether an access token is still good, and why not."""
        data = validated(VerifyIn, request)
        principal: Principal = request.user
        body: dict[str, Any] = {"valid": False, "reason": None, "session": None}
        try:
            session = session_for_access_token(data["token"])
        except ApiError as exc:  # an unusable token is an answer here, not an error
            body["reason"] = exc.error_code
            return Response(body)
        if session.tenant_id != principal.tenant.id:
            body["reason"] = "invalid_token"  # another tenant's token: say nothing about it
            return Response(body)
        context = session_context(principal)
        try:
            services.ensure_active(session, now=context["now"])
        except (SessionRevoked, SessionExpired) as exc:
            body["reason"] = exc.code
        else:
            body["valid"] = True
        body["session"] = SessionOut(session, context=context).data
        return Response(body)
