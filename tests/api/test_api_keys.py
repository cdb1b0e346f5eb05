"""Secret and publishable keys: how they are stored, and the credential checks of `docs/api.md` section 4 in order."""

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tenants_app.models import ApiKey, Tenant, TenantConfig, User
from tenants_app.services import issue_api_key, revoke_api_key
from tests.conftest import TenantKeys, client_with, error_code, user_client

KEY_FORMAT = re.compile(r"^(sk|pk)_(live|test)_[A-Za-z0-9_-]{43}$")
WELL_FORMED_UNKNOWN_SECRET = "sk_live_" + "A" * 43
WELL_FORMED_UNKNOWN_PUBLISHABLE = "pk_live_" + "B" * 43

# Every route a secret key may call and nothing else may (`docs/api.md` sections 8 to 10, "admin").
ADMIN_ONLY_ROUTES = [
    ("get", "/v1/admin/config", None),
    ("patch", "/v1/admin/config", {"session_duration": 600}),
    ("get", "/v1/users", None),
    ("post", "/v1/users", {"email": "new@example.com", "password": "a fine long passphrase"}),
    ("post", "/v1/sessions/verify", {"token": "x"}),
]


def call(client: APIClient, method: str, path: str, body: dict[str, Any] | None) -> Any:
    return getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)


def config_row(tenant: TenantKeys) -> dict[str, Any]:
    return TenantConfig.objects.filter(tenant=tenant.tenant).values().get()


# --- Storage ------------------------------------------------------------------------------------


def test_keys_are_shown_once_and_stored_only_as_hashes(tenant: TenantKeys) -> None:
    for plaintext, kind in ((tenant.secret_key, "secret"), (tenant.publishable_key, "publishable")):
        assert KEY_FORMAT.match(plaintext)
        row = ApiKey.objects.get(tenant=tenant.tenant, kind=kind)
        assert row.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert plaintext.startswith(row.display_prefix)
        # Enough to tell keys apart in the admin, far too little to guess the rest.
        random_part = row.display_prefix.removeprefix(plaintext[: len("sk_live_")])
        assert 4 <= len(random_part) <= 8
        # The plaintext is in no column of the row.
        assert all(plaintext not in str(value) for value in ApiKey.objects.filter(pk=row.pk).values().get().values())
        assert re.fullmatch(r"key_[0-7][0-9A-HJKMNP-TV-Z]{25}", row.id)


def test_test_mode_keys_have_their_own_prefix(tenant: TenantKeys) -> None:
    issued = issue_api_key(tenant=tenant.tenant, kind="secret", mode="test")
    assert issued.plaintext.startswith("sk_test_")
    assert issued.api_key.mode == ApiKey.Mode.TEST
    response = client_with(issued.plaintext, tenant.id).get("/v1/admin/config")
    assert response.status_code == 200


def test_every_issued_key_is_different(tenant: TenantKeys) -> None:
    keys = {issue_api_key(tenant=tenant.tenant, kind="secret").plaintext for _ in range(20)}
    assert len(keys) == 20


# --- The checks, in the contract's order --------------------------------------------------------


def test_valid_secret_key_reaches_an_admin_route(secret_key_client: APIClient) -> None:
    response = secret_key_client.get("/v1/admin/config")
    assert response.status_code == 200
    assert response.json() == {"max_sessions_per_user": None, "session_duration": 2592000, "idle_timeout": None,
                               "access_token_ttl": 900, "allowed_origins": [],
                               "sign_in_alerts": "off"}


@pytest.mark.parametrize("with_tenant", [True, False])
def test_missing_authorization_answers_401_missing_token(tenant: TenantKeys, with_tenant: bool) -> None:
    response = client_with(None, tenant.id if with_tenant else None).get("/v1/admin/config")
    assert response.status_code == 401
    assert error_code(response) == "missing_token"
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", [
    "Basic c2tfbGl2ZTp4",  # another scheme
    "Bearer",  # no credential
    "Bearer    ",
    "Token " + WELL_FORMED_UNKNOWN_SECRET,
])
def test_malformed_authorization_answers_401_invalid_token(tenant: TenantKeys, header: str) -> None:
    response = client_with(None, tenant.id, HTTP_AUTHORIZATION=header).get("/v1/admin/config")
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"


def test_a_credential_that_is_neither_key_nor_token_answers_invalid_token(tenant: TenantKeys) -> None:
    response = client_with("not-a-key-or-a-jwt", tenant.id).get("/v1/admin/config")
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"


@pytest.mark.parametrize("credential", [
    WELL_FORMED_UNKNOWN_SECRET,
    WELL_FORMED_UNKNOWN_PUBLISHABLE,
    "sk_live_short",
    "sk_test_",
    "pk_live_" + "\u00e9" * 43,
])
def test_unknown_key_answers_401_invalid_api_key(tenant: TenantKeys, credential: str) -> None:
    response = client_with(credential, tenant.id).get("/v1/admin/config")
    assert response.status_code == 401
    assert error_code(response) == "invalid_api_key"


def test_scheme_is_case_insensitive(tenant: TenantKeys) -> None:
    response = client_with(None, tenant.id, HTTP_AUTHORIZATION=f"bearer {tenant.secret_key}").get("/v1/admin/config")
    assert response.status_code == 200


def test_revoked_key_answers_401_invalid_api_key_and_the_other_keys_still_work(tenant: TenantKeys) -> None:
    key = ApiKey.objects.get(tenant=tenant.tenant, kind="secret")
    spare = issue_api_key(tenant=tenant.tenant, kind="secret")
    assert revoke_api_key(api_key=key) is True
    assert revoke_api_key(api_key=key) is False  # revoking again changes nothing
    response = client_with(tenant.secret_key, tenant.id).get("/v1/admin/config")
    assert response.status_code == 401
    assert error_code(response) == "invalid_api_key"
    assert client_with(spare.plaintext, tenant.id).get("/v1/admin/config").status_code == 200
    assert client_with(tenant.publishable_key, tenant.id).post(
        "/v1/auth/sign-in", {"email": "nobody@example.com", "password": "x"}, format="json"
    ).status_code == 401  # reaches sign-in (invalid_credentials), so the key was accepted
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_keys_of_a_disabled_tenant_answer_invalid_api_key(tenant: TenantKeys) -> None:
    Tenant.objects.filter(pk=tenant.id).update(status=Tenant.Status.DISABLED)
    for credential in (tenant.secret_key, tenant.publishable_key):
        response = client_with(credential, tenant.id).get("/v1/admin/config")
        assert response.status_code == 401
        assert error_code(response) == "invalid_api_key"


def test_bad_credential_is_reported_before_a_missing_tenant_header(tenant: TenantKeys) -> None:
    response = client_with(WELL_FORMED_UNKNOWN_SECRET, None).get("/v1/admin/config")
    assert response.status_code == 401
    assert error_code(response) == "invalid_api_key"


@pytest.mark.parametrize("tenant_header", [None, "", "   "])
def test_missing_tenant_header_answers_400_missing_tenant_id(tenant: TenantKeys, tenant_header: str | None) -> None:
    client = client_with(tenant.secret_key, tenant_header)
    response = client.get("/v1/admin/config")
    assert response.status_code == 400
    assert error_code(response) == "missing_tenant_id"


def test_key_of_tenant_a_with_tenant_b_in_the_header_answers_403_tenant_mismatch(
    tenant: TenantKeys, other_tenant: TenantKeys,
) -> None:
    before = config_row(other_tenant)
    response = client_with(tenant.secret_key, other_tenant.id).patch(
        "/v1/admin/config", {"session_duration": 600}, format="json"
    )
    assert response.status_code == 403
    assert error_code(response) == "tenant_mismatch"
    assert config_row(other_tenant) == before
    assert config_row(tenant)["session_duration"] == 2592000


@pytest.mark.parametrize("tenant_header", ["nope", "tnt_01JDQ8Z6V4X3N2M1K0HGFEDCBA", "TNT_x", "tnt_" + "0" * 300])
def test_malformed_or_unknown_tenant_header_answers_403_tenant_mismatch(tenant: TenantKeys,
                                                                       tenant_header: str) -> None:
    response = client_with(tenant.secret_key, tenant_header).get("/v1/admin/config")
    assert response.status_code == 403
    assert error_code(response) == "tenant_mismatch"


def test_tenant_mismatch_is_reported_before_the_wrong_kind(tenant: TenantKeys, other_tenant: TenantKeys) -> None:
    response = client_with(tenant.publishable_key, other_tenant.id).get("/v1/admin/config")
    assert response.status_code == 403
    assert error_code(response) == "tenant_mismatch"


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY_ROUTES)
def test_publishable_key_on_an_admin_route_answers_403_insufficient_permissions(
    tenant: TenantKeys, method: str, path: str, body: dict[str, Any] | None,
) -> None:
    before = config_row(tenant)
    response = call(client_with(tenant.publishable_key, tenant.id), method, path, body)
    assert response.status_code == 403
    assert error_code(response) == "insufficient_permissions"
    assert config_row(tenant) == before
    assert not User.objects.exists()


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY_ROUTES)
def test_access_token_on_an_admin_route_answers_403_insufficient_permissions(
    tenant: TenantKeys, user: User, sign_in: Any, method: str, path: str, body: dict[str, Any] | None,
) -> None:
    response = call(user_client(sign_in()), method, path, body)
    assert response.status_code == 403
    assert error_code(response) == "insufficient_permissions"
    assert User.objects.count() == 1


@pytest.mark.parametrize("path", ["/v1/auth/sign-in", "/v1/auth/sign-up", "/v1/auth/token/refresh"])
def test_secret_key_on_a_publishable_route_answers_403_insufficient_permissions(secret_key_client: APIClient,
                                                                                path: str) -> None:
    response = secret_key_client.post(path, {}, format="json")
    assert response.status_code == 403
    assert error_code(response) == "insufficient_permissions"


def test_keys_on_a_user_only_route_answer_403(tenant: TenantKeys) -> None:
    for credential in (tenant.secret_key, tenant.publishable_key):
        response = client_with(credential, tenant.id).get("/v1/auth/me")
        assert response.status_code == 403
        assert error_code(response) == "insufficient_permissions"


def test_a_tenant_sees_only_its_own_users(tenant: TenantKeys, other_tenant: TenantKeys, user: User) -> None:
    response = client_with(other_tenant.secret_key, other_tenant.id).get(f"/v1/users/{user.id}")
    assert response.status_code == 404
    assert error_code(response) == "user_not_found"


# --- last_used_at -------------------------------------------------------------------------------

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def key_updates(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].startswith("UPDATE") and ApiKey._meta.db_table in q["sql"]]


def last_used_at(tenant: TenantKeys) -> datetime | None:
    return ApiKey.objects.get(tenant=tenant.tenant, kind="secret").last_used_at


def test_last_used_at_is_written_at_most_once_a_minute(tenant: TenantKeys) -> None:
    client = client_with(tenant.secret_key, tenant.id)
    assert last_used_at(tenant) is None

    with time_machine.travel(T0, tick=False), CaptureQueriesContext(connection) as first:
        assert client.get("/v1/admin/config").status_code == 200
    assert last_used_at(tenant) == T0
    assert len(key_updates(first)) == 1

    with time_machine.travel(T0 + timedelta(seconds=59), tick=False), CaptureQueriesContext(connection) as soon:
        assert client.get("/v1/admin/config").status_code == 200
    assert last_used_at(tenant) == T0
    assert key_updates(soon) == []  # a fresh value costs no write at all

    with time_machine.travel(T0 + timedelta(seconds=61), tick=False), CaptureQueriesContext(connection) as later:
        assert client.get("/v1/admin/config").status_code == 200
    assert last_used_at(tenant) == T0 + timedelta(seconds=61)
    assert len(key_updates(later)) == 1


def test_a_fresh_key_check_costs_one_query(tenant: TenantKeys, django_assert_num_queries: Any) -> None:
    """Key, tenant and config come in one query; with last_used_at fresh, that is the whole request."""
    client = client_with(tenant.secret_key, tenant.id)
    with time_machine.travel(T0, tick=False):
        client.get("/v1/admin/config")
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False), django_assert_num_queries(1):
        assert client.get("/v1/admin/config").status_code == 200  # the config came with the key


def test_refused_credentials_do_not_record_use(tenant: TenantKeys, other_tenant: TenantKeys) -> None:
    assert client_with(tenant.secret_key, other_tenant.id).get("/v1/admin/config").status_code == 403
    assert client_with(tenant.secret_key, None).get("/v1/admin/config").status_code == 400
    assert last_used_at(tenant) is None


def test_publishable_key_use_is_recorded_too(tenant: TenantKeys) -> None:
    with time_machine.travel(T0, tick=False):
        client_with(tenant.publishable_key, tenant.id).post(
            "/v1/auth/sign-in", {"email": "nobody@example.com", "password": "x"}, format="json"
        )
    assert ApiKey.objects.get(tenant=tenant.tenant, kind="publishable").last_used_at == T0
    assert last_used_at(tenant) is None
