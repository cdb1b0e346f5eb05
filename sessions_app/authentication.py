"""DRF authentication by an end user's access token.

Every request re-checks the token's session (one indexed query), so a revoked session's tokens are
refused on their very next request, not at `exp`.
"""

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from hellojohn_project.api.authentication import bearer_credential, require_tenant
from hellojohn_project.api.errors import Unauthorized, api_error_from
from hellojohn_project.api.principal import Principal
from sessions_app.exceptions import SessionExpired, SessionRevoked
from sessions_app.models import Session
from sessions_app.selectors import session_for_access_check
from sessions_app.services import ensure_active, touch
from sessions_app.tokens import ExpiredAccessToken, InvalidAccessToken, decode_access_token
from tenants_app.models import Tenant


def session_for_access_token(token: str) -> Session:
    """The active session behind `token`, or the contract's 401 (invalid, expired, revoked)."""
    try:
        claims = decode_access_token(token)
    except ExpiredAccessToken as exc:
        raise Unauthorized("The access token has expired; refresh it.", code="token_expired") from exc
    except InvalidAccessToken as exc:
        raise Unauthorized("The access token is not valid.", code="invalid_token") from exc
    session = session_for_access_check(claims["session_id"])
    if session is None or session.tenant_id != claims["tenant_id"] or session.user_id != claims["sub"]:
        # Purged, or claims that do not fit together: either way this token identifies nothing.
        raise Unauthorized("The access token is not valid.", code="invalid_token")
    if session.tenant.status != Tenant.Status.ACTIVE:
        # A disabled tenant's keys already fail; its users' tokens must not outlive them.
        raise Unauthorized("The access token is not valid.", code="invalid_token")
    return session


class AccessTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, Principal] | None:
        credential = bearer_credential(request)
        if credential is None:
            return None
        session = session_for_access_token(credential)
        now = timezone.now()
        try:
            ensure_active(session, now=now)
        except (SessionRevoked, SessionExpired) as exc:
            raise api_error_from(exc) from exc
        require_tenant(request, session.tenant_id)
        touch(session, now=now)
        principal = Principal(kind="user", tenant=session.tenant, user=session.user, session=session)
        return principal, principal

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
