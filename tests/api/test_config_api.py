"""GET/PATCH /v1/admin/config: fields, bounds, types, unknown fields (issue 4)."""

import pytest

from tenants_app.models import TenantConfig
from tests.conftest import client_with, error_code, user_client

pytestmark = pytest.mark.django_db

DEFAULTS = {"max_sessions_per_user": None, "session_duration": 2592000, "idle_timeout": None,
            "access_token_ttl": 900, "allowed_origins": [],
            "sign_in_alerts": "off"}


def config_row(tenant):
    return TenantConfig.objects.filter(tenant=tenant).values(*DEFAULTS).get()


def test_get_returns_the_whole_config_with_defaults(tenant):
    response = client_with(tenant.secret_key, tenant.id).get("/v1/admin/config")
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_patch_is_partial_and_answers_the_whole_config(tenant):
    admin = client_with(tenant.secret_key, tenant.id)
    response = admin.patch("/v1/admin/config", {"idle_timeout": 3600, "access_token_ttl": 300}, format="json")
    assert response.status_code == 200
    assert response.json() == {**DEFAULTS, "idle_timeout": 3600, "access_token_ttl": 300}
    response = admin.patch("/v1/admin/config", {"idle_timeout": None}, format="json")
    assert response.json()["idle_timeout"] is None
    assert config_row(tenant.tenant)["access_token_ttl"] == 300


@pytest.mark.parametrize("value", ["flagged", "all", "off"])
def test_sign_in_alerts_is_set_and_read_back(tenant, value):
    admin = client_with(tenant.secret_key, tenant.id)
    response = admin.patch("/v1/admin/config", {"sign_in_alerts": value}, format="json")
    assert response.status_code == 200
    assert response.json() == {**DEFAULTS, "sign_in_alerts": value}
    assert config_row(tenant.tenant)["sign_in_alerts"] == value
    assert admin.get("/v1/admin/config").json()["sign_in_alerts"] == value


@pytest.mark.parametrize(("body", "code"), [
    ({"max_sessions_per_user": 0}, "invalid_parameter"),
    ({"max_sessions_per_user": -1}, "invalid_parameter"),
    ({"max_sessions_per_user": 1001}, "invalid_parameter"),
    ({"max_sessions_per_user": "5"}, "invalid_request"),
    ({"max_sessions_per_user": True}, "invalid_request"),
    ({"max_sessions_per_user": 5.5}, "invalid_request"),
    ({"max_sessions_per_user": [5]}, "invalid_request"),
    ({"max_sessions_per_user": 10**400}, "invalid_parameter"),
    ({"idle_timeout": 59}, "invalid_parameter"),
    ({"access_token_ttl": 86401}, "invalid_parameter"),
    ({"session_duration": None}, "invalid_request"),
    ({"unknown_field": 1}, "invalid_parameter"),
    ({"sign_in_alerts": "sometimes"}, "invalid_parameter"),
    ({"sign_in_alerts": "OFF"}, "invalid_parameter"),
    ({"sign_in_alerts": None}, "invalid_request"),
    ({"sign_in_alerts": 1}, "invalid_parameter"),
    ({"max_sessions_per_user": 5, "color": "blue"}, "invalid_parameter"),
])
def test_bad_bodies_change_nothing(tenant, body, code):
    before = config_row(tenant.tenant)
    response = client_with(tenant.secret_key, tenant.id).patch("/v1/admin/config", body, format="json")
    assert (response.status_code, error_code(response)) == (400, code)
    assert response.json()["error"]["fields"]
    assert config_row(tenant.tenant) == before


def test_messages_name_the_bounds(tenant):
    response = client_with(tenant.secret_key, tenant.id).patch("/v1/admin/config", {"max_sessions_per_user": 0},
                                                                format="json")
    assert response.json()["error"]["fields"] == {"max_sessions_per_user": ["Must be between 1 and 1000."]}


@pytest.mark.parametrize(("raw", "content_type", "status", "code"), [
    (b"{not json", "application/json", 400, "invalid_request"),
    (b"[1, 2]", "application/json", 400, "invalid_request"),
    (b"max_sessions_per_user=5", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"\xff\xfe\xfa", "application/json", 400, "invalid_request"),
])
def test_non_json_bodies(tenant, raw, content_type, status, code):
    before = config_row(tenant.tenant)
    response = client_with(tenant.secret_key, tenant.id).generic("PATCH", "/v1/admin/config", raw,
                                                                  content_type=content_type)
    assert (response.status_code, error_code(response)) == (status, code)
    assert config_row(tenant.tenant) == before


def test_only_the_secret_key_may_read_or_change_config(tenant, user, sign_in):
    for client in (client_with(tenant.publishable_key, tenant.id), user_client(sign_in())):
        response = client.patch("/v1/admin/config", {"max_sessions_per_user": 1}, format="json")
        assert (response.status_code, error_code(response)) == (403, "insufficient_permissions")
    assert config_row(tenant.tenant) == DEFAULTS


def test_config_is_per_tenant(tenant, other_tenant):
    client_with(other_tenant.secret_key, other_tenant.id).patch("/v1/admin/config", {"max_sessions_per_user": 2},
                                                                format="json")
    assert config_row(tenant.tenant) == DEFAULTS
