"""Operator sign-in (/admin/login/) under django-axes: the client address it counts, the headers it
stores, and audit lines.

Axes records every failure in its tables and locks a username or an address after
AXES_FAILURE_LIMIT failures (settings.py); these receivers put failures and lockouts in the audit
trail (the `hellojohn.audit` logger), never the password tried.
"""

import logging
from collections.abc import Callable
from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from hellojohn_project.admin_paths import admin_path
from sessions_app.device import client_ip

logger = logging.getLogger("hellojohn.audit")


def client_address(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the address the rate limits use (HJ_TRUSTED_PROXIES decides)."""
    return client_ip(request)[0]


# Headers axes copies into its tables on a failure; PostgreSQL refuses NUL in text columns.
_STORED_HEADERS = ("HTTP_USER_AGENT", "HTTP_ACCEPT")


class OperatorLoginHeadersMiddleware:
    """Drops NUL bytes from the headers axes stores, on the admin's sign-in only (before AxesMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == admin_path("admin:login"):
            for name in _STORED_HEADERS:
                if "\x00" in request.META.get(name, ""):
                    request.META[name] = request.META[name].replace("\x00", "")
        return self.get_response(request)


@receiver(user_login_failed, dispatch_uid="hj-operator-login-failed")
def operator_sign_in_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                            **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    logger.warning("operator.sign_in_failed", extra={
        "event": "operator.sign_in_failed", "username": username,
        "ip_address": client_address(request) if request is not None else None})


@receiver(user_locked_out, dispatch_uid="hj-operator-locked-out")
def operator_locked_out(sender: Any, request: HttpRequest, username: str | None, ip_address: str | None,
                        **kwargs: Any) -> None:
    logger.warning("operator.locked_out", extra={
        "event": "operator.locked_out", "username": (username or "")[:150], "ip_address": ip_address})
