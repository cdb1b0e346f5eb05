"""What drf-spectacular cannot infer about the /v1 contract, so that docs/openapi.json can generate SDKs.

From each view it derives, the way the routes enforce it (docs/api.md, "Credentials" and "Errors"):

- the security of every operation, from the view's permission classes: `secretKey` (admin),
  `publishableKey` (pk), `accessToken` (user), or none;
- the error answers it can give, each with the envelope: 400 and 403 always, 401 when it needs a
  credential, 404 with an id in the path, 413/415 with a body, 409/422 on account writes, 429 with
  Retry-After and X-RateLimit-* when the view is throttled, 503 with Retry-After, and `default`;
- the X-Tenant-ID header on every /v1 operation.

A view documents any further error it answers in its own `extend_schema(responses=...)`, e.g.
`422: OpenApiResponse(description="... (invalid_webhook_url).")`; such answers get the envelope too.

The postprocessing hook adds the shared components (the envelope, its error-code enum, the security
schemes), marks every field of an output object required except the few the contract says may be
absent, bounds `limit`, and sets `servers` and the tags.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny

from hellojohn_project.api.permissions import AnyOf

ERROR_COMPONENT = "ErrorEnvelope"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
ERROR_CODE_COMPONENT = "ErrorCode"

# Every code of the contract (docs/api.md, "Errors"), by status.
ERROR_CODES: dict[int, tuple[str, ...]] = {
    400: ("invalid_request", "invalid_parameter", "missing_tenant_id"),
    401: ("missing_token", "invalid_token", "token_expired", "invalid_api_key", "invalid_credentials",
          "session_revoked", "session_expired", "refresh_token_invalid", "refresh_token_expired",
          "refresh_token_reused"),
    403: ("tenant_mismatch", "insufficient_permissions", "account_disabled"),
    404: ("not_found", "session_not_found", "user_not_found", "webhook_not_found", "delivery_not_found"),
    405: ("method_not_allowed",),
    409: ("email_already_exists",),
    413: ("payload_too_large",),
    415: ("unsupported_media_type",),
    422: ("invalid_email", "password_too_weak", "invalid_webhook_url"),
    429: ("rate_limited",),
    500: ("internal_error",),
    503: ("service_unavailable",),
}
ALL_ERROR_CODES = [code for codes in ERROR_CODES.values() for code in codes]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every non-2xx answer, from every layer (docs/api.md, \"Errors\").",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"$ref": f"#/components/schemas/{ERROR_CODE_COMPONENT}"},
                "message": {"type": "string", "description": "For people; may change. Match on `code`."},
                "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status."},
                "request_id": {"type": "string", "pattern": "^req_[0-9A-HJKMNP-TV-Z]{26}$",
                               "description": "Also in the X-Request-ID header; quote it when reporting."},
                "fields": {
                    "type": "object",
                    "description": "Validation failures: the messages of each invalid field.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message", "status", "request_id"],
            "additionalProperties": False,
        },
    },
    "required": ["error"],
    "additionalProperties": False,
}

TENANT_HEADER = {
    "in": "header",
    "name": "X-Tenant-ID",
    "required": True,
    "schema": {"type": "string", "pattern": "^tnt_[0-9A-HJKMNP-TV-Z]{26}$"},
    "description": "The tenant the credential belongs to (tnt_…).",
}

# Credential kinds (hellojohn_project/api/permissions.py) and their security schemes, in the order listed.
SECURITY_SCHEMES: dict[str, tuple[str, dict[str, str]]] = {
    "secret": ("secretKey", {"type": "http", "scheme": "bearer",
                             "description": "admin: the tenant's secret key (sk_live_… / sk_test_…), for its backend "
                                            "only; never in a browser."}),
    "publishable": ("publishableKey", {"type": "http", "scheme": "bearer",
                                       "description": "pk: the tenant's publishable key (pk_live_… / pk_test_…), "
                                                      "for browsers and apps."}),
    "user": ("accessToken", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                             "description": "user: an end user's EdDSA access token, from sign-in, sign-up or "
                                            "refresh."}),
}

_HEADER_INT = {"schema": {"type": "integer"}}
RETRY_AFTER = {"Retry-After": {**_HEADER_INT, "description": "Seconds to wait before retrying."}}
RATE_LIMIT_HEADERS = {
    **RETRY_AFTER,
    "X-RateLimit-Limit": {**_HEADER_INT, "description": "Requests allowed in the window."},
    "X-RateLimit-Remaining": {**_HEADER_INT, "description": "Requests left in the window (0 when limited)."},
    "X-RateLimit-Reset": {**_HEADER_INT, "description": "Unix time at which the window frees a request."},
}

# Output fields the contract allows to be absent; every other field of an output object is always there.
OPTIONAL_OUTPUT_FIELDS = {("SessionWithCurrentOut", "current")}
_EMAIL_TAKEN = {"409": "The email is already registered (email_already_exists)."}
_WEAK_INPUT = {"422": "Invalid email, or a password too weak (invalid_email, password_too_weak)."}
_ACCOUNT_WRITES = {("/v1/auth/sign-up", "POST"): {**_EMAIL_TAKEN, **_WEAK_INPUT},
                   ("/v1/users", "POST"): {**_EMAIL_TAKEN, **_WEAK_INPUT},
                   ("/v1/users/{id}", "PATCH"): _WEAK_INPUT,
                   ("/v1/auth/password", "POST"): _WEAK_INPUT}

TAGS = [
    {"name": "auth", "description": "Sign-up, sign-in, token refresh, sign-out, the caller, password change."},
    {"name": "sessions", "description": "A user's sessions across devices: list, read, revoke, verify a token."},
    {"name": "users", "description": "The tenant's end users (secret key)."},
    {"name": "admin", "description": "The tenant's session rules (secret key)."},
    {"name": "keys", "description": "The public keys that verify access tokens."},
    {"name": "events", "description": "The tenant's event log: what happened to its sessions and users (secret key)."},
    {"name": "webhooks", "description": "Endpoints that receive events, their deliveries and secrets (secret key)."},
]
SERVERS = [{
    "url": "{base_url}",
    "description": "A HelloJohn Sessions deployment: its public URL (HJ_PUBLIC_URL).",
    "variables": {"base_url": {"default": "http://127.0.0.1:8000", "description": "The service's public URL."}},
}]


def _codes(*statuses: int) -> str:
    return ", ".join(code for status in statuses for code in ERROR_CODES[status])


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
    if headers:
        response["headers"] = headers
    return response


class ContractAutoSchema(AutoSchema):
    """AutoSchema with the contract's security and error answers, read from the view itself."""

    def credential_kinds(self) -> list[str] | None:
        """The credential kinds the route accepts, or None for a public route."""
        kinds: set[str] = set()
        for permission in self.view.get_permissions():
            if isinstance(permission, AllowAny):
                return None
            if isinstance(permission, AnyOf):
                kinds |= permission.accepted
        return [kind for kind in SECURITY_SCHEMES if kind in kinds]

    def get_auth(self) -> list[dict[str, list[str]]]:
        kinds = self.credential_kinds()
        return [] if kinds is None else [{SECURITY_SCHEMES[kind][0]: []} for kind in kinds]

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        operation["security"] = self.get_auth()  # [] says "no credential", which Redocly asks to see
        responses = {**self._error_responses(operation), **operation.get("responses", {})}
        for status, response in responses.items():
            if (status == "default" or int(status) >= 400) and "content" not in response:
                response["content"] = {"application/json": {"schema": ERROR_REF}}
        # By status, `default` last: the order a reader (and a generated client's docs) expects.
        operation["responses"] = dict(sorted(responses.items(), key=lambda item: (item[0] == "default", item[0])))
        if self.path.startswith("/v1/"):
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("in") == "header" and p.get("name") == "X-Tenant-ID" for p in parameters):
                parameters.append(dict(TENANT_HEADER))
        return operation

    def _error_responses(self, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
        errors: dict[str, dict[str, Any]] = {}
        api = self.path.startswith("/v1/")
        if api:
            errors["400"] = _error(f"Malformed request, invalid parameter or missing X-Tenant-ID ({_codes(400)}).")
        if self.credential_kinds() is not None:
            errors["401"] = _error(f"Missing, unknown, expired or revoked credential, or wrong sign-in "
                                   f"({_codes(401)}).")
        if api:
            errors["403"] = _error(f"Credential of another tenant or of the wrong kind, or a disabled "
                                   f"account ({_codes(403)}).")
        names_an_object = any(p.get("in") == "query" and p.get("name", "").endswith("_id")
                              for p in operation.get("parameters", []))
        if "{" in self.path or names_an_object:
            errors["404"] = _error("No such object in this tenant, or one the caller may not see "
                                   "(not_found, session_not_found, user_not_found, ...).")
        for status, text in _ACCOUNT_WRITES.get((self.path, self.method), {}).items():
            errors[status] = _error(text)
        if "requestBody" in operation:
            errors["413"] = _error("The request body is over the size limit (payload_too_large).")
            errors["415"] = _error("The body is not application/json (unsupported_media_type).")
        if api and self.view.get_throttles():
            errors["429"] = _error("Too many requests (rate_limited); retry after Retry-After seconds.",
                                   RATE_LIMIT_HEADERS)
        errors["503"] = _error("The database or another required part is unreachable (service_unavailable); "
                               "nothing was changed. Retry after Retry-After seconds.", RETRY_AFTER)
        errors["default"] = _error("Any other error (405 method_not_allowed, 500 internal_error), in the envelope.")
        return errors


def _require_output_fields(schemas: dict[str, Any]) -> None:
    for name, schema in schemas.items():
        if not name.endswith("Out") or "properties" not in schema:
            continue
        required = [field for field in schema["properties"] if (name, field) not in OPTIONAL_OUTPUT_FIELDS]
        schema["required"] = required


def _null_without_enum(node: Any) -> Any:
    """drf-spectacular's `NullEnum` (`enum: [null]`) as plain OpenAPI 3.1 `type: null`, which generators type."""
    if isinstance(node, dict):
        if node.get("$ref") == "#/components/schemas/NullEnum":
            return {"type": "null"}
        return {key: _null_without_enum(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_null_without_enum(item) for item in node]
    return node


def _bound_paging(result: dict[str, Any]) -> None:
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter.get("name") == "limit":
                    parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}


def document_contract(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: shared components, required output fields, paging bounds, servers, tags."""
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas[ERROR_COMPONENT] = ERROR_SCHEMA
    schemas[ERROR_CODE_COMPONENT] = {"type": "string", "enum": ALL_ERROR_CODES,
                                     "description": "The contract's error codes (docs/api.md, \"Errors\")."}
    components["securitySchemes"] = {name: definition for name, definition in SECURITY_SCHEMES.values()}
    schemas.pop("NullEnum", None)
    result.update(_null_without_enum({key: result[key] for key in ("paths", "components")}))
    _require_output_fields(result["components"]["schemas"])
    _bound_paging(result)
    result["servers"] = SERVERS
    result["tags"] = TAGS
    return result
