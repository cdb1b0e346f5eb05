"""Fixtures shared by the whole suite: tenants with real keys, end users, and HTTP clients."""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from hellojohn_project import change_feed
from hellojohn_project.models import RateCounter
from sessions_app.services import signing_keys
from tenants_app.models import Tenant
from tenants_app.services import create_tenant
from tests.commit_hooks import _on_commit_as_in_production  # noqa: F401 (an autouse fixture)
from tests.factories import TEST_PASSWORD, UserFactory

DESKTOP_CHROME = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.0.0 Safari/537.36")
IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.1 Mobile/15E148 Safari/604.1")


@dataclass
class TenantKeys:
    tenant: Tenant
    secret_key: str
    publishable_key: str

    @property
    def id(self) -> str:
        return self.tenant.id


@pytest.fixture(scope="session", autouse=True)
def _listener_stopped_before_the_test_database_goes(django_db_setup: None) -> Iterator[None]:
    """The change feed's listener holds a connection of its own; the test database is dropped after it closes.

    A direct listener URL (as under PgBouncer) names the real database: the suite's listener reads the
    test database instead.
    """
    if settings.HJ_LISTENER_DATABASE_URL:
        from psycopg.conninfo import make_conninfo

        settings.HJ_LISTENER_DATABASE_URL = make_conninfo(settings.HJ_LISTENER_DATABASE_URL,
                                                          dbname=connection.settings_dict["NAME"])
    yield
    change_feed.stop()


@pytest.fixture(autouse=True)
def _signing_keys_forgotten() -> None:
    """The remembered signing keys (PostgreSQL, under the change feed's lease) are of the database as it
    was; a transactional test's flush empties the tables with TRUNCATE, which the change log does not see."""
    signing_keys.forget_signing_keys()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Each test starts with an empty cache; rate-limit counters are rows, rolled back with each test."""
    cache.clear()


def reset_rate_limits() -> None:
    """Forgets every rate-limit count now (for tests that make more attempts than a limit allows)."""
    cache.clear()
    RateCounter.objects.all().delete()


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A STATIC_ROOT that production's `collectstatic` filled, once per run (compressing takes a while)."""
    root = tmp_path_factory.mktemp("collected-static")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hellojohn_project.settings", "DJANGO_DEBUG": "false",
           "DJANGO_SECRET_KEY": "collectstatic-only-" + "x" * 40, "DJANGO_STATIC_ROOT": str(root)}
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                            cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True, text=True,
                            timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return str(root)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway redis-server of this test's own (tests/redisserver.py); its URL."""
    from tests.redisserver import find_redis_server, redis_server

    if find_redis_server() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server is required under CI=true")
        pytest.skip("no redis-server on this machine")
    with redis_server(tmp_path) as url:
        yield url


@pytest.fixture
def no_rate_limits(settings: Any) -> None:
    """Every rate-limit scope gets a rate no test comes near (for tests that sign in many times at once)."""
    settings.HJ_RATE_LIMITS = {scope: "100000/min" for scope in settings.HJ_RATE_LIMITS}


@pytest.fixture
def make_tenant(db: None) -> Callable[..., TenantKeys]:
    def make(name: str = "Acme", slug: str | None = None) -> TenantKeys:
        created = create_tenant(name=name, slug=slug)
        return TenantKeys(created.tenant, created.secret_key.plaintext, created.publishable_key.plaintext)

    return make


@pytest.fixture
def tenant(make_tenant: Callable[..., TenantKeys]) -> TenantKeys:
    return make_tenant("Acme", "acme")


@pytest.fixture
def other_tenant(make_tenant: Callable[..., TenantKeys]) -> TenantKeys:
    return make_tenant("Globex", "globex")


@pytest.fixture
def user(tenant: TenantKeys) -> Any:
    return UserFactory(tenant=tenant.tenant, email="alice@example.com")


def client_with(credential: str | None, tenant_id: str | None, **extra: str) -> APIClient:
    client = APIClient(**extra)
    headers = {}
    if credential is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {credential}"
    if tenant_id is not None:
        headers["HTTP_X_TENANT_ID"] = tenant_id
    client.credentials(**headers)
    return client


@pytest.fixture
def secret_key_client(tenant: TenantKeys) -> APIClient:
    """The tenant's backend: secret key."""
    return client_with(tenant.secret_key, tenant.id)


@pytest.fixture
def public_client(tenant: TenantKeys) -> APIClient:
    """A browser or app: publishable key."""
    return client_with(tenant.publishable_key, tenant.id)


@pytest.fixture
def sign_in(tenant: TenantKeys) -> Callable[..., dict[str, Any]]:
    """Signs `email` in through the API from a device; answers the response body."""

    def do(email: str = "alice@example.com", password: str = TEST_PASSWORD, user_agent: str = DESKTOP_CHROME,
           ip: str = "127.0.0.1", keys: TenantKeys | None = None) -> dict[str, Any]:
        keys = keys or tenant
        client = client_with(keys.publishable_key, keys.id, HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
        response = client.post("/v1/auth/sign-in", {"email": email, "password": password}, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    return do


def user_client(body: dict[str, Any]) -> APIClient:
    """A client holding the access token of a sign-in answer."""
    return client_with(body["session"]["access_token"], body["session"]["tenant_id"])


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["status"] == response.status_code
    assert body["error"]["request_id"] == response["X-Request-ID"]
    return body["error"]["code"]
