"""The browser's credential: the page session's refresh token, in one HttpOnly cookie.

Only a hash of the token is stored server-side, so a database leak does not sign anyone in. Outside
DEBUG the cookie is Secure and `__Host-` prefixed: browsers then refuse it over plain HTTP, from a
subdomain or with a Domain/Path that would widen it.
"""

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

DEBUG_COOKIE_NAME = "hj_session"
SECURE_COOKIE_NAME = "__Host-hj_session"


def cookie_name() -> str:
    # Read per call, not at import: tests and deployments flip DEBUG through settings.
    return DEBUG_COOKIE_NAME if settings.DEBUG else SECURE_COOKIE_NAME


def token_from(request: HttpRequest) -> str | None:
    token = request.COOKIES.get(cookie_name(), "")
    return token or None


def store_token(response: HttpResponse, *, token: str, expires_at: datetime) -> None:
    max_age = max(0, int((expires_at - timezone.now()).total_seconds()))
    response.set_cookie(cookie_name(), token, max_age=max_age, path="/", secure=not settings.DEBUG,
                        httponly=True, samesite="Lax")


def forget_token(response: HttpResponse) -> None:
    response.delete_cookie(cookie_name(), path="/", samesite="Lax")
