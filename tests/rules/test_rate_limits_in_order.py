"""A request's rate limits counted in order, in one call (`counters.hit_in_order`, `rate_limits.hit_all`).

Per address first, then per key (or email): an attempt the address limit refuses is not counted
against the key behind it, or one client over its own limit would spend a whole tenant key's budget.
On PostgreSQL all of a request's limits are one statement (a chain of data-modifying CTEs); SQLite
and Redis count one limit after another. Real databases and a real redis-server; threads on their own
connections for the parallel counts (tests/concurrent.py).
"""

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from hellojohn_project import counters
from hellojohn_project.counters import Attempt, Hit
from hellojohn_project.models import RateCounter
from sessions_app import rate_limits
from tenants_app.models import ApiKey
from tests.concurrent import Thread, in_parallel, threads_db  # noqa: F401 (threads_db is a fixture)
from tests.conftest import DESKTOP_CHROME, TenantKeys, client_with, error_code

GENEROUS = "10000/min"


def stored_count(key: str) -> int | None:
    """The count stored for `key` (its row is named by the key's sha256), None when it has no row."""
    row = RateCounter.objects.filter(digest=hashlib.sha256(key.encode()).hexdigest()).first()
    return None if row is None else row.count


# --- The counter ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_attempt_over_the_first_limit_is_not_counted_against_the_second() -> None:
    chain = [Attempt("ip", 60, 2), Attempt("key", 60, 100)]
    assert counters.hit_in_order(chain, now=1000.0) == [Hit(1, 1060.0), Hit(1, 1060.0)]
    assert counters.hit_in_order(chain, now=1001.0) == [Hit(2, 1060.0), Hit(2, 1060.0)]
    for n in range(3, 8):  # refused by the first limit: counted there (without extending it), not behind it
        assert counters.hit_in_order(chain, now=1002.0) == [Hit(n, 1060.0)]
    assert (stored_count("ip"), stored_count("key")) == (7, 2)


@pytest.mark.django_db
def test_the_second_limit_refuses_while_the_first_is_within_its_own() -> None:
    chain = [Attempt("ip", 60, 100), Attempt("key", 60, 2)]
    assert [hits[-1].count for hits in (counters.hit_in_order(chain, now=1000.0) for _ in range(4))] == [1, 2, 3, 4]
    assert (stored_count("ip"), stored_count("key")) == (4, 4)
    # A third limit behind the refusing one is not counted.
    longer = [*chain, Attempt("email", 60, 100)]
    assert counters.hit_in_order(longer, now=1000.0) == [Hit(5, 1060.0), Hit(5, 1060.0)]
    assert stored_count("email") is None


@pytest.mark.django_db
def test_each_limit_of_a_chain_keeps_its_own_window() -> None:
    chain = [Attempt("ip", 60, 100), Attempt("key", 30, 100)]
    assert counters.hit_in_order(chain, now=1000.0) == [Hit(1, 1060.0), Hit(1, 1030.0)]
    assert counters.hit_in_order(chain, now=1029.0) == [Hit(2, 1060.0), Hit(2, 1030.0)]
    # The key's window has ended (a new one opens at 1); the address's has not.
    assert counters.hit_in_order(chain, now=1030.0) == [Hit(3, 1060.0), Hit(1, 1060.0)]
    assert counters.hit_in_order(chain, now=1059.0) == [Hit(4, 1060.0), Hit(2, 1060.0)]
    assert counters.hit_in_order(chain, now=1060.0) == [Hit(1, 1120.0), Hit(1, 1090.0)]
    # A single hit and a chain count the same row.
    assert counters.hit("key", 30, now=1061.0) == Hit(2, 1090.0)


@pytest.mark.django_db
def test_a_chain_is_one_statement_on_postgresql_and_one_per_limit_counted_on_sqlite() -> None:
    chain = [Attempt("ip", 60, 1), Attempt("key", 60, 100), Attempt("email", 60, 100)]
    for expected_hits in (3, 1):  # within every limit; then refused by the first
        with CaptureQueriesContext(connection) as captured:
            assert len(counters.hit_in_order(chain, now=1000.0)) == expected_hits
        statements = [q["sql"] for q in captured.captured_queries if q["sql"].startswith(("INSERT", "WITH"))]
        assert len(statements) == (1 if connection.vendor == "postgresql" else expected_hits), statements


@pytest.mark.django_db
def test_a_key_is_counted_once_per_call() -> None:
    with pytest.raises(ValueError, match="once per call"):
        counters.hit_in_order([Attempt("same", 60, 1), Attempt("same", 60, 1)])
    assert not RateCounter.objects.exists()
    assert counters.hit_in_order([]) == []


@pytest.mark.django_db
def test_on_redis_a_chain_stops_at_the_first_refusal_too(redis_url: str, settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    chain = [Attempt("ip", 60, 2), Attempt("key", 60, 100)]
    assert [len(counters.hit_in_order(chain)) for _ in range(5)] == [2, 2, 1, 1, 1]
    # Counted on Redis alone; a single hit on the key finds the two chained counts.
    assert not RateCounter.objects.exists()
    assert counters.hit("key", 60).count == 3
    assert counters.hit("ip", 60).count == 6


PARALLEL = 24


@pytest.mark.usefixtures("threads_db")
@pytest.mark.parametrize(("first_limit", "counted_behind"), [(1000, PARALLEL), (10, 10)])
def test_parallel_chains_count_each_attempt_exactly_once(first_limit: int, counted_behind: int) -> None:
    """Threads on their own connections count the same two keys at once: the counts are exactly 1..N on
    the first key, and exactly 1..(the first limit) on the second."""
    chain = [Attempt("parallel-ip", 60, first_limit), Attempt("parallel-key", 60, 1000)]
    results = in_parallel([lambda: counters.hit_in_order(chain)] * PARALLEL)
    assert sorted(hits[0].count for hits in results) == list(range(1, PARALLEL + 1))
    assert sorted(hits[1].count for hits in results if len(hits) == 2) == list(range(1, counted_behind + 1))
    # Every answer past the first limit stopped there.
    assert all(len(hits) == 1 for hits in results if hits[0].count > first_limit)
    assert (stored_count("parallel-ip"), stored_count("parallel-key")) == (PARALLEL, counted_behind)


# --- Through the API --------------------------------------------------------------------------------


@pytest.fixture
def rates(settings: Any) -> Callable[..., None]:
    def set_rates(**chosen: str) -> None:
        settings.HJ_RATE_LIMITS = {**{scope: GENEROUS for scope in settings.HJ_RATE_LIMITS}, **chosen}

    return set_rates


def refresh_from(tenant: TenantKeys, ip: str) -> Any:
    client: APIClient = client_with(tenant.publishable_key, tenant.id, REMOTE_ADDR=ip, HTTP_USER_AGENT=DESKTOP_CHROME)
    return client.post("/v1/auth/token/refresh", {"refresh_token": "rft_unknown"}, format="json")


def per_key_count(tenant: TenantKeys) -> int | None:
    key = ApiKey.objects.get(tenant=tenant.tenant, kind=ApiKey.Kind.PUBLISHABLE)
    return stored_count(f"hj:rate:refresh_perkey:{rate_limits.api_key_key(key.id)}")


@pytest.mark.django_db
def test_refreshes_refused_per_address_do_not_spend_the_keys_limit(tenant: TenantKeys,
                                                                   rates: Callable[..., None]) -> None:
    rates(refresh_perip="2/min", refresh_perkey="4/min")
    for _ in range(2):
        assert refresh_from(tenant, "198.51.100.40").status_code == 401
    assert per_key_count(tenant) == 2
    for _ in range(5):
        refused = refresh_from(tenant, "198.51.100.40")
        assert (refused.status_code, error_code(refused), refused["X-RateLimit-Limit"]) == (429, "rate_limited", "2")
    assert per_key_count(tenant) == 2  # the key's counter did not move
    # So other addresses still get the key's remaining 2, and then its own limit answers.
    for n in range(2):
        assert refresh_from(tenant, f"198.51.100.{41 + n}").status_code == 401
    refused = refresh_from(tenant, "198.51.100.43")
    assert (refused.status_code, refused["X-RateLimit-Limit"]) == (429, "4")
    assert per_key_count(tenant) == 5


@pytest.mark.django_db
def test_the_keys_limit_refuses_an_address_within_its_own(tenant: TenantKeys, rates: Callable[..., None]) -> None:
    rates(refresh_perip="10/min", refresh_perkey="3/min")
    for _ in range(3):
        assert refresh_from(tenant, "198.51.100.50").status_code == 401
    refused = refresh_from(tenant, "198.51.100.50")
    assert (refused.status_code, error_code(refused)) == (429, "rate_limited")
    assert (refused["X-RateLimit-Limit"], refused["X-RateLimit-Remaining"]) == ("3", "0")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert per_key_count(tenant) == 4


@pytest.mark.django_db
def test_a_refresh_counts_its_limits_in_one_statement_on_postgresql(tenant: TenantKeys,
                                                                    rates: Callable[..., None]) -> None:
    rates(refresh_perip="1/min")
    for status, counted_on_sqlite in ((401, 2), (429, 1)):  # within both limits; then refused per address
        with CaptureQueriesContext(connection) as captured:
            assert refresh_from(tenant, "198.51.100.60").status_code == status
        statements = [q["sql"] for q in captured.captured_queries
                      if "hj_rate_counter" in q["sql"] and not q["sql"].startswith(counters._SWEEP.split(" WHERE")[0])]
        assert len(statements) == (1 if connection.vendor == "postgresql" else counted_on_sqlite), statements


@pytest.mark.usefixtures("threads_db")
def test_the_sweep_leaves_a_counter_another_request_holds_and_does_not_wait_for_it() -> None:
    """On PostgreSQL a chain holds its first counter while it waits for the next: a sweep that waited
    for a held counter could hold another and deadlock with that chain."""
    ended = time.time() - 60
    RateCounter.objects.bulk_create([RateCounter(digest=name, count=1, window_ends_at=ended)
                                     for name in ("held", "free")])
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                list(RateCounter.objects.select_for_update().filter(digest="held"))
            held.set()
            assert release.wait(30)

    holder = Thread(hold)
    holder.start()
    assert held.wait(30)
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = '5s'")  # a wait would fail here, not hang
                try:
                    counters.sweep(cursor, time.time())
                finally:
                    cursor.execute("SET statement_timeout = 0")
            assert set(RateCounter.objects.values_list("digest", flat=True)) == {"held"}
    finally:
        release.set()
        holder.outcome()
    with connection.cursor() as cursor:
        counters.sweep(cursor, time.time())
    assert not RateCounter.objects.exists()
