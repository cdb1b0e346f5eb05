"""A Python client generated from docs/openapi.json (openapi-python-client) drives the service over real HTTP.

The client is generated into a temporary folder for each run, imported, and used against
pytest-django's live server for the demo's flows: list a user's sessions, revoke one, revoke all,
the session limit evicting the oldest, refresh, verify, and every error parsed as the envelope.
"""

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.cache import cache

from tests.conftest import TenantKeys
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "hellojohn_client"


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    folder = tmp_path_factory.mktemp("generated")
    config = folder / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(ROOT / "docs" / "openapi.json"), "--output-path",
         str(folder / PACKAGE), "--meta", "none", "--config", str(config)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def op(module: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{module}")


def models() -> Any:
    return importlib.import_module(f"{PACKAGE}.models")


class Api:
    """The generated functions with this tenant's credentials filled in."""

    def __init__(self, sdk: ModuleType, base_url: str, keys: TenantKeys):
        self.keys = keys
        self.admin = sdk.AuthenticatedClient(base_url=base_url, token=keys.secret_key, raise_on_unexpected_status=True)
        self.app = sdk.AuthenticatedClient(base_url=base_url, token=keys.publishable_key)
        self.base_url = sdk, base_url

    def as_user(self, access_token: str) -> Any:
        sdk, base_url = self.base_url
        return sdk.AuthenticatedClient(base_url=base_url, token=access_token)

    def call(self, module: str, client: Any, **kwargs: Any) -> Any:
        return op(module).sync_detailed(client=client, x_tenant_id=self.keys.id, **kwargs)

    def sign_in(self, email: str, password: str = TEST_PASSWORD) -> Any:
        cache.clear()  # the suite signs in often; the sign-in limits are tested elsewhere
        response = self.call("auth.sign_in", self.app, body=models().SignInInRequest(email=email, password=password))
        assert response.status_code == 200, response.content
        return response.parsed.session


@pytest.fixture
def api(sdk: ModuleType, live_server: Any, tenant: TenantKeys) -> Api:
    return Api(sdk, live_server.url, tenant)


def assert_envelope(response: Any, status: int, code: str) -> Any:
    envelope = response.parsed
    assert isinstance(envelope, models().ErrorEnvelope), response.content
    assert response.status_code == status
    assert (envelope.error.status, envelope.error.code.value) == (status, code)
    assert envelope.error.request_id == response.headers["X-Request-ID"]
    return envelope.error


def test_list_revoke_one_and_revoke_all(api: Api, tenant: TenantKeys) -> None:
    m = models()
    alice = UserFactory(tenant=tenant.tenant, email="alice@example.com")
    phone, laptop, tablet = (api.sign_in(alice.email) for _ in range(3))

    listed = api.call("sessions.list_sessions", api.admin, user_id=alice.id)
    assert listed.status_code == 200
    assert isinstance(listed.parsed, m.SessionPageOut)
    assert {row.id for row in listed.parsed.data} == {phone.id, laptop.id, tablet.id}
    assert all(row.status == m.SessionStatusEnum.ACTIVE and row.revoked_reason is None for row in listed.parsed.data)
    assert listed.parsed.pagination.total == 3

    # The phone signs the laptop out, as on the sessions page.
    as_phone = api.as_user(phone.access_token)
    mine = api.call("sessions.list_sessions", as_phone)
    assert {row.id: row.current for row in mine.parsed.data}[phone.id] is True
    assert api.call("sessions.revoke_session", as_phone, id=laptop.id).status_code == 204
    laptop_now = api.call("sessions.get_session", api.admin, id=laptop.id).parsed
    assert (laptop_now.status, laptop_now.revoked_reason) == (m.SessionStatusEnum.REVOKED,
                                                               m.RevokedReasonEnum.REVOKED_BY_USER)

    # Sign out other devices, then the backend revokes everything left.
    others = api.call("sessions.revoke_user_sessions", as_phone, except_current=True)
    assert isinstance(others.parsed, m.RevokedCountOut)
    assert others.parsed.revoked == 1
    everything = api.call("sessions.revoke_user_sessions", api.admin, user_id=alice.id)
    assert everything.parsed.revoked == 1
    assert_envelope(api.call("auth.get_me", as_phone), 401, "session_revoked")


def test_session_limit_evicts_the_oldest(api: Api, tenant: TenantKeys) -> None:
    m = models()
    bob = UserFactory(tenant=tenant.tenant, email="bob@example.com")
    updated = api.call("admin.update_config", api.admin,
                       body=m.PatchedConfigPatchInRequest(max_sessions_per_user=2))
    assert isinstance(updated.parsed, m.ConfigOut)
    assert updated.parsed.max_sessions_per_user == 2
    assert api.call("admin.get_config", api.admin).parsed.max_sessions_per_user == 2

    first, second, third = (api.sign_in(bob.email) for _ in range(3))
    rows = {row.id: row for row in api.call("sessions.list_sessions", api.admin, user_id=bob.id,
                                             status=m.ListSessionsStatus.ALL).parsed.data}
    assert rows[first.id].revoked_reason == m.RevokedReasonEnum.SESSION_LIMIT
    assert rows[second.id].status == rows[third.id].status == m.SessionStatusEnum.ACTIVE


def test_refresh_and_verify(api: Api, tenant: TenantKeys) -> None:
    m = models()
    carol = UserFactory(tenant=tenant.tenant, email="carol@example.com")
    issued = api.sign_in(carol.email)

    refreshed = api.call("auth.refresh_token", api.app, body=m.RefreshInRequest(refresh_token=issued.refresh_token))
    assert refreshed.status_code == 200
    session = refreshed.parsed.session
    assert session.id == issued.id
    assert session.refresh_token != issued.refresh_token

    verified = api.call("sessions.verify_access_token", api.admin, body=m.VerifyInRequest(token=session.access_token))
    assert (verified.parsed.valid, verified.parsed.reason) == (True, None)
    assert verified.parsed.session.id == issued.id

    reused = api.call("auth.refresh_token", api.app, body=m.RefreshInRequest(refresh_token=issued.refresh_token))
    assert_envelope(reused, 401, "refresh_token_reused")
    verified = api.call("sessions.verify_access_token", api.admin, body=m.VerifyInRequest(token=session.access_token))
    assert (verified.parsed.valid, verified.parsed.reason) == (False, m.VerifyReasonEnum.SESSION_REVOKED)
    assert verified.parsed.session.revoked_reason == m.RevokedReasonEnum.REFRESH_TOKEN_REUSED

    jwks = op("keys.get_jwks").sync_detailed(client=api.app)
    assert isinstance(jwks.parsed, m.JwkSetOut)
    assert jwks.parsed.keys and jwks.parsed.keys[0].kty == m.KtyEnum.OKP


def test_every_error_parses_as_the_envelope(api: Api, tenant: TenantKeys) -> None:
    m = models()
    dave = UserFactory(tenant=tenant.tenant, email="dave@example.com")
    as_dave = api.as_user(api.sign_in(dave.email).access_token)
    bad_origin = api.call("admin.update_config", api.admin,
                          body=m.PatchedConfigPatchInRequest(allowed_origins=["https://app.example.com/"]))
    error = assert_envelope(bad_origin, 400, "invalid_parameter")
    assert list(error.fields.additional_properties) == ["allowed_origins"]
    assert_envelope(api.call("admin.update_config", api.admin,
                             body=m.PatchedConfigPatchInRequest(access_token_ttl=59)), 400, "invalid_parameter")
    assert_envelope(op("admin.get_config").sync_detailed(client=api.admin, x_tenant_id=""), 400, "missing_tenant_id")
    assert_envelope(api.call("auth.sign_in", api.app, body=m.SignInInRequest(email=dave.email, password="nope")),
                    401, "invalid_credentials")
    assert_envelope(api.call("auth.get_me", api.as_user("not.a.jwt")), 401, "invalid_token")
    assert_envelope(api.call("admin.get_config", api.app), 403, "insufficient_permissions")
    assert_envelope(api.call("admin.get_config", as_dave), 403, "insufficient_permissions")
    assert_envelope(api.call("sessions.get_session", api.admin, id="ses_01JDQ8Z6V4X3N2M1K0HGFEDCBA"),
                    404, "session_not_found")
    assert_envelope(api.call("users.get_user", api.admin, id="usr_01JDQ8YB7S0Q9R8P7N6M5K4J3H"), 404, "user_not_found")
    assert_envelope(api.call("users.create_user", api.admin, body=m.UserCreateInRequest(email=dave.email)),
                    409, "email_already_exists")
    assert_envelope(api.call("users.create_user", api.admin,
                             body=m.UserCreateInRequest(email="erin@example.com", password="short")),
                    422, "password_too_weak")
    cache.clear()
    for _ in range(20):
        limited = api.call("auth.sign_in", api.app, body=m.SignInInRequest(email=dave.email, password="nope"))
        if limited.status_code == 429:
            break
    assert_envelope(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"
