"""DRF authentication by an end user's access token.

Every request re-checks the token's session (`services.use_session`, one indexed query), so a
revoked session's tokens are refused on their very next request, not at `exp`.
"""

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from hellojohn_project.api.authentication import bearer_credential, require_tenant
from hellojohn_project.api.errors import Unauthorized, api_error_from
from hellojohn_project.api.principal import Principal
from sessions_app import services
from sessions_app.exceptions import SessionUnusable
from sessions_app.tokens import ExpiredAccessToken, InvalidAccessToken


def unauthorized(exc: InvalidAccessToken) -> Unauthorized:
    """The contract's 401 for an access token that opens no session (docs/api.md §4)."""
    if isinstance(exc, ExpiredAccessToken):
        return Unauthorized("The access token has expired; refresh it.", code="token_expired")
    return Unauthorized("The access token is not valid.", code="invalid_token")


class AccessTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, Principal] | None:
        credential = bearer_credential(request)
        if credential is None:
            return None
        try:
            # The tenant header is checked after the token (the contract's order of checks) and
            # before the activity is recorded: a request refused for its header is no use.
            used = services.use_session(
                access_token=credential, then=lambda session: require_tenant(request, session.tenant_id),
            )
        except InvalidAccessToken as exc:
            raise unauthorized(exc) from exc
        except SessionUnusable as exc:
            raise api_error_from(exc) from exc
        session = used.session
        principal = Principal(kind="user", tenant=session.tenant, user=session.user, session=session)
        return principal, principal

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
