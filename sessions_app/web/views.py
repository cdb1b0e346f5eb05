"""The end-user pages of a tenant: sign in, see every signed-in device, and sign any of them out.

Thin: each view parses, authorizes through the cookie guard, calls a service and renders. Every
sign-out goes through `services.revoke_session(s)`, the one revocation path the API uses as well.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import rotate_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from sessions_app import services
from sessions_app.device import device_from_request
from sessions_app.models import CredentialKind, Session
from sessions_app.selectors import active_sessions_for, session_of_user
from sessions_app.session_history import recently_ended_for
from sessions_app.web.cookie import store_token
from sessions_app.web.forms import PasswordChangeForm, SignInForm
from sessions_app.web.guard import (
    Visitor,
    back_to_sign_in,
    end_previous_page_session,
    signed_in_page,
    tenant_or_404,
    visitor_or_reason,
)
from sessions_app.web.language import in_visitor_language
from sessions_app.web.presenters import rows_for
from sessions_app.web.security import page_headers
from sessions_app.web.throttle import sign_in_retry_after
from sessions_app.wording import device_label
from tenants_app.exceptions import AccountDisabled, InvalidCredentials, PasswordTooWeak
from tenants_app.ids import is_valid_id
from tenants_app.models import Tenant

SIGN_IN_FAILED = gettext_lazy("The email or password is incorrect, or this account cannot sign in.")
SIGN_IN_THROTTLED = gettext_lazy("Too many sign-in attempts. Wait a minute, then try again.")
CURRENT_PASSWORD_WRONG = gettext_lazy("The current password is incorrect.")


@require_safe
def tenant_home(request: HttpRequest, slug: str) -> HttpResponse:
    """/t/<slug>/ has nothing of its own: the sessions page (which sends to sign-in when needed)."""
    return HttpResponseRedirect(_sessions_url(tenant_or_404(slug)))


def _sessions_url(tenant: Tenant) -> str:
    return reverse("web:sessions", kwargs={"slug": tenant.slug})


def _safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    """A same-site path to return to after sign-in; anything that could leave the site is dropped."""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return None


@page_headers
@in_visitor_language
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = tenant_or_404(slug)
    next_url = _safe_next(request, request.POST.get("next") if request.method == "POST" else request.GET.get("next"))
    if request.method == "GET":
        if isinstance(visitor_or_reason(request, tenant), Visitor):
            return HttpResponseRedirect(next_url or _sessions_url(tenant))
        return _sign_in_page(request, tenant, SignInForm(), next_url)

    form = SignInForm(request.POST)
    if not form.is_valid():
        return _sign_in_page(request, tenant, form, next_url, status=400)
    email, password = form.cleaned_data["email"], form.cleaned_data["password"]
    retry_after = sign_in_retry_after(request, tenant=tenant, email=email)
    if retry_after is not None:
        response = _sign_in_page(request, tenant, form, next_url, error=str(SIGN_IN_THROTTLED), status=429)
        response["Retry-After"] = str(retry_after)
        return response
    try:
        signed_in = services.sign_in(tenant=tenant, email=email, password=password,
                                     device=device_from_request(request), kind=CredentialKind.PAGE)
    except (InvalidCredentials, AccountDisabled):
        return _sign_in_page(request, tenant, form, next_url, error=str(SIGN_IN_FAILED), status=400)
    # One page session per browser and tenant: the one this browser held ends (it signs out), and
    # the CSRF token changes with the person signed in, so a token read before sign-in is no use after.
    end_previous_page_session(request, tenant)
    rotate_token(request)
    response = HttpResponseRedirect(next_url or _sessions_url(tenant))
    store_token(response, token=signed_in.issued.refresh_token, expires_at=signed_in.issued.refresh_token_expires_at)
    return response


def _sign_in_page(request: HttpRequest, tenant: Tenant, form: SignInForm, next_url: str | None, *,
                  error: str | None = None, status: int = 200) -> HttpResponse:
    if error is not None:
        form.data = form.data.copy()
        form.data["password"] = ""  # never echo a password back, right or wrong
    return render(request, "web/sign_in.html", {"tenant": tenant, "form": form, "next": next_url, "error": error},
                  status=status)


@page_headers
@in_visitor_language
@require_safe
@signed_in_page
def session_list(request: HttpRequest, visitor: Visitor) -> HttpResponse:
    return _sessions_page(request, visitor, PasswordChangeForm())


def _sessions_page(request: HttpRequest, visitor: Visitor, password_form: PasswordChangeForm, *,
                   status: int = 200) -> HttpResponse:
    sessions = list(active_sessions_for(visitor.user, now=visitor.now))
    rows = rows_for(sessions, current=visitor.session, now=visitor.now)
    # The current session is always shown, first: the page is being looked at on it.
    rows.sort(key=lambda row: not row.is_current)
    ended = rows_for(recently_ended_for(visitor.user, now=visitor.now), current=None, now=visitor.now)
    return render(request, "web/sessions.html", {
        "tenant": visitor.tenant, "user": visitor.user, "rows": rows, "ended": ended,
        "others": sum(1 for row in rows if not row.is_current), "password_form": password_form,
    }, status=status)


@page_headers
@in_visitor_language
@require_POST
@signed_in_page
def change_password(request: HttpRequest, visitor: Visitor) -> HttpResponse:
    """Current and new password; every other device is signed out (services.change_password)."""
    form = PasswordChangeForm(request.POST)
    if form.is_valid():
        try:
            revoked = services.change_password(session=visitor.session,
                                               current_password=form.cleaned_data["current_password"],
                                               new_password=form.cleaned_data["new_password"])
        except InvalidCredentials:
            form.add_error("current_password", str(CURRENT_PASSWORD_WRONG))
        except PasswordTooWeak as exc:
            for message in (exc.fields or {}).get("new_password", [exc.message]):
                form.add_error("new_password", message)
        else:
            messages.success(request, ngettext(
                "Password changed. %(count)d other device was signed out.",
                "Password changed. %(count)d other devices were signed out.", revoked) % {"count": revoked}
                if revoked else gettext("Password changed. No other device was signed in."))
            return HttpResponseRedirect(_sessions_url(visitor.tenant))
    # Never echo a password back.
    form.data = form.data.copy()
    form.data["current_password"] = form.data["new_password"] = ""
    return _sessions_page(request, visitor, form, status=400)


@page_headers
@in_visitor_language
@require_POST
@signed_in_page
def sign_out(request: HttpRequest, visitor: Visitor) -> HttpResponse:
    """This browser's own session ends."""
    return _sign_out_here(request, visitor)


@page_headers
@in_visitor_language
@require_POST
@signed_in_page
def sign_out_session(request: HttpRequest, visitor: Visitor, session_id: str) -> HttpResponse:
    """One of the visitor's sessions ends. Anyone else's id answers 404 and changes nothing."""
    session = session_of_user(user=visitor.user, session_id=session_id) if is_valid_id(session_id, "ses") else None
    if session is None:
        raise Http404("No such session.")
    if session.pk == visitor.session.pk:
        return _sign_out_here(request, visitor)
    label = device_label(session.browser, session.os)
    if _revoke_one(visitor, session):
        messages.success(request, gettext("Signed out of %(device)s.") % {"device": label})
    else:
        messages.info(request, gettext("%(device)s was already signed out.") % {"device": label})
    return HttpResponseRedirect(_sessions_url(visitor.tenant))


@page_headers
@in_visitor_language
@require_POST
@signed_in_page
def sign_out_others(request: HttpRequest, visitor: Visitor) -> HttpResponse:
    revoked = services.revoke_user_sessions(user=visitor.user, actor=_actor(visitor), keep=visitor.session)
    if revoked:
        count = len(revoked)
        messages.success(request, ngettext("Signed out of %(count)d other device.",
                                           "Signed out of %(count)d other devices.", count) % {"count": count})
    else:
        messages.info(request, gettext("No other devices were signed in."))
    return HttpResponseRedirect(_sessions_url(visitor.tenant))


def _sign_out_here(request: HttpRequest, visitor: Visitor) -> HttpResponse:
    _revoke_one(visitor, visitor.session)
    return back_to_sign_in(request, visitor.tenant, gettext("You signed out."), level=messages.SUCCESS)


def _actor(visitor: Visitor) -> services.Actor:
    return services.Actor.for_user(visitor.user.id)


def _revoke_one(visitor: Visitor, session: Session) -> bool:
    """Ends `session`: signing out if it is this browser's own, else `revoked_by_user` (the rules decide)."""
    return bool(services.revoke_session(session=session, actor=_actor(visitor), current=visitor.session,
                                        now=visitor.now))
