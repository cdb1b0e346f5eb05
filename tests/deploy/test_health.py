"""`GET /healthz` and `GET /readyz`: liveness touches nothing; readiness checks the database, the cache
and the registered checks, answers 503 in JSON when one fails, and recovers with the database.
"""

import json
import logging
import time
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hellojohn_project import health
from tests.deploy.test_database_outage import Cluster, cluster  # noqa: F401 (a fixture)
from tests.deploy.test_readiness_hooks import wait_until_listening
from tests.live_app import gunicorn, production_env, request, set_up_database


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Checks a test registers are taken away after it, and the components' own put back."""
    before = dict(health._registered)
    names: list[str] = []
    yield names
    for name in names:
        health.unregister(name)
    for name, check in before.items():
        health.register(name, check)


def test_healthz_answers_without_touching_the_database(db: None) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert len(queries) == 0


def test_probes_take_get_only(db: None) -> None:
    assert Client().post("/healthz").status_code == 405
    assert Client().post("/readyz").status_code == 405


def test_a_registered_check_that_fails_makes_readyz_503(db: None, registered: list[str],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    health.register("worker_queue", lambda: health.Check(ok=False, detail="lag_over_bound"))
    registered.append("worker_queue")

    def broken() -> health.Check:
        raise ConnectionError("listener at 10.0.0.5:5432 password=hunter2")

    health.register("listener", broken)
    registered.append("listener")
    with caplog.at_level(logging.INFO):
        response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "checks": {
        "database": {"ok": True}, "cache": {"ok": True},
        "worker_queue": {"ok": False, "detail": "lag_over_bound"},
        "listener": {"ok": False, "detail": "ConnectionError"},  # the class, never the message
    }}
    assert b"hunter2" not in response.content and b"10.0.0.5" not in response.content
    # One warning for the failing check; no error line from Django's request logger per probe.
    assert [(r.name, r.levelname) for r in caplog.records] == [("hellojohn.health", "WARNING")]


def test_probes_take_no_credential_and_are_not_rate_limited_or_logged(db: None, settings: object,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    settings.HJ_RATE_LIMITS = {scope: "1/min" for scope in settings.HJ_RATE_LIMITS}  # type: ignore[attr-defined]
    client = Client(HTTP_AUTHORIZATION="Bearer sk_live_wrong", HTTP_X_TENANT_ID="tnt_nope")
    wait_until_listening()
    with caplog.at_level(logging.INFO):
        for _ in range(30):
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 200
    assert caplog.records == []


@pytest.mark.postgres
def test_readyz_fails_while_postgresql_is_down_and_recovers(cluster: Cluster) -> None:  # noqa: F811
    env = production_env(cluster.url)
    set_up_database(env)
    with gunicorn(env, workers=2) as base:
        until_ready(base)
        for _ in range(4):  # both workers
            status, _, body = request("GET", f"{base}/readyz")
            assert status == 200, body
            assert json.loads(body)["status"] == "ready"

        cluster.stop()
        for _ in range(4):
            status, headers, body = request("GET", f"{base}/readyz")
            assert status == 503, body
            assert headers["Content-Type"] == "application/json"
            answer = json.loads(body)
            assert answer["status"] == "not_ready"
            # No REDIS_URL: the cache is the database's table, so it is down too.
            assert answer["checks"]["database"] == {"ok": False, "detail": "OperationalError"}
            assert answer["checks"]["cache"]["ok"] is False
            assert request("GET", f"{base}/healthz")[:1] == (200,)  # alive, just not ready

        cluster.start()
        until_ready(base)  # each worker's listener reconnects and reads the log again
        for _ in range(4):
            status, _, body = request("GET", f"{base}/readyz")
            assert status == 200, body
            assert json.loads(body) == {"status": "ready", "checks": {
                "database": {"ok": True}, "cache": {"ok": True}, "listener": {"ok": True},
                "worker_queue": {"ok": True}}}


def until_ready(base: str, *, probes: int = 8, within: float = 20.0) -> None:
    """Waits until `probes` readiness probes in a row answer 200 (they reach every worker)."""
    deadline, streak = time.monotonic() + within, 0
    while streak < probes:
        status, _, body = request("GET", f"{base}/readyz")
        streak = streak + 1 if status == 200 else 0
        assert time.monotonic() < deadline, body
        if status != 200:
            time.sleep(0.1)
