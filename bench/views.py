"""The two comparison points for GET /v1/auth/me, served by the same process as the real thing.

- `CeilingView`: DRF with no authentication, no permission check and no query. Nothing built on
  DRF can answer faster, so every other throughput is reported as a share of this one.
- `HelloJohnAuthView`: the same view behind HelloJohn's own access-token check.
- `PeerMeView`: the same view behind djangorestframework-simplejwt. A stateless token is the
  popular alternative; it cannot be revoked before `exp`, which is what HelloJohn pays a query for.
"""

from typing import ClassVar

from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication, JWTStatelessUserAuthentication

from hellojohn_project.api.permissions import EndUser
from sessions_app.authentication import AccessTokenAuthentication

# A body of the same shape and about the same size as /v1/auth/me's, so rendering costs alike.
_BODY = {
    "user": {"id": "usr_01JBENCH0000000000000000000", "tenant_id": "tnt_01JBENCH0000000000000000000",
             "email": "bench@example.com", "name": "Bench", "status": "active",
             "created_at": "2026-01-01T00:00:00Z", "last_sign_in_at": None},
    "session": {"id": "ses_01JBENCH0000000000000000000", "status": "active", "device_type": "desktop",
                "browser": "Chrome 120", "os": "macOS 10.15", "country": "US", "current": True},
}


class CeilingView(APIView):
    authentication_classes: ClassVar[list] = []
    permission_classes: ClassVar[list] = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(_BODY)


class PeerMeView(APIView):
    """simplejwt's default class: verifies the token, then loads the user (one query)."""

    authentication_classes: ClassVar[list] = [JWTAuthentication]
    permission_classes: ClassVar[list] = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({**_BODY, "user": {**_BODY["user"], "id": str(request.user.id)}})


class PeerStatelessMeView(PeerMeView):
    """simplejwt's stateless class: verifies the token and trusts its claims (no query at all)."""

    authentication_classes: ClassVar[list] = [JWTStatelessUserAuthentication]


class HelloJohnAuthView(CeilingView):
    """The ceiling's body behind HelloJohn's access-token check: the check's cost alone, without
    /v1/auth/me's serializers, to compare like for like with the simplejwt views."""

    authentication_classes: ClassVar[list] = [AccessTokenAuthentication]
    permission_classes: ClassVar[list] = [EndUser]
