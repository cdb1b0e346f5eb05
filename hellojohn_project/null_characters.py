"""Refuses pages whose address or form carries a NUL character, with a plain page; drops such cookies.

No path, filter, id or form field of the pages or the admin can hold a NUL (no column accepts one,
and PostgreSQL refuses it in any string literal, which Django reports as a 500). Rather than
guarding every lookup and filter the admin builds, a request with one is answered before any view
runs: 404 for a path (no page has such an address), 400 for a query or a form. The /v1 API is
left to its own validation, which answers the contract's envelope (docs/api.md §4).
"""

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.views.defaults import bad_request, page_not_found

from hellojohn_project.api.middleware import is_api_request

NUL = "\x00"


def _carries_nul(values: QueryDict) -> bool:
    return any(NUL in key or any(NUL in value for value in items) for key, items in values.lists())


class NullCharacterMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A cookie with a NUL was never set by this site: as if absent (the session and page cookies
        # are looked up in the database).
        for name in [name for name, value in request.COOKIES.items() if NUL in name or NUL in value]:
            del request.COOKIES[name]
        if is_api_request(request):
            return self.get_response(request)
        if NUL in request.path_info:
            return page_not_found(request, Http404("a NUL character in the address"))
        if _carries_nul(request.GET) or (request.method == "POST" and _carries_nul(request.POST)):
            return bad_request(request, BadRequest("a NUL character in the query or the form"))
        return self.get_response(request)
