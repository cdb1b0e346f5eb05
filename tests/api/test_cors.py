"""Per-tenant CORS (issue 16): preflights, allowed and refused origins, error envelopes, query counts.

The browser's side of the same rules is tests/browser/test_browser_cors.py; these tests read the headers.
"""

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants_app.models import Tenant, TenantConfig
from tenants_app.services import update_tenant, update_tenant_config
from tests.admin.test_admin_tenants import TENANTS, form_data
from tests.api.test_rate_limits import assert_rate_limited, rates  # noqa: F401 (the rates fixture)
from tests.conftest import TenantKeys, client_with, error_code
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

APP = "https://app.acme.example"
OTHER_APP = "https://app.globex.example"
EVIL = "https://evil.example"
EXPOSED = {"x-request-id", "retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}
BROWSER_ROUTES = [("POST", "/v1/auth/sign-in"), ("POST", "/v1/auth/sign-up"), ("POST", "/v1/auth/token/refresh"),
                  ("POST", "/v1/auth/sign-out"), ("GET", "/v1/auth/me"), ("POST", "/v1/auth/password"),
                  ("GET", "/v1/sessions"), ("DELETE", "/v1/sessions"),
                  ("GET", "/v1/sessions/ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA"),
                  ("DELETE", "/v1/sessions/ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA")]
SECRET_ROUTES = [("GET", "/v1/admin/config"), ("PATCH", "/v1/admin/config"), ("GET", "/v1/users"),
                 ("POST", "/v1/users"), ("GET", "/v1/users/usr_01JDQ8YB7S0Q9R8P7N6M5K4J3H"),
                 ("POST", "/v1/sessions/verify")]


@pytest.fixture
def acme(tenant: TenantKeys) -> TenantKeys:
    update_tenant_config(tenant=tenant.tenant, changes={"allowed_origins": [APP]})
    return tenant


@pytest.fixture
def globex(other_tenant: TenantKeys) -> TenantKeys:
    update_tenant_config(tenant=other_tenant.tenant, changes={"allowed_origins": [OTHER_APP]})
    return other_tenant


def preflight(path: str, origin: str, method: str = "POST") -> Any:
    """What a browser sends before a cross-origin call with Authorization, X-Tenant-ID and a JSON body."""
    return Client().options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
                            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type,x-tenant-id")


def header_set(response: Any, name: str) -> set[str]:
    return {part.strip().lower() for part in response.get(name, "").split(",") if part.strip()}


def assert_allowed(response: Any, origin: str) -> None:
    assert response["Access-Control-Allow-Origin"] == origin
    assert header_set(response, "Access-Control-Expose-Headers") >= EXPOSED
    assert "origin" in header_set(response, "Vary")
    assert "Access-Control-Allow-Credentials" not in response


def assert_no_cors(response: Any) -> None:
    assert not [name for name in response.headers if name.lower().startswith("access-control-")], response.headers


# --- Preflights ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), BROWSER_ROUTES)
def test_a_preflight_on_a_browser_route_is_answered_without_credentials(acme, method, path):
    response = preflight(path, APP, method)
    assert response.status_code == 200
    assert response.content == b""
    assert_allowed(response, APP)
    assert header_set(response, "Access-Control-Allow-Headers") == {"authorization", "content-type", "x-tenant-id"}
    assert method in {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    assert int(response["Access-Control-Max-Age"]) > 0
    assert response["X-Request-ID"].startswith("req_")


def test_a_preflight_from_an_origin_no_tenant_lists_gets_no_allow_headers(acme):
    for origin in (EVIL, "http://app.acme.example", "https://app.acme.example:8443", "null"):
        response = preflight("/v1/auth/sign-in", origin)
        assert response.status_code == 200
        assert_no_cors(response)


@pytest.mark.parametrize(("method", "path"), SECRET_ROUTES)
def test_a_preflight_on_a_secret_key_route_gets_no_allow_headers(acme, method, path):
    response = preflight(path, APP, method)
    assert response.status_code == 401
    assert error_code(response) == "missing_token"
    assert_no_cors(response)


def test_a_preflight_is_allowed_for_an_origin_of_any_active_tenant(acme, globex):
    # It names no tenant; the real request's X-Tenant-ID decides (next tests).
    assert preflight("/v1/auth/sign-in", OTHER_APP)["Access-Control-Allow-Origin"] == OTHER_APP
    update_tenant(tenant=globex.tenant, changes={"status": Tenant.Status.DISABLED})
    assert_no_cors(preflight("/v1/auth/sign-in", OTHER_APP))


# --- Real requests ------------------------------------------------------------------------------


def test_sign_in_from_the_tenants_origin_is_readable(acme, user):
    client = client_with(acme.publishable_key, acme.id, HTTP_ORIGIN=APP)
    response = client.post("/v1/auth/sign-in", {"email": user.email, "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 200
    assert_allowed(response, APP)
    me = client_with(response.json()["session"]["access_token"], acme.id, HTTP_ORIGIN=APP).get("/v1/auth/me")
    assert me.status_code == 200
    assert_allowed(me, APP)


def test_another_tenants_origin_is_not_allowed_for_this_tenant(acme, globex, user):
    client = client_with(acme.publishable_key, acme.id, HTTP_ORIGIN=OTHER_APP)
    response = client.post("/v1/auth/sign-in", {"email": user.email, "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 200  # the server answers; the browser withholds it from the page
    assert_no_cors(response)
    assert "origin" in header_set(response, "Vary")


@pytest.mark.parametrize(("method", "path"), SECRET_ROUTES)
def test_secret_key_routes_never_grant_a_cross_origin_read(acme, method, path):
    response = client_with(acme.secret_key, acme.id, HTTP_ORIGIN=APP).generic(method, path, "{}",
                                                                            content_type="application/json")
    assert response.status_code < 500
    assert_no_cors(response)


def test_error_envelopes_carry_the_cors_headers(acme, user, settings):
    origin = {"HTTP_ORIGIN": APP}
    cases = [
        (client_with(None, acme.id, **origin).get("/v1/auth/me"), 401, "missing_token"),
        (client_with("not-a-jwt", acme.id, **origin).get("/v1/auth/me"), 401, "invalid_token"),
        (client_with(acme.publishable_key, None, **origin).post("/v1/auth/sign-in", {}, format="json"),
         400, "missing_tenant_id"),
        (client_with(acme.publishable_key, acme.id, **origin).post(
            "/v1/auth/sign-in", {"email": user.email, "password": "wrong password!"}, format="json"),
         401, "invalid_credentials"),
        (client_with(acme.publishable_key, acme.id, **origin).post("/v1/auth/me", {}, format="json"),
         403, "insufficient_permissions"),
        (client_with(acme.publishable_key, acme.id, **origin).generic(
            "POST", "/v1/auth/sign-in", "x" * (settings.HJ_MAX_BODY_BYTES + 1), content_type="application/json"),
         413, "payload_too_large"),
        (client_with(acme.publishable_key, acme.id, **origin).generic(
            "POST", "/v1/auth/sign-in", "email=a", content_type="application/x-www-form-urlencoded"),
         415, "unsupported_media_type"),
    ]
    for response, status, code in cases:
        assert (response.status_code, error_code(response)) == (status, code)
        assert_allowed(response, APP)


def test_a_rate_limited_answer_is_readable_with_its_headers(acme, user, rates):  # noqa: F811
    rates(sign_in_peremail="2/min")
    client = client_with(acme.publishable_key, acme.id, HTTP_ORIGIN=APP)
    body = {"email": user.email, "password": TEST_PASSWORD}
    responses = [client.post("/v1/auth/sign-in", body, format="json") for _ in range(3)]
    limited = responses[-1]
    assert (limited.status_code, error_code(limited)) == (429, "rate_limited")
    assert_allowed(limited, APP)
    assert_rate_limited(limited, 2)


def test_a_session_route_of_an_end_user_is_readable(acme, user, sign_in):
    body = sign_in()
    client = client_with(body["session"]["access_token"], acme.id, HTTP_ORIGIN=APP)
    listed = client.get("/v1/sessions")
    assert listed.status_code == 200
    assert_allowed(listed, APP)
    missing = client.delete("/v1/sessions/ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA")
    assert (missing.status_code, error_code(missing)) == (404, "session_not_found")
    assert_allowed(missing, APP)


# --- The cache and the query counts -------------------------------------------------------------


def test_cross_origin_calls_make_no_query_more_than_same_origin_ones(acme, user, sign_in):
    token = sign_in()["session"]["access_token"]
    same_origin = client_with(token, acme.id)
    cross_origin = client_with(token, acme.id, HTTP_ORIGIN=APP)
    same_origin.get("/v1/auth/me")  # warm: the activity write is behind us
    with CaptureQueriesContext(connection) as same:
        assert same_origin.get("/v1/auth/me").status_code == 200
        assert same_origin.get("/v1/sessions").status_code == 200
    with CaptureQueriesContext(connection) as cross:
        me = cross_origin.get("/v1/auth/me")  # the credential's loaded config answers: no lookup
        assert cross_origin.get("/v1/sessions").status_code == 200
    assert_allowed(me, APP)
    assert len(cross) == len(same)
    assert len(same) > 0


def test_preflights_and_unauthenticated_errors_are_served_from_the_cache(acme, django_assert_num_queries):
    cache.clear()
    with django_assert_num_queries(1):
        assert preflight("/v1/auth/sign-in", APP)["Access-Control-Allow-Origin"] == APP
    with django_assert_num_queries(0):
        assert preflight("/v1/auth/sign-in", APP)["Access-Control-Allow-Origin"] == APP
        assert_no_cors(preflight("/v1/auth/sign-in", EVIL))
    no_token = client_with(None, acme.id, HTTP_ORIGIN=APP)
    with django_assert_num_queries(1):
        assert_allowed(no_token.get("/v1/auth/me"), APP)
    with django_assert_num_queries(0):
        assert_allowed(no_token.get("/v1/auth/me"), APP)
        assert_no_cors(client_with(None, "tnt_garbage", HTTP_ORIGIN=APP).get("/v1/auth/me"))


def test_a_config_change_takes_effect_at_once(acme, user):
    admin = client_with(acme.secret_key, acme.id)
    assert preflight("/v1/auth/sign-in", APP)["Access-Control-Allow-Origin"] == APP
    client = client_with(acme.publishable_key, acme.id, HTTP_ORIGIN=APP)
    assert_allowed(client.post("/v1/auth/sign-in", {}, format="json"), APP)

    response = admin.patch("/v1/admin/config", {"allowed_origins": [OTHER_APP]}, format="json")
    assert response.status_code == 200
    assert_no_cors(preflight("/v1/auth/sign-in", APP))
    assert_no_cors(client.post("/v1/auth/sign-in", {}, format="json"))
    assert preflight("/v1/auth/sign-in", OTHER_APP)["Access-Control-Allow-Origin"] == OTHER_APP


# --- allowed_origins in the config ----------------------------------------------------------------


def test_allowed_origins_are_stored_as_browsers_send_them(tenant):
    admin = client_with(tenant.secret_key, tenant.id)
    response = admin.patch("/v1/admin/config", {"allowed_origins": [
        "HTTPS://App.Example.com", "https://app.example.com:443", "http://localhost:5173", "http://127.0.0.1",
        "http://[::1]:3000", "https://app.example.com"]}, format="json")
    assert response.status_code == 200, response.content
    expected = ["https://app.example.com", "http://localhost:5173", "http://127.0.0.1", "http://[::1]:3000"]
    assert response.json()["allowed_origins"] == expected
    assert TenantConfig.objects.get(tenant=tenant.tenant).allowed_origins == expected
    assert admin.get("/v1/admin/config").json()["allowed_origins"] == expected
    assert admin.patch("/v1/admin/config", {"allowed_origins": []}, format="json").json()["allowed_origins"] == []


@pytest.mark.parametrize(("value", "code"), [
    (["https://app.example.com/"], "invalid_parameter"),
    (["https://app.example.com/login"], "invalid_parameter"),
    (["https://*.example.com"], "invalid_parameter"),
    (["*"], "invalid_parameter"),
    (["ftp://files.example.com"], "invalid_parameter"),
    (["app.example.com"], "invalid_parameter"),
    (["https://app.example.com?x=1"], "invalid_parameter"),
    (["https://user@app.example.com"], "invalid_parameter"),
    (["https://app.example.com:0"], "invalid_parameter"),
    (["https://app.example.com:99999"], "invalid_parameter"),
    (["https://exa mple.com"], "invalid_parameter"),
    (["https://-bad-.example.com"], "invalid_parameter"),
    ([""], "invalid_parameter"),
    ([f"https://app{n}.example.com" for n in range(21)], "invalid_parameter"),
    ("https://app.example.com", "invalid_request"),
    ([1], "invalid_request"),
    (None, "invalid_request"),
])
def test_bad_allowed_origins_change_nothing(acme, value, code):
    response = client_with(acme.secret_key, acme.id).patch("/v1/admin/config", {"allowed_origins": value},
                                                           format="json")
    assert (response.status_code, error_code(response)) == (400, code)
    assert next(iter(response.json()["error"]["fields"])).startswith("allowed_origins")
    assert TenantConfig.objects.get(tenant=acme.tenant).allowed_origins == [APP]


def test_twenty_origins_are_accepted(tenant):
    origins = [f"https://app{n}.example.com" for n in range(20)]
    response = client_with(tenant.secret_key, tenant.id).patch("/v1/admin/config", {"allowed_origins": origins},
                                                               format="json")
    assert response.status_code == 200
    assert response.json()["allowed_origins"] == origins


def test_the_admin_edits_allowed_origins_one_per_line(acme):
    from tests.admin_helpers import superuser_client

    client, _ = superuser_client()
    url = f"{TENANTS}{acme.id}/change/"
    page = client.get(url)
    assert APP in page.content.decode()
    data = form_data(page)
    data["config-0-allowed_origins"] = "https://App.Example.com\n\nhttp://localhost:5173\n"
    assert client.post(url, data).status_code == 302
    assert TenantConfig.objects.get(tenant=acme.tenant).allowed_origins == ["https://app.example.com",
                                                                             "http://localhost:5173"]
    assert preflight("/v1/auth/sign-in", "http://localhost:5173")["Access-Control-Allow-Origin"] == \
        "http://localhost:5173"
    data["config-0-allowed_origins"] = "https://*.example.com"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Wildcards are not allowed" in response.content.decode()
    assert TenantConfig.objects.get(tenant=acme.tenant).allowed_origins == ["https://app.example.com",
                                                                             "http://localhost:5173"]


def test_seed_demo_allows_the_demos_own_origin(settings):
    from tests.commands.test_commands import run_json

    settings.HJ_PUBLIC_URL = "http://127.0.0.1:8000"
    result = run_json("seed_demo")
    assert result["allowed_origins"] == ["http://127.0.0.1:8000", "http://localhost:8000"]
    config = TenantConfig.objects.get(tenant_id=result["tenant_id"])
    assert config.allowed_origins == result["allowed_origins"]
    assert preflight("/v1/auth/sign-in", "http://localhost:8000")["Access-Control-Allow-Origin"] == \
        "http://localhost:8000"
