"""The contract's error envelope (`docs/api.md` section 5, "Errors"), for every error under /v1.

Views raise `ApiError` subclasses (or DRF's own exceptions), the rules raise `DomainError`s;
`envelope_exception_handler` lets DRF's own handler answer each (its WWW-Authenticate and Retry-After
headers, its `set_rollback()`) and reshapes the body into `{"error": {code, message, status,
request_id[, fields]}}`. The tables here are the only ones mapping codes to statuses. Errors raised
outside DRF (unknown routes, crashes, oversized bodies) are rendered by `error_response` from the
root URLconf's handlers and the middleware, so every layer answers the same shape.
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from tenants_app.exceptions import DomainError

logger = logging.getLogger("hellojohn.api")


class ApiError(exceptions.APIException):
    """An error with a contract code. Subclasses fix the status and the default code."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_request"
    default_detail = "The request is invalid."

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 fields: Mapping[str, list[str]] | None = None, headers: Mapping[str, str] | None = None):
        super().__init__(detail=message or self.default_detail, code=code or self.default_code)
        self.error_code = code or self.default_code
        self.fields = dict(fields) if fields else None
        self.extra_headers = dict(headers or {})


class InvalidParameter(ApiError):
    default_code = "invalid_parameter"
    default_detail = "A parameter is invalid."


class Unauthorized(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "invalid_token"
    default_detail = "The credential is not valid."


class Forbidden(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "insufficient_permissions"
    default_detail = "This credential may not call this endpoint."


class NotFound(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class Unprocessable(ApiError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


# Domain errors' codes mapped to HTTP statuses: the one place where services meet HTTP.
STATUS_BY_CODE: dict[str, int] = {
    "invalid_credentials": 401,
    "session_revoked": 401,
    "session_expired": 401,
    "refresh_token_invalid": 401,
    "refresh_token_expired": 401,
    "refresh_token_reused": 401,
    "account_disabled": 403,
    "session_not_found": 404,
    "user_not_found": 404,
    "webhook_not_found": 404,
    "delivery_not_found": 404,
    "invalid_webhook_url": 422,
    "email_already_exists": 409,
    "invalid_email": 422,
    "password_too_weak": 422,
}


def api_error_from(exc: DomainError) -> ApiError:
    error = ApiError(exc.message, code=exc.code, fields=exc.fields)
    error.status_code = STATUS_BY_CODE.get(exc.code, 400)
    return error


# DRF's own exceptions, mapped onto contract codes.
_DRF_CODES: dict[type[exceptions.APIException], tuple[str, str | None]] = {
    exceptions.ParseError: ("invalid_request", None),  # the parser says what is wrong with the body
    exceptions.NotAuthenticated: ("missing_token", "An Authorization: Bearer credential is required."),
    exceptions.AuthenticationFailed: ("invalid_token", None),
    exceptions.PermissionDenied: ("insufficient_permissions", "This credential may not call this endpoint."),
    exceptions.NotFound: ("not_found", "Not found."),
    exceptions.MethodNotAllowed: ("method_not_allowed", None),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", "Send the body as application/json."),
    exceptions.NotAcceptable: ("invalid_request", None),
    exceptions.Throttled: ("rate_limited", None),
}

# Codes and messages for errors that reach an API client without passing through a DRF view
# (Django's 404 and 405, a DisallowedHost 400, an oversized body): see `middleware.py`.
NON_DRF_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "The request is invalid."),
    403: ("insufficient_permissions", "Forbidden."),
    404: ("not_found", "No such endpoint or object."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the body as application/json."),
}
SERVER_ERROR = ("internal_error", "Something went wrong on our side. Quote the request_id when reporting it.")

# Field-error codes that mean "the value has the wrong type" rather than "out of range".
_TYPE_ERROR_CODES = frozenset({"invalid", "not_a_list", "not_a_dict", "null", "wrong_type", "invalid_choice_type"})


def error_body(request: HttpRequest | None, *, status_code: int, code: str, message: str,
               fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "status": status_code,
        "request_id": getattr(request, "request_id", None),
    }
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_response(request: HttpRequest | None, *, status_code: int, code: str, message: str) -> JsonResponse:
    """An envelope response for errors raised outside DRF's views."""
    return JsonResponse(error_body(request, status_code=status_code, code=code, message=message), status=status_code)


def _flatten_fields(detail: Any, prefix: str = "") -> tuple[dict[str, list[str]], set[str]]:
    """Turn DRF's nested ValidationError detail into `{"field.sub": [messages]}` and the codes seen."""
    fields: dict[str, list[str]] = {}
    codes: set[str] = set()
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            sub_fields, sub_codes = _flatten_fields(value, name)
            fields.update(sub_fields)
            codes |= sub_codes
    elif isinstance(detail, list):
        for item in detail:
            if isinstance(item, Mapping | list):
                sub_fields, sub_codes = _flatten_fields(item, prefix)
                for key, messages in sub_fields.items():
                    fields.setdefault(key, []).extend(messages)
                codes |= sub_codes
            else:
                fields.setdefault(prefix or "non_field_errors", []).append(str(item))
                codes.add(getattr(item, "code", "invalid"))
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
        codes.add(getattr(detail, "code", "invalid"))
    return fields, codes


def _validation_error(exc: exceptions.ValidationError) -> tuple[str, str, dict[str, list[str]]]:
    fields, codes = _flatten_fields(exc.detail)
    if codes & _TYPE_ERROR_CODES:
        return "invalid_request", "The request has fields of the wrong type.", fields
    return "invalid_parameter", "The request has invalid fields.", fields


def _describe(exc: exceptions.APIException) -> tuple[str, str, dict[str, list[str]] | None]:
    """The contract's code, message and field errors for a DRF exception (ours included)."""
    if isinstance(exc, ApiError):
        return exc.error_code, str(exc.detail), exc.fields
    if isinstance(exc, exceptions.ValidationError):
        return _validation_error(exc)
    code, default_message = next(
        (mapped for cls, mapped in _DRF_CODES.items() if isinstance(exc, cls)),
        ("invalid_request", None),
    )
    return code, default_message or str(exc.detail), None


def envelope_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's own handler (its headers, its `set_rollback()`), with the body reshaped into the envelope."""
    # Imported here: rest_framework.views loads the authentication classes, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DomainError):
        exc = api_error_from(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return None  # Not ours: Django's handler500 answers with the envelope and logs it.

    code, message, fields = _describe(exc)
    if isinstance(exc, ApiError):
        for header, value in exc.extra_headers.items():
            response[header] = value
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        # DRF truncates the wait; a client retrying after the truncated value would be refused again.
        response["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    response.data = error_body(context.get("request"), status_code=exc.status_code, code=code, message=message,
                               fields=fields)
    return response
