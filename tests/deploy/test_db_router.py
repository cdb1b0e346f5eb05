"""The database router without a replica, and DATABASE_REPLICA_URL's settings (hellojohn_project/db_router.py).

With a real streaming replica: tests/deploy/test_read_replica.py (PostgreSQL runs).
"""

import json
import subprocess
import sys
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from hellojohn_project import db_router, replica
from hellojohn_project.read_your_writes import PIN_COOKIE, ReadYourWritesMiddleware
from sessions_app.models import Session
from tenants_app.models import Tenant
from tests.admin_helpers import action, superuser_client
from tests.live_app import PROJECT

SETTINGS_PROBE = """
import json
import django
django.setup()
from django.conf import settings
from hellojohn_project import metrics
replica = settings.DATABASES["replica"]
print(json.dumps({"routers": settings.DATABASE_ROUTERS, "host": replica["HOST"], "port": replica["PORT"],
                  "options": replica["OPTIONS"], "cursors": replica["DISABLE_SERVER_SIDE_CURSORS"],
                  "mirror": replica["TEST"].get("MIRROR"), "collector": "replica" in metrics._collectors}))
"""


def probe_settings(**env: str) -> subprocess.CompletedProcess[str]:
    base = {"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin",
            "DATABASE_URL": "postgres://hj@db.internal:6432/hellojohn"}
    return subprocess.run([sys.executable, "-c", SETTINGS_PROBE], cwd=PROJECT, env={**base, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_database_replica_url_adds_a_replica_connected_like_default() -> None:
    result = probe_settings(DATABASE_POOLER="pgbouncer",
                            DATABASE_REPLICA_URL="postgres://hj@db.internal:6432/hellojohn_replica")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == {
        "routers": ["hellojohn_project.db_router.ReplicaRouter"], "host": "db.internal", "port": 6432,
        # Through the same PgBouncer: no prepared statements, no server-side cursors; a short connect timeout.
        "options": {"prepare_threshold": None, "connect_timeout": 2}, "cursors": True,
        "mirror": "default", "collector": True}


@pytest.mark.parametrize("replica_url", ["sqlite:///replica.sqlite3", "mysql://hj@db.internal/hellojohn"])
def test_a_replica_that_is_not_postgresql_is_refused(replica_url: str) -> None:
    result = probe_settings(DATABASE_REPLICA_URL=replica_url)
    assert result.returncode == 1
    assert "ImproperlyConfigured: DATABASE_REPLICA_URL needs postgres:// URLs" in result.stderr


def test_without_a_replica_every_read_goes_to_default() -> None:
    router = db_router.ReplicaRouter()
    assert not replica.configured()
    assert router.db_for_read(Session) == DEFAULT_DB_ALIAS
    assert db_router.lag_tolerant(lambda: router.db_for_read(Session))() == DEFAULT_DB_ALIAS
    assert router.db_for_write(Tenant) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(replica.ALIAS, "sessions_app") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "sessions_app") is True


@pytest.mark.django_db
def test_each_request_starts_with_fresh_routing_state(make_tenant: Any) -> None:
    seen: list[bool] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(db_router.has_written())
        make_tenant(f"T{len(seen)}", f"t{len(seen)}")  # a write: the rest of this request reads the primary
        seen.append(db_router.has_written())
        return HttpResponse("ok")

    middleware = ReadYourWritesMiddleware(view)
    end = db_router.start_request()
    try:
        for _ in range(2):
            response = middleware(RequestFactory().get("/admin/"))
            assert response.status_code == 200
            assert PIN_COOKIE not in response.cookies  # no replica: nothing to pin to
            assert db_router.has_written() is False  # the request's state ended with it
    finally:
        end()
    assert seen == [False, True, False, True]


@pytest.mark.django_db
def test_an_operators_write_sets_no_pin_cookie_without_a_replica(user: Any, sign_in: Any) -> None:
    session_id = sign_in()["session"]["id"]
    root, _ = superuser_client()
    response = action(root, "/admin/sessions_app/session/", "revoke_selected", [session_id])
    assert response.status_code == 302
    assert Session.objects.get(pk=session_id).revoked_at is not None
    assert PIN_COOKIE not in response.cookies
