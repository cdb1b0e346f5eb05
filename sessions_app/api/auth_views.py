"""/v1/auth/*: sign-up, sign-in, refresh, sign-out, me, password change (docs/api.md §8)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hellojohn_project.api.errors import ApiError
from hellojohn_project.api.permissions import AnyOf, EndUser, PublishableKey
from hellojohn_project.api.principal import Principal
from sessions_app import services
from sessions_app.api.callers import actor_of, session_context, validated
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


def signed_in_body(signed_in: services.SignedIn, principal: Principal) -> dict[str, Any]:
    return {
        "user": UserOut(signed_in.user).data,
        "session": IssuedSessionOut(signed_in.issued, context=session_context(principal)).data,
    }


class SignUpView(APIView):
    permission_classes = [PublishableKey]
    throttle_classes = SignUpThrottles

    @extend_schema(request=SignUpIn, responses={201: UserAndIssuedSessionOut}, tags=["auth"], operation_id="signUp",
                   summary="Sign up a new user",
                   description="Creates the user and its first session on this device; answers both, with the "
                               "session's access and refresh tokens. Publishable key.")
    def post(self, request: Request) -> Response:
        data = validated(SignUpIn, request)
        signed_in = services.sign_up(tenant=request.user.tenant, email=data["email"], password=data["password"],
                                     name=data["name"], device=device_from_request(request))
        return Response(signed_in_body(signed_in, request.user), status=status.HTTP_201_CREATED)


class SignInView(APIView):
    permission_classes = [PublishableKey]
    throttle_classes = SignInThrottles

    @extend_schema(request=SignInIn, responses={200: UserAndIssuedSessionOut}, tags=["auth"], operation_id="signIn",
                   summary="Sign in on this device",
                   description="Creates a new, independent session for this device; the tenant's "
                               "max_sessions_per_user may revoke the user's oldest sessions (session_limit). "
                               "Unknown email and wrong password both answer 401 invalid_credentials. "
                               "Publishable key.")
    def post(self, request: Request) -> Response:
        data = validated(SignInIn, request)
        signed_in = services.sign_in(tenant=request.user.tenant, email=data["email"], password=data["password"],
                                     device=device_from_request(request))
        return Response(signed_in_body(signed_in, request.user))


class RefreshView(APIView):
    permission_classes = [PublishableKey]
    throttle_classes = RefreshThrottles

    @extend_schema(request=RefreshIn, responses={200: IssuedSessionOnlyOut}, tags=["auth"],
                   operation_id="refreshToken", summary="Refresh the tokens",
                   description="Rotates the refresh token: answers new access and refresh tokens and retires the "
                               "old refresh token. Presenting a retired one again revokes the whole session "
                               "(401 refresh_token_reused). Publishable key.")
    def post(self, request: Request) -> Response:
        data = validated(RefreshIn, request)
        issued = services.refresh_session(tenant=request.user.tenant, refresh_token=data["refresh_token"])
        return Response({"session": IssuedSessionOut(issued, context=session_context(request.user)).data})


class SignOutView(APIView):
    permission_classes = [AnyOf.kinds("user", "publishable")]

    @extend_schema(request=SignOutIn, responses={204: None}, tags=["auth"], operation_id="signOut",
                   summary="Sign out this session",
                   description="Revokes the caller's session (signed_out): with its access token and no body, or "
                               "with the publishable key and the session's refresh_token in the body (this works "
                               "after the access token has expired).")
    def post(self, request: Request) -> Response:
        data = validated(SignOutIn, request)
        principal: Principal = request.user
        if principal.kind == "user":
            services.revoke_session(session=principal.session, actor=actor_of(principal),
                                    current=principal.session)
        elif "refresh_token" in data:
            services.sign_out_with_refresh_token(tenant=principal.tenant, refresh_token=data["refresh_token"])
        else:
            raise ApiError("Send the session's refresh_token to sign out with a publishable key.",
                           code="invalid_parameter", fields={"refresh_token": ["This field is required."]})
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [EndUser]

    @extend_schema(responses={200: MeOut}, tags=["auth"], operation_id="getMe", summary="Get the caller",
                   description="The calling user and the session its access token belongs to. Access token.")
    def get(self, request: Request) -> Response:
        principal: Principal = request.user
        return Response({
            "user": UserOut(principal.user).data,
            "session": SessionOut(principal.session, context=session_context(principal)).data,
        })


class PasswordChangeView(APIView):
    permission_classes = [EndUser]

    @extend_schema(request=PasswordChangeIn, responses={204: None}, tags=["auth"], operation_id="changePassword",
                   summary="Change the caller's password",
                   description="Checks current_password, sets new_password and revokes the user's other sessions "
                               "(password_changed); this session stays signed in. Access token.")
    def post(self, request: Request) -> Response:
        data = validated(PasswordChangeIn, request)
        services.change_password(session=request.user.session, current_password=data["current_password"],
                                 new_password=data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)
