"""Who is looking at a page: the tenant from the URL and the signed-in session from the cookie.

Each request uses the session through `services.use_session`: looked up by its token's hash,
checked still usable, its activity recorded (throttled). It never rotates the token. A cookie that no longer opens
a session sends the browser to sign-in with a short explanation, and the cookie is dropped.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy

from sessions_app import services
from sessions_app.exceptions import RefreshTokenInvalid, SessionExpired, SessionRevoked
from sessions_app.models import RevocationReason, Session
from sessions_app.web.cookie import forget_token, token_from
from tenants_app.models import Tenant, User
from tenants_app.selectors import active_tenant_by_slug

# Why a browser was sent back to sign-in, in words for the person in front of it.
ENDED_BECAUSE = {
    RevocationReason.SIGNED_OUT: gettext_lazy("You signed out on this device."),
    RevocationReason.REVOKED_BY_USER: gettext_lazy("This device was signed out from another of your devices."),
    RevocationReason.REVOKED_BY_ADMIN: gettext_lazy("An administrator signed this device out."),
    RevocationReason.SESSION_LIMIT: gettext_lazy("You signed in on too many devices, so this one was signed out."),
    RevocationReason.REFRESH_TOKEN_REUSED: gettext_lazy("This device was signed out to protect your account."),
    RevocationReason.PASSWORD_CHANGED: gettext_lazy("Your password was changed, so this device was signed out."),
    RevocationReason.USER_DISABLED: gettext_lazy("This account is no longer active."),
}
EXPIRED = gettext_lazy("Your session on this device has expired. Please sign in again.")
UNKNOWN = gettext_lazy("Please sign in again to manage your sessions.")


@dataclass(frozen=True)
class Visitor:
    """The signed-in person on a tenant's page, and the session this browser holds."""

    tenant: Tenant
    session: Session
    now: datetime

    @property
    def user(self) -> User:
        return self.session.user


def tenant_or_404(slug: str) -> Tenant:
    tenant = active_tenant_by_slug(slug)
    if tenant is None:
        raise Http404("No such tenant.")
    return tenant


def sign_in_url(tenant: Tenant, *, next_url: str | None = None) -> str:
    url = reverse("web:sign-in", kwargs={"slug": tenant.slug})
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def visitor_or_reason(request: HttpRequest, tenant: Tenant) -> Visitor | object | None:
    """The visitor; else why the cookie no longer works (a sentence), or None without a cookie."""
    token = token_from(request)
    if token is None:
        return None
    try:
        used = services.use_session(page_token=token, tenant=tenant)
    except RefreshTokenInvalid:
        return UNKNOWN
    except SessionRevoked as exc:
        return ENDED_BECAUSE.get(exc.session.revoked_reason, UNKNOWN)
    except SessionExpired:
        return EXPIRED
    return Visitor(tenant=tenant, session=used.session, now=used.now)


def end_previous_page_session(request: HttpRequest, tenant: Tenant) -> None:
    """Signs out the page session this browser's cookie still opens in `tenant`, if any (a new one replaces it)."""
    token = token_from(request)
    if token is None:
        return
    try:
        previous = services.use_session(page_token=token, tenant=tenant, record_activity=False).session
    except (RefreshTokenInvalid, SessionRevoked, SessionExpired):
        return
    services.revoke_session(session=previous, actor=services.Actor.for_user(previous.user_id), current=previous)


def back_to_sign_in(request: HttpRequest, tenant: Tenant, reason: object | None, *,
                    next_url: str | None = None, level: int = messages.WARNING) -> HttpResponse:
    if reason:
        messages.add_message(request, level, str(reason))  # a lazy translation, rendered in the visitor's language
    response = HttpResponseRedirect(sign_in_url(tenant, next_url=next_url))
    forget_token(response)
    return response


def signed_in_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Runs `view(request, visitor, **kwargs)` for a signed-in visitor of the URL's tenant."""

    @wraps(view)
    def wrapped(request: HttpRequest, slug: str, **kwargs: Any) -> HttpResponse:
        tenant = tenant_or_404(slug)
        found = visitor_or_reason(request, tenant)
        if not isinstance(found, Visitor):
            # After a POST there is no page to come back to; after a GET, come back to it.
            next_url = request.get_full_path() if request.method == "GET" else None
            return back_to_sign_in(request, tenant, found, next_url=next_url)
        return view(request, found, **kwargs)

    return wrapped
