"""Counts and times every answered request by route (the URL pattern, never the raw path) and status."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from hellojohn_project.metrics import REQUEST_SECONDS, REQUESTS

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: HttpRequest) -> str:
    """The matched pattern (`v1/sessions/<str:session_id>`), `unmatched` for paths no pattern takes."""
    match = request.resolver_match
    if match is None:  # answered before URL resolution (a 503, a 413, a CORS preflight)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "unmatched"
    return match.route or match.view_name or "unmatched"


class RequestMetricsMiddleware:
    """Just inside the request id middleware, so it sees every answer, the ones middleware gives too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        labels = {"route": route_of(request), "method": request.method if request.method in _METHODS else "other",
                  "status": str(response.status_code)}
        REQUESTS.labels(**labels).inc()
        REQUEST_SECONDS.labels(**labels).observe(time.perf_counter() - started)
        return response
