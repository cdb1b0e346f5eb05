"""The error envelope (`docs/api.md` section 5) from every layer, and the headers every response carries (section 1)."""

import json
import logging
import re
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from hellojohn_project import __version__
from tenants_app.models import TenantConfig, User
from tests.conftest import TenantKeys, client_with, error_code
from tests.urls_crash import CRASH_MESSAGE

REQUEST_ID = re.compile(r"^req_[0-7][0-9A-HJKMNP-TV-Z]{25}$")
ENVELOPE_KEYS = {"code", "message", "status", "request_id"}


def assert_envelope(response: Any, status: int, code: str, *, fields: dict[str, list[str]] | None = None) -> dict:
    """The exact envelope: its status, code, request id echoed from the header, and nothing else."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == ENVELOPE_KEYS | ({"fields"} if fields is not None else set())
    assert error["code"] == code
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert REQUEST_ID.match(error["request_id"])
    assert error["request_id"] == response["X-Request-ID"]
    if fields is not None:
        assert error["fields"] == fields
    return error


def config_row(tenant: TenantKeys) -> dict[str, Any]:
    return TenantConfig.objects.filter(tenant=tenant.tenant).values(
        "max_sessions_per_user", "session_duration", "idle_timeout", "access_token_ttl"
    ).get()


# --- Routing ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/v1/nope", "/v1/", "/v1/sessions/", "/v1/auth/me/", "/v1/users/usr_x/extra"])
def test_unknown_route_without_credentials_answers_404_not_found(path: str) -> None:
    assert_envelope(APIClient().get(path), 404, "not_found")


def test_unknown_route_with_a_valid_key_answers_404_not_found(secret_key_client: APIClient) -> None:
    assert_envelope(secret_key_client.post("/v1/nope", {"a": 1}, format="json"), 404, "not_found")


def test_wrong_method_answers_405_with_allow_header(secret_key_client: APIClient, tenant: TenantKeys) -> None:
    before = config_row(tenant)
    response = secret_key_client.put("/v1/admin/config", {"session_duration": 600}, format="json")
    assert_envelope(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, PATCH, HEAD, OPTIONS"
    assert config_row(tenant) == before


def test_wrong_method_on_a_collection_answers_405(secret_key_client: APIClient) -> None:
    response = secret_key_client.patch("/v1/users", {}, format="json")
    assert_envelope(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_wrong_method_without_credentials_answers_401_first(tenant: TenantKeys) -> None:
    """Authentication runs before method dispatch: an anonymous caller learns nothing about routes' methods."""
    assert_envelope(client_with(None, tenant.id).put("/v1/admin/config", {}, format="json"), 401, "missing_token")


# --- Parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/x-www-form-urlencoded", "session_duration=600"),
    ("text/plain", '{"session_duration": 600}'),
    ("multipart/form-data; boundary=x", "--x--"),
])
def test_unsupported_media_type_answers_415(secret_key_client: APIClient, tenant: TenantKeys,
                                            content_type: str, body: str) -> None:
    before = config_row(tenant)
    response = secret_key_client.generic("PATCH", "/v1/admin/config", body, content_type=content_type)
    assert_envelope(response, 415, "unsupported_media_type")
    assert config_row(tenant) == before


@pytest.mark.parametrize("body", [
    "{bad json",
    '{"session_duration": 600',
    '{"session_duration": NaN}',
    "[1, 2]",
    '"a string"',
    '{"a":' * 5000 + "1" + "}" * 5000,  # nested deeper than the parser's recursion limit
])
def test_malformed_or_non_object_json_answers_400_invalid_request(secret_key_client: APIClient, tenant: TenantKeys,
                                                                  body: str) -> None:
    before = config_row(tenant)
    response = secret_key_client.generic("PATCH", "/v1/admin/config", body, content_type="application/json")
    assert_envelope(response, 400, "invalid_request")
    assert config_row(tenant) == before


def test_body_over_the_limit_answers_413_before_authentication(tenant: TenantKeys) -> None:
    body = json.dumps({"name": "x" * settings.HJ_MAX_BODY_BYTES})
    # No credential at all: the limit is enforced before anything reads the body or the key.
    response = client_with(None, None).generic("POST", "/v1/users", body, content_type="application/json")
    assert_envelope(response, 413, "payload_too_large")


def test_body_over_the_limit_with_a_valid_key_creates_nothing(secret_key_client: APIClient) -> None:
    body = json.dumps({"email": "big@example.com", "name": "x" * (64 * 1024)})
    response = secret_key_client.generic("POST", "/v1/users", body, content_type="application/json")
    assert_envelope(response, 413, "payload_too_large")
    assert not User.objects.filter(email="big@example.com").exists()


def test_body_at_the_limit_is_parsed(secret_key_client: APIClient, tenant: TenantKeys) -> None:
    padding = settings.HJ_MAX_BODY_BYTES - len(json.dumps({"session_duration": 600}))
    body = json.dumps({"session_duration": 600}) + " " * padding
    assert len(body.encode()) == settings.HJ_MAX_BODY_BYTES
    response = secret_key_client.generic("PATCH", "/v1/admin/config", body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert config_row(tenant)["session_duration"] == 600


def test_non_numeric_content_length_answers_400(secret_key_client: APIClient) -> None:
    response = secret_key_client.generic("PATCH", "/v1/admin/config", "{}", content_type="application/json",
                                         CONTENT_LENGTH="lots")
    assert_envelope(response, 400, "invalid_request")


# --- Validation ---------------------------------------------------------------------------------


def test_out_of_range_value_answers_invalid_parameter_with_fields(
    secret_key_client: APIClient, tenant: TenantKeys,
) -> None:
    before = config_row(tenant)
    response = secret_key_client.patch("/v1/admin/config", {"max_sessions_per_user": 0}, format="json")
    assert_envelope(response, 400, "invalid_parameter",
                    fields={"max_sessions_per_user": ["Must be between 1 and 1000."]})
    assert config_row(tenant) == before


@pytest.mark.parametrize("value", ["5", 5.5, True, [5], {"n": 5}])
def test_wrong_json_type_answers_invalid_request_with_fields(secret_key_client: APIClient, tenant: TenantKeys,
                                                             value: Any) -> None:
    before = config_row(tenant)
    response = secret_key_client.patch("/v1/admin/config", {"access_token_ttl": value}, format="json")
    error = assert_envelope(response, 400, "invalid_request", fields={"access_token_ttl": ["Must be an integer."]})
    assert "type" in error["message"]
    assert config_row(tenant) == before


def test_unknown_body_field_answers_invalid_parameter_naming_it(
    secret_key_client: APIClient, tenant: TenantKeys,
) -> None:
    before = config_row(tenant)
    response = secret_key_client.patch("/v1/admin/config", {"session_duration": 600, "colour": "red"}, format="json")
    assert_envelope(response, 400, "invalid_parameter", fields={"colour": ["Unknown field."]})
    # Nothing applied, not even the valid field next to the unknown one.
    assert config_row(tenant) == before


def test_missing_required_field_answers_invalid_parameter(public_client: APIClient) -> None:
    response = public_client.post("/v1/auth/sign-in", {"email": "alice@example.com"}, format="json")
    assert_envelope(response, 400, "invalid_parameter", fields={"password": ["This field is required."]})


def test_malformed_query_parameter_answers_invalid_parameter(secret_key_client: APIClient) -> None:
    response = secret_key_client.get("/v1/users", {"limit": "many"})
    assert_envelope(response, 400, "invalid_parameter", fields={"limit": ["Must be an integer between 1 and 100."]})


# --- Throttling ---------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_headers(public_client: APIClient) -> None:
    # sign_in_peremail allows 10 attempts a minute for one email.
    for _ in range(10):
        attempt = public_client.post("/v1/auth/sign-in", {"email": "eve@example.com", "password": "guess"},
                                     format="json")
        assert attempt.status_code == 401
    response = public_client.post("/v1/auth/sign-in", {"email": "eve@example.com", "password": "guess"},
                                  format="json")
    assert_envelope(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    assert response["X-RateLimit-Limit"] == "10"
    assert response["X-RateLimit-Remaining"] == "0"
    assert int(response["X-RateLimit-Reset"]) > 0


# --- Unexpected failures ------------------------------------------------------------------------


@pytest.mark.urls("tests.urls_crash")
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/v1/test-crash/django", "/v1/test-crash/drf"])
def test_crash_answers_500_internal_error_without_traceback_and_logs_it(
    db: None, settings: Any, caplog: pytest.LogCaptureFixture, path: str, debug: bool,
) -> None:
    settings.DEBUG = debug  # even Django's technical 500 page must not reach an API client
    client = APIClient(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(path)
    error = assert_envelope(response, 500, "internal_error")
    assert error["message"] == "Something went wrong on our side. Quote the request_id when reporting it."
    text = response.content.decode()
    for leak in (CRASH_MESSAGE, "Traceback", "RuntimeError", "urls_crash", "File \""):
        assert leak not in text
    # The traceback goes to the log instead, with the exception itself.
    logged = [record for record in caplog.records if record.name == "django.request" and record.exc_info]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    assert logged[0].exc_info[0] is RuntimeError
    assert str(logged[0].exc_info[1]) == CRASH_MESSAGE


# --- Headers on every response ------------------------------------------------------------------


def responses_of_every_kind(tenant: TenantKeys) -> list[Any]:
    admin = client_with(tenant.secret_key, tenant.id)
    anonymous = APIClient()
    return [
        admin.get("/v1/admin/config"),  # 200 under /v1
        admin.get("/v1/nope"),  # 404 from the router
        anonymous.get("/v1/admin/config"),  # 401 from DRF
        admin.generic("PATCH", "/v1/admin/config", "x" * 70_000, content_type="application/json"),  # 413
        anonymous.get("/.well-known/jwks.json"),  # outside /v1
        anonymous.get("/healthz"),
        anonymous.get("/no-such-page"),  # Django's own 404 page
    ]


def test_every_response_carries_a_request_id_and_the_version(tenant: TenantKeys) -> None:
    responses = responses_of_every_kind(tenant)
    ids = [response["X-Request-ID"] for response in responses]
    for response in responses:
        assert REQUEST_ID.match(response["X-Request-ID"]), response["X-Request-ID"]
        assert response["X-HelloJohn-Version"] == __version__
    assert len(set(ids)) == len(ids)  # one id per request


def test_version_header_is_the_project_version() -> None:
    pyproject = (settings.BASE_DIR / "pyproject.toml").read_text()
    assert f'version = "{__version__}"' in pyproject
    assert __version__ == settings.HJ_VERSION


@pytest.mark.django_db
def test_disallowed_host_under_v1_answers_the_envelope() -> None:
    response = APIClient(HTTP_HOST="evil.example").get("/v1/admin/config")
    assert_envelope(response, 400, "invalid_request")


@pytest.mark.django_db
def test_errors_outside_v1_keep_django_pages() -> None:
    """The envelope is the API's; the admin and the end-user pages answer HTML as before."""
    response = APIClient().get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- Nothing a client sends reaches the database unchecked ------------------------------------------

NUL_REQUESTS = [
    ("get", "/v1/users?email=a%00b@example.com", None, "invalid_parameter"),
    ("get", "/v1/users?cursor=cur_%00", None, "invalid_parameter"),
    ("get", "/v1/sessions?user_id=usr_%00", None, "invalid_parameter"),
    ("get", "/v1/sessions?status=%00", None, "invalid_parameter"),
    ("get", "/v1/sessions?country=%00%00", None, "invalid_parameter"),
    ("get", "/v1/users/usr_%00", None, "user_not_found"),
    ("delete", "/v1/sessions/ses_%00", None, "session_not_found"),
    ("post", "/v1/users", {"email": "a\x00b@example.com"}, "invalid_parameter"),
    ("post", "/v1/sessions/verify", {"token": "ey\x00J"}, "invalid_parameter"),
]


@pytest.mark.parametrize(("method", "path", "body", "code"), NUL_REQUESTS)
def test_nul_characters_answer_4xx_never_500(tenant: TenantKeys, method: str, path: str,
                                            body: dict[str, Any] | None, code: str) -> None:
    """PostgreSQL refuses NUL in text; every input must be checked before it reaches a query."""
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.secret_key}", HTTP_X_TENANT_ID=tenant.id)
    response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)
    assert response.status_code == (404 if code.endswith("_not_found") else 400), response.content
    assert error_code(response) == code


@pytest.mark.parametrize(("credential", "tenant_header", "code"), [
    ("sk_live_\x00" + "A" * 42, None, "invalid_api_key"),
    ("ey\x00J.e30.sig", None, "invalid_token"),
    (None, "tnt_\x00", "tenant_mismatch"),
])
def test_nul_characters_in_credentials_answer_the_contract_codes(tenant: TenantKeys, credential: str | None,
                                                                 tenant_header: str | None, code: str) -> None:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {credential or tenant.secret_key}",
                       HTTP_X_TENANT_ID=tenant_header or tenant.id)
    response = client.get("/v1/admin/config")
    assert response.status_code == (403 if code == "tenant_mismatch" else 401)
    assert error_code(response) == code
