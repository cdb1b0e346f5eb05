"""Request-wide plumbing: request ids, version header, body limit, envelope for non-DRF errors."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ulid import ULID

from hellojohn_project.api.errors import NON_DRF_ERRORS, SERVER_ERROR, error_response

API_PREFIX = "/v1/"


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


class RequestIdMiddleware:
    """Outermost middleware: gives every request a `req_` id and every response the service headers.

    It also rewrites any non-JSON error under /v1 (Django's 404 and 500 pages, a DisallowedHost 400,
    the technical pages in DEBUG) into the contract's envelope, so no layer can leak HTML or a
    traceback to an API client.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = f"req_{ULID()}"
        response = self.get_response(request)
        if (
            is_api_request(request)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code, message = NON_DRF_ERRORS.get(response.status_code, SERVER_ERROR)
            status_code = response.status_code if response.status_code in NON_DRF_ERRORS else 500
            if status_code == 500 and response.status_code != 500:
                code, message = NON_DRF_ERRORS[400] if response.status_code < 500 else SERVER_ERROR
                status_code = 400 if response.status_code < 500 else 500
            replacement = error_response(request, status_code=status_code, code=code, message=message)
            # Only the body changes: inner middleware's headers (HSTS, nosniff, Allow, ...) still apply.
            for header, value in response.items():
                if header.lower() not in {"content-type", "content-length"}:
                    replacement[header] = value
            response = replacement
        response["X-Request-ID"] = request.request_id
        response["X-HelloJohn-Version"] = settings.HJ_VERSION
        return response


class ApiBodyLimitMiddleware:
    """Refuses /v1 bodies over HJ_MAX_BODY_BYTES before anything reads them.

    DRF parses JSON straight from the stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never applies
    to API calls; this is the limit that does.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_request(request):
            raw_length = request.META.get("CONTENT_LENGTH") or "0"
            try:
                length = int(raw_length)
            except ValueError:
                return error_response(request, status_code=400, code="invalid_request",
                                      message="Content-Length is not a number.")
            if length > settings.HJ_MAX_BODY_BYTES:
                return error_response(
                    request, status_code=413, code="payload_too_large",
                    message=f"The request body is over {settings.HJ_MAX_BODY_BYTES} bytes.",
                )
        return self.get_response(request)
