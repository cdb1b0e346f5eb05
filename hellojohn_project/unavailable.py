"""503 when the database cannot be reached: the envelope under /v1, a plain page elsewhere.

docs/api.md section 5: `service_unavailable` with Retry-After, which clients honour. The middleware
catches what views raise (in debug too); `server_error`, the root URLconf's handler500, catches what
middleware raises. Any other error stays a 500.
"""

import logging
import sys
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.defaults import server_error as django_server_error

from hellojohn_project.api.errors import error_response
from hellojohn_project.api.middleware import is_api_request

logger = logging.getLogger("hellojohn.api")

RETRY_AFTER_SECONDS = 30


def database_unreachable(exc: BaseException | None) -> bool:
    """An error of the connection itself (refused, lost, closed), not of a query."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.connection is None:  # connecting failed
        return True
    try:
        return not connection.is_usable()
    except Exception:  # the check itself could not talk to the server
        return True


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        response: HttpResponse = error_response(
            request, status_code=503, code="service_unavailable",
            message="The service cannot reach its database; retry after the time in Retry-After.")
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unreachable(exception):
            return None
        logger.error("database unreachable: %s", exception, extra={"event": "database.unreachable"})
        return unavailable_response(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it inside its `except`, so the exception is sys.exc_info()'s."""
    if database_unreachable(sys.exc_info()[1]):
        return unavailable_response(request)
    return django_server_error(request)
