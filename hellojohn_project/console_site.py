"""The operators' admin site: Django's, with the second factor (hellojohn_project/operator_mfa.py).

`hellojohn_project.console_apps.ConsoleAdminConfig` replaces `django.contrib.admin` in
INSTALLED_APPS and makes this the default site, so every `@admin.register` and `admin.site.urls`
use it. With `HJ_OPERATOR_MFA=required` an operator whose session is not verified by a code has
no permission on any admin page; one who has no second factor yet is sent to "Two-factor
sign-in" (`admin:operator_mfa`) to enrol one.
"""

import base64
import io
from collections.abc import Callable
from functools import wraps
from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login

from hellojohn_project import operator_mfa
from hellojohn_project.console_login import ConsoleAuthenticationForm
from hellojohn_project.db_router import lag_tolerant


def _is_operator(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_staff


def _verified(request: HttpRequest) -> bool:
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (no image request, nothing the CSP must allow)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg"):]


def _is_list(request: HttpRequest) -> bool:
    """A GET of a changelist or of the index (the dashboard): the admin's reads that may lag the primary."""
    match = request.resolver_match
    name = (match.url_name or "") if match else ""
    return request.method in ("GET", "HEAD") and (name == "index" or name.endswith("_changelist"))


def lists_from_replica(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Runs an admin list on the read replica (hellojohn_project/db_router.py), rendered there too.

    Inside the admin's own permission check; the operator's permissions are read first, from the
    primary (they are an access check), and stay cached on the user for the list's own checks.
    """

    def rendered(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, TemplateResponse):
            response.render()  # the template reads the rows: inside lag_tolerant, not after it
        return response

    @wraps(view)
    def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _is_list(request):
            return view(request, *args, **kwargs)
        if not request.user.is_superuser:  # a superuser's checks read no permission
            request.user.get_all_permissions()
        return lag_tolerant(rendered)(request, *args, **kwargs)

    return run


class ConsoleAdminSite(admin.AdminSite):
    login_form = ConsoleAuthenticationForm
    login_template = "admin/login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not operator_mfa.mfa_required() or _verified(request)

    def needs_enrolment(self, request: HttpRequest) -> bool:
        return (operator_mfa.mfa_required() and _is_operator(request)
                and not operator_mfa.has_second_factor(request.user))

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "GET" and self.needs_enrolment(request):
            return HttpResponseRedirect(reverse("admin:operator_mfa", current_app=self.name))
        context = {**(extra_context or {}), "mfa_required": operator_mfa.mfa_required()}
        return super().login(request, extra_context=context)

    def admin_view(self, view: Callable[..., HttpResponse], cacheable: bool = False) -> Callable[..., HttpResponse]:
        return super().admin_view(lists_from_replica(view), cacheable)

    def get_urls(self) -> list[URLPattern]:
        mfa = path("mfa/", self.mfa_view, name="operator_mfa")
        return [mfa, *super().get_urls()]

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["mfa_url"] = reverse("admin:operator_mfa", current_app=self.name)
        return context

    @method_decorator(never_cache)
    def mfa_view(self, request: HttpRequest) -> HttpResponse:
        """Enrol an authenticator (scan, confirm a code), see and renew recovery codes."""
        return csrf_protect(self._mfa_view)(request)

    def _mfa_view(self, request: HttpRequest) -> HttpResponse:
        if not _is_operator(request):
            return HttpResponseRedirect(f"{reverse('admin:login', current_app=self.name)}?next={request.path}")
        operator = request.user
        # Once an operator has a second factor, changing it needs a session verified by it.
        if operator_mfa.has_second_factor(operator) and not _verified(request):
            return HttpResponseRedirect(f"{reverse('admin:login', current_app=self.name)}?next={request.path}")
        codes: list[str] = []
        error = ""
        if request.method == "POST" and request.POST.get("do") == "confirm":
            confirmed = operator_mfa.confirm_authenticator(operator=operator, token=request.POST.get("token", ""))
            if confirmed is None:
                error = "That code is not the one the app shows now: try the next one."
            else:
                device, codes = confirmed
                otp_login(request, device)
                messages.success(request, "Your authenticator is set up. Keep the recovery codes below.")
        elif request.method == "POST" and request.POST.get("do") == "recovery":
            codes = operator_mfa.new_recovery_codes(operator=operator)
            messages.success(request, "New recovery codes; the old ones no longer work.")
        pending = operator_mfa.pending_authenticator(operator) if not codes else None
        context = {
            **self.each_context(request),
            "title": "Two-factor sign-in",
            "authenticators": operator_mfa.confirmed_authenticators(operator),
            "recovery_left": operator_mfa.recovery_codes_left(operator),
            "codes": codes,
            "error": error,
            "required": operator_mfa.mfa_required(),
            "pending_uri": pending.config_url if pending else "",
            "pending_secret": base64.b32encode(pending.bin_key).decode() if pending else "",
            "pending_qr": qr_svg(pending.config_url) if pending else "",
        }
        return TemplateResponse(request, "admin/operator_mfa.html", context)
