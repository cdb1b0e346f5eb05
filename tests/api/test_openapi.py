"""The OpenAPI schema: generated without warnings, valid, describing the routes that exist (issue 4), and
good enough to generate SDKs from (issue 16): committed as docs/openapi.json, every operation named,
summarised and secured as the route enforces it, every error in the envelope.

The checks are generic over the paths, so routes added later are held to the same rules.
"""

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate

from tests.conftest import client_with, reset_rate_limits, user_client

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
METHODS = {"get", "post", "put", "patch", "delete"}


def api_routes() -> set[str]:
    routes: set[str] = set()

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if route.startswith("v1/") and route != "v1/openapi.json":
                    routes.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))

    walk(get_resolver().url_patterns)
    return routes


@pytest.mark.django_db
def test_schema_generates_without_warnings_and_validates():
    out, err = io.StringIO(), io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out, stderr=err)
    assert "Warning" not in err.getvalue()


@pytest.mark.django_db
def test_documented_paths_match_the_routes(client):
    schema = client.get("/v1/openapi.json").json()
    documented = {path for path in schema["paths"] if path.startswith("/v1/")}
    assert documented == api_routes()
    assert "/.well-known/jwks.json" in schema["paths"]


@pytest.mark.django_db
def test_reference_page_is_served_without_a_cdn(client):
    page = client.get("/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger" in html.lower()
    assert not re.search(r"(src|href)=\"https?://", html)


def generated() -> dict[str, Any]:
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, operation) for path, item in schema["paths"].items()
            for method, operation in item.items() if method in METHODS]


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return generated()


def test_the_committed_document_is_what_the_code_generates(schema):
    committed = json.loads(COMMITTED.read_text())
    assert committed == schema, "docs/openapi.json is stale: run `make openapi` and commit it"


@pytest.mark.django_db
def test_the_served_document_is_the_committed_one(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(COMMITTED.read_text())


def test_the_document_passes_openapi_spec_validator(schema):
    validate(schema)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_operation_is_named_summarised_tagged_and_described(schema):
    declared_tags = {tag["name"] for tag in schema["tags"]}
    ids = []
    for path, method, operation in operations(schema):
        where = f"{method.upper()} {path}"
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", operation["operationId"]), where
        ids.append(operation["operationId"])
        assert operation.get("summary", "").strip(), where
        assert len(operation.get("description", "")) >= 20, where
        assert operation["tags"] and set(operation["tags"]) <= declared_tags, where
    assert len(ids) == len(set(ids))
    assert schema["servers"] and schema["servers"][0]["url"]


def test_operation_ids_are_the_ones_a_person_would_choose(schema):
    ids = {(method, path): operation["operationId"] for path, method, operation in operations(schema)}
    assert {
        ("get", "/v1/sessions"): "listSessions", ("get", "/v1/sessions/{id}"): "getSession",
        ("delete", "/v1/sessions/{id}"): "revokeSession", ("delete", "/v1/sessions"): "revokeUserSessions",
        ("post", "/v1/sessions/verify"): "verifyAccessToken", ("get", "/v1/admin/config"): "getConfig",
        ("patch", "/v1/admin/config"): "updateConfig", ("post", "/v1/auth/sign-up"): "signUp",
        ("post", "/v1/auth/sign-in"): "signIn", ("post", "/v1/auth/token/refresh"): "refreshToken",
        ("post", "/v1/auth/sign-out"): "signOut", ("get", "/v1/auth/me"): "getMe",
        ("post", "/v1/auth/password"): "changePassword", ("post", "/v1/users"): "createUser",
        ("get", "/v1/users"): "listUsers", ("get", "/v1/users/{id}"): "getUser",
        ("patch", "/v1/users/{id}"): "updateUser", ("get", "/.well-known/jwks.json"): "getJwks",
    }.items() <= ids.items()


def test_every_error_answer_is_the_envelope_and_429_declares_its_headers(schema):
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        for status, response in responses.items():
            if status == "default" or int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == envelope, (path, method, status)
        if path.startswith("/v1/"):
            assert {"400", "403", "503", "default"} <= set(responses), (path, method)
            assert any(p["name"] == "X-Tenant-ID" and p["required"] for p in operation["parameters"])
        if operation["security"]:
            assert "401" in responses, (path, method)
        if "{" in path:
            assert "404" in responses, (path, method)
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), (path, method)
        if "429" in responses:
            assert set(responses["429"]["headers"]) == {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                                                         "X-RateLimit-Reset"}
    throttled = {path for path, _, operation in operations(schema) if "429" in operation["responses"]}
    assert throttled >= {"/v1/auth/sign-in", "/v1/auth/sign-up", "/v1/auth/token/refresh"}
    codes = schema["components"]["schemas"]["ErrorCode"]["enum"]
    assert {"missing_token", "session_not_found", "rate_limited", "service_unavailable"} <= set(codes)


def test_objects_type_what_is_always_there_nullable_and_bounded(schema):
    schemas = schema["components"]["schemas"]
    session = schemas["SessionWithCurrentOut"]
    assert set(session["required"]) == set(session["properties"]) - {"current"}
    assert session["properties"]["revoked_at"]["type"] == ["string", "null"]
    assert session["properties"]["revoked_reason"]["oneOf"] == [{"$ref": "#/components/schemas/RevokedReasonEnum"},
                                                                {"type": "null"}]
    assert schemas["RevokedReasonEnum"]["enum"] == ["signed_out", "revoked_by_user", "revoked_by_admin",
                                                    "session_limit", "refresh_token_reused", "password_changed",
                                                    "user_disabled"]
    assert schemas["DeviceTypeEnum"]["enum"] == ["desktop", "mobile", "tablet", "bot", "unknown"]
    assert schemas["SessionStatusEnum"]["enum"] == ["active", "expired", "revoked"]
    user = schemas["UserOut"]
    assert set(user["required"]) == set(user["properties"])
    config = schemas["ConfigOut"]["properties"]
    assert set(schemas["ConfigOut"]["required"]) == set(config)
    assert (config["max_sessions_per_user"]["type"], config["max_sessions_per_user"]["minimum"],
            config["max_sessions_per_user"]["maximum"]) == (["integer", "null"], 1, 1000)
    assert (config["access_token_ttl"]["minimum"], config["access_token_ttl"]["maximum"]) == (60, 86400)
    assert config["idle_timeout"]["minimum"] == 60
    assert config["session_duration"]["minimum"] == 300
    assert config["allowed_origins"]["maxItems"] == 20
    jwk = schemas["JwkOut"]
    assert set(jwk["required"]) == {"kty", "crv", "x", "kid", "alg", "use"}
    limits = [p["schema"] for _, _, operation in operations(schema) for p in operation.get("parameters", [])
              if p["name"] == "limit"]
    assert limits and all(limit == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
                          for limit in limits)
    assert "NullEnum" not in schemas
    assert "9223372036854775807" not in json.dumps(schema)


SCHEME_KIND = {"secretKey": "secret", "publishableKey": "publishable", "accessToken": "user"}


@pytest.mark.django_db
def test_security_is_exactly_what_each_route_enforces(schema, tenant, user, sign_in):
    """Each operation, called with each credential kind: the kinds it lists pass the credential check,
    every other kind answers 403 insufficient_permissions (and none answers 401 for a valid credential)."""
    clients = {"secret": lambda: client_with(tenant.secret_key, tenant.id),
               "publishable": lambda: client_with(tenant.publishable_key, tenant.id),
               "user": lambda: (reset_rate_limits(), user_client(sign_in()))[1]}  # a fresh session, under the limits
    for path, method, operation in operations(schema):
        url = path.replace("{id}", "ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA" if "sessions" in path
                           else "usr_01JDQ8YB7S0Q9R8P7N6M5K4J3H")
        url = re.sub(r"\{\w+\}", "x_01JDQ8YB7S0Q9R8P7N6M5K4J3H", url)
        allowed = {SCHEME_KIND[name] for requirement in operation["security"] for name in requirement}
        for kind, make in clients.items():
            response = make().generic(method.upper(), url, "{}", content_type="application/json")
            body = response.json() if response.content else {}
            code = body.get("error", {}).get("code")
            if operation["security"] == []:
                assert response.status_code == 200, (method, path, kind)
            elif kind in allowed:
                assert response.status_code not in (401,) and code != "insufficient_permissions", \
                    (method, path, kind, response.status_code, code)
            else:
                assert (response.status_code, code) == (403, "insufficient_permissions"), (method, path, kind)


def test_a_view_may_declare_more_errors_and_they_get_the_envelope():
    from django.urls import path
    from drf_spectacular.utils import OpenApiResponse, extend_schema
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from hellojohn_project.api.permissions import SecretKey

    class HookView(APIView):
        permission_classes = [SecretKey]

        @extend_schema(responses={202: None, 422: OpenApiResponse(description="Bad URL (invalid_webhook_url).")},
                       operation_id="testHook", summary="Test a hook", description="Sends a test event now.")
        def post(self, request):
            return Response(status=202)

    document = SchemaGenerator(patterns=[path("v1/hooks/<str:id>/test", HookView.as_view())]).get_schema(
        request=None, public=True)
    operation = document["paths"]["/v1/hooks/{id}/test"]["post"]
    assert operation["security"] == [{"secretKey": []}]
    assert list(operation["responses"]) == ["202", "400", "401", "403", "404", "422", "503", "default"]
    assert operation["responses"]["422"] == {"description": "Bad URL (invalid_webhook_url).",
                                             "content": {"application/json": {"schema": {
                                                 "$ref": "#/components/schemas/ErrorEnvelope"}}}}


@pytest.mark.django_db
def test_the_event_log_is_documented(client):
    schema = client.get("/v1/openapi.json").json()
    operation = schema["paths"]["/v1/events"]["get"]
    assert set(schema["paths"]["/v1/events"]) == {"get"}
    assert {p["name"] for p in operation["parameters"]} >= {"type", "user_id", "session_id", "since", "until",
                                                            "limit", "cursor"}
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    event = schema["components"]["schemas"][page]["properties"]["data"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][event]["properties"]) == {"id", "type", "created_at", "tenant_id",
                                                                         "actor", "data"}
