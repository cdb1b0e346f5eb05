"""GET /.well-known/jwks.json: the public keys that verify access tokens."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions_app.api.serializers import JwkSetOut
from sessions_app.tokens import JWKS_MAX_AGE, public_jwks


class JwksView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: JwkSetOut}, tags=["keys"], auth=[], operation_id="getJwks",
                   summary="Get the token-signing public keys",
                   description="The JWK Set that verifies access tokens offline (EdDSA, Ed25519), keyed by `kid`. "
                               "Cacheable for five minutes. No credential.")
    def get(self, request: Request) -> Response:
        response = Response(public_jwks())
        # Verifiers may cache the set briefly; a new key appears long before it signs anything they see
        # (services.signing_keys.PUBLICATION_LEAD).
        response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
        return response
