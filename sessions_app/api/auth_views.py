"""/v1/auth/*: sign-up, sign-in, refresh, sign-out, me, password change (spec section 7)."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hellojohn_project.api.errors import ApiError
from hellojohn_project.api.permissions import AnyOf, EndUser, PublishableKey
from hellojohn_project.api.principal import Principal
from sessions_app import services
from sessions_app.api.serializers import (
    IssuedSessionOnlyOut,
    IssuedSessionOut,
    MeOut,
    PasswordChangeIn,
    RefreshIn,
    SessionOut,
    SignInIn,
    SignOutIn,
    SignUpIn,
    UserAndIssuedSessionOut,
    UserOut,
)
from sessions_app.api.throttles import RefreshThrottles, SignInThrottles, SignUpThrottles
from sessions_app.device import device_from_request
from sessions_app.models import RevocationReason, Session
from sessions_app.selectors import idle_timeout_of


def actor_of(principal: Principal) -> services.Actor:
    """The caller as the actor of the events its call causes (docs/api.md, "Events")."""
    return services.Actor(principal.actor_type, principal.actor_id)


def session_context(principal: Principal) -> dict[str, Any]:
    """Serializer context: the clock and rules that decide `status`, and `current` for end users."""
    context: dict[str, Any] = {
        "now": timezone.now(),
        "idle_timeout": idle_timeout_of(getattr(principal.tenant, "config", None)),
    }
    if principal.session is not None:
        context["current_session_id"] = principal.session.pk
    return context


def signed_in_body(signed_in: services.SignedIn, principal: Principal) -> dict[str, Any]:
    return {
        "user": UserOut(signed_in.user).data,
        "session": IssuedSessionOut(signed_in.issued, context=session_context(principal)).data,
    }


def validated(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class SignUpView(APIView):
    permission_classes = [PublishableKey]
    throttle_classes = SignUpThrottles

    @extend_schema(request=SignUpIn, responses={201: UserAndIssuedSessionOut}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = validated(SignUpIn, request)
        signed_in = services.sign_up(tenant=request.user.tenant, email=data["email"], password=data["password"],
                                     name=data["name"], device=device_from_request(request))
        return Response(signed_in_body(signed_in, request.user), status=status.HTTP_201_CREATED)


class SignInView(APIView):
    permission_classes = [PublishableKey]
    throttle_classes = SignInThrottles

    @extend_schema(request=SignInIn, responses={200: UserAndIssuedSessionOut}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = validated(SignInIn, request)
        signed_in = services.sign_in(tenant=request.user.tenant, email=data["email"], password=data["password"],
                                     device=device_from_request(request))
        return Response(signed_in_body(signed_in, request.user))


class RefreshView(APIView):
    permission_classes = [PublishableKey]
    throttle_classes = RefreshThrottles

    @extend_schema(request=RefreshIn, responses={200: IssuedSessionOnlyOut}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = validated(RefreshIn, request)
        issued = services.refresh_session(tenant=request.user.tenant, refresh_token=data["refresh_token"])
        return Response({"session": IssuedSessionOut(issued, context=session_context(request.user)).data})


class SignOutView(APIView):
    permission_classes = [AnyOf.kinds("user", "publishable")]

    @extend_schema(request=SignOutIn, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = validated(SignOutIn, request)
        principal: Principal = request.user
        if principal.kind == "user":
            services.revoke_sessions(sessions=Session.objects.filter(pk=principal.session.pk),
                                     reason=RevocationReason.SIGNED_OUT, actor=actor_of(principal))
        elif "refresh_token" in data:
            services.sign_out_with_refresh_token(tenant=principal.tenant, refresh_token=data["refresh_token"])
        else:
            raise ApiError("Send the session's refresh_token to sign out with a publishable key.",
                           code="invalid_parameter", fields={"refresh_token": ["This field is required."]})
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [EndUser]

    @extend_schema(responses={200: MeOut}, tags=["auth"])
    def get(self, request: Request) -> Response:
        principal: Principal = request.user
        return Response({
            "user": UserOut(principal.user).data,
            "session": SessionOut(principal.session, context=session_context(principal)).data,
        })


class PasswordChangeView(APIView):
    permission_classes = [EndUser]

    @extend_schema(request=PasswordChangeIn, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = validated(PasswordChangeIn, request)
        services.change_password(session=request.user.session, current_password=data["current_password"],
                                 new_password=data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)
