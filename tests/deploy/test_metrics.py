"""`GET /metrics`: off without HJ_METRICS_TOKEN, 401 without it, and the counts an SRE alerts on:
requests by route and status, access checks, sign-ins, refreshes and revocations by outcome, the
cached active-sessions gauge, registered collectors; summed over several gunicorn workers.
"""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from hellojohn_project import metrics
from tests.conftest import TenantKeys, client_with
from tests.factories import TEST_PASSWORD
from tests.live_app import gunicorn, post_json, production_env, request, set_up_database

TOKEN = "metrics-token-for-the-suite-0123456789"


@pytest.fixture
def scrape(settings: Any) -> Callable[[], dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    settings.HJ_METRICS_TOKEN = TOKEN

    def do() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain; version=")
        return parse(response.content.decode())

    return do


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_off_without_a_token(db: None, settings: Any) -> None:
    settings.HJ_METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
                                    f"Bearer {TOKEN[:-1]}", "Bearer \udcff"])
def test_a_missing_or_wrong_token_is_401(db: None, settings: Any, header: str | None) -> None:
    settings.HJ_METRICS_TOKEN = TOKEN
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = Client().get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"hj_" not in response.content


def test_requests_are_counted_by_route_and_status(db: None, scrape: Callable[[], dict]) -> None:
    before = scrape()
    client = Client()
    for path in ("/v1/sessions/ses_a", "/v1/sessions/ses_b", "/no/such/path/123"):
        client.get(path)
    client.get("/healthz")
    after = scrape()
    route = {"route": "v1/sessions/<str:id>", "method": "GET", "status": "401"}
    assert value(after, "hj_http_requests_total", **route) - value(before, "hj_http_requests_total", **route) == 2
    assert (value(after, "hj_http_request_duration_seconds_count", **route)
            - value(before, "hj_http_request_duration_seconds_count", **route)) == 2
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert (value(after, "hj_http_requests_total", **unmatched)
            - value(before, "hj_http_requests_total", **unmatched)) == 1
    # Never a raw path as a label.
    assert not [key for key in after if any("ses_a" in v or "/no/such" in v for _, v in key[1])]


def test_rules_are_counted_by_outcome(tenant: TenantKeys, user: Any, scrape: Callable[[], dict],
                                      no_rate_limits: None) -> None:
    before = scrape()
    device = client_with(tenant.publishable_key, tenant.id)
    assert device.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": "wrong password!"},
                       format="json").status_code == 401
    signed = [device.post("/v1/auth/sign-in", {"email": "alice@example.com", "password": TEST_PASSWORD},
                          format="json").json()["session"] for _ in range(3)]
    assert device.post("/v1/auth/token/refresh", {"refresh_token": signed[0]["refresh_token"]},
                       format="json").status_code == 200
    assert device.post("/v1/auth/token/refresh", {"refresh_token": signed[0]["refresh_token"]},
                       format="json").status_code == 401  # reused: revokes the session
    me = client_with(signed[1]["access_token"], tenant.id)
    assert me.get("/v1/auth/me").status_code == 200
    backend = client_with(tenant.secret_key, tenant.id)
    assert backend.delete(f"/v1/sessions?user_id={user.id}").json() == {"revoked": 2}
    assert me.get("/v1/auth/me").status_code == 401
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("hj_sign_ins_total", outcome="succeeded") == 3
    assert delta("hj_sign_ins_total", outcome="invalid_credentials") == 1
    assert delta("hj_refreshes_total", outcome="succeeded") == 1
    assert delta("hj_refreshes_total", outcome="refresh_token_reused") == 1
    assert delta("hj_sessions_revoked_total", reason="refresh_token_reused") == 1
    assert delta("hj_sessions_revoked_total", reason="revoked_by_admin") == 2
    assert delta("hj_access_checks_total", outcome="accepted", source="database") == 1
    assert delta("hj_access_checks_total", outcome="session_revoked", source="database") == 1


def test_active_sessions_are_counted_once_a_period_not_per_scrape(tenant: TenantKeys, sign_in: Callable,
                                                                   user: Any, scrape: Callable[[], dict],
                                                                   settings: Any) -> None:
    sign_in()
    sign_in()
    settings.HJ_METRICS_TOKEN = TOKEN
    with CaptureQueriesContext(connection) as first:
        samples = scrape()
    assert value(samples, "hj_active_sessions") == 2
    assert value(samples, "hj_metrics_collector_up", collector="active_sessions") == 1
    # The configs' idle timeouts, then one COUNT across tenants; the webhook queue's oldest due
    # delivery; on PostgreSQL the listeners' rows.
    assert len(first) == (4 if connection.vendor == "postgresql" else 3)
    sign_in()
    with CaptureQueriesContext(connection) as second:
        samples = scrape()
    assert value(samples, "hj_active_sessions") == 2  # the cached figure
    assert len(second) == 0
    from django.core.cache import cache

    cache.delete("hj-metrics-active-sessions")  # the period ends
    assert value(scrape(), "hj_active_sessions") == 3


@pytest.fixture
def collector() -> Iterator[Callable[[str, Callable], None]]:
    names: list[str] = []

    def add(name: str, collect: Callable) -> None:
        names.append(name)
        metrics.register_collector(name, collect)

    before = dict(metrics._collectors)
    yield add
    for name in names:
        metrics.unregister_collector(name)
    for name, collect in before.items():
        metrics.register_collector(name, collect)


def test_registered_collectors_answer_and_a_broken_one_is_left_out(db: None, scrape: Callable[[], dict],
                                                                    collector: Callable) -> None:
    collector("webhooks", lambda: [GaugeMetricFamily("hj_webhook_queue_lag_seconds", "lag", value=4.5)])

    def broken() -> list:
        raise ConnectionError("down")

    collector("listener", broken)
    samples = scrape()
    assert value(samples, "hj_webhook_queue_lag_seconds") == 4.5
    assert value(samples, "hj_metrics_collector_up", collector="webhooks") == 1
    assert value(samples, "hj_metrics_collector_up", collector="listener") == 0


# --- Several gunicorn workers, one answer -------------------------------------------------------------


def test_gunicorn_workers_are_summed(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = production_env(f"sqlite:///{tmp_path / 'metrics.sqlite3'}", HJ_METRICS_TOKEN=TOKEN,
                         PROMETHEUS_MULTIPROC_DIR=str(directory), HJ_RATE_SIGN_IN_PER_EMAIL="1000/min",
                         HJ_RATE_SIGN_IN_PER_IP="1000/min")
    keys = set_up_database(env)
    (directory / "counter_999999.db").write_bytes(b"a previous run's")  # the shipped config empties the directory
    device = {"Authorization": f"Bearer {keys['publishable_key']}", "X-Tenant-ID": keys["tenant_id"]}
    with gunicorn(env, workers=3, shipped_config=True) as base:
        barrier = threading.Barrier(12)

        def probe(_: int) -> int:
            barrier.wait(timeout=30)
            return request("GET", f"{base}/readyz")[0]

        with ThreadPoolExecutor(max_workers=12) as pool:  # 12 at once on 3 sync workers: all of them answer
            assert list(pool.map(probe, range(12))) == [200] * 12
        # Six wrong passwords at once: each holds a sync worker for a production password check, so
        # more than one worker serves them (the probes above are quick enough for one worker to take all).
        slow = threading.Barrier(6)

        def wrong_password(_: int) -> int:
            slow.wait(timeout=30)
            return post_json(f"{base}/v1/auth/sign-in", {"email": "alice@example.com", "password": "wrong!"},
                             device)[0]

        with ThreadPoolExecutor(max_workers=6) as pool:
            assert list(pool.map(wrong_password, range(6))) == [401] * 6
        post_json(f"{base}/v1/auth/sign-in", {"email": "alice@example.com", "password": "correct horse battery staple"},
                  device)
        assert request("GET", f"{base}/metrics")[0] == 401
        totals = []
        for _ in range(3):
            status, _, body = request("GET", f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert status == 200
            totals.append(parse(body.decode()))
    writers = {path.name.rsplit("_", 1)[1] for path in directory.glob("counter_*.db")}
    assert len(writers) >= 2, sorted(directory.iterdir())  # more than one worker wrote counts
    for samples in totals:  # whichever worker answered the scrape, the same sums
        assert value(samples, "hj_http_requests_total", route="readyz", method="GET", status="200") == 12
        assert value(samples, "hj_http_request_duration_seconds_count", route="readyz", method="GET",
                     status="200") == 12
        assert value(samples, "hj_sign_ins_total", outcome="succeeded") == 1
        assert value(samples, "hj_sign_ins_total", outcome="invalid_credentials") == 6
        assert value(samples, "hj_active_sessions") == 1
    assert "ses_" not in repr(totals)  # no session id, no raw path, in any label
