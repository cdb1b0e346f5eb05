"""/v1/sessions: list, retrieve, revoke one, revoke all, verify (docs/api.md §9)."""

from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from hellojohn_project.api.errors import api_error_from
from hellojohn_project.api.pagination import paginate
from hellojohn_project.api.params import bool_param, choice_param, country_param, id_param
from hellojohn_project.api.permissions import AnyOf, SecretKey
from hellojohn_project.api.principal import Principal
from hellojohn_project.db_router import lag_tolerant
from sessions_app import services
from sessions_app.api.callers import actor_of, session_context, validated
from sessions_app.api.serializers import (
    RevokedCountOut,
    SessionOut,
    SessionPageOut,
    SessionWithCurrentOut,
    VerifyIn,
    VerifyOut,
)
from sessions_app.authentication import unauthorized
from sessions_app.exceptions import SessionNotFound, SessionUnusable
from sessions_app.flags import FLAG_CODES
from sessions_app.models import DeviceType, Session, SessionStatus, status_q
from sessions_app.tokens import InvalidAccessToken
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

    @extend_schema(parameters=LIST_PARAMETERS, responses={200: SessionPageOut}, tags=["sessions"],
                   operation_id="listSessions", summary="List sessions",
                   description="Newest activity first, one page at a time. Secret key: the tenant's sessions, or "
                               "one user's with user_id. Access token: the caller's own sessions, each with "
                               "`current`. Default status filter: active.")
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
        # A tenant backend's listing may come from the read replica and lag the primary; a user's own
        # list never does (docs/api.md, "Read replica"). The user named by user_id was read above, on the primary.
        read = lag_tolerant(paginate) if principal.kind == "secret" else paginate
        page = read(request, sessions, time_field="last_active_at",
                    render=lambda rows: SessionOut(rows, many=True, context=context).data)
        return Response(page)

    @extend_schema(responses={200: SessionWithCurrentOut}, tags=["sessions"], operation_id="getSession",
                   summary="Get a session",
                   description="One session of the tenant (secret key) or of the caller (access token; another "
                               "user's session answers 404 session_not_found).")
    def retrieve(self, request: Request, id: str) -> Response:
        return Response(SessionOut(self._get(request, id), context=session_context(request.user)).data)

    @extend_schema(responses={204: None}, tags=["sessions"], operation_id="revokeSession",
                   summary="Revoke a session",
                   description="Signs that device out at once: revoked_by_admin with a secret key, revoked_by_user "
                               "with an access token (signed_out when it is the caller's own session). Revoking a "
                               "revoked session changes nothing.")
    def destroy(self, request: Request, id: str) -> Response:
        principal: Principal = request.user
        services.revoke_session(session=self._get(request, id), actor=actor_of(principal), current=principal.session)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            OpenApiParameter("user_id", OpenApiTypes.STR, description="Required with a secret key."),
            OpenApiParameter("except_current", OpenApiTypes.BOOL, description="User: keep the calling session."),
        ],
        responses={200: RevokedCountOut}, tags=["sessions"], operation_id="revokeUserSessions",
        summary="Revoke all of a user's sessions",
        description="Revokes every active session of the user and answers how many. Secret key: name user_id. "
                    "Access token: the caller's own; except_current=true keeps this session (\"sign out other "
                    "devices\").",
    )
    def revoke_all(self, request: Request) -> Response:
        principal: Principal = request.user
        user = _scoped_user(request, required_for_admin=True)
        keep = principal.session if principal.kind == "user" and bool_param(request, "except_current") else None
        revoked = services.revoke_user_sessions(user=user, actor=actor_of(principal), keep=keep)
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

    @extend_schema(request=VerifyIn, responses={200: VerifyOut}, tags=["sessions"], operation_id="verifyAccessToken",
                   summary="Verify an access token",
                   description="Tells a backend whether an access token is still good right now (its session "
                               "active), and why not. An unusable token is an answer (valid: false), not an error. "
                               "Secret key.")
    def create(self, request: Request) -> Response:
        """Tells a backend whether an access token is still good, and why not."""
        data = validated(VerifyIn, request)
        principal: Principal = request.user
        body: dict[str, Any] = {"valid": False, "reason": None, "session": None}
        context = session_context(principal)
        try:
            # Another tenant's token is simply invalid here: say nothing about it. Asking is not using.
            session = services.use_session(access_token=data["token"], tenant=principal.tenant,
                                           record_activity=False, now=context["now"]).session
        except InvalidAccessToken as exc:  # an unusable token is an answer here, not an error
            body["reason"] = unauthorized(exc).error_code
            return Response(body)
        except SessionUnusable as exc:
            body["reason"] = exc.code
            session = exc.session
        else:
            body["valid"] = True
        body["session"] = SessionOut(session, context=context).data
        return Response(body)
