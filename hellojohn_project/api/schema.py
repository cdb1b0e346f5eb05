"""What drf-spectacular cannot infer about the /v1 contract: how callers authenticate, the
X-Tenant-ID header every call carries, and the error envelope every non-2xx answer has
(spec sections 3 and 4). Without these the published schema would promise clients, and the
contract fuzzer, that errors never happen.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_COMPONENT = "ErrorEnvelope"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every non-2xx answer, from every layer (spec section 4).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "example": "session_not_found"},
                "message": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "request_id": {"type": "string", "pattern": "^req_[0-9A-HJKMNP-TV-Z]{26}$"},
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
    "schema": {"type": "string"},
    "description": "The tenant the credential belongs to (tnt_…).",
}

# Statuses every /v1 operation can answer, and those only some can.
_ALWAYS = {
    "400": "Malformed request, invalid parameter or missing X-Tenant-ID.",
    "401": "Missing, unknown, expired or revoked credential.",
    "403": "Credential of another tenant or of the wrong kind.",
}
_WITH_PATH_ID = {"404": "No such object in this tenant."}
_WITH_BODY = {
    "413": "The request body is over the size limit.",
    "415": "The body is not application/json.",
}
_RATE_LIMITED = {"429": "Too many requests; see Retry-After and X-RateLimit-*."}
_RATE_LIMITED_PATHS = {"/v1/auth/sign-in", "/v1/auth/sign-up", "/v1/auth/token/refresh"}
_ACCOUNT_WRITES = {
    "409": "The email is already registered.",
    "422": "Invalid email or password too weak.",
}
_WEBHOOK_URL_WRITES = {("/v1/webhooks", "post"), ("/v1/webhooks/{id}", "patch")}
_ACCOUNT_WRITE_OPERATIONS = {("/v1/auth/sign-up", "post"), ("/v1/users", "post"), ("/v1/users/{id}", "patch"),
                             ("/v1/auth/password", "post")}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tenants_app.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer",
                "description": "A secret key (sk_…, the tenant's backend) or publishable key (pk_…, front ends)."}


class AccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "sessions_app.authentication.AccessTokenAuthentication"
    name = "accessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An end user's EdDSA access token."}


def _error_responses(path: str, method: str, operation: dict[str, Any]) -> dict[str, str]:
    statuses = dict(_ALWAYS)
    if "{" in path:
        statuses.update(_WITH_PATH_ID)
    if "requestBody" in operation:
        statuses.update(_WITH_BODY)
    if path in _RATE_LIMITED_PATHS:
        statuses.update(_RATE_LIMITED)
    if (path, method) in _ACCOUNT_WRITE_OPERATIONS:
        statuses.update(_ACCOUNT_WRITES)
    if (path, method) in _WEBHOOK_URL_WRITES:
        statuses["422"] = "invalid_webhook_url: not https://, or resolves to an address that is not public."
    statuses["default"] = "Any other error (405, or 500 internal_error), in the same envelope."
    return statuses


def document_contract(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: adds the envelope to every /v1 operation's responses, and the tenant header."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not path.startswith("/v1/"):
                operation.setdefault("responses", {})["default"] = {
                    "description": "Any error, in the envelope.", "content": {"application/json": {"schema": ERROR_REF}}
                }
                continue
            responses = operation.setdefault("responses", {})
            for status, description in _error_responses(path, method, operation).items():
                responses.setdefault(status, {"description": description,
                                              "content": {"application/json": {"schema": ERROR_REF}}})
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("in") == "header" and p.get("name") == "X-Tenant-ID" for p in parameters):
                parameters.append(dict(TENANT_HEADER))
    return result
