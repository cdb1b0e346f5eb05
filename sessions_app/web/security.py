"""Response headers of the end-user pages that the global middleware does not already set.

X-Frame-Options DENY and Referrer-Policy same-origin come from settings for every response; the
pages add a strict Content-Security-Policy (no inline script or style, nothing from other origins)
and forbid caching, since they show where a person is signed in.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
])

View = Callable[..., HttpResponse]


def page_headers(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        add_never_cache_headers(response)
        return response

    return wrapped
